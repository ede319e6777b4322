"""Whether Slack lists a person in a channel: a channel's team runs and team results are its members'.

One check for every place that acts on a channel for a person (Take part, starting a team run from the
command or the setup form, `export`, `history #channel`). When Slack does not say (an error, a missing
scope) the answer is no: the person is refused with a note, and nothing is changed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from slack_sdk import WebClient

from bot.slack.replies import SLACK_FAILURES

log = logging.getLogger(__name__)

CHANNELS_PAGE = 200


def is_channel_member(client: WebClient, user_id: str, channel_id: str) -> bool:
    """Paged through the person's own channels (users.conversations), which are usually far fewer than
    a channel's members."""
    cursor = None
    try:
        while True:
            page = client.users_conversations(
                user=user_id, types="public_channel,private_channel", limit=CHANNELS_PAGE, cursor=cursor
            )
            if any(c.get("id") == channel_id for c in page.get("channels") or []):
                return True
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return False
    except SLACK_FAILURES as error:
        log.info("could not check channel membership: %r", error)
        return False


class RecentMembers:
    """Who Slack listed in a channel lately, for a check made on every click of a live step (a workshop's
    votes): each voter's membership is asked of Slack (a Tier 3 method) once per `seconds`, not once per
    vote. Only a yes is kept, so that someone refused can vote as soon as they join; someone who left
    the channel can still vote for up to `seconds`. Kept per process, at most `most` people."""

    def __init__(
        self,
        seconds: float = 300.0,
        most: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.most = most
        self._clock = clock
        self._listed: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def is_member(self, client: WebClient, team_id: str, user_id: str, channel_id: str) -> bool:
        key = (team_id, channel_id, user_id)
        now = self._clock()
        with self._lock:
            listed_at = self._listed.get(key)
            if listed_at is not None and now - listed_at < self.seconds:
                return True
        if not is_channel_member(client, user_id, channel_id):
            return False
        with self._lock:
            self._listed[key] = now
            self._listed.move_to_end(key)
            while len(self._listed) > self.most:
                self._listed.popitem(last=False)
        return True


def not_a_member_text(channel_id: str, what: str) -> str:
    return (
        f"Only members of <#{channel_id}> can {what}, and Slack doesn't list you there (or didn't say), "
        "so nothing was changed."
    )
