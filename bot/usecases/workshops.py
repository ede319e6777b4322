"""Team workshops as use cases: plain functions over the engine (bot/engine/workshop.py) and the store
(bot/store/workshops.py), with no Slack in them.

The engine's transitions do not ask who acts; these do: only the facilitator settles, skips, goes back,
pauses, resumes or hands over. Every step is one optimistic transaction over the workshop's record, its
transition computed on the record as stored: of two facilitators settling one question at once, the
second is recomputed after the first and refused (the question is no longer open), and a vote racing a
settle is either in the record the settle read or refused after it (``NotTheOpenQuestion``), never lost
without a word. The step that settles the last question closes the workshop in the same transaction and
queues its report's delivery in the outbox; the delivery (off the click) posts the report and keeps the
result in the channel's history, marked as a workshop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot.engine import workshop as rules
from bot.engine.answers import Answer
from bot.engine.bank import QuestionBank
from bot.engine.catalog import BankCatalog, UnknownBank
from bot.engine.history import ResultSummary
from bot.engine.scoring import Report
from bot.store.history import HistoryStore, Scope, record_channel_result, summary_of_report
from bot.store.outbox import DeliveryRef, Outbox
from bot.store.team_runs import FORGOTTEN
from bot.store.throttles import UpdateClaim
from bot.store.workshops import WorkshopClosed, WorkshopRecord, WorkshopStore
from bot.usecases.team_count import ClaimLengths, CountUpdate, follow_up_update, update_for
from bot.usecases.team_runs import DAY_SECONDS, DEFAULT_DAYS

CLOSED_BY_DEADLINE = "deadline"
WORKSHOP = "workshop"
# A step whose transition finishes the workshop is taken again as a close; should the record change in
# between (another step took it elsewhere), the step is taken again on the fresh record, this many times.
MAX_REROUTES = 3


class NotFacilitator(Exception):
    """Only the facilitator may do this; nothing was changed."""

    def __init__(self, facilitator_id: str, user_id: str):
        self.facilitator_id = facilitator_id
        self.user_id = user_id
        super().__init__(f"{user_id} is not the facilitator ({facilitator_id})")


class WorkshopBankGone(Exception):
    """The workshop's bank is no longer offered, or was edited since it started."""

    def __init__(self, workshop: WorkshopRecord, now_offered: str):
        self.workshop = workshop
        self.now_offered = now_offered
        super().__init__(
            f"workshop {workshop.workshop_id} uses {workshop.bank_id} {workshop.bank_version}; "
            f"the bank is now {now_offered}"
        )


class TeamAnswerChanged(Exception):
    """The team's answer the facilitator clicked is no longer what the votes give: votes came in since."""

    def __init__(self, shown: Answer, now: Answer | None):
        self.shown = shown
        self.now = now
        super().__init__(f"the team's answer is now {now!r}, not {shown!r}")


class WorkshopNamed(Protocol):
    """Which workshop a step acts on: a stored record, or the ids a button carries."""

    @property
    def team_id(self) -> str: ...

    @property
    def workshop_id(self) -> str: ...


@dataclass(frozen=True)
class WorkshopRef:
    team_id: str
    workshop_id: str


# Opening -----------------------------------------------------------------------------------------


def open_workshop(
    store: WorkshopStore,
    catalog: BankCatalog,
    bank_id: str,
    team_id: str,
    channel_id: str,
    facilitator_id: str,
    now: float | None = None,
    days: int = DEFAULT_DAYS,
) -> WorkshopRecord:
    """Open a workshop in the channel, its first question open. Raises UnknownBank for a bank not offered,
    and WorkshopAlreadyOpen while another workshop is open in the channel."""
    started = time.time() if now is None else now
    bank = catalog.by_id(bank_id)
    state = rules.start(bank, facilitator_id)
    record = WorkshopRecord(
        team_id=team_id,
        channel_id=channel_id,
        facilitator_id=facilitator_id,
        bank_id=bank.id,
        bank_version=bank.version,
        state=state.to_dict(),
        created_at=started,
        updated_at=started,
        deadline=started + days * DAY_SECONDS,
    )
    return store.open(record)


def remember_message(
    store: WorkshopStore, workshop: WorkshopRecord, message_ts: str, thread_ts: str | None = None
) -> WorkshopRecord:
    """The workshop's parent message is posted (its questions go in its thread): later steps update it."""

    def placed(current: WorkshopRecord) -> WorkshopRecord:
        return current.model_copy(update={"message_ts": message_ts, "thread_ts": thread_ts or message_ts})

    return store.change(workshop.team_id, workshop.workshop_id, placed)


def workshop_bank(catalog: BankCatalog, workshop: WorkshopRecord) -> QuestionBank:
    try:
        bank = catalog.by_id(workshop.bank_id)
    except UnknownBank:
        raise WorkshopBankGone(workshop, "no longer offered") from None
    if bank.version != workshop.bank_version:
        raise WorkshopBankGone(workshop, f"{bank.id} {bank.version}")
    return bank


def state_of(workshop: WorkshopRecord) -> rules.WorkshopState:
    return rules.WorkshopState.from_dict(workshop.state)


def find_workshop(store: WorkshopStore, team_id: str, workshop_id: str) -> WorkshopRecord | None:
    return store.get(team_id, workshop_id)


# Steps -------------------------------------------------------------------------------------------

# A transition of the engine's state, given the bank and the workshop's state as stored.
Transition = Callable[[QuestionBank, rules.WorkshopState], rules.WorkshopState]


class _Finishes(Exception):
    """The transition finishes the workshop: take it as a close."""


class _GoesOn(Exception):
    """The transition no longer finishes the workshop (the record changed): take it as a change."""


def _with_state(workshop: WorkshopRecord, state: rules.WorkshopState) -> WorkshopRecord:
    return workshop.model_copy(
        update={"state": state.to_dict(), "paused": state.paused, "facilitator_id": state.facilitator}
    )


def report_delivery(workshop: WorkshopRecord) -> DeliveryRef:
    """The delivery of a finished workshop's report: one per workshop."""
    return DeliveryRef(workshop.team_id, "workshop", workshop.workshop_id)


def report_author(workshop: WorkshopRecord) -> str:
    """Who is told when the report cannot be posted: the facilitator; nobody once they were forgotten."""
    return "" if workshop.facilitator_id == FORGOTTEN else workshop.facilitator_id


def _queue_report(at: float) -> Callable[[Any, WorkshopRecord], None]:
    def queue(pipe: Any, closed: WorkshopRecord) -> None:
        Outbox.queue_pending(pipe, report_delivery(closed), report_author(closed), now=at)

    return queue


def _step(
    store: WorkshopStore,
    catalog: BankCatalog,
    workshop: WorkshopNamed,
    transition: Transition,
    acting: str | None,
    now: float | None,
    expected_revision: int | None,
) -> WorkshopRecord:
    """Apply `transition` to the stored workshop in one transaction, as `acting` (the facilitator only;
    None for anyone, as a vote). The step that finishes the workshop closes it, with its report queued.
    The bank is the stored record's, so that a click costs the transaction alone."""
    at = time.time() if now is None else now

    def next_record(current: WorkshopRecord, closing: bool) -> WorkshopRecord:
        if acting is not None and current.facilitator_id != acting:
            raise NotFacilitator(current.facilitator_id, acting)
        state = transition(workshop_bank(catalog, current), state_of(current))
        if state.finished and not closing:
            raise _Finishes()
        if closing and not state.finished:
            raise _GoesOn()
        return _with_state(current, state)

    team_id, workshop_id = workshop.team_id, workshop.workshop_id
    for _ in range(MAX_REROUTES):
        try:
            return store.change(
                team_id,
                workshop_id,
                lambda current: next_record(current, closing=False),
                expected_revision=expected_revision,
                now=at,
            )
        except _Finishes:
            pass
        try:
            return store.close(
                team_id,
                workshop_id,
                acting or "nobody",
                expected_revision=expected_revision,
                now=at,
                finish=lambda current: next_record(current, closing=True),
                also=_queue_report(at),
            )
        except _GoesOn:
            pass
    raise RuntimeError(f"workshop {workshop_id} kept changing between finishing and going on")


@dataclass(frozen=True)
class Voted:
    """A vote counted: the workshop as the vote wrote it, and what to do about the question's message
    (show the votes now, or once the window ends, or leave them to the follow-up already due)."""

    workshop: WorkshopRecord
    update: CountUpdate


def vote(
    store: WorkshopStore,
    catalog: BankCatalog,
    workshop: WorkshopNamed,
    question_id: str,
    user_id: str,
    answer: Answer,
    window_seconds: float,
    now: float | None = None,
) -> Voted:
    """A member's vote on the open question (voting again replaces it), with its message's update decided
    in the same transaction, as a team run's count is (bot/usecases/team_count.py), across processes:
    a vote costs Redis what an answer in a personal assessment does. Whether the voter is a member of
    the channel is the front end's to check. Raises the engine's NotTheOpenQuestion (settled meanwhile),
    WorkshopPaused, WorkshopFinished or UnofferedAnswer, and the store's WorkshopClosed."""

    def voted(current: WorkshopRecord) -> WorkshopRecord:
        state = rules.vote(workshop_bank(catalog, current), state_of(current), question_id, user_id, answer)
        return _with_state(current, state)

    lengths = ClaimLengths.of(window_seconds)
    claim = UpdateClaim(
        store.vote_claims(workshop.team_id, workshop.workshop_id, question_id),
        lengths.window_ms,
        lengths.follow_up_ttl_ms,
    )
    at = time.time() if now is None else now
    stored, claimed = store.change_claiming(workshop.team_id, workshop.workshop_id, voted, claim, now=at)
    return Voted(stored, update_for(claimed) if claimed is not None else CountUpdate())


# The live votes, throttled -------------------------------------------------------------------------


def votes_follow_up(
    store: WorkshopStore, workshop: WorkshopNamed, question_id: str, window_seconds: float
) -> CountUpdate:
    """The scheduled follow-up: it gives its claim back and updates as a vote would."""
    claims = store.vote_claims(workshop.team_id, workshop.workshop_id, question_id)
    return follow_up_update(claims, window_seconds)


def votes_shown_within(store: WorkshopStore, workshop: WorkshopNamed, question_id: str) -> float:
    """After a step took `question_id` off the table: how long an update of its votes, claimed before the
    step, may still be on its way to Slack (seconds; 0 when none was claimed in the last window). Once
    that has passed, what became of the question can be shown again and stay."""
    claims = store.vote_claims(workshop.team_id, workshop.workshop_id, question_id)
    return claims.window_left_ms() / 1000


def voting_on(workshop: WorkshopRecord, question_id: str) -> bool:
    """Whether `question_id` is the open workshop's open question, still taking votes."""
    return workshop.is_open and state_of(workshop).open_question == question_id


def still_voting(store: WorkshopStore, workshop: WorkshopNamed, question_id: str) -> WorkshopRecord | None:
    """At a follow-up: the workshop as stored now, with every vote so far, while `question_id` is its open
    question; None once it was settled, skipped or closed (the step that did so showed its votes)."""
    current = store.get(workshop.team_id, workshop.workshop_id)
    return current if current is not None and voting_on(current, question_id) else None


def stepped_since(shown: WorkshopRecord, current: WorkshopRecord) -> bool:
    """Whether a facilitator's step (or the close) changed what the open question's message shows since
    `shown`, beyond its votes: the question moved on, was paused or resumed, or changed hands."""
    before, now = state_of(shown), state_of(current)
    return (
        before.open_question != now.open_question
        or before.paused != now.paused
        or before.facilitator != now.facilitator
        or shown.is_open != current.is_open
    )


def settle(
    store: WorkshopStore,
    catalog: BankCatalog,
    workshop: WorkshopNamed,
    user_id: str,
    question_id: str,
    answer: Answer | None = None,
    *,
    shown_default: Answer | None = None,
    now: float | None = None,
    expected_revision: int | None = None,
) -> WorkshopRecord:
    """The facilitator settles the open question: with `answer`, or with the team's answer from the votes
    when None. `shown_default`: the team's answer the facilitator's button said; TeamAnswerChanged when
    the votes give another by now, so that what is settled is what they saw."""

    def settled(bank: QuestionBank, state: rules.WorkshopState) -> rules.WorkshopState:
        if answer is None and shown_default is not None and question_id == state.open_question:
            now_default = rules.team_answer(bank.question(question_id), state.open_votes)
            if now_default != shown_default:
                raise TeamAnswerChanged(shown_default, now_default)
        return rules.settle(bank, state, question_id, answer)

    return _step(store, catalog, workshop, settled, user_id, now, expected_revision)


def skip(
    store: WorkshopStore,
    catalog: BankCatalog,
    workshop: WorkshopNamed,
    user_id: str,
    question_id: str,
    now: float | None = None,
    expected_revision: int | None = None,
) -> WorkshopRecord:
    def skipped(bank: QuestionBank, state: rules.WorkshopState) -> rules.WorkshopState:
        return rules.skip(bank, state, question_id)

    return _step(store, catalog, workshop, skipped, user_id, now, expected_revision)


def back(
    store: WorkshopStore,
    catalog: BankCatalog,
    workshop: WorkshopNamed,
    user_id: str,
    now: float | None = None,
    expected_revision: int | None = None,
) -> WorkshopRecord:
    return _step(store, catalog, workshop, rules.back, user_id, now, expected_revision)


def _facilitating(
    change: Callable[[rules.WorkshopState], rules.WorkshopState],
) -> Callable[..., WorkshopRecord]:
    """A step of the facilitator's that needs neither the bank nor a question (pause, resume)."""

    def step(
        store: WorkshopStore,
        catalog: BankCatalog,
        workshop: WorkshopNamed,
        user_id: str,
        now: float | None = None,
    ) -> WorkshopRecord:
        return _step(store, catalog, workshop, lambda _bank, state: change(state), user_id, now, None)

    return step


pause = _facilitating(rules.pause)
resume = _facilitating(rules.resume)


def hand_over(
    store: WorkshopStore,
    catalog: BankCatalog,
    workshop: WorkshopNamed,
    user_id: str,
    new_facilitator: str,
    now: float | None = None,
) -> WorkshopRecord:
    """The facilitator makes another member the facilitator (the front end checks they are a member)."""

    def handed(_bank: QuestionBank, state: rules.WorkshopState) -> rules.WorkshopState:
        return rules.hand_over(state, new_facilitator)

    return _step(store, catalog, workshop, handed, user_id, now, None)


def take_over(
    store: WorkshopStore,
    catalog: BankCatalog,
    workshop: WorkshopNamed,
    user_id: str,
    now: float | None = None,
) -> WorkshopRecord:
    """A member takes on a workshop whose facilitator asked to be forgotten (`forget me`), so it is not
    left without anyone to settle it until its deadline (the front end checks they are a member). Raises
    NotFacilitator when it has a facilitator."""
    return hand_over(store, catalog, workshop, FORGOTTEN, user_id, now)


def close_unfinished(
    store: WorkshopStore, workshop: WorkshopRecord, closed_by: str, now: float | None = None
) -> WorkshopRecord:
    """Close a workshop before its last question (its deadline passed), its report from what was settled
    queued in the same transaction. Raises WorkshopClosed when it was closed already."""
    at = time.time() if now is None else now
    return store.close(workshop.team_id, workshop.workshop_id, closed_by, now=at, also=_queue_report(at))


# The report --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkshopResult:
    """What a closed workshop's delivery posts, and what the channel's history keeps of it."""

    workshop: WorkshopRecord
    bank: QuestionBank
    report: Report
    disagreements: tuple[rules.Split, ...]
    nobody_knew: tuple[str, ...]  # question ids settled as Don't know, in the bank's order
    voters: int  # everyone who voted on any question


def workshop_result(catalog: BankCatalog, workshop: WorkshopRecord) -> WorkshopResult:
    """The team's report from the settled answers: exactly score(bank, settled), as a person's answers."""
    bank = workshop_bank(catalog, workshop)
    state = state_of(workshop)
    voters = {user for by_user in state.votes.values() for user in by_user}
    return WorkshopResult(
        workshop,
        bank,
        rules.report(bank, state),
        rules.disagreements(bank, state),
        rules.nobody_knew(bank, state),
        len(voters),
    )


def keep_workshop_result(history: HistoryStore, result: WorkshopResult) -> ResultSummary:
    """Keep the closed workshop's result in its channel's history, marked as a workshop (the workshop id is
    the result id, so a retried delivery keeps it once)."""
    workshop = result.workshop
    finished_at = workshop.closed_at if workshop.closed_at is not None else time.time()
    summary = summary_of_report(result.report, workshop.workshop_id, finished_at)
    marked = replace(summary, kind=WORKSHOP)
    record_channel_result(
        history.redis,
        workshop.team_id,
        workshop.channel_id,
        marked,
        run_id=workshop.workshop_id,
        finished_at=finished_at,
        limits=history.limits,
    )
    return marked


def channel_scope(workshop: WorkshopRecord) -> Scope:
    return Scope.channel(workshop.team_id, workshop.channel_id)


# Forgetting --------------------------------------------------------------------------------------


def forget_person(store: WorkshopStore, team_id: str, user_id: str) -> int:
    """`forget me`: the person's votes leave every workshop of the workspace, and no workshop names them
    as its facilitator; how many workshops changed."""

    def without_votes(workshop: WorkshopRecord) -> dict[str, Any] | None:
        try:
            state = state_of(workshop)
        except rules.CorruptWorkshop:
            return None
        kept = rules.without_voter(state, user_id, FORGOTTEN)
        return kept.to_dict() if kept != state else None

    return store.forget_person(team_id, user_id, without_votes)


# The clock's look ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LookReport:
    reminded: int = 0
    closed: int = 0


def look_in_on_workshops(
    store: WorkshopStore,
    now: float,
    lease_seconds: float,
    limit: int,
    remind: Callable[[WorkshopRecord], object],
    hand_report: Callable[[WorkshopRecord], object],
) -> LookReport:
    """The clock's look in on open workshops due one: a workshop past its deadline is closed with its
    report from what was settled (handed on); one idle for a day gets its facilitator reminded, once per
    idle spell: its next look is then its deadline, unless a change since starts a new spell (the store
    moves the look to a day after each change)."""
    reminded = closed = 0
    for due in store.due(now, lease_seconds, limit):
        workshop = store.get(due.team_id, due.workshop_id)
        if workshop is None or not workshop.is_open:
            store.stop_looking(due)
            continue
        if workshop.overdue(now):
            try:
                hand_report(close_unfinished(store, workshop, CLOSED_BY_DEADLINE, now))
                closed += 1
            except WorkshopClosed:
                pass  # closed by its last settle meanwhile, with its own report
            continue
        if not workshop.paused and now >= workshop.updated_at + store.limits.idle_seconds:
            remind(workshop)
            reminded += 1
        store.look_again(due, workshop.deadline)
    return LookReport(reminded, closed)
