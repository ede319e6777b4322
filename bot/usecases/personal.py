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

from bot.engine.answers import Answer, encode_answer
from bot.engine.bank import QuestionBank
from bot.engine.catalog import BankCatalog, UnknownBank
from bot.engine.conversation import (
    AnswerQuestion,
    AskQuestion,
    BankChanged,
    Conversation,
    CorruptState,
    Event,
    InvalidEvent,
    Phase,
    ShowReport,
    Start,
    Transition,
    advance,
)
from bot.engine.report_view import build_view
from bot.engine.scoring import answered_of_applicable
from bot.store.outbox import DeliveryRef, Outbox
from bot.store.sessions import (
    Change,
    Respondent,
    ResultRecord,
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

    def response_writes(
        self,
        respondent: Respondent,
        bank: QuestionBank,
        answers: Mapping[str, Answer],
        result: ResultRecord,
        watched: Watched,
    ) -> Any: ...  # has .queue(pipeline), .counted and .replaced


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


def progress(catalog: BankCatalog, conversation: Conversation) -> tuple[int, int]:
    """(answered, applicable), as the report and the terminal count them."""
    try:
        return answered_of_applicable(catalog.by_id(conversation.bank_id), conversation.answers)
    except UnknownBank:
        return len(conversation.answers), len(conversation.answers)


def new_session(
    respondent: Respondent, bank: QuestionBank, origin_channel: str | None
) -> tuple[SessionRecord, AskQuestion]:
    """A fresh conversation on `bank`, not yet stored, and its first question."""
    started = advance(Conversation.new(bank), Start(), bank)
    assert isinstance(started.prompt, AskQuestion)
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
) -> Applied:
    """One atomic transition of the respondent's stored conversation. The one that completes it stores the
    result too, and a team run's counts when `run` is given for a run member. Raises SessionMismatch,
    the engine's InvalidEvent or BankChanged (nothing changed), or one of STORE_TROUBLE. With
    `pending_delivery` the finishing transaction also puts the report in the outbox, for a worker.

    The result is dated when the last answer was given, `answered_at` (Slack's time of the click), and
    not when this transaction ran; never later than now, should Slack's clock be ahead of this one's."""
    finished_at = time.time() if answered_at is None else min(answered_at, time.time())
    hook = run if respondent.run_id else None
    watched = hook.watched_keys(respondent) if hook else ()

    def mutate(record: SessionRecord | None, watched_values: Watched) -> Change[Applied]:
        if record is None or record.session_id != session_id:
            raise SessionMismatch("this button belongs to an earlier assessment")
        conversation = Conversation.from_dict(record.conversation)
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

    if not watched:
        return store.change(respondent, lambda record: mutate(record, {}))
    return store.change_with(respondent, watched, mutate)


def _with_delivery(
    also: Callable[[Any], None] | None, ref: DeliveryRef, respondent: Respondent, run_outcome: Any
) -> Callable[[Any], None]:
    """`also`, and the report's pending delivery; a run member's carries what the run made of it."""
    counted = (
        None
        if run_outcome is None
        else json.dumps({"counted": run_outcome.counted, "replaced": run_outcome.replaced})
    )

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
    except STORE_TROUBLE as error:
        log.warning("could not note the question message: %s", error)


def answered_but_last(
    respondent: Respondent, bank: QuestionBank, answers: Mapping[str, Answer]
) -> tuple[SessionRecord, AnswerQuestion]:
    """A session holding `answers` but the last one the engine asks, and that last answer as an event:
    how a tool that has the answers already (a benchmark, tests) reaches the very transaction that
    finishes an assessment. Raises KeyError when the engine asks a question `answers` leaves out."""
    record, prompt = new_session(respondent, bank, None)
    conversation = Conversation.from_dict(record.conversation)
    while True:
        event = AnswerQuestion(prompt.question.id, answers[prompt.question.id])
        transition = advance(conversation, event, bank)
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
