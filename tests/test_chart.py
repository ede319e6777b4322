"""The report's chart: a PNG, the same bytes for the same results, and different with a previous result."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.bank import QuestionBank
from bot.engine.history import DimensionSummary, ResultSummary
from bot.engine.report_view import ReportView, build_view
from bot.engine.scoring import Report
from bot.render.chart import (
    LEVEL_AXIS,
    LEVEL_RGB,
    NOTE_RGB,
    PREVIOUS_RGB,
    SCORE_AXIS,
    BarPiece,
    ChartLayout,
    chart_layout,
    chart_measure,
    chart_png,
    note_line,
)
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


def pieces(layout: ChartLayout) -> dict[float, list[BarPiece]]:
    """The pieces of bars of each row (a level not settled is drawn in two), by the row's height, top row
    first."""
    rows: dict[float, list[BarPiece]] = {}
    for piece in layout.pieces:
        rows.setdefault(round(piece.row, 6), []).append(piece)
    return dict(sorted(rows.items(), reverse=True))


def drawn(report: Report) -> tuple[ChartLayout, ReportView]:
    view = build_view(report)
    return chart_layout(summary_of_report(report, "r", 1_795_000_000.0), None, view), view


@pytest.mark.parametrize(
    ("bank", "answers_file"),
    [(PULSE, LEVEL_ABOVE_LOWER_SCORE), (PULSE, PULSE_EXAMPLE), (MLOPS, TEAM_EXAMPLE)],
    ids=["pulse-held", "pulse-ceiling-only", "mlops"],
)
def test_each_dimensions_notes_are_drawn_under_its_own_bar_inside_the_picture(
    bank: QuestionBank, answers_file: Path
) -> None:
    layout, view = drawn(answered(bank, answers_file))
    # The bars top down, as the dimensions are listed; pixels count down from the top.
    bars = [(min(p.box[1] for p in row), max(p.box[3] for p in row)) for row in pieces(layout).values()]
    notes = [text for text in layout.texts if text.colour in NOTE_RGB.values()]
    for index, dimension in enumerate(view.dimensions):
        below = bars[index + 1][0] if index + 1 < len(bars) else layout.plot[3]
        under = [text for text in notes if bars[index][1] < text.box[1] and text.box[3] <= below]
        assert dimension.notes
        assert [text.text for text in under] == [note_line(note) for note in dimension.notes]
        for text in under:
            left, _, right, _ = text.box
            assert 0 <= left < right <= layout.width, text
    assert len(layout.texts) == len(view.dimensions) + sum(len(d.notes) for d in view.dimensions)


def test_a_ceiling_is_marked_apart_from_what_holds_a_dimension() -> None:
    layout, _ = drawn(answered(PULSE, PULSE_EXAMPLE))
    drawn_notes = {text.text: text.colour for text in layout.texts}
    assert drawn_notes["ℹ this bank measures up to level 2"] == NOTE_RGB["ceiling"]
    assert drawn_notes["⊖ held by practices not in place: Reproducible training"] == NOTE_RGB["held"]
    assert NOTE_RGB["held"] != NOTE_RGB["ceiling"]
    assert not any(text.startswith("⊖ this bank") or text.startswith("ℹ held") for text in drawn_notes)


def test_the_level_score_line_is_under_the_score_axis_only_where_levels_and_scores_disagree() -> None:
    layout, view = drawn(answered(PULSE, LEVEL_ABOVE_LOWER_SCORE))
    assert view.level_score_text is not None
    assert layout.x_label == f"{SCORE_AXIS}\n{view.level_score_text}"
    # Wrapped to the plot's width, every word kept.
    assert layout.x_label_lines[0] == SCORE_AXIS
    assert " ".join(layout.x_label_lines[1:]) == " ".join(view.level_score_text.split())
    agreeing, _ = drawn(answered(MLOPS, TEAM_EXAMPLE))
    assert agreeing.x_label == SCORE_AXIS


NAMES = {"data": "Data & Experimentation", "deploy": "Deployment & Integration", "team": "Team & Culture"}
WHEN = 1_795_000_000.0


def adaptive(result_id: str, *dimensions: DimensionSummary, overall: int | None = None) -> ResultSummary:
    """A result as an adaptive run keeps it: levels (or their ranges), and no exact scores."""
    return ResultSummary(result_id, WHEN, "mlops", "3.0.0", "MLOps", overall, None, 40.0, dimensions)


def drawn_piece(piece: BarPiece) -> tuple[float, float, str]:
    """Where a piece of a bar starts and how long it is, in levels, and its hatching ("" for none)."""
    return piece.start, piece.length, "///" if piece.hatched else ""


def test_a_result_without_exact_scores_is_drawn_on_levels_and_a_level_not_settled_as_its_range() -> None:
    current = adaptive(
        "b",
        DimensionSummary("data", NAMES["data"], 2, None, level_range=(2, 2)),
        DimensionSummary("team", NAMES["team"], None, None, level_range=(1, 3)),
    )
    layout = chart_layout(current)
    assert layout.x_label == LEVEL_AXIS
    data, team = pieces(layout).values()
    # Level 2: one bar two levels long, in level 2's colour.
    assert [drawn_piece(p) for p in data] == [(0.0, 2.0, "")]
    assert data[0].colour == LEVEL_RGB[2]
    # Level 1 to 3: solid up to the lowest level, hatched up to the highest, and nothing beyond.
    assert [drawn_piece(p) for p in team] == [(0.0, 1.0, ""), (1.0, 2.0, "///")]
    labels = [text.text for text in layout.texts]
    assert labels == ["level 2", "level 1 to 3 · not settled"]


def test_a_full_result_before_an_adaptive_one_is_drawn_on_levels_too() -> None:
    previous = ResultSummary(
        "a",
        WHEN - 86_400 * 90,
        "mlops",
        "3.0.0",
        "MLOps",
        3,
        75.0,
        70.0,
        (DimensionSummary("data", NAMES["data"], 3, 75.0, level_range=(3, 3)),),
    )
    current = adaptive("b", DimensionSummary("data", NAMES["data"], 2, None, level_range=(2, 2)))
    layout = chart_layout(current, previous)
    assert chart_measure(current, previous) == "level"
    assert layout.x_label == LEVEL_AXIS
    # This result's bar above the previous one's, each as long as its level, the previous one in grey.
    [now], [before] = pieces(layout).values()
    assert (now.length, now.colour) == (2, LEVEL_RGB[2])
    assert (before.length, before.colour) == (3, PREVIOUS_RGB)
    assert now.box[3] <= before.box[1]
    assert [text.text for text in layout.texts] == ["level 2", "level 3 · 75.0"]


ranges = st.one_of(
    st.none(),
    st.tuples(st.integers(1, 4), st.integers(1, 4)).map(lambda pair: (min(pair), max(pair))),
)


@st.composite
def kept_dimensions(draw: st.DrawFn, dimension_id: str) -> DimensionSummary:
    level_range = draw(ranges)
    settled = level_range is not None and level_range[0] == level_range[1] and draw(st.booleans())
    level = level_range[0] if settled and level_range is not None else None
    score = draw(st.one_of(st.none(), st.floats(0, 100, allow_nan=False)))
    return DimensionSummary(dimension_id, NAMES[dimension_id], level, score, level_range=level_range)


@settings(max_examples=25, deadline=None)
@given(st.tuples(*(kept_dimensions(d) for d in NAMES)))
def test_no_bar_reaches_past_what_the_result_says(dimensions: tuple[DimensionSummary, ...]) -> None:
    current = adaptive("r", *dimensions)
    layout = chart_layout(current)
    measure = chart_measure(current)
    placed = [d for d in dimensions if d.level is not None or d.unsettled_range is not None]
    assert (measure == "score") is all(d.score is not None for d in placed)
    assert layout.x_label == (SCORE_AXIS if measure == "score" else LEVEL_AXIS)
    rows = list(pieces(layout).values())
    reaches = [max((p.start + p.length for p in row), default=0.0) for row in rows]
    # Inside the plot, however long.
    assert all(layout.plot[0] <= p.box[0] <= p.box[2] <= layout.plot[2] for p in layout.pieces)
    if measure == "score":
        assert reaches == [d.score or 0.0 for d in dimensions]
    else:
        # Every row's reach is its level, or the top of its range; a dimension with neither has no bar.
        expected = [
            d.level if d.level is not None else d.unsettled_range[1] if d.unsettled_range else None
            for d in dimensions
        ]
        assert reaches == [value for value in expected if value is not None]
