"""What the clock says in Slack, and what Slack's answers mean for it.

The clock's Web API client retries nothing by itself: a rate limit is answered with the schedule's own
back-off (``Retry-After``), and a post whose answer never came may have reached the channel, so the
clock looks for it (by its message metadata) before posting it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.engine.catalog import BankCatalog, UnknownBank
from bot.slack import schedule_blocks
from bot.slack.blocks import Message
from bot.slack.found import find_posted
from bot.store.schedules import PauseReason, ScheduleRecord
from bot.store.sessions import ResultRecord

log = logging.getLogger(__name__)

CHANNEL_GONE: frozenset[str] = frozenset({"is_archived", "channel_not_found", "not_in_channel"})
DEFAULT_RETRY_AFTER = 30.0


@dataclass(frozen=True)
class Posted:
    message_ts: str | None


@dataclass(frozen=True)
class AlreadyOpen:
    """A team schedule found a team run already open in the channel: that run is this period's."""


@dataclass(frozen=True)
class ChannelGone:
    reason: PauseReason


@dataclass(frozen=True)
class RateLimited:
    retry_after: float


@dataclass(frozen=True)
class NotPosted:
    """Slack answered with an error: the message is not in the channel."""

    error: str


@dataclass(frozen=True)
class MaybePosted:
    """No answer came (a timeout, a dropped connection): the message may or may not be in the channel."""

    error: str


Outcome = Posted | AlreadyOpen | ChannelGone | RateLimited | NotPosted | MaybePosted


class TeamRunOpener(Protocol):
    """Opens a team run in a channel for a `team` schedule, as `/mlops-compass team` would, started by
    the schedule's creator: posts the run's message and answers with one of the outcomes above
    (`Posted` with the run message's ts, `AlreadyOpen` when the channel has an open run)."""

    def open_run(self, team_id: str, channel_id: str, starter_id: str, bank_id: str) -> Outcome: ...


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
        """The ts of this run's reminder if it is in the channel; None if not. Raises SlackClientError
        when the channel's history cannot be read."""
        payload = {"schedule": record.schedule_id, "run": str(run)}
        return find_posted(self.client, record.channel_id, since, schedule_blocks.REMINDER_EVENT, payload)

    def tell_creator_paused(self, record: ScheduleRecord, reason: PauseReason) -> Outcome:
        return self._post(record.creator_id, schedule_blocks.paused_message(record, reason))

    def remind_unfinished(self, user_id: str, dm_channel: str | None, progress: str) -> Outcome:
        return self._post(dm_channel or user_id, schedule_blocks.unfinished_message(user_id, progress))

    def note_expired(self, user_id: str, dm_channel: str | None) -> Outcome:
        return self._post(dm_channel or user_id, schedule_blocks.expired_message())

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
