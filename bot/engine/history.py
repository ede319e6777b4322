"""Results over time: what a kept result holds, when two results compare, the change since the previous
comparable result, and per-dimension trends. Pure functions over small summaries, no I/O.

The rules (docs/history.md states the same):
- A kept result holds what a later bank version needs to compare it: the bank id and version, per
  dimension its name, level (or the range of levels, where an adaptive run left it unsettled) and score
  (None unless every practice was answered), the overall level and score, and the pulse index. Not the
  bank.
- Two results compare in full (levels and scores per dimension) when they were answered on the same bank
  id and the same major version: a minor version only rewords or adds what does not change a level's
  meaning. Scores compare only where both are exact; a result of an adaptive run, which asks only what
  can change a level, compares with a full one on levels. Otherwise they compare on the pulse index
  alone, when both carry one (every `mlops` and `pulse` result does). Otherwise they do not compare, and
  the report says why.
- A report compares with the newest earlier result of the same scope (the person, or the channel for
  team runs) that compares at all.
- A trend covers the results that compare in full with the newest one, oldest first, drawn over the
  scores when every point has one and over the levels otherwise; the pulse index has its own trend over
  every result that carries one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any, Literal

from bot.engine.team import TeamReport
from bot.engine.team_bands import BAND_KINDS, BandKind, band_text

SPARK_CELLS = "▁▂▃▄▅▆▇█"
NO_VALUE_CELL = "·"
REPORT_TITLE_PREFIX = "MLOps maturity report · "
TREND_POINTS = 8


@dataclass(frozen=True)
class DimensionSummary:
    id: str
    name: str
    level: int | None
    score: float | None
    # A team result keeps no level or score, only what its report showed: how many members were in the
    # dimension's upper band and how many not (bot/engine/team_bands.py).
    band: BandKind | None = None
    upper: int | None = None
    lower: int | None = None
    # The lowest and highest level the report allowed: equal for a settled level, apart where an adaptive
    # run stopped before the level was settled; None where no practice applied, for a team result, and for
    # a result kept before ranges were.
    level_range: tuple[int, int] | None = None

    @property
    def level_text(self) -> str:
        return level_text(self.level, self.level_range)

    @property
    def unsettled_range(self) -> tuple[int, int] | None:
        return unsettled_range(self.level, self.level_range)

    @property
    def counted(self) -> str | None:
        """ "2 of 5", for a team result's dimension."""
        if self.band is None or self.upper is None or self.lower is None:
            return None
        return f"{self.upper} of {self.upper + self.lower}"

    @property
    def band_line(self) -> str | None:
        """ "2 of 5 at Level 3 or above", as the team report said it."""
        if self.band is None or self.counted is None:
            return None
        return f"{self.counted} {band_text(self.band)[0]}"


@dataclass(frozen=True)
class ResultSummary:
    """One finished result as history keeps it."""

    result_id: str
    finished_at: float  # seconds since the epoch, UTC
    bank_id: str
    bank_version: str
    bank_title: str
    overall_level: int | None
    overall_score: float | None
    pulse_index: float | None
    dimensions: tuple[DimensionSummary, ...]
    respondents: int | None = None  # set for a team result, whose dimensions keep band counts
    overall_level_range: tuple[int, int] | None = None  # as a dimension's `level_range`
    # How a channel's result was reached: None for an anonymous team survey (or a person's own result),
    # "workshop" for a named team workshop, whose levels are the team's settled answers scored.
    kind: str | None = None

    @property
    def overall_level_text(self) -> str:
        return level_text(self.overall_level, self.overall_level_range)

    @property
    def is_team(self) -> bool:
        return self.respondents is not None

    @property
    def major_version(self) -> str:
        return major_version(self.bank_version)

    def dimension(self, dimension_id: str) -> DimensionSummary | None:
        return next((d for d in self.dimensions if d.id == dimension_id), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResultSummary:
        return cls(
            result_id=str(data["result_id"]),
            finished_at=float(data["finished_at"]),
            bank_id=str(data["bank_id"]),
            bank_version=str(data["bank_version"]),
            bank_title=str(data.get("bank_title") or data["bank_id"]),
            overall_level=_optional_int(data.get("overall_level")),
            overall_score=_optional_float(data.get("overall_score")),
            pulse_index=_optional_float(data.get("pulse_index")),
            dimensions=tuple(
                DimensionSummary(
                    id=str(d["id"]),
                    name=str(d["name"]),
                    level=_optional_int(d.get("level")),
                    score=_optional_float(d.get("score")),
                    band=_band(d.get("band")),
                    upper=_optional_int(d.get("upper")),
                    lower=_optional_int(d.get("lower")),
                    level_range=_optional_range(d.get("level_range")),
                )
                for d in data.get("dimensions", ())
            ),
            respondents=_optional_int(data.get("respondents")),
            overall_level_range=_optional_range(data.get("overall_level_range")),
            kind=str(data["kind"]) if data.get("kind") else None,
        )


def major_version(version: str) -> str:
    return version.split(".", 1)[0]


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _optional_range(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    low, high = value
    return int(low), int(high)


def unsettled_range(level: int | None, level_range: tuple[int, int] | None) -> tuple[int, int] | None:
    """The lowest and highest level of a level that is not settled; None for a settled level, and where
    no level was given and no range is known."""
    if level is not None or level_range is None or level_range[0] == level_range[1]:
        return None
    return level_range


def level_text(level: int | None, level_range: tuple[int, int] | None) -> str:
    """ "level 2", "level 1 to 3 (not settled)", or "no level" (no practice applied, or a result kept
    before levels were settled one by one, when too few answers gave none)."""
    if level is not None:
        return f"level {level}"
    unsettled = unsettled_range(level, level_range)
    if unsettled is not None:
        return f"level {_level_point(level, level_range)}"
    return "no level"


def _band(value: Any) -> BandKind | None:
    return value if value in BAND_KINDS else None


def summarise_view(view: Mapping[str, Any], result_id: str, finished_at: float) -> ResultSummary:
    """The summary of a report view as `ReportView.to_dict()` writes it (what a stored result keeps)."""
    title = str(view.get("title") or view["bank_id"])
    return ResultSummary.from_dict(
        {
            "result_id": result_id,
            "finished_at": finished_at,
            "bank_id": view["bank_id"],
            "bank_version": view["bank_version"],
            "bank_title": title.removeprefix(REPORT_TITLE_PREFIX),
            "overall_level": view["overall"]["level"],
            "overall_level_range": view["overall"].get("range"),
            "overall_score": view.get("overall_score"),
            "pulse_index": view.get("pulse_index"),
            "dimensions": [
                {
                    "id": d["id"],
                    "name": d["name"],
                    "level": d["level"]["level"],
                    "level_range": d["level"].get("range"),
                    "score": d.get("score"),
                }
                for d in view["dimensions"]
            ],
        }
    )


def team_summary(report: TeamReport, result_id: str, finished_at: float) -> ResultSummary | None:
    """What a channel's history keeps of a team report: exactly the band counts it showed, and how many
    answered; no level or score, since any team level or score is an exact figure over the members'
    answers, from which all the others together could work out one person's (docs/privacy.md). None for a
    report that showed no band counts (withheld, or no dimension banded)."""
    if report.withheld or not report.shown:
        return None
    return ResultSummary(
        result_id=result_id,
        finished_at=finished_at,
        bank_id=report.bank_id,
        bank_version=report.bank_version,
        bank_title=report.bank_title,
        overall_level=None,
        overall_score=None,
        pulse_index=None,
        dimensions=tuple(
            DimensionSummary(d.dimension_id, d.name, None, None, d.band, d.upper, d.lower)
            for d in report.shown
        ),
        respondents=report.respondents,
    )


# Comparability -----------------------------------------------------------------------------------


class Comparison(Enum):
    FULL = "full"  # same bank id and major version: levels and scores per dimension
    PULSE = "pulse"  # the pulse index only
    NONE = "none"


def comparison(a: ResultSummary, b: ResultSummary) -> Comparison:
    """How two results compare; the same whichever is given first. A team result's band counts compare
    only with another team result's."""
    if a.is_team != b.is_team:
        return Comparison.NONE
    if a.bank_id == b.bank_id and a.major_version == b.major_version:
        return Comparison.FULL
    if a.pulse_index is not None and b.pulse_index is not None:
        return Comparison.PULSE
    return Comparison.NONE


def describe(result: ResultSummary, reference: float | None = None) -> str:
    """ "mlops v2.0.0, 14 Aug" """
    return f"{result.bank_id} v{result.bank_version}, {day(result.finished_at, reference)}"


def day(timestamp: float, reference: float | None = None) -> str:
    """ "14 Aug", with the year when it is not the reference's year (by default, this year's)."""
    moment = time.gmtime(timestamp)
    this_year = time.gmtime(time.time() if reference is None else reference).tm_year
    text = f"{moment.tm_mday} {time.strftime('%b', moment)}"
    return text if moment.tm_year == this_year else f"{text} {moment.tm_year}"


def moment_text(timestamp: float) -> str:
    """ "14 Aug 2026 09:30 UTC": precise enough to tell two results of one day apart."""
    return time.strftime("%d %b %Y %H:%M UTC", time.gmtime(timestamp)).lstrip("0")


# Changes since the previous comparable result ----------------------------------------------------


@dataclass(frozen=True)
class DimensionChange:
    id: str
    name: str
    level_before: int | None
    level_after: int | None
    score_before: float | None
    score_after: float | None

    @property
    def level_moved(self) -> bool:
        return self.level_before != self.level_after


@dataclass(frozen=True)
class Changes:
    """What changed since the previous comparable result, or why nothing can be said."""

    comparison: Comparison
    previous: ResultSummary | None
    dimensions: tuple[DimensionChange, ...]
    pulse_before: float | None
    pulse_after: float | None
    lines: tuple[str, ...]  # "Monitoring & Governance: level 2 → 3 since 14 Aug"
    reason: str | None  # set when there is no comparison

    @property
    def compared(self) -> bool:
        return self.previous is not None and self.comparison is not Comparison.NONE


NO_EARLIER_RESULT = "No earlier result to compare with yet: the next one will show what changed."


def _change_line(
    name: str, before: DimensionSummary | ResultSummary, after: DimensionSummary | ResultSummary, since: str
) -> str:
    was, now = _level_of(before), _level_of(after)
    scores = _scores(_score_of(before), _score_of(after))
    if was == now:
        return f"{name}: {level_text(*now)}, unchanged since {since}{scores}"
    if _placed(*was) and _placed(*now):
        return f"{name}: level {_level_point(*was)} → {_level_point(*now)} since {since}{scores}"
    return f"{name}: {level_text(*was)} → {level_text(*now)} since {since}{scores}"


def _placed(level: int | None, level_range: tuple[int, int] | None) -> bool:
    return level is not None or unsettled_range(level, level_range) is not None


def _level_of(result: DimensionSummary | ResultSummary) -> tuple[int | None, tuple[int, int] | None]:
    """The level and, where it is not settled, its range: a settled level compares as itself, whether or
    not its result kept a range."""
    if isinstance(result, ResultSummary):
        return result.overall_level, unsettled_range(result.overall_level, result.overall_level_range)
    return result.level, result.unsettled_range


def _score_of(result: DimensionSummary | ResultSummary) -> float | None:
    return result.overall_score if isinstance(result, ResultSummary) else result.score


def _scores(before: float | None, after: float | None) -> str:
    """Scores compare only when both are exact: a result that left practices unasked has none, and saying
    a score went to nothing would be false."""
    if before is None or after is None:
        return ""
    return f" (score {before:.1f} → {after:.1f})"


def _on_levels_line(current: ResultSummary, previous: ResultSummary) -> str | None:
    """Why the scores are not compared, when a result with levels has no exact scores."""
    if _lacks_scores(current) and _lacks_scores(previous):
        which = "neither result has exact scores"
    elif _lacks_scores(current):
        which = "this result has no exact scores"
    elif _lacks_scores(previous):
        which = "the previous result has no exact scores"
    else:
        return None
    return f"Compared on levels: {which}, since not every practice was asked."


def _lacks_scores(result: ResultSummary) -> bool:
    """A dimension with a level (or a range of levels) but no exact score: some practice went unasked."""
    return any(
        d.score is None and (d.level is not None or d.level_range is not None) for d in result.dimensions
    )


def changes_since(current: ResultSummary, earlier: Iterable[ResultSummary]) -> Changes:
    """The change from the newest earlier comparable result to `current`. `earlier` may include
    `current` itself and results in any order; only those finished before it count."""
    candidates = sorted(
        (r for r in earlier if r.result_id != current.result_id and r.finished_at <= current.finished_at),
        key=lambda r: r.finished_at,
        reverse=True,
    )
    if not candidates:
        return Changes(Comparison.NONE, None, (), None, current.pulse_index, (), NO_EARLIER_RESULT)
    previous = next((r for r in candidates if comparison(current, r) is not Comparison.NONE), None)
    if previous is None:
        latest = candidates[0]
        reason = (
            f"No comparison with the previous result ({describe(latest, current.finished_at)}): it was "
            f"answered on another bank or major version than this one ({current.bank_id} "
            f"v{current.bank_version}), and {_pulse_missing(current, latest)}."
        )
        return Changes(Comparison.NONE, None, (), None, current.pulse_index, (), reason)

    kind = comparison(current, previous)
    since = day(previous.finished_at, current.finished_at)
    lines: list[str] = []
    dimension_changes: list[DimensionChange] = []
    if kind is Comparison.FULL and current.is_team:
        lines.extend(_band_change_line(d, previous.dimension(d.id), since) for d in current.dimensions)
    elif kind is Comparison.FULL:
        lines.append(_change_line("Overall", previous, current, since))
        for dimension in current.dimensions:
            before = previous.dimension(dimension.id)
            if before is None:
                lines.append(f"{dimension.name}: {dimension.level_text}, new in this bank version")
                continue
            change = DimensionChange(
                dimension.id, dimension.name, before.level, dimension.level, before.score, dimension.score
            )
            dimension_changes.append(change)
            lines.append(_change_line(dimension.name, before, dimension, since))
        on_levels = _on_levels_line(current, previous)
        if on_levels is not None:
            lines.append(on_levels)
    else:
        lines.append(
            f"Compared on the pulse index only: the previous comparable result "
            f"({describe(previous, current.finished_at)}) used another bank or major version."
        )
    if previous.pulse_index is not None and current.pulse_index is not None:
        lines.append(f"Pulse index: {previous.pulse_index:.1f} → {current.pulse_index:.1f} since {since}")
    return Changes(
        kind,
        previous,
        tuple(dimension_changes),
        previous.pulse_index,
        current.pulse_index,
        tuple(lines),
        None,
    )


def _band_change_line(current: DimensionSummary, before: DimensionSummary | None, since: str) -> str:
    """ "Data & Experimentation: 2 of 5 → 4 of 6 at Level 3 or above since 14 Aug" """
    now = current.band_line or "not counted in bands"
    if before is None or before.band != current.band or before.counted is None:
        return f"{current.name}: {now}, not counted this way in the previous result"
    if (before.upper, before.lower) == (current.upper, current.lower):
        return f"{current.name}: {now}, unchanged since {since}"
    return f"{current.name}: {before.counted} → {now} since {since}"


def _pulse_missing(a: ResultSummary, b: ResultSummary) -> str:
    missing = [r for r in (a, b) if r.pulse_index is None]
    if len(missing) == 2:
        return "neither carries a pulse index"
    return "the previous one carries no pulse index" if missing[0] is b else "this one carries no pulse index"


# Trends ------------------------------------------------------------------------------------------


def sparkline(values: Sequence[float | None], low: float = 0.0, high: float = 100.0) -> str:
    """One cell per value on a fixed scale, so a height means the same in every trend: ▁ is `low`, █ is
    `high`; a missing value is a dot."""
    span = high - low
    cells = []
    for value in values:
        if value is None:
            cells.append(NO_VALUE_CELL)
            continue
        fraction = 0.0 if span <= 0 else (min(max(value, low), high) - low) / span
        cells.append(SPARK_CELLS[min(len(SPARK_CELLS) - 1, int(fraction * len(SPARK_CELLS)))])
    return "".join(cells)


TrendMeasure = Literal["score", "level"]
LOWEST_LEVEL, HIGHEST_LEVEL = 1, 4


@dataclass(frozen=True)
class Trend:
    name: str
    spark: str
    levels: tuple[int | None, ...]
    scores: tuple[float | None, ...]
    counts: tuple[str | None, ...] = ()  # a team trend's band counts: "2 of 5"
    # Where a point's level is not settled, the range its report gave; () when no point has one.
    level_ranges: tuple[tuple[int, int] | None, ...] = ()
    # What the sparkline draws: the scores (0 to 100) when every point has one, else the levels (1 to 4).
    measure: TrendMeasure = "score"

    @property
    def levels_text(self) -> str:
        ranges = self.level_ranges or (None,) * len(self.levels)
        return " → ".join(
            _level_point(level, level_range) for level, level_range in zip(self.levels, ranges, strict=True)
        )

    @property
    def counts_text(self) -> str:
        return " → ".join("–" if count is None else count for count in self.counts)


def _level_point(level: int | None, level_range: tuple[int, int] | None) -> str:
    """A level as a trend or a change shows it: "2", "1 to 3 (not settled)", or "–" for none."""
    if level is not None:
        return str(level)
    unsettled = unsettled_range(level, level_range)
    return "–" if unsettled is None else f"{unsettled[0]} to {unsettled[1]} (not settled)"


def level_and_score_trend(
    name: str,
    levels: Sequence[int | None],
    ranges: Sequence[tuple[int, int] | None],
    scores: Sequence[float | None],
) -> Trend:
    """A trend drawn over the scores when every point with a level has an exact one, and otherwise over
    the levels, so a result of an adaptive run (levels, no exact scores) never draws as a score of
    nothing beside full results."""
    unsettled = tuple(
        unsettled_range(level, level_range) for level, level_range in zip(levels, ranges, strict=True)
    )
    placed = [
        score
        for level, level_range, score in zip(levels, unsettled, scores, strict=True)
        if level is not None or level_range is not None
    ]
    kept_ranges = unsettled if any(r is not None for r in unsettled) else ()
    if all(score is not None for score in placed):
        return Trend(name, sparkline(scores), tuple(levels), tuple(scores), (), kept_ranges, "score")
    spark = sparkline(levels, LOWEST_LEVEL, HIGHEST_LEVEL)
    return Trend(name, spark, tuple(levels), tuple(scores), (), kept_ranges, "level")


@dataclass(frozen=True)
class Trends:
    """Trends over the results that compare in full with the newest, oldest first."""

    bank_id: str
    bank_title: str
    results: tuple[ResultSummary, ...]  # the points of the dimension trends, oldest first
    overall: Trend | None  # None for team results, which keep no overall figure
    dimensions: tuple[Trend, ...]
    pulse: Trend | None  # over every result with a pulse index, whatever its bank
    pulse_results: tuple[ResultSummary, ...]

    @property
    def span_text(self) -> str:
        first, last = self.results[0].finished_at, self.results[-1].finished_at
        if len(self.results) == 1:
            return day(first, last)
        return f"{day(first, last)} → {day(last, last)}"


def _share(dimension: DimensionSummary | None) -> float | None:
    if dimension is None or dimension.upper is None or dimension.lower is None:
        return None
    counted = dimension.upper + dimension.lower
    return 100.0 * dimension.upper / counted if counted else None


def _band_trend(newest: DimensionSummary, found: Sequence[DimensionSummary | None]) -> Trend:
    """The share of members in the upper band, charted; the counts themselves are what it shows."""
    same = [d if d is not None and d.band == newest.band and d.counted is not None else None for d in found]
    shares = tuple(
        None
        if d is None or not (d.upper or d.lower)
        else 100.0 * (d.upper or 0) / ((d.upper or 0) + (d.lower or 0))
        for d in same
    )
    upper_words = band_text(newest.band)[0] if newest.band is not None else ""
    return Trend(
        f"{newest.name} ({upper_words})",
        sparkline(shares),
        tuple(None for _ in same),
        shares,
        tuple(d.counted if d is not None else None for d in same),
    )


def trends(results: Iterable[ResultSummary], points: int = TREND_POINTS) -> Trends | None:
    """None when there are no results."""
    ordered = sorted(results, key=lambda r: r.finished_at)
    if not ordered:
        return None
    newest = ordered[-1]
    series = [r for r in ordered if comparison(newest, r) is Comparison.FULL][-points:]
    dimension_trends = []
    for dimension in newest.dimensions:
        found = [r.dimension(dimension.id) for r in series]
        if newest.is_team:
            dimension_trends.append(_band_trend(dimension, found))
            continue
        dimension_trends.append(
            level_and_score_trend(
                dimension.name,
                [d.level if d is not None else None for d in found],
                [d.level_range if d is not None else None for d in found],
                [d.score if d is not None else None for d in found],
            )
        )
    overall = (
        None
        if newest.is_team
        else level_and_score_trend(
            "Overall",
            [r.overall_level for r in series],
            [r.overall_level_range for r in series],
            [r.overall_score for r in series],
        )
    )
    pulse_results = tuple(r for r in ordered if r.pulse_index is not None)[-points:]
    pulse = None
    if pulse_results:
        values = tuple(r.pulse_index for r in pulse_results)
        pulse = Trend("Pulse index", sparkline(values), tuple(None for _ in values), values)
    return Trends(
        newest.bank_id,
        newest.bank_title,
        tuple(series),
        overall,
        tuple(dimension_trends),
        pulse,
        pulse_results,
    )
