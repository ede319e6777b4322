"""The one view of a team report that every front end renders, as ``report_view`` is for a personal one.

Everything here comes from a ``TeamReport``, which is built from the run's band counts alone: no user id,
name, answer, level or score can reach this view, because none is in its input. What it may show, and
why that keeps each member's facts hidden even from all the other members together, is docs/privacy.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bot.engine.report_view import RecommendationView, StepView
from bot.engine.team import DimensionSummary, TeamReport
from bot.engine.team_bands import band_text

METHOD_TEXT = (
    "Per dimension: how many members' own results fall in its upper band and how many below it. The "
    "report shows no ranges, medians, counts per answer or team answer set: from those, the other members "
    "together could work out one person's answers."
)
PRIVACY_TEXT = (
    "Answers stay private, even among the members: nobody, not even all the others together, can tell "
    "one person's answer, score, level or “Don't know” from this report."
)
NO_BAND_TEXT = (
    "No figure: this bank asks too few questions here to show one without giving away a member's level "
    "or answers."
)
UNCOUNTED_TEXT = (
    "No figure: some answers in this run were counted before the app kept bands here, so the counts "
    "would not add up."
)
NO_FOCUS_HEADLINE = (
    "No dimension of this bank can be shown without giving away someone's answers; each member's own "
    "report has their levels and Next Steps."
)


@dataclass(frozen=True)
class TeamDimensionView:
    id: str
    name: str
    shown: bool  # False: the figure is withheld, and withheld_text says why
    bands_text: str | None  # "2 of 5 at Level 3 or above · 3 below Level 3"
    position_text: str | None  # "most of the team below Level 3", "the team is split evenly"
    withheld_text: str | None


@dataclass(frozen=True)
class SplitView:
    """A dimension with members on both sides of its band: worth talking through."""

    dimension_id: str
    dimension: str
    detail: str


@dataclass(frozen=True)
class TeamReportView:
    title: str
    bank_id: str
    bank_version: str
    respondents: int
    invited: int | None
    count_text: str
    withheld: bool
    withheld_text: str | None
    headline: str | None
    method_text: str
    dimensions: tuple[TeamDimensionView, ...]
    splits: tuple[SplitView, ...]
    recommendation: RecommendationView | None
    footer: str

    def dimension(self, dimension_id: str) -> TeamDimensionView:
        return next(d for d in self.dimensions if d.id == dimension_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def count_text(respondents: int, invited: int | None) -> str:
    answered = f"{respondents} answered"
    if invited is None:
        return answered
    return f"{answered} of {invited} member{'' if invited == 1 else 's'} invited"


def withheld_text(respondents: int, minimum: int) -> str:
    noun = "person" if respondents == 1 else "people"
    people = "nobody" if respondents == 0 else f"only {respondents} {noun}"
    return (
        f"Results withheld: {people} answered, and a team report shows figures only from {minimum} "
        "respondents, so that it reads as a team's and not as one or two people's."
    )


def _bands(summary: DimensionSummary, respondents: int) -> str:
    assert summary.band is not None
    upper, lower = band_text(summary.band)
    return f"{summary.upper} of {respondents} {upper} · {summary.lower} {lower}"


def _position(summary: DimensionSummary) -> str:
    assert summary.band is not None
    upper, lower = band_text(summary.band)
    if summary.lower == 0:
        return f"the whole team {upper}"
    if summary.upper == 0:
        return f"the whole team {lower}"
    if summary.upper == summary.lower:
        return "the team is split evenly"
    return f"most of the team {upper if summary.upper > summary.lower else lower}"


def _dimension_view(summary: DimensionSummary, respondents: int) -> TeamDimensionView:
    if summary.band is None or not summary.counted:
        reason = NO_BAND_TEXT if summary.band is None else UNCOUNTED_TEXT
        return TeamDimensionView(summary.dimension_id, summary.name, False, None, None, reason)
    return TeamDimensionView(
        summary.dimension_id,
        summary.name,
        True,
        _bands(summary, respondents),
        _position(summary),
        None,
    )


def _splits(report: TeamReport) -> tuple[SplitView, ...]:
    splits = []
    for summary in report.shown:
        if summary.upper and summary.lower:
            assert summary.band is not None
            upper, lower = band_text(summary.band)
            detail = (
                f"{summary.upper} {upper}, {summary.lower} {lower}: compare which practices each of you "
                "counted as in place"
            )
            splits.append(SplitView(summary.dimension_id, summary.name, detail))
    return tuple(splits)


def _recommendation(report: TeamReport) -> RecommendationView | None:
    focus = next((d for d in report.shown if d.dimension_id == report.focus_dimension_id), None)
    if focus is None or focus.band is None:
        return None
    upper, _ = band_text(focus.band)
    heading = (
        f"Start with {focus.name}: {focus.upper} of {report.respondents} members {upper}, the fewest of any "
        "dimension. What it rests on (from the bank; check each against your own report):"
    )
    items = tuple(
        StepView(q.id, q.dimension, "gate" if q.gate else "practice", q.improvement, tuple(q.tools))
        for q in report.focus_practices
    )
    text = " ".join([heading, *(f"{rank}. {item.text}" for rank, item in enumerate(items, start=1))])
    return RecommendationView(focus.dimension_id, heading, items, text)


def _headline(report: TeamReport) -> str:
    focus = next((d for d in report.shown if d.dimension_id == report.focus_dimension_id), None)
    if focus is None or focus.band is None:
        return NO_FOCUS_HEADLINE
    upper, _ = band_text(focus.band)
    return f"Fewest members {upper} in {focus.name}: {focus.upper} of {report.respondents}."


def build_team_view(report: TeamReport) -> TeamReportView:
    footer = f"bank {report.bank_id} v{report.bank_version}, reviewed {report.bank_reviewed} · {PRIVACY_TEXT}"
    common: dict[str, Any] = {
        "title": f"Team MLOps maturity report · {report.bank_title}",
        "bank_id": report.bank_id,
        "bank_version": report.bank_version,
        "respondents": report.respondents,
        "invited": report.invited,
        "count_text": count_text(report.respondents, report.invited),
        "method_text": METHOD_TEXT,
        "footer": footer,
    }
    if report.withheld:
        return TeamReportView(
            **common,
            withheld=True,
            withheld_text=withheld_text(report.respondents, report.min_respondents),
            headline=None,
            dimensions=(),
            splits=(),
            recommendation=None,
        )
    return TeamReportView(
        **common,
        withheld=False,
        withheld_text=None,
        headline=_headline(report),
        dimensions=tuple(_dimension_view(d, report.respondents) for d in report.dimensions),
        splits=_splits(report),
        recommendation=_recommendation(report),
    )
