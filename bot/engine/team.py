"""A team run's aggregate: what a team answered, kept as counts that can be added and subtracted.

One respondent's finished answers become a ``TeamAggregate`` of their own (``contribution``); the run's
aggregate is the sum of its respondents' contributions, and a retake subtracts the earlier contribution
and adds the new one. Every figure of the team report is read from these counts alone, so closing a run
costs the same with 5 respondents as with 5,000, and no individual's answers are needed to build it.

The counts, each a whole number so that adding and subtracting are exact:
- ``n``: respondents;
- ``a:{question}:{code}``: answers per question and answer code (option index, ``dk``, ``na``), counted
  for the questions that applied to that respondent;
- ``l:{dimension}:{level}``: individual levels per dimension (1–4, or ``none`` for too few answers);
- ``s:{dimension}:{score}``: individual scores per dimension in whole points (0–100, rounded down);
- ``c:{dimension}``: summed confidence, in millionths.

The team report (``team_report``):
- per dimension the median level (the lower median of the individual levels), the score range, the
  middle half of the scores, and the mean confidence;
- alignment gaps: questions whose option answers lie two or more options apart;
- knowledge gaps: questions where at least a third of those asked said "Don't know";
- the team's answer set, one answer per question: "Don't know" when more than half of those asked said
  so, "Not applicable" when more than half said that, otherwise the lower median of the options chosen.
  It is scored with the engine's own rules for the overall level, the recommendation and Next Steps.
- With fewer respondents than the minimum (3, never lower) only the count is reported: with one or two
  respondents any figure would give away someone's answers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bot.engine.answers import Answer, DontKnow, NotApplicable, OptionChoice, encode_answer
from bot.engine.bank import ContextQuestion, QuestionBank
from bot.engine.scoring import Report, applicable_questions, score

MIN_RESPONDENTS = 3
ALIGNMENT_GAP_OPTIONS = 2
# At least this share of those asked said "Don't know" (compared as dk × 3 ≥ asked, in whole numbers).
KNOWLEDGE_GAP_DIVISOR = 3
CONFIDENCE_UNITS = 1_000_000
NO_LEVEL = "none"
RESPONDENTS_FIELD = "n"


def answer_field(question_id: str, code: int | str) -> str:
    return f"a:{question_id}:{code}"


def level_field(dimension_id: str, level: int | None) -> str:
    return f"l:{dimension_id}:{NO_LEVEL if level is None else level}"


def score_field(dimension_id: str, points: int) -> str:
    return f"s:{dimension_id}:{points}"


def confidence_field(dimension_id: str) -> str:
    return f"c:{dimension_id}"


@dataclass(frozen=True)
class TeamAggregate:
    """Counts by field name; a field at zero is left out, so equal aggregates compare equal."""

    counts: Mapping[str, int]

    @classmethod
    def empty(cls) -> TeamAggregate:
        return cls({})

    @classmethod
    def from_fields(cls, fields: Mapping[Any, Any]) -> TeamAggregate:
        """Read the counts as a Redis hash returns them: names as bytes or str, values as digits."""
        counts: Counter[str] = Counter()
        for name, value in fields.items():
            key = name.decode() if isinstance(name, bytes) else name
            counts[key] += int(value)
        return cls._normalised(counts)

    @classmethod
    def _normalised(cls, counts: Mapping[str, int]) -> TeamAggregate:
        return cls({name: value for name, value in sorted(counts.items()) if value != 0})

    def __add__(self, other: TeamAggregate) -> TeamAggregate:
        total: Counter[str] = Counter(self.counts)
        for name, value in other.counts.items():
            total[name] += value
        return self._normalised(total)

    def __sub__(self, other: TeamAggregate) -> TeamAggregate:
        return self + other.negated()

    def negated(self) -> TeamAggregate:
        return TeamAggregate({name: -value for name, value in self.counts.items()})

    @property
    def respondents(self) -> int:
        return self.counts.get(RESPONDENTS_FIELD, 0)

    def answer_counts(self, question_id: str) -> dict[str, int]:
        """Answer code (``"0"``, ``"1"``, ``"dk"``, ``"na"``) → how many gave it."""
        return self._under(f"a:{question_id}:")

    def level_counts(self, dimension_id: str) -> dict[str, int]:
        return self._under(f"l:{dimension_id}:")

    def score_counts(self, dimension_id: str) -> dict[int, int]:
        return {int(points): count for points, count in self._under(f"s:{dimension_id}:").items()}

    def confidence_sum(self, dimension_id: str) -> float:
        return self.counts.get(confidence_field(dimension_id), 0) / CONFIDENCE_UNITS

    def _under(self, prefix: str) -> dict[str, int]:
        return {name[len(prefix) :]: value for name, value in self.counts.items() if name.startswith(prefix)}


def contribution(bank: QuestionBank, answers: Mapping[str, Answer]) -> TeamAggregate:
    """One respondent's finished answers as counts. Answers to questions that did not apply to them (left
    over after they changed a context answer) are not counted, as scoring does not count them either."""
    counts: Counter[str] = Counter({RESPONDENTS_FIELD: 1})
    for question in applicable_questions(bank, answers):
        answer = answers.get(question.id)
        if answer is not None:
            counts[answer_field(question.id, encode_answer(answer))] += 1
    report = score(bank, answers)
    for result in report.dimensions:
        counts[level_field(result.dimension_id, result.level)] += 1
        if result.score is not None:
            counts[score_field(result.dimension_id, score_points(result.score))] += 1
        counts[confidence_field(result.dimension_id)] += round(result.confidence * CONFIDENCE_UNITS)
    return TeamAggregate._normalised(counts)


def score_points(value: float) -> int:
    # A hair of floating-point error must not drop 85.0 to 84.
    return max(0, min(100, math.floor(value + 1e-9)))


# Reading the aggregate -----------------------------------------------------------------------------


def _expanded(counts: Mapping[int, int]) -> Iterator[int]:
    for value in sorted(counts):
        yield from [value] * max(0, counts[value])


def lower_median(counts: Mapping[int, int]) -> int | None:
    """The lower median of values given as value → count (``statistics.median_low`` of the values)."""
    values = list(_expanded(counts))
    return values[(len(values) - 1) // 2] if values else None


def nearest_rank(counts: Mapping[int, int], fraction: float) -> int | None:
    """The value at the nearest rank ⌈fraction × n⌉ (at least the first)."""
    values = list(_expanded(counts))
    if not values:
        return None
    return values[max(1, math.ceil(fraction * len(values))) - 1]


def _option_counts(answer_counts: Mapping[str, int]) -> dict[int, int]:
    return {int(code): count for code, count in answer_counts.items() if code.isdigit() and count > 0}


def team_answers(bank: QuestionBank, aggregate: TeamAggregate) -> dict[str, Answer]:
    """One answer per question for the team as a whole (the module's rule)."""
    answers: dict[str, Answer] = {}
    for question in bank.questions:
        counts = aggregate.answer_counts(question.id)
        asked = sum(counts.values())
        if asked <= 0:
            continue
        dont_know = counts.get("dk", 0)
        not_applicable = counts.get("na", 0)
        options = _option_counts(counts)
        if dont_know * 2 > asked:
            answers[question.id] = DontKnow()
        elif not_applicable * 2 > asked:
            answers[question.id] = NotApplicable()
        elif options:
            median = lower_median(options)
            assert median is not None
            answers[question.id] = OptionChoice(min(median, len(question.options) - 1))
        else:
            answers[question.id] = DontKnow() if dont_know >= not_applicable else NotApplicable()
    return answers


@dataclass(frozen=True)
class DimensionSummary:
    dimension_id: str
    name: str
    median_level: int | None  # None when nobody had enough answers for a level
    level_counts: Mapping[int, int]  # level → respondents at it
    without_level: int  # respondents with too few answers for a level in this dimension
    score_low: int | None
    score_high: int | None
    middle_low: int | None  # the middle half of the scores: from the lower to the upper quartile
    middle_high: int | None
    mean_confidence: float


@dataclass(frozen=True)
class AlignmentGap:
    question_id: str
    question_text: str
    dimension_id: str | None  # None for a context question
    low_label: str
    high_label: str
    options_apart: int
    answered_with_option: int


@dataclass(frozen=True)
class KnowledgeGap:
    question_id: str
    question_text: str
    dimension_id: str | None
    dont_know: int
    asked: int


@dataclass(frozen=True)
class TeamReport:
    bank_id: str
    bank_version: str
    bank_title: str
    bank_reviewed: str
    respondents: int
    invited: int | None  # channel members who could answer; None when unknown
    min_respondents: int
    withheld: bool  # too few respondents: only the counts are reported
    dimensions: tuple[DimensionSummary, ...]
    alignment_gaps: tuple[AlignmentGap, ...]
    knowledge_gaps: tuple[KnowledgeGap, ...]
    team_report: Report | None  # the team's answer set, scored; None when withheld
    level_names: Mapping[int, str]


def _dimension_summary(bank: QuestionBank, aggregate: TeamAggregate, dimension_id: str) -> DimensionSummary:
    levels: dict[int, int] = {}
    without = 0
    for code, count in aggregate.level_counts(dimension_id).items():
        if code == NO_LEVEL:
            without += count
        elif code.isdigit():
            levels[int(code)] = count
    scores = {points: count for points, count in aggregate.score_counts(dimension_id).items() if count > 0}
    respondents = aggregate.respondents
    return DimensionSummary(
        dimension_id=dimension_id,
        name=bank.dimension(dimension_id).name,
        median_level=lower_median(levels),
        level_counts=dict(sorted(levels.items())),
        without_level=without,
        score_low=min(scores) if scores else None,
        score_high=max(scores) if scores else None,
        middle_low=nearest_rank(scores, 0.25),
        middle_high=nearest_rank(scores, 0.75),
        mean_confidence=aggregate.confidence_sum(dimension_id) / respondents if respondents else 0.0,
    )


def _dimension_of(question: object) -> str | None:
    return None if isinstance(question, ContextQuestion) else getattr(question, "dimension", None)


def alignment_gaps(bank: QuestionBank, aggregate: TeamAggregate) -> tuple[AlignmentGap, ...]:
    """Widest disagreement first, then in the bank's order."""
    gaps = []
    for order, question in enumerate(bank.questions):
        options = _option_counts(aggregate.answer_counts(question.id))
        options = {index: count for index, count in options.items() if index < len(question.options)}
        if not options:
            continue
        low, high = min(options), max(options)
        if high - low < ALIGNMENT_GAP_OPTIONS:
            continue
        gap = AlignmentGap(
            question_id=question.id,
            question_text=question.text,
            dimension_id=_dimension_of(question),
            low_label=question.options[low].label,
            high_label=question.options[high].label,
            options_apart=high - low,
            answered_with_option=sum(options.values()),
        )
        gaps.append((-(high - low), order, gap))
    return tuple(gap for *_, gap in sorted(gaps, key=lambda item: item[:2]))


def knowledge_gaps(bank: QuestionBank, aggregate: TeamAggregate) -> tuple[KnowledgeGap, ...]:
    """Largest share of "Don't know" first, then in the bank's order."""
    gaps = []
    for order, question in enumerate(bank.questions):
        counts = aggregate.answer_counts(question.id)
        asked = sum(count for count in counts.values() if count > 0)
        dont_know = counts.get("dk", 0)
        if asked <= 0 or dont_know <= 0 or dont_know * KNOWLEDGE_GAP_DIVISOR < asked:
            continue
        gap = KnowledgeGap(question.id, question.text, _dimension_of(question), dont_know, asked)
        gaps.append((-dont_know / asked, order, gap))
    return tuple(gap for *_, gap in sorted(gaps, key=lambda item: item[:2]))


def effective_minimum(min_respondents: int) -> int:
    """The configured minimum, never below the floor that keeps individual answers from showing."""
    return max(MIN_RESPONDENTS, min_respondents)


def team_report(
    bank: QuestionBank,
    aggregate: TeamAggregate,
    invited: int | None = None,
    min_respondents: int = MIN_RESPONDENTS,
) -> TeamReport:
    minimum = effective_minimum(min_respondents)
    withheld = aggregate.respondents < minimum
    return TeamReport(
        bank_id=bank.id,
        bank_version=bank.version,
        bank_title=bank.title,
        bank_reviewed=bank.reviewed,
        respondents=aggregate.respondents,
        invited=invited,
        min_respondents=minimum,
        withheld=withheld,
        dimensions=()
        if withheld
        else tuple(_dimension_summary(bank, aggregate, d.id) for d in bank.dimensions),
        alignment_gaps=() if withheld else alignment_gaps(bank, aggregate),
        knowledge_gaps=() if withheld else knowledge_gaps(bank, aggregate),
        team_report=None if withheld else score(bank, team_answers(bank, aggregate)),
        level_names={info.level: info.name for info in bank.levels},
    )


def aggregate_of(bank: QuestionBank, responses: Iterable[Mapping[str, Answer]]) -> TeamAggregate:
    """The aggregate of many respondents at once (for tests and tools; a run adds them one by one)."""
    total = TeamAggregate.empty()
    for answers in responses:
        total = total + contribution(bank, answers)
    return total
