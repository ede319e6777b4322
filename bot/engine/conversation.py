"""The assessment conversation as an explicit, serialisable state machine, shared by every front end.

The states follow the original design:

    INIT → LOAD_Q → ASK_Q_N → GET_ANSWER_N → SCORE_ANSWER_N ─┐
                      ▲                                      │ (more questions)
                      └──────────────────────────────────────┘
                                                             │ (last question)
                                                             ▼
                                                  GEN_REPORT → COMPLETE

plus CANCELLED and EXPIRED, and Back to the previous question. Which question is "next" is decided by
bot/engine/adaptive.py: an adaptive run (the default) asks only questions that can still change a level,
a full run every question that applies; a question whose `applies_if` rule is off is never asked.

An adaptive run that may stop early passes one more resting state the first time its overall level is
settled while some dimension levels are not:

    SCORE_ANSWER_N ─(overall level settled)→ OVERALL_SETTLED ─ KeepGoing → ASK_Q_N+1
                                                              └ StopHere → GEN_REPORT → COMPLETE

A conversation rests only in INIT, ASK_Q (at question N), OVERALL_SETTLED, COMPLETE, CANCELLED or
EXPIRED; LOAD_Q, GET_ANSWER, SCORE_ANSWER and GEN_REPORT last only within one event, so they appear as the
steps of a transition (``Transition.steps``).

``advance(state, event, bank)`` is the only way a state changes. An invalid event raises a subclass of
``InvalidEvent`` and nothing is applied, so a front end can refuse it and keep the stored state as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from bot.engine.adaptive import AskingMode, Standing, questions_to_ask, standing
from bot.engine.answers import Answer, InvalidAnswer, check_answer, decode_answer, encode_answer
from bot.engine.bank import AskedQuestion, ContextQuestion, QuestionBank
from bot.engine.progress import answered_text, count_change_note
from bot.engine.scoring import Report, answered_of_applicable, applicable_questions, applies, score

# 2 added the asking mode, the questions shown in order, and the offer to stop early; a state of format 1
# reads as a full run.
STATE_FORMAT = 2
READABLE_FORMATS = (1, 2)


class Phase(StrEnum):
    INIT = "INIT"
    LOAD_Q = "LOAD_Q"
    ASK_Q = "ASK_Q"  # ASK_Q_N: N is Conversation.position
    OVERALL_SETTLED = "OVERALL_SETTLED"  # the overall level is known: stop here, or go on
    GET_ANSWER = "GET_ANSWER"
    SCORE_ANSWER = "SCORE_ANSWER"
    GEN_REPORT = "GEN_REPORT"
    COMPLETE = "COMPLETE"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


RESTING_PHASES = frozenset(
    {Phase.INIT, Phase.ASK_Q, Phase.OVERALL_SETTLED, Phase.COMPLETE, Phase.CANCELLED, Phase.EXPIRED}
)
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
class KeepGoing:
    """Go on past a settled overall level, for every dimension's level and Next Steps."""


@dataclass(frozen=True)
class StopHere:
    """Finish at a settled overall level, with a report that says what is settled and what is not."""


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Expire:
    pass


Event = Start | AnswerQuestion | Back | KeepGoing | StopHere | Cancel | Expire


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


class NoStopOffered(InvalidEvent):
    """Keep going or stop, when no settled overall level was offered."""


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
    mode: AskingMode = AskingMode.ADAPTIVE
    # The positions of the questions shown, in the order first shown: what Back walks. Positions, not ids,
    # keep a stored state small; the bank is pinned by version, so they always name the same questions.
    asked: tuple[int, ...] = ()
    # Whether a settled overall level is still to be offered as a place to stop.
    offer_stop: bool = False

    @classmethod
    def new(
        cls,
        bank: QuestionBank,
        mode: AskingMode = AskingMode.ADAPTIVE,
        offer_stop: bool = False,
        answers: Mapping[str, Answer] | None = None,
    ) -> Conversation:
        """`answers` carries an earlier run's answers into this one, whose questions are then not asked
        again (answering the questions an adaptive run left out)."""
        return cls(
            bank_id=bank.id,
            bank_version=bank.version,
            answers=dict(answers or {}),
            mode=mode,
            offer_stop=offer_stop and mode is AskingMode.ADAPTIVE,
        )

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
            "mode": self.mode.value,
            "asked": list(self.asked),
            "offer_stop": self.offer_stop,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Conversation:
        try:
            if data["format"] not in READABLE_FORMATS:
                raise CorruptState(f"unknown state format {data['format']!r}")
            phase = Phase(data["phase"])
            if phase not in RESTING_PHASES:
                raise CorruptState(f"{phase} is not a resting state")
            asked = data.get("asked", [])
            if not isinstance(asked, list) or not all(type(position) is int for position in asked):
                raise CorruptState(f"asked must be a list of question positions, not {asked!r}")
            return cls(
                bank_id=str(data["bank"]),
                bank_version=str(data["bank_version"]),
                phase=phase,
                position=int(data["position"]),
                answers={str(k): decode_answer(v) for k, v in dict(data["answers"]).items()},
                revision=int(data["revision"]),
                mode=AskingMode(data.get("mode", AskingMode.FULL.value)),
                asked=tuple(asked),
                offer_stop=data.get("offer_stop", False) is True,
            )
        except (KeyError, TypeError, ValueError, InvalidAnswer) as error:
            raise CorruptState(f"stored conversation is unreadable: {error}") from error


# Output: what a front end shows next --------------------------------------------------------------


@dataclass(frozen=True)
class AskQuestion:
    question: AskedQuestion
    number: int  # 1-based, among the questions shown so far
    total: (
        int  # the questions shown plus those still to ask: exact in a full run, the most in an adaptive one
    )
    previous_answer: Answer | None  # shown as selected after Back
    # Why `total` changed with the answer just given (a context answer switched questions on or off).
    count_note: str | None = None
    total_is_exact: bool = True


@dataclass(frozen=True)
class OfferStop:
    """The overall level is settled: the person may stop here or go on for the rest."""

    overall_level: int
    holding: tuple[str, ...]  # the names of the dimensions settled at the overall level
    at_most_left: int  # questions still to ask, at most, for every dimension's level
    answered: int


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


Prompt = AskQuestion | OfferStop | ShowReport | ShowCancelled | ShowExpired


@dataclass(frozen=True)
class Transition:
    state: Conversation
    prompt: Prompt
    steps: tuple[Phase, ...]  # the phases passed through, transient ones included


# The transition function -------------------------------------------------------------------------


def _to_ask(
    state: Conversation,
    bank: QuestionBank,
    answers: Mapping[str, Answer] | None = None,
    now: Standing | None = None,
) -> list[AskedQuestion]:
    """What is still to ask; while a settled overall level is still to be offered, the questions that
    settle it soonest come first. `now` is the standing on those answers, where it is already known: one
    click computes it once."""
    given = state.answers if answers is None else answers
    return questions_to_ask(bank, given, state.mode, headline_first=state.offer_stop, now=now)


def _asked_ids(state: Conversation, bank: QuestionBank) -> list[str]:
    """The questions shown so far, in order, that still apply."""
    return [
        bank.questions[position].id
        for position in state.asked
        if applies(bank.questions[position], state.answers, bank)
    ]


def _shown(state: Conversation, bank: QuestionBank) -> list[str]:
    """The questions shown so far that still apply, the current one included."""
    shown = _asked_ids(state, bank)
    current = bank.questions[state.position].id
    return shown if current in shown else [*shown, current]


def _ask(
    state: Conversation, bank: QuestionBank, count_note: str | None = None, now: Standing | None = None
) -> AskQuestion:
    question = bank.questions[state.position]
    shown = _shown(state, bank)
    number = shown.index(question.id) + 1 if question.id in shown else len(shown)
    later = [q for q in _to_ask(state, bank, now=now) if q.id not in shown]
    exact = state.mode is AskingMode.FULL
    return AskQuestion(
        question, number, len(shown) + len(later), state.answers.get(question.id), count_note, exact
    )


def _count_note(
    bank: QuestionBank, before: Mapping[str, Answer], after: Mapping[str, Answer], total: int, exact: bool
) -> str | None:
    """Why the number of questions changed between two sets of answers, if a context answer changed it."""
    was, now = applicable_questions(bank, before), applicable_questions(bank, after)
    switched = {q.id for q in was}.symmetric_difference(q.id for q in now)
    topics: list[str] = []
    for question in bank.questions:
        if question.id in switched and question.applies_if is not None:
            deciding = bank.question(question.applies_if.question)
            topic = deciding.topic if isinstance(deciding, ContextQuestion) else None
            if topic and topic not in topics:
                topics.append(topic)
    if not switched:
        return None
    return count_change_note(len(was), len(now), topics, total, exact)


def _previous_position(bank: QuestionBank, answers: Mapping[str, Answer], before: int) -> int | None:
    for position in range(before - 1, -1, -1):
        if applies(bank.questions[position], answers, bank):
            return position
    return None


def _back_position(state: Conversation, bank: QuestionBank, from_id: str) -> int | None:
    """The question shown before `from_id`; for a state stored before questions were recorded in order
    (format 1, always a full run), the one before it in the bank."""
    shown = _asked_ids(state, bank)
    if from_id in shown:
        index = shown.index(from_id)
        return bank.position(shown[index - 1]) if index > 0 else None
    if shown:
        return bank.position(shown[-1])
    return _previous_position(bank, state.answers, bank.position(from_id))


def _showing(state: Conversation, bank: QuestionBank, position: int, **changes: Any) -> Conversation:
    asked = state.asked if position in state.asked else (*state.asked, position)
    return replace(state, phase=Phase.ASK_Q, position=position, asked=asked, **changes)


def prompt_for(state: Conversation, bank: QuestionBank) -> Prompt:
    """What to show for a resting state (used to resend the current question)."""
    _check_bank(state, bank)
    if state.phase == Phase.INIT:
        following = _to_ask(state, bank)
        position = bank.position(following[0].id) if following else 0
        return _ask(replace(state, position=position), bank)
    if state.phase == Phase.ASK_Q:
        return _ask(state, bank)
    if state.phase == Phase.OVERALL_SETTLED:
        return _offer_stop(state, bank)
    if state.phase == Phase.COMPLETE:
        return ShowReport(score(bank, state.answers))
    if state.phase == Phase.CANCELLED:
        return ShowCancelled(*answered_of_applicable(bank, state.answers))
    return ShowExpired(*answered_of_applicable(bank, state.answers))


def _offer_stop(state: Conversation, bank: QuestionBank, now: Standing | None = None) -> OfferStop:
    now = now or standing(bank, state.answers)
    left = len(_to_ask(state, bank, now=now))
    answered, _ = answered_of_applicable(bank, state.answers)
    level = now.overall_level_range[0] if now.overall_level_range else 1
    return OfferStop(level, tuple(d.name for d in now.holding), left, answered)


def _check_bank(state: Conversation, bank: QuestionBank) -> None:
    if bank.id != state.bank_id or bank.version != state.bank_version:
        raise BankChanged(state.bank_id, f"{state.bank_id} {state.bank_version}", f"{bank.id} {bank.version}")
    if state.phase in (Phase.ASK_Q, Phase.OVERALL_SETTLED) and not 0 <= state.position < len(bank.questions):
        raise CorruptState(f"position {state.position} outside the bank's {len(bank.questions)} questions")
    if not all(0 <= position < len(bank.questions) for position in state.asked):
        raise CorruptState(f"a question shown is outside the bank's {len(bank.questions)} questions")
    # A stored answer the bank does not offer would crash scoring, or (a negative index) silently
    # score as another option.
    for question_id, answer in state.answers.items():
        try:
            check_answer(bank.question(question_id), answer)
        except (KeyError, InvalidAnswer) as error:
            raise CorruptState(f"stored answer {question_id!r} does not fit the bank: {error}") from error


def _complete(
    state: Conversation, bank: QuestionBank, answers: Mapping[str, Answer], revision: int
) -> Conversation:
    return replace(state, phase=Phase.COMPLETE, answers=answers, revision=revision, offer_stop=False)


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
        following = _to_ask(state, bank)
        if not following:  # every question was answered in an earlier run
            complete = _complete(state, bank, state.answers, revision)
            return Transition(
                complete,
                ShowReport(score(bank, state.answers)),
                (Phase.LOAD_Q, Phase.GEN_REPORT, Phase.COMPLETE),
            )
        asking = _showing(state, bank, bank.position(following[0].id), revision=revision)
        return Transition(asking, _ask(asking, bank), (Phase.LOAD_Q, Phase.ASK_Q))

    if isinstance(event, Cancel | Expire):
        phase = Phase.CANCELLED if isinstance(event, Cancel) else Phase.EXPIRED
        ended = replace(state, phase=phase, revision=revision)
        shown = ShowCancelled if phase == Phase.CANCELLED else ShowExpired
        return Transition(ended, shown(*answered_of_applicable(bank, state.answers)), (phase,))

    if state.phase == Phase.OVERALL_SETTLED:
        return _after_settled(state, event, bank, revision)
    if isinstance(event, KeepGoing | StopHere):
        raise NoStopOffered("no settled overall level was offered")
    if state.phase != Phase.ASK_Q:
        raise NotStarted("the assessment has not started")
    current = bank.questions[state.position]

    if isinstance(event, Back):
        if event.question_id != current.id:
            raise StaleQuestion(current.id, event.question_id)
        previous = _back_position(state, bank, current.id)
        if previous is None:
            raise NothingToGoBackTo("this is the first question")
        back = _showing(state, bank, previous, revision=revision)
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
    answered = replace(state, answers=answers, revision=revision)
    now = standing(bank, answers) if state.mode is AskingMode.ADAPTIVE else None
    following = _to_ask(state, bank, answers, now)
    if not following:
        complete = _complete(state, bank, answers, revision)
        return Transition(
            complete, ShowReport(score(bank, answers)), (*steps, Phase.GEN_REPORT, Phase.COMPLETE)
        )
    next_position = bank.position(following[0].id)
    if state.offer_stop and now is not None and now.overall_settled:
        settled = replace(answered, phase=Phase.OVERALL_SETTLED, position=next_position)
        return Transition(settled, _offer_stop(settled, bank, now), (*steps, Phase.OVERALL_SETTLED))
    asking = _showing(answered, bank, next_position)
    exact = state.mode is AskingMode.FULL
    prompt = _ask(asking, bank, now=now)
    note = _count_note(bank, state.answers, answers, prompt.total, exact)
    return Transition(asking, replace(prompt, count_note=note), (*steps, Phase.ASK_Q))


def _after_settled(state: Conversation, event: Event, bank: QuestionBank, revision: int) -> Transition:
    if isinstance(event, StopHere):
        complete = _complete(state, bank, state.answers, revision)
        return Transition(
            complete, ShowReport(score(bank, state.answers)), (Phase.GEN_REPORT, Phase.COMPLETE)
        )
    if isinstance(event, KeepGoing):
        going = _showing(state, bank, state.position, revision=revision, offer_stop=False)
        return Transition(going, _ask(going, bank), (Phase.ASK_Q,))
    if isinstance(event, Back):
        last = bank.questions[state.asked[-1]].id if state.asked else None
        if last is None or event.question_id != last:
            raise StaleQuestion(last, event.question_id)
        back = _showing(state, bank, state.asked[-1], revision=revision)
        return Transition(back, _ask(back, bank), (Phase.ASK_Q,))
    question = event.question_id if isinstance(event, AnswerQuestion) else None
    raise StaleQuestion(None, question or "")
