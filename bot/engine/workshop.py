"""A live team workshop: the bank's questions asked one at a time to a channel, every member voting and a
facilitator settling each question for the team. Pure rules, no I/O; a front end stores the state
(``to_dict``/``from_dict``) and renders it.

The team's answer to a question (``team_answer``), when the facilitator takes the default:

- No votes: none. The facilitator picks an answer or skips the question.
- "Don't know" with a strict majority of all votes: Don't know. "Not applicable" likewise, where the question
  offers it (a vote the question does not offer is refused).
- Otherwise the Don't know and Not applicable votes are left out, and of the option votes:
  - a practice (or outcome) question takes the median by rung. A rung is the option's position: a bank's
    option values increase from the first option (0, not in place) to the last (1, fully in place), so the
    position orders options exactly as scoring values them. With an even count whose two middle votes
    differ, the lower rung: the team claims no more than half of it says is in place;
  - a context question takes the most common option, ties to the first of them in the bank's order: its
    options describe situations, not rungs, so no option lies "between" two others.
- Only Don't know and Not applicable votes, in equal numbers: Don't know. Saying a practice does not apply
  takes a majority; not knowing never pays.

Which question comes next is bot/engine/adaptive.py's adaptive order over the settled answers, less the
questions skipped: only questions that can still change a level are asked, exactly as in a personal run,
so the team's report is ``score(bank, settled answers)``, the same report a person's answers give.

Back reopens the question shown before the open one; it keeps its settled answer (or stays skipped) until
the facilitator settles or skips it again, so nothing is lost by looking back. Every question's votes are
kept, the settled questions' for the report's "where the team disagreed" and the others for when the
question opens again: at most one entry per question of the bank.

Every transition is a pure function that returns a new state, or raises an ``InvalidWorkshopEvent``
subclass and changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from bot.engine.adaptive import AskingMode, questions_to_ask
from bot.engine.answers import (
    Answer,
    DontKnow,
    InvalidAnswer,
    NotApplicable,
    OptionChoice,
    check_answer,
    choices,
    decode_answer,
    encode_answer,
)
from bot.engine.bank import AskedQuestion, ContextQuestion, QuestionBank
from bot.engine.scoring import Report, applies, score

STATE_FORMAT = 1
# What a Slack button shows before cutting its text.
BUTTON_TEXT_LIMIT = 30
BUTTON_PREFIX = "Team answer: "
# A bound on one question's voters, so a stored workshop stays small; far more than a team that talks
# each question through, and a voter already counted may still change their vote.
MAX_VOTERS = 100


# Refusals ----------------------------------------------------------------------------------------


class InvalidWorkshopEvent(Exception):
    """An event the workshop refuses; the state is left unchanged."""


class NotTheOpenQuestion(InvalidWorkshopEvent):
    def __init__(self, open_question: str | None, received: str):
        self.open_question = open_question
        self.received = received
        where = f"the open question is {open_question!r}" if open_question else "no question is open"
        super().__init__(f"question {received!r} is not open for votes: {where}")


class WorkshopFinished(InvalidWorkshopEvent):
    def __init__(self) -> None:
        super().__init__("the workshop is finished: no question is left that can change a level")


class WorkshopPaused(InvalidWorkshopEvent):
    def __init__(self) -> None:
        super().__init__("the workshop is paused; resume it first")


class NotPaused(InvalidWorkshopEvent):
    def __init__(self) -> None:
        super().__init__("the workshop is not paused")


class UnofferedAnswer(InvalidWorkshopEvent):
    """An answer the question does not offer."""


class NoTeamAnswer(InvalidWorkshopEvent):
    def __init__(self, question_id: str):
        self.question_id = question_id
        super().__init__(f"nobody voted on {question_id!r}: pick an answer or skip it")


class NothingToGoBackTo(InvalidWorkshopEvent):
    def __init__(self) -> None:
        super().__init__("no question was settled or skipped before this one")


class AlreadyFacilitator(InvalidWorkshopEvent):
    def __init__(self, user_id: str):
        self.user_id = user_id
        super().__init__(f"{user_id!r} is already the facilitator")


class TooManyVoters(InvalidWorkshopEvent):
    def __init__(self, question_id: str):
        super().__init__(f"question {question_id!r} already has {MAX_VOTERS} voters, the most it takes")


class WorkshopBankChanged(InvalidWorkshopEvent):
    """The bank was edited after the workshop started; its answers belong to the old version."""

    def __init__(self, started_with: str, current: str):
        self.started_with = started_with
        self.current = current
        super().__init__(f"the question bank changed from {started_with} to {current}")


class CorruptWorkshop(InvalidWorkshopEvent):
    pass


# The team's answer -------------------------------------------------------------------------------


class Rule(StrEnum):
    """How a team answer was reached from the votes."""

    MAJORITY = "majority"  # Don't know or Not applicable with a strict majority of all votes
    MEDIAN = "median"  # the median option by rung (practice and outcome questions)
    MOST_COMMON = "most common"  # the most common option (context questions)
    NO_OPTION = "no option"  # only Don't know and Not applicable votes, in equal numbers


@dataclass(frozen=True)
class TeamAnswer:
    answer: Answer
    rule: Rule
    votes: int  # every vote cast
    counted: int  # the votes the rule was applied to: all of them for a majority, else the option votes
    tied_with: Answer | None = None  # the answer not taken where the rule's tie-break decided


def _checked(question: AskedQuestion, answer: Answer) -> None:
    try:
        check_answer(question, answer)
    except InvalidAnswer as error:
        raise UnofferedAnswer(str(error)) from error


def settle_default(question: AskedQuestion, votes: Mapping[str, Answer]) -> TeamAnswer | None:
    """The team's answer and how it was reached (the module's docstring states the rule); None with no
    votes. Raises UnofferedAnswer for a vote the question does not offer."""
    if not votes:
        return None
    for vote in votes.values():
        _checked(question, vote)
    total = len(votes)
    counts = Counter(votes.values())
    for unsure in (DontKnow(), NotApplicable()):
        if counts[unsure] * 2 > total:
            return TeamAnswer(unsure, Rule.MAJORITY, total, total)
    rungs = sorted(vote.index for vote in votes.values() if isinstance(vote, OptionChoice))
    if not rungs:
        return TeamAnswer(DontKnow(), Rule.NO_OPTION, total, 0)
    if isinstance(question, ContextQuestion):
        per_option = Counter(rungs)
        most = max(per_option.values())
        tied = sorted(index for index, count in per_option.items() if count == most)
        other = OptionChoice(tied[1]) if len(tied) > 1 else None
        return TeamAnswer(OptionChoice(tied[0]), Rule.MOST_COMMON, total, len(rungs), other)
    lower, upper = rungs[(len(rungs) - 1) // 2], rungs[len(rungs) // 2]
    other = OptionChoice(upper) if upper != lower else None
    return TeamAnswer(OptionChoice(lower), Rule.MEDIAN, total, len(rungs), other)


def team_answer(question: AskedQuestion, votes: Mapping[str, Answer]) -> Answer | None:
    """The answer the facilitator's default settles on; None when nobody voted."""
    found = settle_default(question, votes)
    return found.answer if found else None


def answer_label(question: AskedQuestion, answer: Answer) -> str:
    return dict(choices(question))[answer]


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1].rstrip()}…"


def default_button_text(question: AskedQuestion, votes: Mapping[str, Answer]) -> str | None:
    """The default's button, within BUTTON_TEXT_LIMIT characters: "Team answer: <label>", the label cut
    with an ellipsis. None when nobody voted, since there is no default to take."""
    found = settle_default(question, votes)
    if found is None:
        return None
    label = answer_label(question, found.answer)
    return BUTTON_PREFIX + _shortened(label, BUTTON_TEXT_LIMIT - len(BUTTON_PREFIX))


def _votes_text(count: int) -> str:
    return f"{count} vote{'s' if count != 1 else ''}"


def describe_default(question: AskedQuestion, votes: Mapping[str, Answer]) -> str:
    """One line saying what the default settles on and why, for the message beside the button."""
    found = settle_default(question, votes)
    if found is None:
        return "No votes yet: pick the team's answer or skip the question."
    label = answer_label(question, found.answer)
    left_out = found.votes - found.counted
    why = {
        Rule.MAJORITY: f"{Counter(votes.values())[found.answer]} of {_votes_text(found.votes)}",
        Rule.MEDIAN: f"the median of {_votes_text(found.counted)}",
        Rule.MOST_COMMON: f"the most common of {_votes_text(found.counted)}",
        Rule.NO_OPTION: f"no option was chosen in {_votes_text(found.votes)}",
    }[found.rule]
    notes = []
    if found.rule in (Rule.MEDIAN, Rule.MOST_COMMON) and left_out:
        notes.append(f"{left_out} Don't know or Not applicable left out")
    if found.tied_with is not None:
        other = answer_label(question, found.tied_with)
        notes.append(
            f"tied with “{other}”: the lower rung is taken"
            if found.rule is Rule.MEDIAN
            else f"tied with “{other}”: the first option is taken"
        )
    extra = f" ({'; '.join(notes)})" if notes else ""
    return f"Take the team's answer: {label}, {why}{extra}."


# Where the votes split ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """One answer the votes landed on, with who chose it."""

    answer: Answer
    label: str
    voters: tuple[str, ...]  # user ids, sorted


@dataclass(frozen=True)
class Split:
    question_id: str
    # Options by rung, lowest first, then Not applicable, then Don't know: each its own position.
    positions: tuple[Position, ...]

    @property
    def rungs_apart(self) -> int:
        """How many rungs lie between the lowest and the highest option chosen (0 with fewer than two)."""
        rungs = [p.answer.index for p in self.positions if isinstance(p.answer, OptionChoice)]
        return max(rungs) - min(rungs) if rungs else 0


def split(question: AskedQuestion, votes: Mapping[str, Answer]) -> Split | None:
    """The positions the votes landed on when there are two or more; None when they all agree (or none)."""
    for vote in votes.values():
        _checked(question, vote)
    positions = tuple(
        Position(answer, label, tuple(sorted(user for user, vote in votes.items() if vote == answer)))
        for answer, label in choices(question)
        if answer in votes.values()
    )
    return Split(question.id, positions) if len(positions) > 1 else None


# State -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkshopState:
    bank_id: str
    bank_version: str
    facilitator: str  # a user id
    # The question open for votes; None once nothing is left that can change a level (finished).
    open_question: str | None
    # The questions shown, in the order last reached going forward: what Back walks.
    asked: tuple[str, ...] = ()
    settled: Mapping[str, Answer] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    # Per question shown: user id → vote. A settled question's votes are those it was settled with.
    votes: Mapping[str, Mapping[str, Answer]] = field(default_factory=dict)
    paused: bool = False

    @property
    def finished(self) -> bool:
        return self.open_question is None

    @property
    def open_votes(self) -> Mapping[str, Answer]:
        return self.votes.get(self.open_question, {}) if self.open_question else {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "bank": self.bank_id,
            "bank_version": self.bank_version,
            "facilitator": self.facilitator,
            "open": self.open_question,
            "asked": list(self.asked),
            "settled": {qid: encode_answer(a) for qid, a in self.settled.items()},
            "skipped": list(self.skipped),
            "votes": {
                qid: {user: encode_answer(a) for user, a in by_user.items()}
                for qid, by_user in self.votes.items()
            },
            "paused": self.paused,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkshopState:
        try:
            if data["format"] != STATE_FORMAT:
                raise CorruptWorkshop(f"unknown workshop format {data['format']!r}")
            open_question = data["open"]
            if open_question is not None and not isinstance(open_question, str):
                raise CorruptWorkshop(f"the open question must be an id, not {open_question!r}")
            paused = data["paused"]
            if not isinstance(paused, bool):
                raise CorruptWorkshop(f"paused must be true or false, not {paused!r}")
            return cls(
                bank_id=_text(data["bank"]),
                bank_version=_text(data["bank_version"]),
                facilitator=_text(data["facilitator"]),
                open_question=open_question,
                asked=_ids(data["asked"]),
                settled=_answers(data["settled"]),
                skipped=_ids(data["skipped"]),
                votes={_text(qid): _answers(by_user) for qid, by_user in _mapping(data["votes"]).items()},
                paused=paused,
            )
        except (KeyError, TypeError, ValueError, InvalidAnswer) as error:
            raise CorruptWorkshop(f"stored workshop is unreadable: {error}") from error


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise CorruptWorkshop(f"expected text, not {value!r}")
    return value


def _mapping(value: object) -> Mapping[Any, Any]:
    if not isinstance(value, dict):
        raise CorruptWorkshop(f"expected a mapping, not {value!r}")
    return value


def _ids(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise CorruptWorkshop(f"expected a list of question ids, not {value!r}")
    return tuple(_text(item) for item in value)


def _answers(value: object) -> dict[str, Answer]:
    return {_text(key): decode_answer(code) for key, code in _mapping(value).items()}


# Transitions -------------------------------------------------------------------------------------


def _following(bank: QuestionBank, settled: Mapping[str, Answer], skipped: tuple[str, ...]) -> str | None:
    """The first question of the adaptive order that was not skipped: None when none can change a level."""
    return next(
        (q.id for q in questions_to_ask(bank, settled, AskingMode.ADAPTIVE) if q.id not in skipped), None
    )


def _opening(state: WorkshopState, question_id: str | None, **changes: Any) -> WorkshopState:
    """Going forward to `question_id`, which becomes the last question reached."""
    asked = state.asked
    if question_id is not None:
        asked = (*(qid for qid in asked if qid != question_id), question_id)
    return replace(state, open_question=question_id, asked=asked, **changes)


def _check_bank(bank: QuestionBank, state: WorkshopState) -> None:
    if bank.id != state.bank_id or bank.version != state.bank_version:
        raise WorkshopBankChanged(f"{state.bank_id} {state.bank_version}", f"{bank.id} {bank.version}")
    named = {state.open_question, *state.asked, *state.settled, *state.skipped, *state.votes} - {None}
    unknown = sorted(str(qid) for qid in named if qid not in bank.question_ids)
    if unknown:
        raise CorruptWorkshop(f"questions not in the bank: {', '.join(unknown)}")
    # A stored answer the bank does not offer would crash scoring, or (a negative index) score as another.
    try:
        for qid, answer in state.settled.items():
            check_answer(bank.question(qid), answer)
        for qid, by_user in state.votes.items():
            for vote in by_user.values():
                check_answer(bank.question(qid), vote)
    except InvalidAnswer as error:
        raise CorruptWorkshop(f"a stored answer does not fit the bank: {error}") from error


def _open_for(bank: QuestionBank, state: WorkshopState, question_id: str) -> AskedQuestion:
    """The open question, when `question_id` names it and the workshop takes events."""
    _check_bank(bank, state)
    if state.finished:
        raise WorkshopFinished()
    if state.paused:
        raise WorkshopPaused()
    if question_id != state.open_question:
        raise NotTheOpenQuestion(state.open_question, question_id)
    return bank.question(question_id)


def start(bank: QuestionBank, facilitator: str) -> WorkshopState:
    """A new workshop, its first question open."""
    state = WorkshopState(bank.id, bank.version, facilitator, None)
    return _opening(state, _following(bank, {}, ()))


def next_question(bank: QuestionBank, state: WorkshopState) -> AskedQuestion | None:
    """The question open for votes; None once nothing is left that can change a level."""
    _check_bank(bank, state)
    return bank.question(state.open_question) if state.open_question else None


def vote(
    bank: QuestionBank, state: WorkshopState, question_id: str, user_id: str, answer: Answer
) -> WorkshopState:
    """A member's vote on the open question; voting again replaces their vote."""
    question = _open_for(bank, state, question_id)
    _checked(question, answer)
    current = state.open_votes
    if user_id not in current and len(current) >= MAX_VOTERS:
        raise TooManyVoters(question_id)
    return replace(state, votes={**state.votes, question_id: {**current, user_id: answer}})


def settle(
    bank: QuestionBank, state: WorkshopState, question_id: str, answer: Answer | None = None
) -> WorkshopState:
    """Settle the open question with `answer`, or with the team's answer from the votes when None, and
    open the next question that can change a level."""
    question = _open_for(bank, state, question_id)
    if answer is None:
        answer = team_answer(question, state.open_votes)
        if answer is None:
            raise NoTeamAnswer(question_id)
    _checked(question, answer)
    settled = {**state.settled, question_id: answer}
    skipped = tuple(qid for qid in state.skipped if qid != question_id)
    return _opening(state, _following(bank, settled, skipped), settled=settled, skipped=skipped)


def skip(bank: QuestionBank, state: WorkshopState, question_id: str) -> WorkshopState:
    """Leave the open question unanswered (dropping an answer it was settled with) and go on."""
    _open_for(bank, state, question_id)
    settled = {qid: a for qid, a in state.settled.items() if qid != question_id}
    skipped = state.skipped if question_id in state.skipped else (*state.skipped, question_id)
    return _opening(state, _following(bank, settled, skipped), settled=settled, skipped=skipped)


def back(bank: QuestionBank, state: WorkshopState) -> WorkshopState:
    """Reopen the last question settled or skipped before the open one (the last of all once finished),
    passing over those a context answer settled since has switched off."""
    _check_bank(bank, state)
    if state.paused:
        raise WorkshopPaused()
    before = (
        state.asked.index(state.open_question) if state.open_question in state.asked else len(state.asked)
    )
    done = [
        qid
        for qid in state.asked[:before]
        if (qid in state.settled or qid in state.skipped) and applies(bank.question(qid), state.settled, bank)
    ]
    if not done:
        raise NothingToGoBackTo()
    return replace(state, open_question=done[-1])


def pause(state: WorkshopState) -> WorkshopState:
    if state.finished:
        raise WorkshopFinished()
    if state.paused:
        raise WorkshopPaused()
    return replace(state, paused=True)


def resume(state: WorkshopState) -> WorkshopState:
    if not state.paused:
        raise NotPaused()
    return replace(state, paused=False)


def hand_over(state: WorkshopState, new_facilitator: str) -> WorkshopState:
    """Make another member the facilitator; allowed while paused, so a facilitator who leaves can be
    replaced."""
    if new_facilitator == state.facilitator:
        raise AlreadyFacilitator(new_facilitator)
    return replace(state, facilitator=new_facilitator)


# The team's report -------------------------------------------------------------------------------


def report(bank: QuestionBank, state: WorkshopState) -> Report:
    """The report the settled answers give, exactly as a person's answers would."""
    _check_bank(bank, state)
    return score(bank, state.settled)


def _settled_in_bank_order(bank: QuestionBank, state: WorkshopState) -> list[AskedQuestion]:
    """The settled questions that still apply (a later context answer may have switched one off)."""
    return [q for q in bank.questions if q.id in state.settled and applies(q, state.settled, bank)]


def disagreements(bank: QuestionBank, state: WorkshopState) -> tuple[Split, ...]:
    """Where the team disagreed: the settled questions whose votes landed on two or more answers."""
    _check_bank(bank, state)
    found = (split(q, state.votes.get(q.id, {})) for q in _settled_in_bank_order(bank, state))
    return tuple(s for s in found if s is not None)


def nobody_knew(bank: QuestionBank, state: WorkshopState) -> tuple[str, ...]:
    """The questions settled as Don't know, in the bank's order."""
    _check_bank(bank, state)
    return tuple(
        q.id for q in _settled_in_bank_order(bank, state) if isinstance(state.settled[q.id], DontKnow)
    )


# Forgetting --------------------------------------------------------------------------------------


def without_voter(state: WorkshopState, user_id: str, stand_in: str) -> WorkshopState:
    """The workshop without the person: their votes taken out of every question, and `stand_in` in
    their place as the facilitator. What was settled stays: it is the team's answer, not theirs."""
    votes = {
        qid: {user: answer for user, answer in by_user.items() if user != user_id}
        for qid, by_user in state.votes.items()
    }
    facilitator = stand_in if state.facilitator == user_id else state.facilitator
    return replace(
        state, votes={qid: by_user for qid, by_user in votes.items() if by_user}, facilitator=facilitator
    )
