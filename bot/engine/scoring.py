"""Scoring: answers in, a maturity report out. Pure functions, no I/O.

The rules (docs/levels.md states the same):
- A practice applies unless its `applies_if` rule switches it off or it was answered "Not applicable".
- An unknown practice ("Don't know", or no answer at all) counts as not in place (value 0) for the score
  and the level: not knowing never pays. The report says how high the level could go if every unknown
  were in place, and lists each "Don't know" as something to find out.
- Dimension score: 100 × Σ(weight × value) ÷ Σ(weight) over the applicable practices.
- Settled: a question nobody was asked counts neither way. A level of a dimension is settled when no
  answers to its unasked questions could change whether it holds (filling them all with "not in place" and
  all with "in place" gives the same result); the dimension's level is given only when every one of its
  levels is settled, and otherwise the report gives the range the unasked questions allow. A score is
  exact only when every applicable practice was answered; otherwise it is the range the unasked allow.
- Level: each level ℓ from 2 to the dimension's ceiling is checked on its own practices, as CMMI
  checks its process areas: the applicable practices tagged at ℓ (level-1 practices count with level 2)
  are substantially in place (weighted attainment ≥ the level's threshold: `attainment_thresholds`,
  else `attainment_threshold`, default 0.7) and no gate tagged at ℓ fails (an answer under
  `gate_pass_mark`, default 0.5, or unknown). The level is 1 + the number of levels that hold: every
  level that falls short costs the dimension one level. One answer belongs to exactly one level's check,
  so no single answer can move a dimension, or the weakest-dimension overall level, by more than one
  level (nor empty a dimension: a bank whose dimension has a practice that can be "Not applicable" must
  give it one that always applies); under the former rule (the highest level with every level below it
  holding) one answer at level 2 could drop a dimension from 4 to 1. The ceiling is the highest level the
  bank tags a practice of that dimension at.
- Overall level: the weakest dimension's level, settled as soon as the lowest dimension's range cannot
  go higher than every other dimension's range can go lower, even while some dimension levels are not.
  Overall score: the mean of the dimension scores, so a dimension with more questions does not count for
  more.
- Pulse index: the same mean, over the bank's pulse practices only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.engine.answers import Answer, DontKnow, NotApplicable, OptionChoice
from bot.engine.bank import AskedQuestion, OutcomeQuestion, Question, QuestionBank

NEXT_STEPS_COUNT = 5
RECOMMENDED_PRACTICES = 3
OVERALL_LEVEL_RULE = "weakest dimension"
# An outcome this many levels away from its dimension's practice level is reported as a disagreement.
DISAGREEMENT_LEVELS = 2
_EPSILON = 1e-9


def applies(question: AskedQuestion, answers: Mapping[str, Answer], bank: QuestionBank) -> bool:
    """Whether the question is asked at all, given the context answers so far. An unanswered or "Don't
    know" context question switches nothing off: only a stated situation skips questions."""
    rule = question.applies_if
    if rule is None:
        return True
    answer = answers.get(rule.question)
    if not isinstance(answer, OptionChoice):
        return True
    return answer.index + 1 in rule.options


def applicable_questions(bank: QuestionBank, answers: Mapping[str, Answer]) -> list[AskedQuestion]:
    return [q for q in bank.questions if applies(q, answers, bank)]


def answered_of_applicable(bank: QuestionBank, answers: Mapping[str, Answer]) -> tuple[int, int]:
    """(questions answered, questions that apply): an answer to a question a later context answer
    switched off no longer counts."""
    asked = applicable_questions(bank, answers)
    return sum(1 for q in asked if q.id in answers), len(asked)


def answer_value(question: AskedQuestion, answer: Answer | None) -> float | None:
    if isinstance(answer, OptionChoice) and isinstance(question, Question | OutcomeQuestion):
        return question.options[answer.index].value
    return None


@dataclass(frozen=True)
class GateFailure:
    """A gate that is not passed, so its dimension stays below the gate's level."""

    question_id: str
    question_text: str
    level: int
    unknown: bool  # failing because nobody knew, not because of a low answer
    name: str  # the practice's short name


@dataclass(frozen=True)
class LevelShortfall:
    """A level whose practices fall short: it costs its dimension one level."""

    level: int
    attainment: float  # weighted attainment of the practices checked at this level
    # The same with every practice nobody was asked in place: equal to `attainment` when all were asked.
    attainment_at_most: float
    threshold: float
    failing_gates: tuple[GateFailure, ...]
    weakest: tuple[str, ...]  # the failing gates' names, then the practices furthest from in place

    @property
    def attained(self) -> bool:
        return at_least(self.attainment, self.threshold)


@dataclass(frozen=True)
class DimensionResult:
    dimension_id: str
    name: str
    score: float | None  # None when no practice of the dimension applies, or some were not answered
    score_range: tuple[float, float] | None  # what the unanswered practices allow; None when none applies
    level: int | None  # None while some level is not settled, or when no practice applies
    level_range: tuple[int, int]  # the lowest and highest level the unanswered practices allow
    level_if_unknowns_in_place: int | None  # the top of the range: every "Don't know" scored as in place
    level_without_gates: int | None  # what attainment alone would give
    ceiling: int
    holding_gates: tuple[GateFailure, ...]  # the failing gates: each costs the dimension one level
    shortfalls: tuple[LevelShortfall, ...]  # every level that falls short, lowest first
    confidence: float  # weight answered with an option ÷ applicable weight
    answered: int
    dont_know: tuple[str, ...]  # question ids
    unanswered: tuple[str, ...]  # question ids that apply and were not answered
    # The unanswered practices that can still change the level: those of levels not settled yet.
    open_questions: tuple[str, ...]
    # Every practice that applies is unanswered and could be answered "Not applicable", which would leave
    # the dimension with none: its level is not settled until one is answered.
    may_have_none: bool
    not_applicable: int
    skipped: int  # switched off by a context answer

    @property
    def settled(self) -> bool:
        return self.level is not None

    @property
    def level_is_uncertain(self) -> bool:
        return self.level is not None and self.level_if_unknowns_in_place != self.level


StepKind = Literal["gate", "practice", "find_out"]


@dataclass(frozen=True)
class NextStep:
    question_id: str
    dimension_id: str
    kind: StepKind
    from_level: int | None  # the dimension's level now
    to_level: int | None  # the level this step works toward; None at the bank's ceiling
    practice: str
    improvement: str
    tools: tuple[str, ...]
    priority: float  # weight × gap


@dataclass(frozen=True)
class Recommendation:
    dimension_id: str
    from_level: int | None
    to_level: int | None
    practices: tuple[NextStep, ...]  # what holds the dimension at its level, failing gates first


@dataclass(frozen=True)
class OutcomeResult:
    question_id: str
    question_text: str
    dimension_id: str
    answer_label: str | None  # None when not answered or "Don't know"
    outcome_level: int | None  # the practice level such an outcome usually goes with


@dataclass(frozen=True)
class Disagreement:
    outcome_id: str
    dimension_id: str
    practice_level: int
    outcome_level: int
    answer_label: str


@dataclass(frozen=True)
class Report:
    bank_id: str
    bank_version: str
    bank_title: str
    bank_reviewed: str
    dimensions: tuple[DimensionResult, ...]
    overall_score: float | None  # None unless every dimension's score is exact
    overall_score_range: tuple[float, float] | None
    overall_level: int | None  # settled even while some dimension levels are not
    overall_level_range: tuple[int, int] | None
    overall_level_if_unknowns_in_place: int | None
    overall_level_rule: str
    focus_dimension_id: str | None
    recommendation: Recommendation | None
    next_steps: tuple[NextStep, ...]
    find_out: tuple[tuple[str, str], ...]  # (question id, question text) answered "Don't know"
    to_answer: tuple[tuple[str, str], ...]  # unanswered practices that can still change a level
    # Unanswered practices that could not change any level (their levels were settled without them).
    not_asked: tuple[tuple[str, str], ...]
    outcomes: tuple[OutcomeResult, ...]
    disagreements: tuple[Disagreement, ...]
    pulse_index: float | None
    answered: int
    applicable: int
    level_names: Mapping[int, str] = field(default_factory=dict)
    bank_changes: str | None = None  # what changed in this version of the bank

    def dimension(self, dimension_id: str) -> DimensionResult:
        return next(d for d in self.dimensions if d.dimension_id == dimension_id)


# Dimensions --------------------------------------------------------------------------------------


def at_least(value: float, threshold: float) -> bool:
    # A weighted mean exactly on a threshold can land a hair below it in floating point.
    return value + _EPSILON >= threshold


def _checked_at(question: Question, level: int) -> bool:
    return question.level == level or (level == 2 and question.level == 1)


def level_holds(
    practices: list[Question], values: Mapping[str, float], bank: QuestionBank, level: int, gates: bool = True
) -> bool:
    """Whether the practices checked at `level` are substantially in place and none of its gates fails."""
    pool = _pool(practices, level)
    if not at_least(_attainment(pool, values), bank.threshold_at(level)):
        return False
    return not gates or all(
        at_least(values[q.id], bank.gate_pass_mark) for q in pool if q.gate and q.level == level
    )


def staged_level(
    practices: list[Question],
    values: Mapping[str, float],
    bank: QuestionBank,
    ceiling: int,
    gates: bool = True,
) -> int:
    """1 + the number of levels from 2 to the ceiling whose practices hold (each checked on its own, so a
    missing level-4 practice cannot hide behind a strong level 2, and a level that falls short costs
    exactly one level wherever it is)."""
    return 1 + sum(level_holds(practices, values, bank, level, gates) for level in range(2, ceiling + 1))


def _shortfalls(
    practices: list[Question],
    values: Mapping[str, float],
    bank: QuestionBank,
    ceiling: int,
    failing: list[GateFailure],
    unasked: Mapping[str, float],
) -> tuple[LevelShortfall, ...]:
    """Every level that falls short. `unasked` holds the practices nobody was asked, at 1: the attainment
    then reads "at most", since the level falls short whatever they would have said."""
    found = []
    for level in range(2, ceiling + 1):
        if level_holds(practices, values, bank, level):
            continue
        pool = _pool(practices, level)
        gates = [g.question_id for g in failing if g.level == level]
        # The failing gates first, then the answered practices by how much their gap weighs.
        gaps = sorted(
            (q for q in pool if values[q.id] < 1.0 and q.id not in unasked),
            key=lambda q: (q.id not in gates, -q.weight * (1.0 - values[q.id])),
        )
        found.append(
            LevelShortfall(
                level=level,
                attainment=_attainment(pool, values),
                attainment_at_most=_attainment(pool, {**values, **unasked}),
                threshold=bank.threshold_at(level),
                failing_gates=tuple(g for g in failing if g.level == level),
                weakest=tuple(q.short_name for q in gaps[:2]),
            )
        )
    return tuple(found)


def _pool(practices: list[Question], level: int) -> list[Question]:
    return [q for q in practices if _checked_at(q, level)]


def _attainment(pool: list[Question], values: Mapping[str, float]) -> float:
    weight = sum(q.weight for q in pool)
    return sum(q.weight * values[q.id] for q in pool) / weight if weight else 1.0


def _weighted_score(practices: list[Question], values: Mapping[str, float]) -> float:
    return 100.0 * _attainment(practices, values)


def score_dimension(bank: QuestionBank, dimension_id: str, answers: Mapping[str, Answer]) -> DimensionResult:
    questions = bank.questions_in(dimension_id)
    applicable: list[Question] = []
    known: dict[str, float] = {}
    dont_know: list[str] = []
    unanswered: list[str] = []
    not_applicable = skipped = 0
    for question in questions:
        answer = answers.get(question.id)
        if not applies(question, answers, bank):
            skipped += 1
            continue
        if isinstance(answer, NotApplicable):
            not_applicable += 1
            continue
        applicable.append(question)
        value = answer_value(question, answer)
        if value is not None:
            known[question.id] = value
        elif isinstance(answer, DontKnow):
            dont_know.append(question.id)
        else:
            unanswered.append(question.id)
    ceiling = bank.level_ceiling(dimension_id)
    applicable_weight = sum(q.weight for q in applicable)
    known_weight = sum(q.weight for q in applicable if q.id in known)
    # "Don't know" counts as not in place; a question nobody was asked is bounded both ways: "Not
    # applicable" on it gives a level and score between these two, since dropping a practice from a
    # weighted mean lands between counting it at 0 and at 1.
    pessimistic = {q.id: known.get(q.id, 0.0) for q in applicable}
    if_unasked_in_place = {**pessimistic, **{qid: 1.0 for qid in unanswered}}
    if_unknowns_in_place = {**pessimistic, **{qid: 1.0 for qid in dont_know}}
    any_apply = applicable_weight > 0
    # Each level checked once both ways: the two levels are the counts, the open levels where they differ.
    levels = range(2, ceiling + 1)
    holds_low = {lvl: level_holds(applicable, pessimistic, bank, lvl) for lvl in levels}
    holds_high = {lvl: level_holds(applicable, if_unasked_in_place, bank, lvl) for lvl in levels}
    low, high = 1 + sum(holds_low.values()), 1 + sum(holds_high.values())
    may_have_none = (
        any_apply and not known and not dont_know and all(q.not_applicable is not None for q in applicable)
    )
    level = low if any_apply and low == high and not may_have_none else None
    open_levels = [lvl for lvl in levels if holds_low[lvl] != holds_high[lvl]]
    open_ids = (
        {q.id for q in applicable}
        if may_have_none
        else {q.id for lvl in open_levels for q in _pool(applicable, lvl)}
    )
    failing = [
        GateFailure(q.id, q.text, q.level, q.id not in known, q.short_name)
        for q in applicable
        if q.gate and q.id not in unanswered and not at_least(pessimistic[q.id], bank.gate_pass_mark)
    ]
    settled = level is not None
    score_range = (
        (_weighted_score(applicable, pessimistic), _weighted_score(applicable, if_unasked_in_place))
        if any_apply
        else None
    )
    return DimensionResult(
        dimension_id=dimension_id,
        name=bank.dimension(dimension_id).name,
        score=score_range[0] if score_range is not None and not unanswered else None,
        score_range=score_range,
        level=level,
        level_range=(low, high) if any_apply else (1, ceiling),
        level_if_unknowns_in_place=(
            staged_level(applicable, if_unknowns_in_place, bank, ceiling) if settled else None
        ),
        level_without_gates=staged_level(applicable, pessimistic, bank, ceiling, gates=False)
        if settled
        else None,
        ceiling=ceiling,
        holding_gates=tuple(failing) if settled else (),
        shortfalls=(
            _shortfalls(applicable, pessimistic, bank, ceiling, failing, {qid: 1.0 for qid in unanswered})
            if settled
            else ()
        ),
        confidence=known_weight / applicable_weight if applicable_weight else 0.0,
        answered=len(known),
        dont_know=tuple(dont_know),
        unanswered=tuple(unanswered),
        open_questions=tuple(qid for qid in unanswered if qid in open_ids),
        may_have_none=may_have_none,
        not_applicable=not_applicable,
        skipped=skipped,
    )


# Advice ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    sort_key: tuple[int, int, float, int]
    step: NextStep


def _candidates(
    bank: QuestionBank, answers: Mapping[str, Answer], dimensions: Mapping[str, DimensionResult]
) -> list[_Candidate]:
    """Every applicable practice not answered at its best, ranked: failing gates up to the dimension's
    next level first, then the practices up to the next level that are not in place (foundations before
    advanced ones), then everything else by weight × gap."""
    candidates = []
    for order, question in enumerate(bank.practices):
        answer = answers.get(question.id)
        # An unanswered practice is for the report's "answer these" list, not a step to take.
        if answer is None or not applies(question, answers, bank) or isinstance(answer, NotApplicable):
            continue
        value = answer_value(question, answer)
        if value is not None and value >= 1.0:
            continue
        result = dimensions[question.dimension]
        current = result.level
        at_ceiling = current is not None and current >= result.ceiling
        target = None if at_ceiling else (current or 1) + 1
        unknown = value is None
        in_place = value is not None and at_least(value, bank.threshold_at(question.level))
        failing_gate = question.gate and (unknown or not at_least(value or 0.0, bank.gate_pass_mark))
        within_reach = target is not None and question.level <= target
        if failing_gate and within_reach:
            tier, to_level = 0, target
        elif within_reach and not in_place:
            tier, to_level = 1, target
        else:
            # In place but not at its best, or a practice of a level beyond the next: worth doing, but it
            # is not what holds the dimension where it is.
            tier = 2
            to_level = question.level if current is not None and question.level > current + 1 else None
        kind: StepKind = "find_out" if unknown else "gate" if failing_gate else "practice"
        priority = question.weight * (1.0 - (value or 0.0))
        step = NextStep(
            question_id=question.id,
            dimension_id=question.dimension,
            kind=kind,
            from_level=current,
            to_level=to_level,
            practice=question.text,
            improvement=question.improvement,
            tools=tuple(question.tools),
            priority=priority,
        )
        candidates.append(_Candidate((tier, question.level, -priority, order), step))
    candidates.sort(key=lambda c: c.sort_key)
    return candidates


def _in_place(bank: QuestionBank, question_id: str, answers: Mapping[str, Answer]) -> bool:
    question = bank.practice(question_id)
    answer = answers.get(question_id)
    if not applies(question, answers, bank) or isinstance(answer, NotApplicable):
        return True
    value = answer_value(question, answer)
    return value is not None and at_least(value, bank.threshold_at(question.level))


def _unmet_dependencies(
    bank: QuestionBank, question_id: str, answers: Mapping[str, Answer], chosen: set[str]
) -> list[str]:
    """The practices `question_id` comes after that are neither in place nor already chosen, deepest
    first, so that the list itself is a valid order."""
    ordered: list[str] = []

    def visit(current: str) -> None:
        for earlier in bank.practice(current).after:
            if earlier in chosen or earlier in ordered or _in_place(bank, earlier, answers):
                continue
            visit(earlier)
            ordered.append(earlier)

    visit(question_id)
    return ordered


def _pick_in_order(
    bank: QuestionBank, answers: Mapping[str, Answer], candidates: list[_Candidate], count: int
) -> list[NextStep]:
    """The best-ranked candidates, never one before a practice it depends on."""
    by_id = {c.step.question_id: c.step for c in candidates}
    chosen: list[NextStep] = []
    remaining = list(candidates)
    while remaining and len(chosen) < count:
        ids = {s.question_id for s in chosen}
        for candidate in remaining:
            pending = _unmet_dependencies(bank, candidate.step.question_id, answers, ids)
            if all(dependency not in by_id for dependency in pending):
                chosen.append(candidate.step)
                remaining.remove(candidate)
                break
        else:  # pragma: no cover - every unmet dependency is itself a candidate, and cycles are refused
            break
    return chosen


def _with_focus_step(
    bank: QuestionBank,
    answers: Mapping[str, Answer],
    steps: list[NextStep],
    candidates: list[_Candidate],
    focus: str | None,
    count: int,
) -> list[NextStep]:
    """Make room for the focus dimension's best step (and what it depends on) when the ranking left it out."""
    if focus is None or any(s.dimension_id == focus for s in steps):
        return steps
    first = next((c.step for c in candidates if c.step.dimension_id == focus), None)
    if first is None:
        return steps
    by_id = {c.step.question_id: c.step for c in candidates}
    for keep in range(len(steps), -1, -1):
        kept = steps[:keep]
        # An unmet dependency that is no candidate (nobody answered it) cannot be a step of its own.
        chain = [
            by_id[d]
            for d in _unmet_dependencies(bank, first.question_id, answers, {s.question_id for s in kept})
            if d in by_id
        ]
        if keep + len(chain) + 1 <= count:
            return [*kept, *chain, first]
    return steps


def focus_dimension(
    dimensions: tuple[DimensionResult, ...], overall_level: int | None
) -> DimensionResult | None:
    """The dimension that holds the overall level: one whose level is settled at it, the first in the
    bank's order (the foundations first) when several are. Chosen from levels alone, never from a score,
    so a run that skipped questions which could not change a level picks the same one as a full run."""
    if overall_level is None:
        return None
    return next((d for d in dimensions if d.level == overall_level), None)


def _advice(
    bank: QuestionBank,
    answers: Mapping[str, Answer],
    dimensions: tuple[DimensionResult, ...],
    overall_level: int | None,
) -> tuple[str | None, Recommendation | None, tuple[NextStep, ...]]:
    by_id = {d.dimension_id: d for d in dimensions}
    focus = focus_dimension(dimensions, overall_level)
    candidates = _candidates(bank, answers, by_id)
    steps = _pick_in_order(bank, answers, candidates, NEXT_STEPS_COUNT)
    focus_id = focus.dimension_id if focus else None
    steps = _with_focus_step(bank, answers, steps, candidates, focus_id, NEXT_STEPS_COUNT)
    recommendation = None
    if focus is not None:
        own = [c for c in candidates if c.step.dimension_id == focus.dimension_id]
        holding = [c for c in own if c.sort_key[0] < 2] or own
        chosen = _pick_in_order(bank, answers, holding, RECOMMENDED_PRACTICES) if holding else []
        level = focus.level_range[1]
        to_level = None if level >= focus.ceiling else level + 1
        recommendation = Recommendation(focus.dimension_id, level, to_level, tuple(chosen))
    return focus_id, recommendation, tuple(steps)


# Outcomes and the pulse index --------------------------------------------------------------------


def outcome_level(value: float) -> int:
    """The practice level an outcome of this value usually goes with: 0 → 1, 1 → 4."""
    return math.floor(1 + 3 * value + 0.5)


def _outcomes(
    bank: QuestionBank, answers: Mapping[str, Answer], dimensions: Mapping[str, DimensionResult]
) -> tuple[tuple[OutcomeResult, ...], tuple[Disagreement, ...]]:
    results, disagreements = [], []
    for question in bank.outcomes:
        if not applies(question, answers, bank):
            continue
        answer = answers.get(question.id)
        value = answer_value(question, answer)
        label = question.options[answer.index].label if isinstance(answer, OptionChoice) else None
        level = None if value is None else outcome_level(value)
        results.append(OutcomeResult(question.id, question.text, question.dimension, label, level))
        practice_level = dimensions[question.dimension].level
        if (
            level is not None
            and label is not None
            and practice_level is not None
            and abs(level - practice_level) >= DISAGREEMENT_LEVELS
        ):
            disagreements.append(Disagreement(question.id, question.dimension, practice_level, level, label))
    return tuple(results), tuple(disagreements)


def _mean(values: Iterable[float]) -> float | None:
    collected = list(values)
    return sum(collected) / len(collected) if collected else None


def pulse_index(bank: QuestionBank, answers: Mapping[str, Answer]) -> float | None:
    """The mean over dimensions of the score over the bank's pulse practices, computed exactly as a
    dimension score is; a pulse result and a full result are compared on this one figure. None while a
    pulse practice that applies is unanswered: the figure is exact or not given."""
    chosen = set(bank.pulse)
    per_dimension = []
    for dimension in bank.dimensions:
        applicable = [
            q
            for q in bank.questions_in(dimension.id)
            if q.id in chosen
            and applies(q, answers, bank)
            and not isinstance(answers.get(q.id), NotApplicable)
        ]
        if any(q.id not in answers for q in applicable):
            return None
        weight = sum(q.weight for q in applicable)
        if weight:
            per_dimension.append(
                100.0
                * sum(q.weight * (answer_value(q, answers.get(q.id)) or 0.0) for q in applicable)
                / weight
            )
    return _mean(per_dimension)


# The report --------------------------------------------------------------------------------------


def overall_range(dimensions: Iterable[DimensionResult]) -> tuple[int, int] | None:
    """The weakest-dimension rule over each dimension's range: the overall level is settled when the two
    ends meet, even while some dimension levels are not. None while no dimension is sure to have a
    practice that applies."""
    placed = [d for d in dimensions if d.score_range is not None]
    # A dimension that may turn out to have no practice can only lower the bottom of the range.
    present = [d for d in placed if not d.may_have_none]
    if not present:
        return None
    return min(d.level_range[0] for d in placed), min(d.level_range[1] for d in present)


def score(bank: QuestionBank, answers: Mapping[str, Answer]) -> Report:
    dimensions = tuple(score_dimension(bank, d.id, answers) for d in bank.dimensions)
    by_id = {d.dimension_id: d for d in dimensions}
    placed = [d for d in dimensions if d.score_range is not None]
    level_range = overall_range(dimensions)
    overall_level = level_range[0] if level_range is not None and level_range[0] == level_range[1] else None
    every_level = bool(placed) and all(d.level is not None for d in placed)
    overall_high = (
        min(d.level_if_unknowns_in_place for d in placed if d.level_if_unknowns_in_place is not None)
        if every_level
        else None
    )
    exact = bool(placed) and all(d.score is not None for d in placed)
    overall_score = _mean(d.score for d in placed if d.score is not None) if exact else None
    ranges = [d.score_range for d in placed if d.score_range is not None]
    score_range = (
        (sum(r[0] for r in ranges) / len(ranges), sum(r[1] for r in ranges) / len(ranges)) if ranges else None
    )
    focus, recommendation, steps = _advice(bank, answers, dimensions, overall_level)
    outcomes, disagreements = _outcomes(bank, answers, by_id)
    find_out = tuple((qid, bank.question(qid).text) for d in dimensions for qid in d.dont_know)
    to_answer = tuple((qid, bank.question(qid).text) for d in dimensions for qid in d.open_questions)
    not_asked = tuple(
        (qid, bank.question(qid).text)
        for d in dimensions
        for qid in d.unanswered
        if qid not in d.open_questions
    )
    answered, applicable = answered_of_applicable(bank, answers)
    return Report(
        bank_id=bank.id,
        bank_version=bank.version,
        bank_title=bank.title,
        bank_reviewed=bank.reviewed,
        dimensions=dimensions,
        overall_score=overall_score,
        overall_score_range=score_range,
        overall_level=overall_level,
        overall_level_range=level_range,
        overall_level_if_unknowns_in_place=overall_high,
        overall_level_rule=OVERALL_LEVEL_RULE,
        focus_dimension_id=focus,
        recommendation=recommendation,
        next_steps=steps,
        find_out=find_out,
        to_answer=to_answer,
        not_asked=not_asked,
        outcomes=outcomes,
        disagreements=disagreements,
        pulse_index=pulse_index(bank, answers),
        answered=answered,
        applicable=applicable,
        level_names={info.level: info.name for info in bank.levels},
        bank_changes=bank.changes,
    )
