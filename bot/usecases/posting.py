"""What the clock (bot/usecases/clock.py) asks of the chat it posts in, and what a post can come to.

bot/slack/reminders.py implements it over Slack's Web API; the clock sees only these outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.store.schedules import PauseReason, ScheduleRecord
from bot.store.sessions import Respondent, ResultRecord
from bot.store.team_runs import RunRecord


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
    """The chat answered with an error: the message is not in the channel."""

    error: str


@dataclass(frozen=True)
class MaybePosted:
    """No answer came (a timeout, a dropped connection): the message may or may not be in the channel."""

    error: str


Outcome = Posted | AlreadyOpen | ChannelGone | RateLimited | NotPosted | MaybePosted


class HistoryUnreadable(Exception):
    """The channel's history could not be read, so whether a reminder is there is unknown."""


class ReminderPoster(Protocol):
    """The clock's messages: a schedule's reminder in its channel, and the DMs it sends."""

    def find_reminder(self, record: ScheduleRecord, run: int, since: float) -> str | None:
        """The ts of `run`'s reminder if it is in the channel, posted at or after `since`; None if not.
        Raises HistoryUnreadable."""
        ...

    def post_reminder(
        self, record: ScheduleRecord, run: int, last: ResultRecord | None, team_note: str | None = None
    ) -> Outcome: ...

    def tell_creator_paused(self, record: ScheduleRecord, reason: PauseReason) -> Outcome: ...

    def remind_unfinished(
        self, respondent: Respondent, dm_channel: str | None, progress: str, run: RunRecord | None
    ) -> Outcome:
        """One DM with Resume to a person whose assessment went quiet; `run` is the open team run a
        member's answers belong to."""
        ...

    def note_expired(self, respondent: Respondent, run: RunRecord | None) -> Outcome:
        """One DM saying the unfinished assessment expired and its answers are gone."""
        ...


class TeamRunOpener(Protocol):
    """Opens a team run in a channel for a `team` schedule, as `/mlops-compass team` would, started by
    the schedule's creator: posts the run's message and answers with one of the outcomes above
    (`Posted` with the run message's ts, `AlreadyOpen` when the channel has an open run)."""

    def open_run(self, team_id: str, channel_id: str, starter_id: str, bank_id: str) -> Outcome: ...
