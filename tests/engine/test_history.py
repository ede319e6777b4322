"""Results over time: comparability, changes since the previous comparable result, trends, sparklines."""

from __future__ import annotations

import calendar
import time
from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.answers import Answer, OptionChoice
from bot.engine.bank import QuestionBank
from bot.engine.catalog import BankCatalog
from bot.engine.history import (
    NO_EARLIER_RESULT,
    SPARK_CELLS,
    Comparison,
    DimensionSummary,
    ResultSummary,
    changes_since,
    comparison,
    day,
    sparkline,
    summarise_view,
    team_summary,
    trends,
)
from bot.engine.report_view import build_view
from bot.engine.scoring import score
from bot.engine.team import TeamReport, aggregate_of, team_report
from playground.demo import demo_answers
from tests.conftest import examples
from tests.engine.synthetic import answer_sets, shipped_bank
from tests.golden_reports import adaptive_answers

BANK = BankCatalog.from_directory().get("mlops")
AUG_14 = float(calendar.timegm((2026, 8, 14, 9, 30, 0)))
NOV_27 = float(calendar.timegm((2026, 11, 27, 6, 0, 0)))


def result(
    result_id: str,
    finished_at: float,
    levels: dict[str, int | None],
    bank_id: str = "mlops",
    version: str = "2.0.0",
    pulse: float | None = 50.0,
) -> ResultSummary:
    names = {"data": "Data & Experimentation", "monitor": "Monitoring & Governance", "team": "Team & Culture"}
    dimensions = tuple(
        DimensionSummary(d, names.get(d, d), level, None if level is None else level * 25.0)
        for d, level in levels.items()
    )
    known = [lvl for lvl in levels.values() if lvl is not None]
    return ResultSummary(
        result_id=result_id,
        finished_at=finished_at,
        bank_id=bank_id,
        bank_version=version,
        bank_title=bank_id,
        overall_level=min(known) if len(known) == len(levels) and known else None,
        overall_score=sum(known) * 25.0 / len(known) if known else None,
        pulse_index=pulse,
        dimensions=dimensions,
    )


def test_a_report_view_summarises_to_what_history_keeps() -> None:
    view = build_view(score(BANK, demo_answers(BANK)))
    summary = summarise_view(view.to_dict(), "r1", NOV_27)
    assert summary.bank_id == "mlops" and summary.bank_version == BANK.version
    assert summary.bank_title == BANK.title
    assert summary.overall_level == view.overall.level and summary.pulse_index == view.pulse_index
    assert [(d.id, d.level, d.score, d.level_range) for d in summary.dimensions] == [
        (d.id, d.level.level, d.score, d.level.range) for d in view.dimensions
    ]
    assert summary.overall_level_range == view.overall.range
    assert ResultSummary.from_dict(summary.to_dict()) == summary


def test_a_view_kept_before_level_ranges_reads_without_them() -> None:
    kept_view = build_view(score(BANK, demo_answers(BANK))).to_dict()
    for level in (kept_view["overall"], *(d["level"] for d in kept_view["dimensions"])):
        del level["range"]
    summary = summarise_view(kept_view, "r1", NOV_27)
    assert summary.overall_level_range is None and all(d.level_range is None for d in summary.dimensions)
    assert [d.level_text for d in summary.dimensions] == [f"level {d.level}" for d in summary.dimensions]


def test_the_change_since_the_previous_result_names_each_dimension_with_its_date() -> None:
    before = result("a", AUG_14, {"data": 2, "monitor": 2, "team": 3}, pulse=41.0)
    after = result("b", NOV_27, {"data": 2, "monitor": 3, "team": 2}, pulse=58.5)
    changes = changes_since(after, [before, after])
    assert changes.comparison is Comparison.FULL and changes.previous == before
    assert "Monitoring & Governance: level 2 → 3 since 14 Aug (score 50.0 → 75.0)" in changes.lines
    assert "Team & Culture: level 3 → 2 since 14 Aug (score 75.0 → 50.0)" in changes.lines
    assert "Data & Experimentation: level 2, unchanged since 14 Aug (score 50.0 → 50.0)" in changes.lines
    assert "Pulse index: 41.0 → 58.5 since 14 Aug" in changes.lines
    assert changes.reason is None and changes.compared


def test_a_first_result_says_there_is_nothing_to_compare_with() -> None:
    only = result("a", NOV_27, {"data": 2})
    changes = changes_since(only, [only])
    assert not changes.compared and changes.lines == () and changes.reason == NO_EARLIER_RESULT


def test_another_major_version_compares_on_the_pulse_index_only() -> None:
    old = result("a", AUG_14, {"data": 1}, version="1.4.0", pulse=30.0)
    new = result("b", NOV_27, {"data": 3}, version="2.0.0", pulse=60.0)
    changes = changes_since(new, [old])
    assert changes.comparison is Comparison.PULSE
    assert changes.dimensions == ()
    assert changes.lines[-1] == "Pulse index: 30.0 → 60.0 since 14 Aug"
    assert "pulse index only" in changes.lines[0]


def test_without_a_pulse_index_another_bank_gives_the_reason() -> None:
    old = result("a", AUG_14, {"data": 1}, bank_id="platform", pulse=None)
    new = result("b", NOV_27, {"data": 3})
    changes = changes_since(new, [old])
    assert not changes.compared
    assert changes.reason is not None
    assert "platform v2.0.0, 14 Aug" in changes.reason
    assert "another bank or major version" in changes.reason
    assert "the previous one carries no pulse index" in changes.reason


def test_the_newest_comparable_result_is_chosen_over_an_older_one_and_a_later_one_is_ignored() -> None:
    oldest = result("a", AUG_14, {"data": 1})
    middle = result("b", AUG_14 + 86400, {"data": 2})
    other_bank = result("c", AUG_14 + 2 * 86400, {"data": 4}, bank_id="platform", pulse=None)
    current = result("d", NOV_27, {"data": 3})
    later = result("e", NOV_27 + 86400, {"data": 4})
    changes = changes_since(current, [later, oldest, other_bank, middle, current])
    assert changes.previous == middle


def test_a_minor_version_still_compares_in_full_and_a_new_dimension_is_named() -> None:
    old = result("a", AUG_14, {"data": 1}, version="2.0.0")
    new = result("b", NOV_27, {"data": 2, "monitor": 3}, version="2.3.1")
    changes = changes_since(new, [old])
    assert changes.comparison is Comparison.FULL
    assert "Monitoring & Governance: level 3, new in this bank version" in changes.lines


def test_a_result_kept_without_a_level_reads_as_no_level_and_its_missing_score_is_not_compared() -> None:
    # Kept before levels were settled one by one, when too few answers gave no level and no range.
    old = result("a", AUG_14, {"data": None})
    new = result("b", NOV_27, {"data": 2})
    lines = changes_since(new, [old]).lines
    assert "Data & Experimentation: no level → level 2 since 14 Aug" in lines
    assert not any("no score" in line or "not enough answers" in line for line in lines)


def adaptive_result(
    result_id: str, finished_at: float, levels: dict[str, int | tuple[int, int]], pulse: float = 50.0
) -> ResultSummary:
    """A result as an adaptive run keeps it: each level settled (an int) or its range, and no exact
    score, since the practices that could not change a level were not asked."""
    names = {"data": "Data & Experimentation", "monitor": "Monitoring & Governance", "team": "Team & Culture"}
    dimensions = tuple(
        DimensionSummary(d, names[d], None, None, level_range=level)
        if isinstance(level, tuple)
        else DimensionSummary(d, names[d], level, None, level_range=(level, level))
        for d, level in levels.items()
    )
    lowest = min(level if isinstance(level, int) else level[0] for level in levels.values())
    return ResultSummary(
        result_id,
        finished_at,
        "mlops",
        "2.0.0",
        "mlops",
        lowest,
        None,
        pulse,
        dimensions,
        None,
        (lowest, lowest),
    )


def test_a_full_result_then_an_adaptive_one_compare_on_levels_and_no_score_drops_to_nothing() -> None:
    full = result("a", AUG_14, {"data": 2, "monitor": 2, "team": 3}, pulse=41.0)
    adaptive = adaptive_result("b", NOV_27, {"data": 2, "monitor": 3, "team": (2, 3)}, pulse=58.5)
    changes = changes_since(adaptive, [full, adaptive])
    assert changes.comparison is Comparison.FULL and changes.previous == full
    assert changes.lines == (
        "Overall: level 2, unchanged since 14 Aug",
        "Data & Experimentation: level 2, unchanged since 14 Aug",
        "Monitoring & Governance: level 2 → 3 since 14 Aug",
        "Team & Culture: level 3 → 2 to 3 (not settled) since 14 Aug",
        "Compared on levels: this result has no exact scores, since not every practice was asked.",
        "Pulse index: 41.0 → 58.5 since 14 Aug",
    )


def test_an_adaptive_result_then_a_full_one_says_which_had_no_exact_scores() -> None:
    adaptive = adaptive_result("a", AUG_14, {"data": 1, "team": (1, 3)})
    full = result("b", NOV_27, {"data": 2, "team": 2})
    lines = changes_since(full, [adaptive]).lines
    assert "Team & Culture: level 1 to 3 (not settled) → 2 since 14 Aug" in lines
    assert (
        "Compared on levels: the previous result has no exact scores, since not every practice was asked."
        in lines
    )
    both = changes_since(adaptive_result("c", NOV_27, {"data": 1, "team": (1, 3)}), [adaptive]).lines
    assert "Team & Culture: level 1 to 3 (not settled), unchanged since 14 Aug" in both
    assert "Compared on levels: neither result has exact scores, since not every practice was asked." in both


def kept(
    bank: QuestionBank, answers: Mapping[str, Answer], result_id: str, finished_at: float
) -> ResultSummary:
    return summarise_view(build_view(score(bank, answers)).to_dict(), result_id, finished_at)


@settings(max_examples=examples(40), deadline=None)
@given(
    st.sampled_from(["mlops", "pulse"]).flatmap(
        lambda bank_id: st.tuples(st.just(bank_id), answer_sets(shipped_bank(bank_id)))
    )
)
def test_a_full_and_an_adaptive_run_of_the_same_answers_are_unchanged_on_every_level(case) -> None:
    bank_id, truth = case
    bank = shipped_bank(bank_id)
    full = kept(bank, truth, "full", AUG_14)
    adaptive = kept(bank, adaptive_answers(bank, truth), "adaptive", NOV_27)
    lines = changes_since(adaptive, [full]).lines
    for before in full.dimensions:
        after = adaptive.dimension(before.id)
        assert after is not None
        # A score is compared only where the adaptive run asked every practice of the dimension too.
        scores = (
            f" (score {before.score:.1f} → {after.score:.1f})"
            if before.score is not None and after.score is not None
            else ""
        )
        assert f"{before.name}: {before.level_text}, unchanged since 14 Aug{scores}" in lines
    assert not any("no score" in line for line in lines)
    on_levels = "Compared on levels: this result has no exact scores, since not every practice was asked."
    exact = all(d.score is not None for d in adaptive.dimensions if d.level is not None)
    assert (on_levels in lines) is not exact
    found = trends([full, adaptive])
    assert found is not None and found.overall is not None
    assert found.overall.levels == (full.overall_level, full.overall_level)
    for trend in (found.overall, *found.dimensions):
        placed = [score for score, level in zip(trend.scores, trend.levels, strict=True) if level is not None]
        # Over the scores only where every point with a level has one; otherwise over the levels.
        assert (trend.measure == "score") is all(score is not None for score in placed)
        values = trend.scores if trend.measure == "score" else trend.levels
        assert trend.spark == sparkline(values, *((0, 100) if trend.measure == "score" else (1, 4)))


def test_a_date_in_another_year_carries_its_year() -> None:
    assert day(AUG_14, NOV_27) == "14 Aug"
    assert day(AUG_14 - 365 * 86400, NOV_27) == "14 Aug 2025"


def test_trends_follow_the_results_that_compare_in_full_with_the_newest() -> None:
    points = [
        result("a", AUG_14, {"data": 1, "monitor": 1}, pulse=10.0),
        result("b", AUG_14 + 86400, {"data": 2, "monitor": 1}, bank_id="pulse", pulse=40.0),
        result("c", AUG_14 + 2 * 86400, {"data": 3, "monitor": 2}, pulse=60.0),
        result("d", NOV_27, {"data": 4, "monitor": 2}, pulse=90.0),
    ]
    found = trends(points)
    assert found is not None
    assert [r.result_id for r in found.results] == ["a", "c", "d"]
    data = found.dimensions[0]
    assert data.levels == (1, 3, 4) and data.levels_text == "1 → 3 → 4"
    assert data.spark == sparkline([25.0, 75.0, 100.0])
    assert found.pulse is not None and found.pulse.spark == sparkline([10.0, 40.0, 60.0, 90.0])
    assert found.span_text == "14 Aug → 27 Nov"
    assert trends([]) is None


def test_a_trend_with_an_adaptive_result_is_drawn_over_levels() -> None:
    points = [
        result("a", AUG_14, {"data": 2, "team": 3}),
        adaptive_result("b", AUG_14 + 86400, {"data": 3, "team": (1, 3)}),
        result("c", NOV_27, {"data": 4, "team": 2}),
    ]
    found = trends(points)
    assert found is not None
    data, team = found.dimensions
    # Levels 1 to 4 on the sparkline's eight cells: 2 → ▃, 3 → ▆, 4 → █; a range has no one height.
    assert (data.measure, data.spark, data.levels_text) == ("level", "▃▆█", "2 → 3 → 4")
    assert (team.spark, team.levels_text) == ("▆·▃", "3 → 1 to 3 (not settled) → 2")
    assert data.scores == (50.0, None, 100.0)
    # Without the adaptive result every point has a score again, and the trend is drawn over scores.
    again = trends([points[0], points[2]])
    assert again is not None and again.dimensions[0].measure == "score"
    assert again.dimensions[0].spark == sparkline([50.0, 100.0])


def test_sparkline_golden() -> None:
    assert sparkline([0, 30, 60, 75]) == "▁▃▅▇"
    assert sparkline([0, 25, 50, 70]) == "▁▃▅▆"
    assert sparkline([100, None, 0]) == "█·▁"


# Properties ----------------------------------------------------------------------------------------

levels = st.one_of(st.none(), st.integers(min_value=1, max_value=4))
summaries = st.builds(
    result,
    result_id=st.text("abcdef0123456789", min_size=1, max_size=8),
    finished_at=st.floats(min_value=0, max_value=2e9),
    levels=st.dictionaries(st.sampled_from(["data", "monitor", "team"]), levels, min_size=1),
    bank_id=st.sampled_from(["mlops", "pulse", "platform"]),
    version=st.sampled_from(["1.0.0", "1.2.0", "2.0.0", "2.1.3", "3"]),
    pulse=st.one_of(st.none(), st.floats(min_value=0, max_value=100)),
)


@given(summaries, summaries)
def test_comparability_is_symmetric(a: ResultSummary, b: ResultSummary) -> None:
    assert comparison(a, b) is comparison(b, a)


@given(summaries)
def test_a_result_compares_in_full_with_itself(a: ResultSummary) -> None:
    assert comparison(a, a) is Comparison.FULL


@given(summaries, st.lists(summaries, max_size=6))
def test_changes_compare_with_an_earlier_comparable_result_or_say_why_not(
    current: ResultSummary, earlier: list[ResultSummary]
) -> None:
    changes = changes_since(current, earlier)
    if changes.previous is None:
        assert changes.reason and not changes.lines
    else:
        assert changes.previous.finished_at <= current.finished_at
        assert comparison(current, changes.previous) is changes.comparison is not Comparison.NONE
        newer = [
            r
            for r in earlier
            if changes.previous.finished_at < r.finished_at <= current.finished_at
            and r.result_id != current.result_id
        ]
        assert all(comparison(current, r) is Comparison.NONE for r in newer)


scores = st.one_of(st.none(), st.floats(min_value=-50, max_value=150, allow_nan=False))


@given(st.lists(scores, max_size=30))
def test_a_sparkline_has_one_cell_per_value(values: list[float | None]) -> None:
    line = sparkline(values)
    assert len(line) == len(values)
    assert all(cell in SPARK_CELLS or cell == "·" for cell in line)


@given(
    st.floats(min_value=0, max_value=100, allow_nan=False),
    st.floats(min_value=0, max_value=100, allow_nan=False),
)
def test_a_higher_value_never_draws_a_lower_cell(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert SPARK_CELLS.index(sparkline([low])) <= SPARK_CELLS.index(sparkline([high]))


def test_day_uses_utc() -> None:
    assert day(calendar.timegm((2026, 8, 14, 23, 59, 0)), NOV_27) == "14 Aug"
    assert time.gmtime(AUG_14).tm_mday == 14


PULSE = BankCatalog.from_directory().get("pulse")


def shown_by(report: TeamReport) -> set[tuple[str, str | None, int, int]]:
    return {(d.dimension_id, d.band, d.upper, d.lower) for d in report.shown}


def kept_of(summary: ResultSummary) -> set[tuple[str, str | None, int | None, int | None]]:
    return {(d.id, d.band, d.upper, d.lower) for d in summary.dimensions}


def test_a_team_report_keeps_its_band_counts_and_no_level_or_score_in_history() -> None:
    """A team level or score would be an exact figure over everyone's answers, which the other members
    together could subtract their own from; the history keeps the band counts the report showed."""
    members = [{q.id: OptionChoice(option) for q in PULSE.questions} for option in (0, 4, 4)]
    report = team_report(PULSE, aggregate_of(PULSE, members))
    assert not report.withheld
    summary = team_summary(report, "run1", NOV_27)
    assert summary is not None and summary.respondents == 3
    assert kept_of(summary) == shown_by(report) and kept_of(summary)
    assert (summary.overall_level, summary.overall_score, summary.pulse_index) == (None, None, None)
    assert all(d.level is None and d.score is None for d in summary.dimensions)
    # What the history keeps reads back as it was kept, and says what the report said.
    assert ResultSummary.from_dict(summary.to_dict()) == summary
    assert {d.band_line for d in summary.dimensions} >= {"2 of 3 scoring 50 or more"}


@given(st.lists(st.integers(min_value=0, max_value=4), min_size=3, max_size=12))
def test_history_keeps_nothing_a_team_report_did_not_show(options: list[int]) -> None:
    members = [{q.id: OptionChoice(min(o, len(q.options) - 1)) for q in PULSE.questions} for o in options]
    report = team_report(PULSE, aggregate_of(PULSE, members))
    summary = team_summary(report, "run", NOV_27)
    if summary is None:
        assert report.withheld or not report.shown
        return
    assert kept_of(summary) == shown_by(report)
    assert summary.respondents == report.respondents == len(options)
    assert all(d.level is None and d.score is None for d in summary.dimensions)


def test_the_channel_trend_and_changes_read_in_band_counts() -> None:
    first = team_report(
        PULSE,
        aggregate_of(PULSE, [{q.id: OptionChoice(o) for q in PULSE.questions} for o in (0, 0, 0, 4, 4)]),
    )
    second = team_report(
        PULSE,
        aggregate_of(PULSE, [{q.id: OptionChoice(o) for q in PULSE.questions} for o in (0, 0, 4, 4, 4, 4)]),
    )
    older = team_summary(first, "r1", AUG_14)
    newer = team_summary(second, "r2", NOV_27)
    assert older is not None and newer is not None
    dimension = newer.dimensions[0]
    upper_words = dimension.band_line.split(" ", 3)[3] if dimension.band_line else ""
    changes = changes_since(newer, [older, newer])
    assert changes.compared
    assert f"{dimension.name}: 2 of 5 → 4 of 6 {upper_words} since 14 Aug" in changes.lines
    found = trends([newer, older])
    assert found is not None and found.overall is None
    assert found.dimensions[0].counts_text == "2 of 5 → 4 of 6"


def test_a_withheld_team_report_keeps_nothing() -> None:
    members = [{q.id: OptionChoice(4) for q in PULSE.questions}] * 2
    report = team_report(PULSE, aggregate_of(PULSE, members))
    assert report.withheld
    assert team_summary(report, "run1", NOV_27) is None
