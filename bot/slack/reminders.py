"""What the clock says in Slack, and what Slack's answers mean for it: the clock's ``ReminderPoster``
(bot/usecases/posting.py) over Slack's Web API.

The clock's Web API client retries nothing by itself: a rate limit is answered with the schedule's own
back-off (``Retry-After``), and a post whose answer never came may have reached the channel, so the
clock looks for it (by its message metadata) before posting it again.

Each item is its workspace's: with OAuth on, its Web API calls carry the bot token of the installation
its team id names (``WorkspaceTokens``). An item of a workspace with no installation is not posted
(``NotPosted("not_installed")``, one log line): the clock retries a reminder with its back-off, as for any
refusal, until the app is installed again or the uninstall deletes the workspace's schedules; a nudge or
an expiry note is dropped, as when Slack refuses one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.engine.catalog import BankCatalog, UnknownBank
from bot.slack import schedule_blocks
from bot.slack.blocks import Message
from bot.slack.found import find_posted
from bot.slack.rate_limits import MethodPauses, RecordingRateLimitHandler
from bot.slack.workspace_client import NotInstalled, WorkspaceClient, WorkspaceTokens, served_team
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
    "WorkspaceTeamRuns",
    "clock_client",
    "outcome_of",
]

log = logging.getLogger(__name__)

CHANNEL_GONE: frozenset[str] = frozenset({"is_archived", "channel_not_found", "not_in_channel"})
DEFAULT_RETRY_AFTER = 30.0
NOT_INSTALLED = "not_installed"

Result = TypeVar("Result")


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
    """`workspaces`: where each item's bot token is found; None calls with `client`'s own token."""

    def __init__(self, client: WebClient, catalog: BankCatalog, workspaces: WorkspaceTokens | None = None):
        self.client = client
        self.catalog = catalog
        self.workspaces = workspaces

    def _for(self, team_id: str, call: Callable[[], Result], not_installed: Callable[[], Result]) -> Result:
        return in_workspace(self.workspaces, team_id, call, not_installed)

    def bank_title(self, bank_id: str) -> str:
        try:
            return self.catalog.by_id(bank_id).title
        except UnknownBank:
            return bank_id

    def post_reminder(
        self, record: ScheduleRecord, run: int, last: ResultRecord | None, team_note: str | None = None
    ) -> Outcome:
        message = schedule_blocks.reminder_message(record, self.bank_title(record.bank_id), last, team_note)
        metadata = schedule_blocks.reminder_metadata(record, run)
        return self._for(
            record.team_id, lambda: self._post(record.channel_id, message, metadata=metadata), _not_posted
        )

    def find_reminder(self, record: ScheduleRecord, run: int, since: float) -> str | None:
        """The ts of this run's reminder if it is in the channel; None if not. Raises HistoryUnreadable
        when the channel's history cannot be read."""
        payload = {"schedule": record.schedule_id, "run": str(run)}

        def find() -> str | None:
            try:
                return find_posted(
                    self.client, record.channel_id, since, schedule_blocks.REMINDER_EVENT, payload
                )
            except (SlackClientError, OSError) as error:
                raise HistoryUnreadable(str(error)) from error

        def unreadable() -> str | None:
            raise HistoryUnreadable(f"the app is not installed in workspace {record.team_id}")

        return self._for(record.team_id, find, unreadable)

    def tell_creator_paused(self, record: ScheduleRecord, reason: PauseReason) -> Outcome:
        message = schedule_blocks.paused_message(record, reason)
        return self._for(record.team_id, lambda: self._post(record.creator_id, message), _not_posted)

    def remind_unfinished(
        self, respondent: Respondent, dm_channel: str | None, progress: str, run: RunRecord | None
    ) -> Outcome:
        user_id = respondent.user_id
        if run is None:
            message = schedule_blocks.unfinished_message(user_id, progress)
        else:
            message = schedule_blocks.unfinished_in_run_message(user_id, progress, run.run_id, run.channel_id)
        return self._for(respondent.team_id, lambda: self._post(dm_channel or user_id, message), _not_posted)

    def note_expired(self, respondent: Respondent, run: RunRecord | None) -> Outcome:
        message = (
            schedule_blocks.expired_message()
            if run is None
            else schedule_blocks.expired_in_run_message(run.channel_id)
        )
        return self._for(respondent.team_id, lambda: self._post(respondent.user_id, message), _not_posted)

    def _post(self, channel: str, message: Message, metadata: dict[str, object] | None = None) -> Outcome:
        try:
            posted = self.client.chat_postMessage(channel=channel, metadata=metadata, **message.as_kwargs())
        except SlackApiError as error:
            return outcome_of(error)
        except (SlackClientError, OSError) as error:
            return MaybePosted(type(error).__name__)
        return Posted(posted.get("ts"))


def clock_client(
    token: str | None, base_url: str, timeout_seconds: int = 15, pauses: MethodPauses | None = None
) -> WebClient:
    """A Web API client that retries nothing itself (see the module's docstring); with no `token` (OAuth),
    each call carries the token of the item's workspace. With `pauses` (refusing while paused), a call
    of a method Slack paused in the workspace is answered 429 without a call, and a 429 is recorded for
    the other processes (bot/slack/rate_limits.py)."""
    return WorkspaceClient(
        token=token,
        base_url=base_url,
        timeout=timeout_seconds,
        retry_handlers=[RecordingRateLimitHandler(pauses, served_team)] if pauses is not None else [],
        pauses=pauses,
    )


def in_workspace(
    workspaces: WorkspaceTokens | None,
    team_id: str,
    call: Callable[[], Result],
    not_installed: Callable[[], Result],
) -> Result:
    """`call` for `team_id`'s workspace; `not_installed` when it has no installation."""
    if workspaces is None:
        return call()
    try:
        with workspaces.serving(team_id):
            return call()
    except NotInstalled:
        return not_installed()


def _not_posted() -> Outcome:
    return NotPosted(NOT_INSTALLED)


class WorkspaceTeamRuns:
    """A team schedule's run opened in its workspace (the team flow calls Slack with the flows' client)."""

    def __init__(self, runs: TeamRunOpener, workspaces: WorkspaceTokens):
        self.runs = runs
        self.workspaces = workspaces

    def open_run(self, team_id: str, channel_id: str, starter_id: str, bank_id: str) -> Outcome:
        return in_workspace(
            self.workspaces,
            team_id,
            lambda: self.runs.open_run(team_id, channel_id, starter_id, bank_id),
            _not_posted,
        )
