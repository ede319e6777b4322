"""Results over time: what a kept result holds, when two results compare, the change since the previous
comparable result, and per-dimension trends. Pure functions over small summaries, no I/O.

The rules (docs/history.md states the same):
- A kept result holds what a later bank version needs to compare it: the bank id and version, per
  dimension its name, level and score, the overall level and score, and the pulse index. Not the bank.
- Two results compare in full (levels and scores per dimension) when they were answered on the same bank
  id and the same major version: a minor version only rewords or adds what does not change a level's
  meaning. Otherwise they compare on the pulse index alone, when both carry one (every `mlops` and
  `pulse` result does). Otherwise they do not compare, and the report says why.
- A report compares with the newest earlier result of the same scope (the person, or the channel for
  team runs) that compares at all.
- A trend covers the results that compare in full with the newest one, oldest first; the pulse index
  has its own trend over every result that carries one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

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
                )
                for d in data.get("dimensions", ())
            ),
            respondents=_optional_int(data.get("respondents")),
        )


def major_version(version: str) -> str:
    return version.split(".", 1)[0]


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


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
            "overall_score": view.get("overall_score"),
            "pulse_index": view.get("pulse_index"),
            "dimensions": [
                {"id": d["id"], "name": d["name"], "level": d["level"]["level"], "score": d.get("score")}
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


def _level_word(level: int | None) -> str:
    return "not enough answers" if level is None else f"level {level}"


def _score_word(score: float | None) -> str:
    return "no score" if score is None else f"{score:.1f}"


def _change_line(name: str, before: int | None, after: int | None, since: str, scores: str) -> str:
    if before == after:
        return f"{name}: {_level_word(after)}, unchanged since {since}{scores}"
    if before is not None and after is not None:
        return f"{name}: level {before} → {after} since {since}{scores}"
    return f"{name}: {_level_word(before)} → {_level_word(after)} since {since}{scores}"


def _scores(before: float | None, after: float | None) -> str:
    if before is None and after is None:
        return ""
    return f" (score {_score_word(before)} → {_score_word(after)})"


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
        lines.append(
            _change_line(
                "Overall",
                previous.overall_level,
                current.overall_level,
                since,
                _scores(previous.overall_score, current.overall_score),
            )
        )
        for dimension in current.dimensions:
            before = previous.dimension(dimension.id)
            if before is None:
                lines.append(f"{dimension.name}: {_level_word(dimension.level)}, new in this bank version")
                continue
            change = DimensionChange(
                dimension.id, dimension.name, before.level, dimension.level, before.score, dimension.score
            )
            dimension_changes.append(change)
            lines.append(
                _change_line(
                    dimension.name,
                    before.level,
                    dimension.level,
                    since,
                    _scores(before.score, dimension.score),
                )
            )
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


@dataclass(frozen=True)
class Trend:
    name: str
    spark: str
    levels: tuple[int | None, ...]
    scores: tuple[float | None, ...]
    counts: tuple[str | None, ...] = ()  # a team trend's band counts: "2 of 5"

    @property
    def levels_text(self) -> str:
        return " → ".join("–" if level is None else str(level) for level in self.levels)

    @property
    def counts_text(self) -> str:
        return " → ".join("–" if count is None else count for count in self.counts)


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
        levels = tuple(d.level if d is not None else None for d in found)
        scores = tuple(d.score if d is not None else None for d in found)
        dimension_trends.append(Trend(dimension.name, sparkline(scores), levels, scores))
    overall_scores = tuple(r.overall_score for r in series)
    overall = (
        None
        if newest.is_team
        else Trend(
            "Overall", sparkline(overall_scores), tuple(r.overall_level for r in series), overall_scores
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
