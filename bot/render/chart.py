"""The report's chart: a PNG of the dimension scores, this result against the previous comparable one.

A result of an adaptive run has levels but no exact scores (the practices it did not ask leave each
score a range), so a chart with such a result draws levels instead, for both results: a settled level as
a bar coloured by the level, a level not settled as a grey bar up to its lowest level and a hatched one
up to its highest. No bar stands for a score or a level that was not given.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no global figure state), so
worker threads can draw at once. matplotlib is imported on first use: commands that draw nothing do not
pay for it.
"""

from __future__ import annotations

import io
import time
from typing import TYPE_CHECKING, Any, Literal

from bot.engine.history import HIGHEST_LEVEL, DimensionSummary, ResultSummary, day
from bot.engine.report_view import DimensionNote, ReportView

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Slack's level colours (report_view.LEVEL_COLOURS) as RGB, for the level each bar reaches.
LEVEL_RGB = {1: "#d64541", 2: "#f39c12", 3: "#f1c40f", 4: "#2eb886", None: "#9e9e9e"}
PREVIOUS_RGB = "#b0bec5"
WIDTH_INCHES, DOTS_PER_INCH = 8.0, 100
BAR_HEIGHT = 0.36
# The report's marks for a note, in glyphs matplotlib's own font has (it has no ⛔): what holds a dimension
# back is the team's to change, a ceiling only how far the bank measures.
NOTE_MARKS = {"held": "⊖", "ceiling": "ℹ"}
NOTE_RGB = {"held": "#b03a2e", "ceiling": "#616161"}
NOTE_LINE = 0.3  # the height of a line of note text under a bar, in rows
NOTE_GAP = 0.05  # between the lowest bar of a dimension and its first note, in rows
ROW_INCHES = 0.75
SCORE_AXIS = "score out of 100 (bar colour: the level reached)"
LEVEL_AXIS = "level (bar colour: the level reached; hatched: the levels not settled)"
NOT_SETTLED_RGB = "#9e9e9e"
Measure = Literal["score", "level"]


def chart_png(
    current: ResultSummary, previous: ResultSummary | None = None, view: ReportView | None = None
) -> bytes:
    """Horizontal bars per dimension of `current` (coloured by its level) beside `previous` (grey); with
    `current`'s report view, what holds each dimension or caps it under its bar."""
    buffer = io.BytesIO()
    # No "Software" stamp: the same result draws the same bytes whatever matplotlib version drew it.
    chart_figure(current, previous, view).savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def note_line(note: DimensionNote) -> str:
    return f"{NOTE_MARKS[note.kind]} {note.short_text}"


def chart_figure(
    current: ResultSummary, previous: ResultSummary | None = None, view: ReportView | None = None
) -> Figure:
    """What `chart_png` draws, as a matplotlib figure laid out and ready to save."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dimensions = list(current.dimensions)
    notes = {d.id: d.notes for d in view.dimensions} if view is not None else {}
    # Bottom up, so the first dimension is on top; a dimension's notes take room under its bar.
    rows: list[float] = []
    bottom = 0.0
    for dimension in reversed(dimensions):
        bottom += NOTE_LINE * len(notes.get(dimension.id, ()))
        rows.append(bottom + 0.5)
        bottom += 1.0
    rows.reverse()
    figure = Figure(figsize=(WIDTH_INCHES, 1.6 + ROW_INCHES * max(1.0, bottom)), dpi=DOTS_PER_INCH)
    FigureCanvasAgg(figure)
    axes: Any = figure.add_subplot()
    offset = BAR_HEIGHT / 2 if previous is not None else 0.0
    measure = chart_measure(current, previous)
    for row, dimension in zip(rows, dimensions, strict=True):
        _draw(axes, measure, dimension, row + offset, LEVEL_RGB.get(dimension.level, NOT_SETTLED_RGB), 9)
        if previous is not None:
            before = previous.dimension(dimension.id)
            if before is not None:
                _draw(axes, measure, before, row - offset, PREVIOUS_RGB, 8)
        below = row - offset - BAR_HEIGHT / 2 - NOTE_GAP
        for line, note in enumerate(notes.get(dimension.id, ())):
            axes.text(
                0, below - line * NOTE_LINE, note_line(note), va="top", fontsize=8, color=NOTE_RGB[note.kind]
            )
    axes.set_yticks(rows, [d.name for d in dimensions])
    axes.set_ylim(-0.1, bottom)
    if measure == "score":
        axes.set_xlim(0, 115)
        axes.set_xticks([0, 25, 50, 75, 100])
    else:
        axes.set_xlim(0, HIGHEST_LEVEL * 1.5)
        axes.set_xticks(range(HIGHEST_LEVEL + 1))
    level_score = view.level_score_text if view is not None else None
    axis = SCORE_AXIS if measure == "score" else LEVEL_AXIS
    axes.set_xlabel(axis + (f"\n{level_score}" if level_score else ""), wrap=True)
    axes.spines[["top", "right"]].set_visible(False)
    subtitle = f"colour: this result, {_when(current.finished_at, previous)}"
    if previous is not None:
        subtitle += f"  ·  grey: the previous one, {_when(previous.finished_at, current)}"
    # On the figure, not the axes: the title may use the width the dimension names take.
    figure.suptitle(f"{current.bank_title}\n{subtitle}", x=0.02, ha="left", fontsize=10)
    figure.tight_layout()
    return figure


def _when(timestamp: float, other: ResultSummary | None) -> str:
    """The day, with the time of day when the other result is from the same day."""
    text = day(timestamp)
    if other is not None and day(other.finished_at) == text:
        text += time.strftime(" %H:%M UTC", time.gmtime(timestamp))
    return text


def chart_measure(current: ResultSummary, previous: ResultSummary | None = None) -> Measure:
    """Scores when every dimension drawn with a level has an exact score, else levels."""
    drawn = [*current.dimensions, *(previous.dimensions if previous is not None else ())]
    placed = [d for d in drawn if d.level is not None or d.unsettled_range is not None]
    return "score" if all(d.score is not None for d in placed) else "level"


def _draw(
    axes: Any, measure: Measure, dimension: DimensionSummary, row: float, colour: str, size: int
) -> None:
    """One result's bar for a dimension, and its label."""
    label = _label(dimension)
    if measure == "score":
        score = dimension.score or 0.0
        axes.barh(row, score, height=BAR_HEIGHT, color=colour)
        axes.text(score + 1, row, label, va="center", fontsize=size)
        return
    unsettled = dimension.unsettled_range
    if unsettled is not None:
        low, high = unsettled
        axes.barh(row, low, height=BAR_HEIGHT, color=colour if colour == PREVIOUS_RGB else NOT_SETTLED_RGB)
        axes.barh(
            row, high - low, left=low, height=BAR_HEIGHT, fill=False, hatch="///", edgecolor=NOT_SETTLED_RGB
        )
        axes.text(high + 0.05, row, label, va="center", fontsize=size)
        return
    reached = dimension.level or 0
    if reached:
        axes.barh(row, reached, height=BAR_HEIGHT, color=colour)
    axes.text(reached + 0.05, row, label, va="center", fontsize=size)


def _label(dimension: DimensionSummary) -> str:
    unsettled = dimension.unsettled_range
    if unsettled is not None:
        return f"level {unsettled[0]} to {unsettled[1]} · not settled"
    level_text = "no level" if dimension.level is None else f"level {dimension.level}"
    return level_text if dimension.score is None else f"{level_text} · {dimension.score:.1f}"
