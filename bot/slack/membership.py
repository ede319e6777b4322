"""Whether Slack lists a person in a channel: a channel's team runs and team results are its members'.

One check for every place that acts on a channel for a person (Take part, starting a team run from the
command or the setup form, `export`, `history #channel`). When Slack does not say (an error, a missing
scope) the answer is no: the person is refused with a note, and nothing is changed.
"""

from __future__ import annotations

import logging

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


def not_a_member_text(channel_id: str, what: str) -> str:
    return (
        f"Only members of <#{channel_id}> can {what}, and Slack doesn't list you there (or didn't say), "
        "so nothing was changed."
    )
