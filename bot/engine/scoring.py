"""Scoring: answers in, a maturity report out. Pure functions, no I/O.

Rules (the README documents the same):
- A dimension's score is 100 × Σ(weight × value) ÷ Σ(weight) over its answered questions.
  "Don't know" and "Not applicable" are left out; confidence = answered weight ÷ applicable weight.
- Level from score: below 35 → 1, below 60 → 2, below 85 → 3, else 4 (LEVEL_THRESHOLDS).
- Gating: a dimension cannot sit above level L while a weight-3 question of level ≤ L scores under 0.5,
  so a failing gate question at level ℓ caps its dimension at ℓ; the report names the gate.
- Where "don't know" answers could change the level, the range is reported: every "don't know" scored
  as 0 (low) and as 1 (high).
- Overall score: the weighted mean over every answered question. Overall level: the weakest dimension's
  level, because a team can rely only on its weakest practice area (none while a dimension is unscored).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.engine.answers import Answer, NotApplicable, OptionChoice
from bot.engine.bank import Question, QuestionBank

# Lower bound of the score for levels 2, 3 and 4.
LEVEL_THRESHOLDS: tuple[tuple[int, float], ...] = ((4, 85.0), (3, 60.0), (2, 35.0))
GATE_PASS_VALUE = 0.5
NEXT_STEPS_COUNT = 3
OVERALL_LEVEL_RULE = "weakest dimension"


def level_for_score(score: float) -> int:
    # A weighted mean exactly on a threshold can land a hair below it in floating point
    # (three answers worth 0.6 give 59.999…), which would report "60" at level 2.
    score = round(score, 9)
    for level, lower_bound in LEVEL_THRESHOLDS:
        if score >= lower_bound:
            return level
    return 1


@dataclass(frozen=True)
class Gate:
    """A weight-3 practice that scored under the pass mark and so caps its dimension."""

    question_id: str
    question_text: str
    question_level: int
    value: float


@dataclass(frozen=True)
class DimensionResult:
    dimension_id: str
    name: str
    score: float | None  # None when nothing in the dimension was answered
    level: int | None
    uncapped_level: int | None
    gate: Gate | None  # the gate that held the level back, if one did
    confidence: float  # answered weight ÷ applicable weight, 0..1
    level_low: int  # every "don't know" as 0
    level_high: int  # every "don't know" as 1
    answered: int
    dont_know: int
    not_applicable: int

    @property
    def level_is_uncertain(self) -> bool:
        return self.level_low != self.level_high


@dataclass(frozen=True)
class NextStep:
    question_id: str
    dimension_id: str
    practice: str
    improvement: str
    tools: tuple[str, ...]
    priority: float  # weight × gap


@dataclass(frozen=True)
class Report:
    bank_id: str
    bank_version: str
    dimensions: tuple[DimensionResult, ...]
    overall_score: float | None
    overall_level: int | None
    overall_level_rule: str
    focus_dimension_id: str | None
    recommendation: str | None
    next_steps: tuple[NextStep, ...]
    answered: int
    total_questions: int
    level_names: Mapping[int, str] = field(default_factory=dict)

    def dimension(self, dimension_id: str) -> DimensionResult:
        return next(d for d in self.dimensions if d.dimension_id == dimension_id)

    def to_dict(self) -> dict:
        """A JSON-ready form, the same figures as every rendering of the report."""
        return {
            "bank": {"id": self.bank_id, "version": self.bank_version},
            "overall": {
                "score": _round(self.overall_score),
                "level": self.overall_level,
                "level_name": self.level_names.get(self.overall_level) if self.overall_level else None,
                "level_rule": self.overall_level_rule,
            },
            "dimensions": [
                {
                    "id": d.dimension_id,
                    "name": d.name,
                    "score": _round(d.score),
                    "level": d.level,
                    "level_range": [d.level_low, d.level_high],
                    "confidence": round(d.confidence, 2),
                    "gate": None
                    if d.gate is None
                    else {
                        "question_id": d.gate.question_id,
                        "question": d.gate.question_text,
                        "question_level": d.gate.question_level,
                        "capped_from": d.uncapped_level,
                    },
                    "answered": d.answered,
                    "dont_know": d.dont_know,
                    "not_applicable": d.not_applicable,
                }
                for d in self.dimensions
            ],
            "recommendation": {"dimension": self.focus_dimension_id, "text": self.recommendation},
            "next_steps": [
                {
                    "question_id": s.question_id,
                    "dimension": s.dimension_id,
                    "practice": s.practice,
                    "improvement": s.improvement,
                    "tools": list(s.tools),
                    "priority": round(s.priority, 2),
                }
                for s in self.next_steps
            ],
            "answered": self.answered,
            "total_questions": self.total_questions,
        }


def _round(score: float | None) -> float | None:
    return None if score is None else round(score, 1)


def answer_value(question: Question, answer: Answer | None) -> float | None:
    if isinstance(answer, OptionChoice):
        return question.options[answer.index].value
    return None


def _level_with_gates(
    questions: list[Question], values: Mapping[str, float]
) -> tuple[float | None, int | None, int | None, Gate | None]:
    """Score, capped level, uncapped level and the holding gate for one dimension's known values."""
    weight = sum(q.weight for q in questions if q.id in values)
    if weight == 0:
        return None, None, None, None
    score = 100.0 * sum(q.weight * values[q.id] for q in questions if q.id in values) / weight
    uncapped = level_for_score(score)
    failing = [
        Gate(q.id, q.text, q.level, values[q.id])
        for q in questions
        if q.is_gate and q.id in values and values[q.id] < GATE_PASS_VALUE
    ]
    gate = min(failing, key=lambda g: (g.question_level, g.value), default=None)
    if gate is not None and gate.question_level < uncapped:
        return score, gate.question_level, uncapped, gate
    return score, uncapped, uncapped, None


def score_dimension(bank: QuestionBank, dimension_id: str, answers: Mapping[str, Answer]) -> DimensionResult:
    questions = bank.questions_in(dimension_id)
    known: dict[str, float] = {}
    unknown: list[str] = []
    not_applicable = 0
    for question in questions:
        answer = answers.get(question.id)
        if isinstance(answer, NotApplicable):
            not_applicable += 1
        elif isinstance(answer, OptionChoice):
            known[question.id] = question.options[answer.index].value
        else:
            # Unanswered counts as "don't know": the report is honest about what it was not told.
            unknown.append(question.id)
    applicable_weight = sum(q.weight for q in questions if not isinstance(answers.get(q.id), NotApplicable))
    answered_weight = sum(q.weight for q in questions if q.id in known)
    score, level, uncapped, gate = _level_with_gates(questions, known)
    low = _level_with_gates(questions, known | dict.fromkeys(unknown, 0.0))[1]
    high = _level_with_gates(questions, known | dict.fromkeys(unknown, 1.0))[1]
    return DimensionResult(
        dimension_id=dimension_id,
        name=bank.dimension(dimension_id).name,
        score=score,
        level=level,
        uncapped_level=uncapped,
        gate=gate,
        confidence=answered_weight / applicable_weight if applicable_weight else 0.0,
        level_low=low or 1,
        level_high=high or 4,
        answered=len(known),
        dont_know=len(unknown),
        not_applicable=not_applicable,
    )


def next_steps(bank: QuestionBank, answers: Mapping[str, Answer]) -> tuple[NextStep, ...]:
    """The improvements worth most: ranked by weight × gap, lower-level practices first on ties."""
    candidates = []
    for order, question in enumerate(bank.questions):
        value = answer_value(question, answers.get(question.id))
        if value is None or value >= 1.0:
            continue
        priority = question.weight * (1.0 - value)
        candidates.append(((-priority, question.level, order), question, priority))
    candidates.sort(key=lambda item: item[0])
    return tuple(
        NextStep(q.id, q.dimension, q.text, q.improvement, tuple(q.tools), priority)
        for _, q, priority in candidates[:NEXT_STEPS_COUNT]
    )


def score(bank: QuestionBank, answers: Mapping[str, Answer]) -> Report:
    dimensions = tuple(score_dimension(bank, d.id, answers) for d in bank.dimensions)
    values = {q.id: v for q in bank.questions if (v := answer_value(q, answers.get(q.id))) is not None}
    answered_weight = sum(q.weight for q in bank.questions if q.id in values)
    overall_score = (
        100.0 * sum(q.weight * values[q.id] for q in bank.questions if q.id in values) / answered_weight
        if answered_weight
        else None
    )
    scored = [d for d in dimensions if d.level is not None and d.score is not None]
    # The weakest dimension decides; a dimension with no answers could be the weakest, so no level.
    complete = len(scored) == len(dimensions)
    overall_level = min(d.level for d in scored) if scored and complete else None  # type: ignore[type-var]
    # The focus is the weakest dimension; its score breaks ties between equal levels.
    focus = min(scored, key=lambda d: (d.level, d.score), default=None)
    recommendation = bank.recommendations[focus.dimension_id][focus.level] if focus and focus.level else None
    return Report(
        bank_id=bank.id,
        bank_version=bank.version,
        dimensions=dimensions,
        overall_score=overall_score,
        overall_level=overall_level,
        overall_level_rule=OVERALL_LEVEL_RULE,
        focus_dimension_id=focus.dimension_id if focus else None,
        recommendation=recommendation,
        next_steps=next_steps(bank, answers),
        answered=len(values),
        total_questions=len(bank.questions),
        level_names={info.level: info.name for info in bank.levels},
    )
