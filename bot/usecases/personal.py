"""The personal assessment as use cases: plain functions over the engine and the store, with no Slack in
them.

A front end (bot/slack/assessment.py) turns a command or a click into an engine event, calls `apply`, and
presents what it returns. Every step of a conversation is one atomic change of the stored session; the
step that finishes it also stores the result (and, for a team run's member, the run's counts) in the same
transaction.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.engine.adaptive import AskingMode, member_asking_mode, questions_to_ask
from bot.engine.answers import Answer, decode_answer, encode_answer
from bot.engine.bank import OutcomeQuestion, QuestionBank
from bot.engine.catalog import BankCatalog, UnknownBank
from bot.engine.conversation import (
    AnswerQuestion,
    AskQuestion,
    BankChanged,
    Conversation,
    CorruptState,
    Event,
    InvalidEvent,
    KeepGoing,
    OfferStop,
    Phase,
    ShowReport,
    Start,
    Transition,
    advance,
)
from bot.engine.overview import full_length, length
from bot.engine.progress import answered_text
from bot.engine.report_view import build_view
from bot.engine.scoring import answered_of_applicable
from bot.engine.team_bands import dimension_bands
from bot.store.outbox import DeliveryRef, Outbox
from bot.store.sessions import (
    Change,
    Respondent,
    ResultRecord,
    RunSessionClosed,
    SessionRecord,
    SessionStore,
    StoreUnavailable,
    Watched,
)
from bot.store.transactions import TooManyConcurrentChanges

log = logging.getLogger(__name__)

# What a step may fail with that is the store's doing, not the person's: nothing was changed.
STORE_TROUBLE: tuple[type[Exception], ...] = (StoreUnavailable, TooManyConcurrentChanges)


class SessionMismatch(InvalidEvent):
    """The click belongs to an earlier assessment of the same person."""


class NoSessionKept(SessionMismatch):
    """The click belongs to an assessment the store no longer holds at all: it expired unanswered, or the
    store lost it (a Redis restarted without persistence)."""


class RunEnded(NoSessionKept):
    """The click belongs to a team run member's assessment, and the run has closed: the close deleted the
    member's answers in it, and nothing changed."""


class OutdatedMessage(InvalidEvent):
    """The click is on a message the conversation has moved past (an offer to stop that was answered)."""


class NothingLeftOut(Exception):
    """A run seeded with earlier answers would ask nothing: every question that applies is answered."""


@dataclass(frozen=True)
class Asking:
    """How a run asks: which questions (`mode`), whether it offers to stop once the overall level is
    settled, and the earlier answers it starts from (whose questions it does not ask again)."""

    mode: AskingMode = AskingMode.ADAPTIVE
    offer_stop: bool = True
    answers: Mapping[str, Answer] | None = None

    def conversation(self, bank: QuestionBank) -> Conversation:
        return Conversation.new(bank, self.mode, offer_stop=self.offer_stop, answers=self.answers)


# A person's own assessment: only the questions that can still change a level, with the offer to stop.
PERSONAL = Asking()
# `start full`: every question that applies, so every score is exact.
EVERY_QUESTION = Asking(AskingMode.FULL, offer_stop=False)


def member_asking(bank: QuestionBank) -> Asking:
    """A team run member's part: never offered to stop, since the team report needs every dimension's
    level; every question where a dimension is counted by score, which only every answer makes exact."""
    return Asking(member_asking_mode(bank, dimension_bands(bank)), offer_stop=False)


def asked_length(bank: QuestionBank, asking: Asking) -> str:
    """How long a run asked as `asking` takes, in the engine's words: every question, or as measured."""
    return full_length(bank) if asking.mode is AskingMode.FULL else length(bank)


def left_out_asking(stored_answers: Mapping[str, int | str]) -> Asking:
    """Every question an earlier result left out, from that result's answers as the store keeps them."""
    answers = {question_id: decode_answer(answer) for question_id, answer in stored_answers.items()}
    return Asking(AskingMode.FULL, offer_stop=False, answers=answers)


@dataclass(frozen=True)
class LeftOut:
    """The questions a full run seeded with a result's answers would ask: those an adaptive run left out
    because no answer to them could change a level, and the delivery-outcome questions it never asks."""

    questions: int
    outcomes: int  # of `questions`, those on delivery outcomes, which no level counts


def left_out(bank: QuestionBank, answers: Mapping[str, Answer]) -> LeftOut:
    asked = questions_to_ask(bank, answers, AskingMode.FULL)
    return LeftOut(len(asked), sum(isinstance(q, OutcomeQuestion) for q in asked))


@dataclass(frozen=True)
class RunProgress:
    """How far a run in progress got, without promising a total an adaptive run may never reach."""

    answered: int
    applicable: int  # the questions that apply: a full run asks every one
    at_most_left: int | None  # still to ask, at most, in an adaptive run; None in a full run
    settled: bool  # resting at the offer to stop at its settled overall level

    @property
    def text(self) -> str:
        """ "answered 12 of the 46 questions that apply" (full), "answered 12 questions, at most 19 to
        go" (adaptive), "answered 12 questions; your overall level is settled" (at the offer)."""
        if self.at_most_left is None:
            return answered_text(self.answered, self.applicable)
        answered = f"answered {self.answered} question{'' if self.answered == 1 else 's'}"
        if self.settled:
            return f"{answered}; your overall level is settled"
        return f"{answered}, at most {self.at_most_left} to go"


@dataclass(frozen=True)
class Applied:
    transition: Transition
    bank: QuestionBank
    record: SessionRecord
    run_outcome: Any = None  # what a team run made of a finished response (RunWrites.response_writes)


class RunWrites(Protocol):
    """What a team run adds to the transaction that finishes a member's assessment
    (bot/usecases/team_runs.py): keys watched with the session, and writes queued beside the result."""

    def watched_keys(self, respondent: Respondent) -> Sequence[str]: ...

    def run_closed(self, respondent: Respondent, watched: Watched) -> bool: ...

    def response_writes(
        self,
        respondent: Respondent,
        bank: QuestionBank,
        answers: Mapping[str, Answer],
        result: ResultRecord,
        watched: Watched,
    ) -> Any: ...  # has .queue(pipeline), .counted, .replaced and .follow_up_run


def is_finished(record: SessionRecord) -> bool:
    """A finished (or unreadable) session may be replaced by a fresh one; one under way may not."""
    try:
        return Conversation.from_dict(record.conversation).finished
    except CorruptState:
        return True


def bank_for(catalog: BankCatalog, conversation: Conversation) -> QuestionBank:
    """The bank a stored conversation was started on; the engine checks its version."""
    try:
        return catalog.by_id(conversation.bank_id)
    except UnknownBank:
        started_with = f"{conversation.bank_id} {conversation.bank_version}"
        raise BankChanged(conversation.bank_id, started_with, "no longer offered") from None


def progress(catalog: BankCatalog, conversation: Conversation) -> RunProgress:
    """How far the conversation got: answers counted as the report and the terminal count them."""
    try:
        bank = catalog.by_id(conversation.bank_id)
    except UnknownBank:
        count = len(conversation.answers)
        return RunProgress(count, count, None, settled=False)
    answered, applicable = answered_of_applicable(bank, conversation.answers)
    if conversation.mode is AskingMode.FULL:
        return RunProgress(answered, applicable, None, settled=False)
    left = len(questions_to_ask(bank, conversation.answers, conversation.mode))
    return RunProgress(answered, applicable, left, settled=conversation.phase == Phase.OVERALL_SETTLED)


def new_session(
    respondent: Respondent, bank: QuestionBank, origin_channel: str | None, asking: Asking = PERSONAL
) -> tuple[SessionRecord, AskQuestion]:
    """A fresh conversation on `bank`, not yet stored, and its first question. Raises NothingLeftOut when
    `asking` starts from answers to every question it would ask."""
    started = advance(asking.conversation(bank), Start(), bank)
    if not isinstance(started.prompt, AskQuestion):
        raise NothingLeftOut(f"every question of {bank.id} that applies is answered")
    record = SessionRecord(
        respondent=respondent, conversation=started.state.to_dict(), origin_channel=origin_channel
    )
    return record, started.prompt


def result_of(
    respondent: Respondent,
    bank: QuestionBank,
    finished: Transition,
    origin: str | None,
    finished_at: float | None = None,
) -> ResultRecord:
    """The result a conversation's last answer produces: its answers and the report the engine built,
    dated `finished_at` (by default, now)."""
    assert isinstance(finished.prompt, ShowReport)
    return ResultRecord(
        respondent=respondent,
        bank_id=bank.id,
        bank_version=bank.version,
        answers={qid: encode_answer(a) for qid, a in finished.state.answers.items()},
        report=build_view(finished.prompt.report).to_dict(),
        origin_channel=origin,
        finished_at=time.time() if finished_at is None else finished_at,
    )


def apply(
    store: SessionStore,
    catalog: BankCatalog,
    respondent: Respondent,
    session_id: str,
    event: Event,
    message_ts: str | None = None,
    run: RunWrites | None = None,
    pending_delivery: bool = False,
    answered_at: float | None = None,
    shown_at: int | None = None,
) -> Applied:
    """One atomic transition of the respondent's stored conversation. The one that completes it stores the
    result too, and a team run's counts when `run` is given for a run member. Raises SessionMismatch,
    OutdatedMessage (the conversation's revision is no longer `shown_at`, that of the message clicked),
    RunEnded (a team run member's session, once the run closed),
    the engine's InvalidEvent or BankChanged (nothing changed), or one of STORE_TROUBLE. With
    `pending_delivery` the finishing transaction also puts the report in the outbox, for a worker.

    The result is dated when the last answer was given, `answered_at` (Slack's time of the click), and
    not when this transaction ran; never later than now, should Slack's clock be ahead of this one's."""
    finished_at = time.time() if answered_at is None else min(answered_at, time.time())
    hook = run if respondent.run_id else None
    watched = hook.watched_keys(respondent) if hook else ()

    def mutate(record: SessionRecord | None, watched_values: Watched) -> Change[Applied]:
        if record is None:
            if hook is not None and hook.run_closed(respondent, watched_values):
                raise RunEnded("the team run closed, and its answers went with it")
            raise NoSessionKept("no assessment is kept for this person")
        if record.session_id != session_id:
            raise SessionMismatch("this button belongs to an earlier assessment")
        conversation = Conversation.from_dict(record.conversation)
        if shown_at is not None and not conversation.finished and conversation.revision != shown_at:
            raise OutdatedMessage("this message was answered already")
        bank = bank_for(catalog, conversation)
        transition = advance(conversation, event, bank)
        updated = record.model_copy(
            update={"conversation": transition.state.to_dict(), "message_ts": message_ts or record.message_ts}
        )
        result = run_outcome = None
        if transition.state.phase == Phase.COMPLETE:
            result = result_of(respondent, bank, transition, record.origin_channel, finished_at)
            updated.result_id = result.result_id
            if hook is not None:
                answers = transition.state.answers
                run_outcome = hook.response_writes(respondent, bank, answers, result, watched_values)
        also = run_outcome.queue if run_outcome is not None else None
        if result is not None and pending_delivery:
            ref = DeliveryRef(respondent.team_id, "personal", result.result_id)
            also = _with_delivery(also, ref, respondent, run_outcome)
        return Change(updated, Applied(transition, bank, updated, run_outcome), result, also)

    try:
        if not watched:
            return store.change(respondent, lambda record: mutate(record, {}))
        return store.change_with(respondent, watched, mutate)
    except RunSessionClosed:
        raise RunEnded("the team run closed, and its answers went with it") from None


def _with_delivery(
    also: Callable[[Any], None] | None, ref: DeliveryRef, respondent: Respondent, run_outcome: Any
) -> Callable[[Any], None]:
    """`also`, and the report's pending delivery; a run member's carries what the run made of it, and the
    run while it is open (the run's close takes it out)."""
    counted = None
    if run_outcome is not None:
        note: dict[str, object] = {"counted": run_outcome.counted, "replaced": run_outcome.replaced}
        if run_outcome.follow_up_run is not None:
            note["run"] = run_outcome.follow_up_run
        counted = json.dumps(note)

    def queue(pipe: Any) -> None:
        if also is not None:
            also(pipe)
        Outbox.queue_pending(pipe, ref, respondent.user_id, counted)

    return queue


def remember_message(
    store: SessionStore, respondent: Respondent, session_id: str, channel: str, ts: str
) -> None:
    """Note which message shows the question. Best effort: its buttons work whatever message they are on,
    and each click records the message it came from."""

    def mutate(record: SessionRecord | None) -> Change[None]:
        if record is None or record.session_id != session_id:
            return Change(None, None)
        return Change(record.model_copy(update={"dm_channel": channel, "message_ts": ts}), None)

    try:
        store.change(respondent, mutate)
    except (StoreUnavailable, TooManyConcurrentChanges, RunSessionClosed) as error:
        log.warning("could not note the question message: %s", error)


def answered_but_last(
    respondent: Respondent, bank: QuestionBank, answers: Mapping[str, Answer]
) -> tuple[SessionRecord, AnswerQuestion]:
    """A session holding `answers` but the last one the engine asks, and that last answer as an event:
    how a tool that has the answers already (a benchmark, tests) reaches the very transaction that
    finishes an assessment. A run member is asked as a member is; anyone else keeps going past the offer
    to stop. Raises KeyError when the engine asks a question `answers` leaves out."""
    asking = member_asking(bank) if respondent.run_id else PERSONAL
    record, prompt = new_session(respondent, bank, None, asking)
    conversation = Conversation.from_dict(record.conversation)
    while True:
        event = AnswerQuestion(prompt.question.id, answers[prompt.question.id])
        transition = advance(conversation, event, bank)
        if isinstance(transition.prompt, OfferStop):
            transition = advance(transition.state, KeepGoing(), bank)
        if not isinstance(transition.prompt, AskQuestion):
            return record.model_copy(update={"conversation": conversation.to_dict()}), event
        conversation, prompt = transition.state, transition.prompt


def finish(
    store: SessionStore,
    catalog: BankCatalog,
    respondent: Respondent,
    bank: QuestionBank,
    answers: Mapping[str, Answer],
    run: RunWrites | None = None,
) -> Applied:
    """Store a session holding all of `answers` but the last (replacing the respondent's session), then
    apply the last: the finishing transaction of every front end, for tools that have the answers
    already. `bank` must be the catalog's."""
    record, last = answered_but_last(respondent, bank, answers)
    store.start(record, may_replace=lambda _: True)
    return apply(store, catalog, respondent, record.session_id, last, run=run)
