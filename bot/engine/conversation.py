"""The assessment conversation as an explicit, serialisable state machine, shared by every front end.

The states follow the original design:

    INIT → LOAD_Q → ASK_Q_N → GET_ANSWER_N → SCORE_ANSWER_N ─┐
                      ▲                                      │ (more questions)
                      └──────────────────────────────────────┘
                                                             │ (last question)
                                                             ▼
                                                  GEN_REPORT → COMPLETE

plus CANCELLED and EXPIRED, and Back to the previous question. A question whose `applies_if` rule is
off (a team without LLM features skips the LLM set) is passed over in both directions, and the progress
counts only the questions that apply. A conversation rests only in INIT,
ASK_Q (at question N), COMPLETE, CANCELLED or EXPIRED; LOAD_Q, GET_ANSWER, SCORE_ANSWER and GEN_REPORT
last only within one event, so they appear as the steps of a transition (``Transition.steps``).

``advance(state, event, bank)`` is the only way a state changes. An invalid event raises a subclass of
``InvalidEvent`` and nothing is applied, so a front end can refuse it and keep the stored state as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from bot.engine.answers import Answer, InvalidAnswer, check_answer, decode_answer, encode_answer
from bot.engine.bank import AskedQuestion, ContextQuestion, QuestionBank
from bot.engine.progress import answered_text, count_change_note
from bot.engine.scoring import Report, answered_of_applicable, applicable_questions, applies, score

STATE_FORMAT = 1


class Phase(StrEnum):
    INIT = "INIT"
    LOAD_Q = "LOAD_Q"
    ASK_Q = "ASK_Q"  # ASK_Q_N: N is Conversation.position
    GET_ANSWER = "GET_ANSWER"
    SCORE_ANSWER = "SCORE_ANSWER"
    GEN_REPORT = "GEN_REPORT"
    COMPLETE = "COMPLETE"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


RESTING_PHASES = frozenset({Phase.INIT, Phase.ASK_Q, Phase.COMPLETE, Phase.CANCELLED, Phase.EXPIRED})
FINISHED_PHASES = frozenset({Phase.COMPLETE, Phase.CANCELLED, Phase.EXPIRED})


# Events ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    pass


@dataclass(frozen=True)
class AnswerQuestion:
    question_id: str
    answer: Answer


@dataclass(frozen=True)
class Back:
    question_id: str  # the question the person is looking at, so a stale Back is refused


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Expire:
    pass


Event = Start | AnswerQuestion | Back | Cancel | Expire


# Refusals ----------------------------------------------------------------------------------------


class InvalidEvent(Exception):
    """An event the conversation refuses; the state is left unchanged."""


class StaleQuestion(InvalidEvent):
    def __init__(self, expected: str | None, received: str):
        self.expected = expected
        self.received = received
        super().__init__(f"question {received!r} is not the current question ({expected!r})")


class ConversationFinished(InvalidEvent):
    def __init__(self, phase: Phase):
        self.phase = phase
        super().__init__(f"the assessment is already {phase.value.lower()}")


class UnknownOption(InvalidEvent):
    pass


class NotStarted(InvalidEvent):
    pass


class AlreadyStarted(InvalidEvent):
    pass


class NothingToGoBackTo(InvalidEvent):
    pass


class BankChanged(InvalidEvent):
    """The bank was edited after this conversation started; its answers belong to the old version."""

    def __init__(self, bank_id: str, started_with: str, current: str):
        self.bank_id = bank_id
        self.started_with = started_with
        self.current = current
        super().__init__(f"the question bank changed from version {started_with} to {current}")


class CorruptState(InvalidEvent):
    pass


# State -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversation:
    bank_id: str
    bank_version: str
    phase: Phase = Phase.INIT
    position: int = 0
    answers: Mapping[str, Answer] = field(default_factory=dict)
    # Counts applied events; a front end may put it in its buttons to recognise an outdated message.
    revision: int = 0

    @classmethod
    def new(cls, bank: QuestionBank) -> Conversation:
        return cls(bank_id=bank.id, bank_version=bank.version)

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED_PHASES

    def current_question(self, bank: QuestionBank) -> AskedQuestion | None:
        if self.phase != Phase.ASK_Q:
            return None
        return bank.questions[self.position]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "bank": self.bank_id,
            "bank_version": self.bank_version,
            "phase": self.phase.value,
            "position": self.position,
            "answers": {qid: encode_answer(a) for qid, a in self.answers.items()},
            "revision": self.revision,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Conversation:
        try:
            if data["format"] != STATE_FORMAT:
                raise CorruptState(f"unknown state format {data['format']!r}")
            phase = Phase(data["phase"])
            if phase not in RESTING_PHASES:
                raise CorruptState(f"{phase} is not a resting state")
            return cls(
                bank_id=str(data["bank"]),
                bank_version=str(data["bank_version"]),
                phase=phase,
                position=int(data["position"]),
                answers={str(k): decode_answer(v) for k, v in dict(data["answers"]).items()},
                revision=int(data["revision"]),
            )
        except (KeyError, TypeError, ValueError, InvalidAnswer) as error:
            raise CorruptState(f"stored conversation is unreadable: {error}") from error


# Output: what a front end shows next --------------------------------------------------------------


@dataclass(frozen=True)
class AskQuestion:
    question: AskedQuestion
    number: int  # 1-based, among the questions that apply
    total: int  # the questions that apply, given the answers so far
    previous_answer: Answer | None  # shown as selected after Back
    # Why `total` changed with the answer just given (a context answer switched questions on or off).
    count_note: str | None = None


@dataclass(frozen=True)
class ShowReport:
    report: Report


@dataclass(frozen=True)
class _Ended:
    answered: int  # of the questions that apply
    applicable: int

    @property
    def answered_text(self) -> str:
        return answered_text(self.answered, self.applicable)


@dataclass(frozen=True)
class ShowCancelled(_Ended):
    pass


@dataclass(frozen=True)
class ShowExpired(_Ended):
    pass


Prompt = AskQuestion | ShowReport | ShowCancelled | ShowExpired


@dataclass(frozen=True)
class Transition:
    state: Conversation
    prompt: Prompt
    steps: tuple[Phase, ...]  # the phases passed through, transient ones included


# The transition function -------------------------------------------------------------------------


def _ask(state: Conversation, bank: QuestionBank, count_note: str | None = None) -> AskQuestion:
    question = bank.questions[state.position]
    asked = [q.id for q in applicable_questions(bank, state.answers)]
    number = asked.index(question.id) + 1 if question.id in asked else len(asked)
    return AskQuestion(question, number, len(asked), state.answers.get(question.id), count_note)


def _count_note(bank: QuestionBank, before: Mapping[str, Answer], after: Mapping[str, Answer]) -> str | None:
    """Why the number of questions that apply changed between two sets of answers, if it did."""
    was, now = applicable_questions(bank, before), applicable_questions(bank, after)
    switched = {q.id for q in was}.symmetric_difference(q.id for q in now)
    topics: list[str] = []
    for question in bank.questions:
        if question.id in switched and question.applies_if is not None:
            deciding = bank.question(question.applies_if.question)
            topic = deciding.topic if isinstance(deciding, ContextQuestion) else None
            if topic and topic not in topics:
                topics.append(topic)
    return count_change_note(len(was), len(now), topics)


def _next_position(bank: QuestionBank, answers: Mapping[str, Answer], after: int) -> int | None:
    """The next question that applies after position `after`; None when there is none."""
    for position in range(after + 1, len(bank.questions)):
        if applies(bank.questions[position], answers, bank):
            return position
    return None


def _previous_position(bank: QuestionBank, answers: Mapping[str, Answer], before: int) -> int | None:
    for position in range(before - 1, -1, -1):
        if applies(bank.questions[position], answers, bank):
            return position
    return None


def prompt_for(state: Conversation, bank: QuestionBank) -> Prompt:
    """What to show for a resting state (used to resend the current question)."""
    _check_bank(state, bank)
    if state.phase in (Phase.INIT, Phase.ASK_Q):
        return _ask(replace(state, position=state.position if state.phase == Phase.ASK_Q else 0), bank)
    if state.phase == Phase.COMPLETE:
        return ShowReport(score(bank, state.answers))
    if state.phase == Phase.CANCELLED:
        return ShowCancelled(*answered_of_applicable(bank, state.answers))
    return ShowExpired(*answered_of_applicable(bank, state.answers))


def _check_bank(state: Conversation, bank: QuestionBank) -> None:
    if bank.id != state.bank_id or bank.version != state.bank_version:
        raise BankChanged(state.bank_id, f"{state.bank_id} {state.bank_version}", f"{bank.id} {bank.version}")
    if state.phase == Phase.ASK_Q and not 0 <= state.position < len(bank.questions):
        raise CorruptState(f"position {state.position} outside the bank's {len(bank.questions)} questions")
    # A stored answer the bank does not offer would crash scoring, or (a negative index) silently
    # score as another option.
    for question_id, answer in state.answers.items():
        try:
            check_answer(bank.question(question_id), answer)
        except (KeyError, InvalidAnswer) as error:
            raise CorruptState(f"stored answer {question_id!r} does not fit the bank: {error}") from error


def advance(state: Conversation, event: Event, bank: QuestionBank) -> Transition:
    """Apply one event. Raises InvalidEvent (and changes nothing) when the event does not fit."""
    _check_bank(state, bank)
    if state.finished:
        raise ConversationFinished(state.phase)
    revision = state.revision + 1

    if isinstance(event, Start):
        if state.phase != Phase.INIT:
            raise AlreadyStarted("the assessment has already started")
        # LOAD_Q: the bank is already loaded and pinned by id and version.
        asking = replace(state, phase=Phase.ASK_Q, position=0, revision=revision)
        return Transition(asking, _ask(asking, bank), (Phase.LOAD_Q, Phase.ASK_Q))

    if isinstance(event, Cancel | Expire):
        phase = Phase.CANCELLED if isinstance(event, Cancel) else Phase.EXPIRED
        ended = replace(state, phase=phase, revision=revision)
        shown = ShowCancelled if phase == Phase.CANCELLED else ShowExpired
        return Transition(ended, shown(*answered_of_applicable(bank, state.answers)), (phase,))

    if state.phase != Phase.ASK_Q:
        raise NotStarted("the assessment has not started")
    current = bank.questions[state.position]

    if isinstance(event, Back):
        if event.question_id != current.id:
            raise StaleQuestion(current.id, event.question_id)
        previous = _previous_position(bank, state.answers, state.position)
        if previous is None:
            raise NothingToGoBackTo("this is the first question")
        back = replace(state, position=previous, revision=revision)
        return Transition(back, _ask(back, bank), (Phase.ASK_Q,))

    # GET_ANSWER_N: the answer must be for the question on screen and one it offers.
    if event.question_id != current.id:
        raise StaleQuestion(current.id, event.question_id)
    try:
        check_answer(current, event.answer)
    except InvalidAnswer as error:
        raise UnknownOption(str(error)) from error
    # SCORE_ANSWER_N: answers are keyed by question id, so answering again after Back replaces.
    answers = {**state.answers, current.id: event.answer}
    steps = (Phase.GET_ANSWER, Phase.SCORE_ANSWER)
    following = _next_position(bank, answers, state.position)
    if following is not None:
        asking = replace(state, position=following, answers=answers, revision=revision)
        prompt = _ask(asking, bank, _count_note(bank, state.answers, answers))
        return Transition(asking, prompt, (*steps, Phase.ASK_Q))
    complete = replace(state, phase=Phase.COMPLETE, answers=answers, revision=revision)
    return Transition(complete, ShowReport(score(bank, answers)), (*steps, Phase.GEN_REPORT, Phase.COMPLETE))
