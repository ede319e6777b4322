"""A team run's aggregate: how many members fall in each band, kept as counts that can be added and
subtracted.

One respondent's finished answers become a ``TeamAggregate`` of their own (``contribution``); the run's
aggregate is the sum of its respondents' contributions, and a retake subtracts the earlier contribution
and adds the new one. Every figure of the team report is read from these counts alone, so closing a run
costs the same with 5 respondents as with 5,000, and no individual's answers are needed to build it.

The counts, each a whole number so that adding and subtracting are exact:
- ``n``: respondents;
- ``b:{dimension}:upper`` and ``b:{dimension}:lower``: respondents in the dimension's upper and lower band
  (``bot.engine.team_bands``), for the dimensions that have a band on this bank.

Nothing finer is kept: not the answers, levels or scores. The team report must not let anyone, even all
the other respondents pooling what they answered themselves, tell a single member's answer, score, level
or "Don't know" (docs/privacy.md). Any exact figure over everyone's answers (a range, a median, a count
per option, a team answer set) fails that: the others subtract their own part and read off the rest. A
member's band does not fail it, because each band holds answer sets that differ in every single fact;
so the report shows per dimension how many members are in each band, and nothing else about them.

The team report (``team_report``):
- per dimension, the members in its upper and its lower band, or no figure when the bank gives the
  dimension no band that hides every fact (a dimension of one question, say);
- the focus: the banded dimension with the fewest members in its upper band, with the bank's practices
  that its upper band rests on;
- with fewer respondents than the minimum (3, never lower) only the count is reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.engine.answers import Answer
from bot.engine.bank import Question, QuestionBank
from bot.engine.scoring import score
from bot.engine.team_bands import BandKind, dimension_bands, member_bands

# Fewer respondents than this and only the count is shown. The bands keep each member's facts hidden at
# any count; the floor keeps a report of one or two people from reading as a team's.
MIN_RESPONDENTS = 3
RESPONDENTS_FIELD = "n"
UPPER = "upper"
LOWER = "lower"
FOCUS_PRACTICES = 3


def band_field(dimension_id: str, upper: bool) -> str:
    return f"b:{dimension_id}:{UPPER if upper else LOWER}"


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

    def band_counts(self, dimension_id: str) -> tuple[int, int]:
        """(members in the upper band, members in the lower band)."""
        return (
            self.counts.get(band_field(dimension_id, True), 0),
            self.counts.get(band_field(dimension_id, False), 0),
        )


def contribution(bank: QuestionBank, answers: Mapping[str, Answer]) -> TeamAggregate:
    """One respondent's finished answers as counts: one respondent, and their band in each dimension that
    has one on this bank."""
    counts: Counter[str] = Counter({RESPONDENTS_FIELD: 1})
    for dimension_id, upper in member_bands(bank, score(bank, answers).dimensions).items():
        counts[band_field(dimension_id, upper)] += 1
    return TeamAggregate._normalised(counts)


@dataclass(frozen=True)
class DimensionSummary:
    dimension_id: str
    name: str
    band: BandKind | None  # None: this bank gives the dimension no band that hides each member's facts
    upper: int  # members in the upper band (0 when there is no band)
    lower: int
    counted: bool  # False when some respondents' answers were counted without a band here


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
    focus_dimension_id: str | None  # the banded dimension with the fewest members in its upper band
    focus_practices: tuple[Question, ...]  # from the bank: what that dimension's upper band rests on
    level_names: Mapping[int, str]

    @property
    def shown(self) -> tuple[DimensionSummary, ...]:
        """The dimensions whose band counts the report shows."""
        return tuple(d for d in self.dimensions if d.band is not None and d.counted)


def _dimension_summary(
    bank: QuestionBank, aggregate: TeamAggregate, dimension_id: str, band: BandKind | None
) -> DimensionSummary:
    upper, lower = aggregate.band_counts(dimension_id) if band is not None else (0, 0)
    return DimensionSummary(
        dimension_id=dimension_id,
        name=bank.dimension(dimension_id).name,
        band=band,
        upper=upper,
        lower=lower,
        counted=band is not None and upper >= 0 and lower >= 0 and upper + lower == aggregate.respondents,
    )


def focus_practices(bank: QuestionBank, dimension_id: str, band: BandKind) -> tuple[Question, ...]:
    """The bank's practices the dimension's upper band rests on, gates first: for the level band those
    tagged up to level 3, for the score band the heaviest. Read from the bank, never from answers."""
    practices = bank.questions_in(dimension_id)
    if band == "level":
        practices = [q for q in practices if q.level <= 3]
    ranked = sorted(practices, key=lambda q: (not q.gate, q.level, -q.weight))
    return tuple(ranked[:FOCUS_PRACTICES])


def effective_minimum(min_respondents: int) -> int:
    """The configured minimum, never below the floor."""
    return max(MIN_RESPONDENTS, min_respondents)


def team_report(
    bank: QuestionBank,
    aggregate: TeamAggregate,
    invited: int | None = None,
    min_respondents: int = MIN_RESPONDENTS,
) -> TeamReport:
    minimum = effective_minimum(min_respondents)
    withheld = aggregate.respondents < minimum
    bands = dimension_bands(bank)
    dimensions = (
        ()
        if withheld
        else tuple(_dimension_summary(bank, aggregate, d.id, bands.get(d.id)) for d in bank.dimensions)
    )
    shown = [d for d in dimensions if d.band is not None and d.counted]
    focus = min(shown, key=lambda d: d.upper, default=None)  # the first of equals, in the bank's order
    return TeamReport(
        bank_id=bank.id,
        bank_version=bank.version,
        bank_title=bank.title,
        bank_reviewed=bank.reviewed,
        respondents=aggregate.respondents,
        invited=invited,
        min_respondents=minimum,
        withheld=withheld,
        dimensions=dimensions,
        focus_dimension_id=None if focus is None else focus.dimension_id,
        focus_practices=()
        if focus is None or focus.band is None
        else focus_practices(bank, focus.dimension_id, focus.band),
        level_names={info.level: info.name for info in bank.levels},
    )


def aggregate_of(bank: QuestionBank, responses: Iterable[Mapping[str, Answer]]) -> TeamAggregate:
    """The aggregate of many respondents at once (for tests and tools; a run adds them one by one)."""
    total = TeamAggregate.empty()
    for answers in responses:
        total = total + contribution(bank, answers)
    return total
