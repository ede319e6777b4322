"""The one view of a team report that every front end renders, as ``report_view`` is for a personal one.

Everything here comes from a ``TeamReport``, which is built from the run's aggregate alone: no user id or
name can reach this view, because none is in its input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bot.engine.report_view import LevelView, RecommendationView, StepView, build_view, level_view
from bot.engine.team import DimensionSummary, TeamReport

METHOD_TEXT = (
    "Per dimension: the median of the members' own levels, their range of scores and the middle half of "
    "them. Overall level, recommendation and Next Steps: the team's answer set, one answer per question "
    '(the middle answer of those who chose an option; "Don\'t know" where most did not know).'
)
PRIVACY_TEXT = "Answers stay private: this report is built from the team's counts alone."


@dataclass(frozen=True)
class TeamDimensionView:
    id: str
    name: str
    level: LevelView  # the median level
    median_text: str  # "median Level 3 · Managed / Standardized"
    levels_text: str  # "levels held: 1: 3 · 2: 10 · 3: 30"
    scores_text: str  # "scores 34–88 · middle half 50–70"
    confidence_text: str
    note: str | None  # respondents without enough answers for a level here


@dataclass(frozen=True)
class GapView:
    question_id: str
    dimension: str  # the dimension's name, or "Context"
    question: str
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
    overall: LevelView | None
    overall_score_text: str | None
    headline: str | None
    method_text: str
    dimensions: tuple[TeamDimensionView, ...]
    alignment_gaps: tuple[GapView, ...]
    knowledge_gaps: tuple[GapView, ...]
    recommendation: RecommendationView | None
    next_steps: tuple[StepView, ...]
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
        f"Results withheld: {people} answered, and a team report shows levels, scores and gaps only from "
        f"{minimum} respondents, so that no one's answers can be inferred from it."
    )


def _dimension_view(summary: DimensionSummary, names: dict[int, str]) -> TeamDimensionView:
    level = level_view(summary.median_level, names)
    median = "no median level: too few answers" if summary.median_level is None else f"median {level.label}"
    levels = " · ".join(f"{lv}: {count}" for lv, count in summary.level_counts.items())
    if summary.score_low is None:
        scores = "no practice applies"
    else:
        low, high = summary.score_low, summary.score_high
        scores = f"scores {low}–{high} · middle half {summary.middle_low}–{summary.middle_high}"
    held = sum(summary.level_counts.values())
    note = None
    if summary.without_level:
        total = held + summary.without_level
        note = f"{summary.without_level} of {total} gave too few answers here for a level of their own"
    return TeamDimensionView(
        id=summary.dimension_id,
        name=summary.name,
        level=level,
        median_text=median,
        levels_text=f"levels held: {levels}" if levels else "levels held: none",
        scores_text=scores,
        confidence_text=f"confidence {round(summary.mean_confidence * 100)}% on average",
        note=note,
    )


def build_team_view(report: TeamReport) -> TeamReportView:
    names = dict(report.level_names)
    dimension_names = {d.dimension_id: d.name for d in report.dimensions}
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
    if report.withheld or report.team_report is None:
        return TeamReportView(
            **common,
            withheld=True,
            withheld_text=withheld_text(report.respondents, report.min_respondents),
            overall=None,
            overall_score_text=None,
            headline=None,
            dimensions=(),
            alignment_gaps=(),
            knowledge_gaps=(),
            recommendation=None,
            next_steps=(),
        )
    team = build_view(report.team_report)
    alignment = tuple(
        GapView(
            gap.question_id,
            dimension_names.get(gap.dimension_id or "", "Context"),
            gap.question_text,
            f"answers run from “{gap.low_label}” to “{gap.high_label}” ({gap.options_apart} options apart; "
            f"{gap.answered_with_option} answered with an option)",
        )
        for gap in report.alignment_gaps
    )
    knowledge = tuple(
        GapView(
            gap.question_id,
            dimension_names.get(gap.dimension_id or "", "Context"),
            gap.question_text,
            f"{gap.dont_know} of {gap.asked} asked said “Don't know”",
        )
        for gap in report.knowledge_gaps
    )
    return TeamReportView(
        **common,
        withheld=False,
        withheld_text=None,
        overall=team.overall,
        overall_score_text=team.overall_score_text,
        headline=f"From the team's answers: {team.headline}",
        dimensions=tuple(_dimension_view(d, names) for d in report.dimensions),
        alignment_gaps=alignment,
        knowledge_gaps=knowledge,
        recommendation=team.recommendation,
        next_steps=team.next_steps,
    )
