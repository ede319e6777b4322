"""Use cases of results over time, apart from any front end: the changes a new result shows, a scope's
history and trends, what App Home shows, exports, and forgetting a person. Slack (bot/slack/) and the
command line (bot/cli/) only present what these return.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from bot.engine.catalog import BankCatalog, UnknownBank
from bot.engine.conversation import Conversation, CorruptState
from bot.engine.export import ExportRow
from bot.engine.history import (
    Changes,
    Comparison,
    ResultSummary,
    Trends,
    changes_since,
    team_summary,
    trends,
)
from bot.engine.overview import full_length, length
from bot.engine.team import TeamReport
from bot.store.history import Forgotten, HistoryStore, ScheduleEraser, Scope, record_channel_result
from bot.store.jobs import JobQueue, Naming, delivery_job_id
from bot.store.outbox import Outbox
from bot.store.sessions import Respondent, SessionStore
from bot.store.team_runs import TeamRunStore
from bot.store.workshops import WorkshopStore
from bot.usecases.personal import RunProgress, progress
from bot.usecases.workshops import forget_person as forget_workshop_person

HOME_CHANNELS = 5


@dataclass(frozen=True)
class NewResult:
    """A result just kept, with the change since the previous comparable one in its scope."""

    current: ResultSummary
    changes: Changes

    @property
    def chart_previous(self) -> ResultSummary | None:
        """The earlier result a chart draws beside this one: only one that compares in full."""
        return self.changes.previous if self.changes.comparison is Comparison.FULL else None


def new_result(store: HistoryStore, scope: Scope, result_id: str) -> NewResult | None:
    """None when the result is not (or no longer) in the scope's history."""
    results = store.results(scope)
    current = next((r for r in results if r.result_id == result_id), None)
    if current is None:
        return None
    return NewResult(current, changes_since(current, results))


def keep_team_result(
    store: HistoryStore,
    team_id: str,
    channel_id: str,
    run_id: str,
    report: TeamReport,
    finished_at: float,
) -> NewResult | None:
    """Keep a closed team run's result in its channel's history (the run id is the result id, so closing
    twice keeps it once) and say what changed since the channel's previous comparable one. None for a
    withheld report: it showed no levels, so none are kept."""
    summary = team_summary(report, run_id, finished_at)
    if summary is None:
        return None
    record_channel_result(
        store.redis,
        team_id,
        channel_id,
        summary,
        run_id=run_id,
        respondents=report.respondents,
        finished_at=finished_at,
        limits=store.limits,
    )
    return new_result(store, Scope.channel(team_id, channel_id), run_id)


@dataclass(frozen=True)
class History:
    scope: Scope
    results: tuple[ResultSummary, ...]  # newest first
    trends: Trends | None


def history_of(store: HistoryStore, scope: Scope) -> History:
    results = store.results(scope)
    return History(scope, tuple(results), trends(results))


def export_rows(store: HistoryStore, scopes: Iterable[Scope]) -> list[ExportRow]:
    """Each scope's kept results, oldest first within a scope."""
    rows = []
    for scope in scopes:
        for result in reversed(store.results(scope)):
            rows.append(ExportRow(scope.team_id, scope.kind, scope.id, result))
    return rows


def workspace_export(store: HistoryStore, workspaces: Sequence[str] = ()) -> list[ExportRow]:
    """Every kept result of the named workspaces (all workspaces when none is named), for an admin."""
    chosen = list(workspaces) or store.workspaces()
    return export_rows(store, [scope for team_id in chosen for scope in store.scopes(team_id)])


def forget(
    store: HistoryStore, team_id: str, user_id: str, erase_schedules: ScheduleEraser | None = None
) -> Forgotten:
    """`forget me`: everything kept about the person (bot/store/keys.py lists it): their assessments,
    results and history, their answers in team runs, their schedules, their own installation, their
    reports' delivery records, the worker's jobs that name them or deliver their reports, their name
    on the team runs they started or closed, and their votes and name in team workshops."""
    forgotten = store.forget_person(team_id, user_id, erase_schedules)
    reports = Outbox(store.redis).forget_author(team_id, user_id)
    naming = Naming(team_id, user_id, frozenset(delivery_job_id(ref) for ref in reports))
    jobs = JobQueue(store.redis, retry_seconds=()).forget(naming)
    runs = TeamRunStore(store.redis).forget_person(team_id, user_id)
    workshops = forget_workshop_person(WorkshopStore(store.redis), team_id, user_id)
    return replace(forgotten, reports=len(reports), jobs=jobs, runs=runs, workshops=workshops)


# App Home ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InProgress:
    bank_id: str
    bank_title: str
    progress: RunProgress


@dataclass(frozen=True)
class BankChoice:
    id: str
    title: str
    length: str  # what a run that asks only what can change a level takes, as measured
    full_length: str  # every question: "50 to 60 questions, about 30 minutes"


@dataclass(frozen=True)
class OpenTeamRun:
    """A team run open in one of the person's channels, as the team runs' code describes it."""

    channel_id: str
    bank_title: str
    answered: int
    closes_at: float
    take_part_action_id: str  # the team runs' own Take part button
    take_part_value: str


# (workspace id, user id, the person's channel ids) -> the team runs open there.
OpenRunsLookup = Callable[[str, str, Sequence[str]], list[OpenTeamRun]]


def no_open_runs(team_id: str, user_id: str, channel_ids: Sequence[str]) -> list[OpenTeamRun]:
    """OPEN_TEAM_RUNS_HOOK until team runs exist: there are none."""
    return []


# The team runs' code sets this to its own lookup; App Home shows what it returns with Take part.
OPEN_TEAM_RUNS_HOOK: OpenRunsLookup = no_open_runs


@dataclass(frozen=True)
class HomeData:
    user_id: str
    history: History
    in_progress: InProgress | None
    banks: tuple[BankChoice, ...]
    open_runs: tuple[OpenTeamRun, ...]
    channel_results: tuple[tuple[str, ResultSummary], ...]  # (channel id, its latest team result)


def home_data(
    history: HistoryStore,
    sessions: SessionStore,
    catalog: BankCatalog,
    team_id: str,
    user_id: str,
    channel_ids: Sequence[str],
    open_runs: OpenRunsLookup | None = None,
) -> HomeData:
    lookup = open_runs if open_runs is not None else OPEN_TEAM_RUNS_HOOK
    channel_results = []
    for channel_id in channel_ids:
        latest = history.latest(Scope.channel(team_id, channel_id))
        if latest is not None:
            channel_results.append((channel_id, latest))
    channel_results.sort(key=lambda pair: pair[1].finished_at, reverse=True)
    banks = tuple(BankChoice(b.id, b.title, length(b), full_length(b)) for b in catalog.banks)
    return HomeData(
        user_id=user_id,
        history=history_of(history, Scope.person(team_id, user_id)),
        in_progress=_in_progress(sessions, catalog, team_id, user_id),
        banks=banks,
        open_runs=tuple(lookup(team_id, user_id, channel_ids)),
        channel_results=tuple(channel_results[:HOME_CHANNELS]),
    )


def _in_progress(
    sessions: SessionStore, catalog: BankCatalog, team_id: str, user_id: str
) -> InProgress | None:
    record = sessions.get(Respondent(team_id=team_id, user_id=user_id))
    if record is None:
        return None
    try:
        conversation = Conversation.from_dict(record.conversation)
    except CorruptState:
        return None
    if conversation.finished:
        return None
    try:
        title = catalog.by_id(conversation.bank_id).title
    except UnknownBank:
        title = conversation.bank_id
    return InProgress(conversation.bank_id, title, progress(catalog, conversation))
