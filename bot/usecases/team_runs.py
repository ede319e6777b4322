"""Team runs as use cases: plain functions over the engine and the store, with no Slack in them.

A front end (bot/slack/team.py, or a test) calls these and presents what they return; the rules of a run
live here: who may close it, when it closes, what a retake replaces, whom a nudge reaches.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.engine.answers import Answer
from bot.engine.bank import QuestionBank
from bot.engine.catalog import BankCatalog, UnknownBank
from bot.engine.team import MIN_RESPONDENTS, TeamReport, contribution, team_report
from bot.engine.team_view import TeamReportView, build_team_view
from bot.store.outbox import DELIVERED, DeliveryRef, Outbox
from bot.store.sessions import STORE_ERRORS, Respondent, ResultRecord, SessionStore, Watched
from bot.store.team_runs import (
    CLOSED_BY_DEADLINE,
    FORGOTTEN,
    ResponseRecord,
    RunClosed,
    RunLimits,
    RunRecord,
    TeamRunStore,
    UnknownRun,
    parse_response,
    parse_run,
)
from bot.usecases.personal import is_finished

DEFAULT_DAYS = 7
MAX_DAYS = 30
DAY_SECONDS = 24 * 3600
NUDGE_INTERVAL_SECONDS = DAY_SECONDS

# What the front end does with a run just closed: hand its report's delivery (queued by the close) to
# the worker, or post it itself.
ReportHandoff = Callable[[RunRecord], object]


# Starting a run ------------------------------------------------------------------------------------


class BadRunRequest(ValueError):
    """`/mlops-compass team …` with words that do not fit; the message says what would."""


@dataclass(frozen=True)
class RunRequest:
    bank_id: str | None
    days: int


_CLOSES_IN = re.compile(r"^closes\s+in\s+(\d+)\s+days?$", re.IGNORECASE)
USAGE = "team [bank] [closes in N days]"


def parse_run_request(words: Sequence[str]) -> RunRequest:
    """The words after `team`: an optional bank id, then optionally "closes in N days" (1–30)."""
    rest = list(words)
    bank_id = None
    if rest and rest[0].lower() != "closes":
        bank_id = rest.pop(0)
    days = DEFAULT_DAYS
    if rest:
        matched = _CLOSES_IN.match(" ".join(rest))
        if matched is None:
            raise BadRunRequest(
                f"I read `{' '.join(words)}` but expected `{USAGE}`, e.g. `team closes in 3 days`."
            )
        days = int(matched.group(1))
        if not 1 <= days <= MAX_DAYS:
            raise BadRunRequest(f"A team run closes in 1 to {MAX_DAYS} days; {days} is outside that.")
    return RunRequest(bank_id, days)


def open_run(
    runs: TeamRunStore,
    bank: QuestionBank,
    team_id: str,
    channel_id: str,
    starter_id: str,
    days: int,
    now: float | None = None,
    hand_report: ReportHandoff | None = None,
) -> RunRecord:
    """Open a run in the channel. Raises RunAlreadyOpen while another run is open there, and
    TooManyOpenRuns when the starter has as many open runs as one person may. Given `hand_report`, a run
    there past its deadline is closed first (its report handed on) rather than refusing."""
    started = time.time() if now is None else now
    if hand_report is not None:
        existing = runs.open_in(team_id, channel_id)
        if existing is not None and existing.overdue(started):
            close_now(runs, existing, CLOSED_BY_DEADLINE, started, hand_report)
    record = RunRecord(
        team_id=team_id,
        channel_id=channel_id,
        starter_id=starter_id,
        bank_id=bank.id,
        bank_version=bank.version,
        created_at=started,
        deadline=started + days * DAY_SECONDS,
    )
    return runs.open(record)


def runs_by_id(runs: TeamRunStore, team_id: str, run_ids: Iterable[str]) -> list[RunRecord]:
    """The runs still stored among `run_ids` (a refusal's open runs, to say where they are)."""
    found = (runs.get(team_id, run_id) for run_id in run_ids)
    return [run for run in found if run is not None]


def remember_message(runs: TeamRunStore, run: RunRecord, message_ts: str) -> RunRecord:
    """The run's message is posted: its count and its close update that message."""
    return runs.set_message(run.team_id, run.run_id, message_ts)


def discard_unposted(runs: TeamRunStore, run: RunRecord) -> None:
    """Remove a run whose message was never posted: nobody could ever see it."""
    runs.discard(run)


def find_run(runs: TeamRunStore, team_id: str, run_id: str) -> RunRecord | None:
    return runs.get(team_id, run_id)


def current_run(
    runs: TeamRunStore, team_id: str, run_id: str, now: float, hand_report: ReportHandoff
) -> RunRecord | None:
    """The run a button acts on, as it stands now; None when there is no such run. A run past its
    deadline is closed here (the next interaction closes it), so it comes back closed."""
    run = runs.get(team_id, run_id)
    if run is None or not run.overdue(now):
        return run
    closed = close_now(runs, run, CLOSED_BY_DEADLINE, now, hand_report)
    return closed if closed is not None else (runs.get(team_id, run_id) or run)


# Taking part -----------------------------------------------------------------------------------------


class RunBankChanged(Exception):
    def __init__(self, run: RunRecord, current: str):
        self.run = run
        self.current = current
        super().__init__(f"the run uses {run.bank_id} {run.bank_version}; the bank is now {current}")


@dataclass(frozen=True)
class Participation:
    respondent: Respondent
    bank: QuestionBank
    in_progress: bool  # their run assessment is under way: resend the current question
    retake: bool  # they have a counted response, which the new one will replace


def run_bank(catalog: BankCatalog, run: RunRecord) -> QuestionBank:
    try:
        bank = catalog.by_id(run.bank_id)
    except UnknownBank:
        raise RunBankChanged(run, "no longer offered") from None
    if bank.version != run.bank_version:
        raise RunBankChanged(run, f"{bank.id} {bank.version}")
    return bank


def take_part(
    runs: TeamRunStore, sessions: SessionStore, catalog: BankCatalog, run: RunRecord, user_id: str, now: float
) -> Participation:
    """What Take part means for this person now. Raises RunClosed when the run is closed; an overdue run
    must be closed by the caller first (``close_run``)."""
    if not run.is_open or run.overdue(now):
        raise RunClosed(run)
    bank = run_bank(catalog, run)
    respondent = Respondent(team_id=run.team_id, user_id=user_id, run_id=run.run_id)
    existing = sessions.get(respondent)
    in_progress = existing is not None and not is_finished(existing)
    retake = runs.has_answered(run.team_id, run.run_id, user_id)
    return Participation(respondent, bank, in_progress, retake)


# Recording a response ------------------------------------------------------------------------------


@dataclass
class ResponseOutcome:
    """What finishing a member's assessment does to the run, decided inside the finishing transaction.
    ``queue`` adds the writes to that transaction."""

    team_id: str
    run_id: str
    user_id: str
    counted: bool
    replaced: bool  # a retake: the earlier response was taken out
    run: RunRecord | None
    reason: str | None = None  # why not counted: "closed", "overdue" or "unknown run"
    _response: ResponseRecord | None = field(default=None, repr=False)
    _previous: ResponseRecord | None = field(default=None, repr=False)
    _result: tuple[str, float] | None = field(default=None, repr=False)  # (id, finished at), run still open
    _expire_at: int = field(default=0, repr=False)

    @property
    def follow_up_run(self) -> str | None:
        """The run the member's report delivery follows up on (their count, or the close of an overdue
        run): None when the run had closed already, so that nothing written from here names it. The close
        takes it out of the delivery again (``TeamRunStore.close``)."""
        return self.run_id if self._result is not None else None

    def queue(self, pipe: Any) -> None:
        # The result itself is the person's own, kept by the session's transaction (SessionStore).
        if self._result is not None:
            result_id, finished_at = self._result
            TeamRunStore.queue_member_result(
                pipe, self.team_id, self.run_id, result_id, finished_at, self._expire_at
            )
        if self.counted and self._response is not None:
            TeamRunStore.queue_response(
                pipe, self.team_id, self.run_id, self.user_id, self._response, self._previous, self._expire_at
            )


def watched_keys(respondent: Respondent) -> tuple[str, ...]:
    if respondent.run_id is None:
        return ()
    return TeamRunStore.watched_keys(respondent.team_id, respondent.run_id, respondent.user_id)


@dataclass(frozen=True)
class RunResponses:
    """A run's part in the transaction that finishes a member's assessment (personal.RunWrites): the
    run's keys are watched with the session, and the response counts as ``record_response`` decides."""

    clock: Callable[[], float] = time.time
    limits: RunLimits = field(default_factory=RunLimits)

    def watched_keys(self, respondent: Respondent) -> tuple[str, ...]:
        return watched_keys(respondent)

    def run_closed(self, respondent: Respondent, watched: Watched) -> bool:
        """Whether the member's run has closed (or is gone), from the values the transaction WATCHes."""
        run_key, _ = watched_keys(respondent)
        run = parse_run(watched.get(run_key))
        return run is None or not run.is_open

    def response_writes(
        self,
        respondent: Respondent,
        bank: QuestionBank,
        answers: Mapping[str, Answer],
        result: ResultRecord,
        watched: Watched,
    ) -> ResponseOutcome:
        return record_response(respondent, bank, answers, result, watched, self.clock(), self.limits)


def record_response(
    respondent: Respondent,
    bank: QuestionBank,
    answers: Mapping[str, Answer],
    result: ResultRecord,
    watched: Watched,
    now: float,
    limits: RunLimits | None = None,
) -> ResponseOutcome:
    """Decide, from the values the finishing transaction WATCHes, whether and how this response counts.
    Pure: the writes happen when the transaction runs ``outcome.queue``."""
    assert respondent.run_id is not None
    run_key, response_key = watched_keys(respondent)
    run = parse_run(watched.get(run_key))
    member_result = (result.result_id, result.finished_at)
    team_id, run_id, user_id = respondent.team_id, respondent.run_id, respondent.user_id
    expire_at = (limits or RunLimits()).open_until(run) if run is not None else 0
    if run is None or not run.is_open or run.overdue(now):
        reason = "unknown run" if run is None else "closed" if not run.is_open else "overdue"
        return ResponseOutcome(
            team_id,
            run_id,
            user_id,
            counted=False,
            replaced=False,
            run=run,
            reason=reason,
            # An overdue run is still open: the follow-up closes it, and the close forgets this result.
            _result=member_result if reason == "overdue" else None,
            _expire_at=expire_at,
        )
    previous = parse_response(watched.get(response_key))
    response = ResponseRecord(
        counts=dict(contribution(bank, answers).counts), result_id=result.result_id, recorded_at=now
    )
    return ResponseOutcome(
        team_id,
        run_id,
        user_id,
        counted=True,
        replaced=previous is not None,
        run=run,
        _response=response,
        _previous=previous,
        _result=member_result,
        _expire_at=expire_at,
    )


def after_response(
    runs: TeamRunStore, run: RunRecord | None, counted: bool, now: float, hand_report: ReportHandoff
) -> int | None:
    """What a member's finished response does to its run once they have their report: the run's count,
    when the response counted; otherwise None, and a run past its deadline is closed now."""
    if counted and run is not None:
        return runs.respondent_count(run.team_id, run.run_id)
    if run is not None and run.overdue(now):
        close_now(runs, run, CLOSED_BY_DEADLINE, now, hand_report)
    return None


# Nudging -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    user_id: str
    is_bot: bool = False
    deleted: bool = False


@dataclass(frozen=True)
class NudgePlan:
    targets: tuple[str, ...]
    answered: int
    skipped_accounts: int  # bots and deactivated accounts


def nudge_targets(members: Iterable[Member], answered: set[str], exclude: Iterable[str] = ()) -> NudgePlan:
    """The channel's people who have not answered: no bots, no deactivated accounts, nobody excluded (the
    person nudging), each once."""
    excluded = set(exclude)
    targets: list[str] = []
    done = skipped = 0
    for member in dict.fromkeys(members):
        if member.is_bot or member.deleted:
            skipped += 1
        elif member.user_id in answered:
            done += 1
        elif member.user_id not in excluded and member.user_id not in targets:
            targets.append(member.user_id)
    return NudgePlan(tuple(targets), done, skipped)


def may_nudge(run: RunRecord, user_id: str) -> bool:
    return user_id == run.starter_id


@dataclass(frozen=True)
class NudgeClaim:
    granted: bool
    retry_in: int = 0  # when refused: seconds until the run may be nudged again


def claim_nudge(runs: TeamRunStore, run: RunRecord) -> NudgeClaim:
    """A run is nudged at most once a day: the first claim in the interval wins it."""
    if runs.claim_nudge(run.team_id, run.run_id, NUDGE_INTERVAL_SECONDS):
        return NudgeClaim(granted=True)
    return NudgeClaim(granted=False, retry_in=runs.next_nudge_in(run.team_id, run.run_id))


@dataclass(frozen=True)
class Nudge:
    """A claimed nudge: whom it reaches in the run's channel."""

    run: RunRecord
    plan: NudgePlan


class NudgeNotSent(Exception):
    """Nobody was messaged: the run closed first, or Slack would not list the channel's members."""

    def __init__(self, reason: Literal["closed", "members unknown"]):
        self.reason = reason
        super().__init__(f"nobody was nudged: {reason}")


def plan_nudge(
    runs: TeamRunStore,
    team_id: str,
    run_id: str,
    starter_id: str,
    channel_members: Callable[[str], Sequence[Member] | None],
) -> Nudge:
    """Whom a claimed nudge reaches: the channel's members (from `channel_members`, None when unknown)
    who have not answered. Raises NudgeNotSent once the run is closed, and when the members are unknown,
    giving the claim back so that the starter may try again now."""
    run = runs.get(team_id, run_id)
    if run is None or not run.is_open:
        raise NudgeNotSent("closed")
    members = channel_members(run.channel_id)
    if members is None:
        runs.release_nudge(team_id, run_id)
        raise NudgeNotSent("members unknown")
    answered = runs.answered(team_id, run_id, [m.user_id for m in members])
    return Nudge(run, nudge_targets(members, answered, exclude={starter_id}))


def people(members: Iterable[Member]) -> int:
    """Members who could answer: not bots, not deactivated."""
    return sum(1 for m in members if not m.is_bot and not m.deleted)


# Closing ---------------------------------------------------------------------------------------------


def may_close(run: RunRecord, user_id: str, is_admin: Callable[[str], bool]) -> bool:
    """The run's starter or a workspace admin; `is_admin` is asked only about anyone else."""
    return user_id == run.starter_id or is_admin(user_id)


@dataclass(frozen=True)
class Closing:
    run: RunRecord  # the run as it is now
    allowed: bool
    closed_here: bool  # False when refused, or when someone else closed it first


def close_by(
    runs: TeamRunStore,
    run: RunRecord,
    user_id: str,
    is_admin: Callable[[str], bool],
    now: float,
    hand_report: ReportHandoff,
) -> Closing:
    """*Close*, by `user_id`: closes the run if they may, and hands on its report."""
    if not may_close(run, user_id, is_admin):
        return Closing(run, allowed=False, closed_here=False)
    closed = close_now(runs, run, user_id, now, hand_report)
    if closed is None:
        return Closing(runs.get(run.team_id, run.run_id) or run, allowed=True, closed_here=False)
    return Closing(closed, allowed=True, closed_here=True)


def close_now(
    runs: TeamRunStore, run: RunRecord, closed_by: str, now: float, hand_report: ReportHandoff
) -> RunRecord | None:
    """Close the run with its report's delivery queued, then hand the report on; None when someone else
    closed it first."""
    try:
        closed = close_run(runs, run.team_id, run.run_id, closed_by, now)
    except RunClosed:
        return None
    hand_report(closed)
    return closed


def close_overdue(runs: TeamRunStore, now: float, limit: int, hand_report: ReportHandoff) -> int:
    """Close every run past its deadline (at most `limit`), handing on each report; the number closed
    here. A run that expired without being closed leaves the deadlines."""
    closed = 0
    for team_id, run_id in runs.overdue_everywhere(now, limit):
        run = runs.get(team_id, run_id)
        if run is None:
            runs.forget_deadline(team_id, run_id)
        elif run.is_open and close_now(runs, run, CLOSED_BY_DEADLINE, now, hand_report) is not None:
            closed += 1
    return closed


def report_posted(outbox: Outbox, run: RunRecord) -> bool:
    """Whether Slack took the closed run's report; assumed so when the outbox cannot be read, so that
    nobody is sent looking for a report that is there."""
    try:
        delivery = outbox.get(report_delivery(run))
    except STORE_ERRORS:
        return True
    return delivery is None or delivery.state == DELIVERED or delivery.steps.get("report") is not None


@dataclass(frozen=True)
class ClosedRun:
    run: RunRecord
    view: TeamReportView
    report: TeamReport | None = None  # what the view was built from: the channel's history keeps it


def report_delivery(run: RunRecord) -> DeliveryRef:
    """The delivery of a closed run's report: one per run."""
    return DeliveryRef(run.team_id, "team", run.run_id)


def report_author(run: RunRecord) -> str:
    """Who is told when the report cannot be posted: whoever closed the run, or its starter when the
    deadline did; nobody ("") when that person asked to be forgotten."""
    author = run.starter_id if run.closed_by in (None, CLOSED_BY_DEADLINE) else str(run.closed_by)
    return "" if author == FORGOTTEN else author


def close_run(
    runs: TeamRunStore, team_id: str, run_id: str, closed_by: str, now: float | None = None
) -> RunRecord:
    """Close the run (raises RunClosed if it already is) and queue its report's delivery in the same
    transaction: a process that dies right after loses no report. Building and posting the report is the
    delivery's work (`closed_run_report`), off the click."""
    closed_at = time.time() if now is None else now

    def queue_report(pipe: Any, closed: RunRecord) -> None:
        Outbox.queue_pending(pipe, report_delivery(closed), report_author(closed), now=closed_at)

    return runs.close(team_id, run_id, closed_by, closed_at, queue_report)


def closed_run_report(
    runs: TeamRunStore,
    catalog: BankCatalog,
    run: RunRecord,
    invited: int | None,
    min_respondents: int = MIN_RESPONDENTS,
) -> ClosedRun:
    """The closed run's team report, from its aggregate (final since the close), kept with the run. Built
    again it is the same report: a retried delivery may call this twice."""
    aggregate = runs.aggregate(run.team_id, run.run_id)
    report = run_team_report(catalog, run, aggregate, invited, min_respondents)
    view = build_team_view(report)
    kept = runs.save_report(run.team_id, run.run_id, view.to_dict(), invited)
    return ClosedRun(kept, view, report)


def run_team_report(
    catalog: BankCatalog, run: RunRecord, aggregate: Any, invited: int | None, min_respondents: int
) -> TeamReport:
    try:
        bank = catalog.by_id(run.bank_id)
    except UnknownBank as error:
        raise UnknownRun(f"run {run.run_id}: {error}") from None
    return team_report(bank, aggregate, invited, min_respondents)


def team_report_view(
    catalog: BankCatalog, run: RunRecord, aggregate: Any, invited: int | None, min_respondents: int
) -> TeamReportView:
    return build_team_view(run_team_report(catalog, run, aggregate, invited, min_respondents))
