"""What the clock says in Slack, and what Slack's answers mean for it: the clock's ``ReminderPoster``
(bot/usecases/posting.py) over Slack's Web API.

The clock's Web API client retries nothing by itself: a rate limit is answered with the schedule's own
back-off (``Retry-After``), and a post whose answer never came may have reached the channel, so the
clock looks for it (by its message metadata) before posting it again.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.engine.catalog import BankCatalog, UnknownBank
from bot.slack import schedule_blocks
from bot.slack.blocks import Message
from bot.slack.found import find_posted
from bot.store.schedules import PauseReason, ScheduleRecord
from bot.store.sessions import Respondent, ResultRecord
from bot.store.team_runs import RunRecord
from bot.usecases.posting import (
    AlreadyOpen,
    ChannelGone,
    HistoryUnreadable,
    MaybePosted,
    NotPosted,
    Outcome,
    Posted,
    RateLimited,
    TeamRunOpener,
)

# The outcomes are the clock's; the team flow answers its `open_run` with them from here.
__all__ = [
    "AlreadyOpen",
    "ChannelGone",
    "MaybePosted",
    "NotPosted",
    "Outcome",
    "Posted",
    "RateLimited",
    "ReminderSlack",
    "TeamRunOpener",
    "clock_client",
    "outcome_of",
]

log = logging.getLogger(__name__)

CHANNEL_GONE: frozenset[str] = frozenset({"is_archived", "channel_not_found", "not_in_channel"})
DEFAULT_RETRY_AFTER = 30.0


def outcome_of(error: SlackApiError) -> Outcome:
    response = error.response
    code = response.get("error") if response is not None else None
    if response is not None and response.status_code == 429:
        return RateLimited(_retry_after(response.headers))
    if code in CHANNEL_GONE:
        return ChannelGone(code)
    return NotPosted(str(code or "unknown_error"))


def _retry_after(headers: Any) -> float:
    value = None
    if headers:
        value = next((v for k, v in dict(headers).items() if str(k).lower() == "retry-after"), None)
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(1.0, float(value)) if value is not None else DEFAULT_RETRY_AFTER
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER


class ReminderSlack:
    def __init__(self, client: WebClient, catalog: BankCatalog):
        self.client = client
        self.catalog = catalog

    def bank_title(self, bank_id: str) -> str:
        try:
            return self.catalog.by_id(bank_id).title
        except UnknownBank:
            return bank_id

    def post_reminder(
        self, record: ScheduleRecord, run: int, last: ResultRecord | None, team_note: str | None = None
    ) -> Outcome:
        message = schedule_blocks.reminder_message(record, self.bank_title(record.bank_id), last, team_note)
        return self._post(record.channel_id, message, metadata=schedule_blocks.reminder_metadata(record, run))

    def find_reminder(self, record: ScheduleRecord, run: int, since: float) -> str | None:
        """The ts of this run's reminder if it is in the channel; None if not. Raises HistoryUnreadable
        when the channel's history cannot be read."""
        payload = {"schedule": record.schedule_id, "run": str(run)}
        try:
            return find_posted(self.client, record.channel_id, since, schedule_blocks.REMINDER_EVENT, payload)
        except (SlackClientError, OSError) as error:
            raise HistoryUnreadable(str(error)) from error

    def tell_creator_paused(self, record: ScheduleRecord, reason: PauseReason) -> Outcome:
        return self._post(record.creator_id, schedule_blocks.paused_message(record, reason))

    def remind_unfinished(
        self, respondent: Respondent, dm_channel: str | None, progress: str, run: RunRecord | None
    ) -> Outcome:
        user_id = respondent.user_id
        if run is None:
            message = schedule_blocks.unfinished_message(user_id, progress)
        else:
            message = schedule_blocks.unfinished_in_run_message(user_id, progress, run.run_id, run.channel_id)
        return self._post(dm_channel or user_id, message)

    def note_expired(self, respondent: Respondent, run: RunRecord | None) -> Outcome:
        message = (
            schedule_blocks.expired_message()
            if run is None
            else schedule_blocks.expired_in_run_message(run.channel_id)
        )
        return self._post(respondent.user_id, message)

    def _post(self, channel: str, message: Message, metadata: dict[str, object] | None = None) -> Outcome:
        try:
            posted = self.client.chat_postMessage(channel=channel, metadata=metadata, **message.as_kwargs())
        except SlackApiError as error:
            return outcome_of(error)
        except (SlackClientError, OSError) as error:
            return MaybePosted(type(error).__name__)
        return Posted(posted.get("ts"))


def clock_client(token: str, base_url: str, timeout_seconds: int = 15) -> WebClient:
    """A Web API client that retries nothing itself (see the module's docstring)."""
    return WebClient(token=token, base_url=base_url, timeout=timeout_seconds, retry_handlers=[])
