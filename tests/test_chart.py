"""The report's chart: a PNG, the same bytes for the same results, and different with a previous result."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.engine.bank import QuestionBank
from bot.engine.history import DimensionSummary, ResultSummary
from bot.engine.report_view import ReportView, build_view
from bot.engine.scoring import Report
from bot.render.chart import NOTE_RGB, SCORE_AXIS, chart_figure, chart_png, note_line
from bot.store.history import summary_of_report
from tests.golden_reports import LEVEL_ABOVE_LOWER_SCORE, MLOPS, PULSE, PULSE_EXAMPLE, TEAM_EXAMPLE, answered

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def result(result_id: str, finished_at: float, level: int | None, score: float | None) -> ResultSummary:
    dimensions = (
        DimensionSummary("data", "Data & Experimentation", level, score),
        DimensionSummary("team", "Team & Culture", None, None),
    )
    return ResultSummary(result_id, finished_at, "mlops", "2.0.0", "MLOps", level, score, score, dimensions)


def size_of(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_MAGIC)
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_a_chart_is_a_png_drawn_the_same_way_each_time() -> None:
    current = result("b", 1_795_000_000.0, 3, 80.0)
    alone = chart_png(current)
    assert alone == chart_png(current)
    assert size_of(alone)[0] == 800


def test_the_previous_result_changes_the_drawing() -> None:
    current = result("b", 1_795_000_000.0, 3, 80.0)
    previous = result("a", 1_787_000_000.0, 1, 20.0)
    assert chart_png(current, previous) != chart_png(current)
    assert size_of(chart_png(current, previous)) == size_of(chart_png(current))


def drawn(report: Report) -> tuple[Figure, ReportView]:
    view = build_view(report)
    return chart_figure(summary_of_report(report, "r", 1_795_000_000.0), None, view), view


@pytest.mark.parametrize(
    ("bank", "answers_file"),
    [(PULSE, LEVEL_ABOVE_LOWER_SCORE), (PULSE, PULSE_EXAMPLE), (MLOPS, TEAM_EXAMPLE)],
    ids=["pulse-held", "pulse-ceiling-only", "mlops"],
)
def test_each_dimensions_notes_are_drawn_under_its_own_bar_inside_the_picture(
    bank: QuestionBank, answers_file: Path
) -> None:
    figure, view = drawn(answered(bank, answers_file))
    axes = figure.axes[0]
    assert isinstance(figure.canvas, FigureCanvasAgg)
    renderer = figure.canvas.get_renderer()
    # The bars top down, as the dimensions are listed.
    bars = sorted((bar.get_window_extent(renderer) for bar in axes.patches), key=lambda box: -box.y0)
    notes = [text for text in axes.texts if text.get_color() in NOTE_RGB.values()]
    for index, dimension in enumerate(view.dimensions):
        below = bars[index + 1].y1 if index + 1 < len(bars) else figure.bbox.y0
        under = [text for text in notes if below < text.get_window_extent(renderer).y0 < bars[index].y0]
        assert dimension.notes
        assert [text.get_text() for text in under] == [note_line(note) for note in dimension.notes]
        for text in under:
            box = text.get_window_extent(renderer)
            assert box.y1 < bars[index].y0 and figure.bbox.x0 <= box.x0 < box.x1 <= figure.bbox.x1, box
    assert len(axes.texts) == len(view.dimensions) + sum(len(d.notes) for d in view.dimensions)


def test_a_ceiling_is_marked_apart_from_what_holds_a_dimension() -> None:
    figure, _ = drawn(answered(PULSE, PULSE_EXAMPLE))
    drawn_notes = {text.get_text(): text.get_color() for text in figure.axes[0].texts}
    assert drawn_notes["ℹ this bank measures up to level 2"] == NOTE_RGB["ceiling"]
    assert drawn_notes["⊖ held by practices not in place: Reproducible training"] == NOTE_RGB["held"]
    assert NOTE_RGB["held"] != NOTE_RGB["ceiling"]
    assert not any(text.startswith("⊖ this bank") or text.startswith("ℹ held") for text in drawn_notes)


def test_the_level_score_line_is_under_the_score_axis_only_where_levels_and_scores_disagree() -> None:
    figure, view = drawn(answered(PULSE, LEVEL_ABOVE_LOWER_SCORE))
    assert view.level_score_text is not None
    assert figure.axes[0].get_xlabel() == f"{SCORE_AXIS}\n{view.level_score_text}"
    agreeing, _ = drawn(answered(PULSE, PULSE_EXAMPLE))
    assert agreeing.axes[0].get_xlabel() == SCORE_AXIS
