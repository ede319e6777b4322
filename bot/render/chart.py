"""The report's chart: a PNG of the dimension scores, this result against the previous comparable one.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no global figure state), so
worker threads can draw at once. matplotlib is imported on first use: commands that draw nothing do not
pay for it.
"""

from __future__ import annotations

import io
import time
from typing import TYPE_CHECKING, Any

from bot.engine.history import ResultSummary, day
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
    for row, dimension in zip(rows, dimensions, strict=True):
        score = dimension.score or 0.0
        axes.barh(row + offset, score, height=BAR_HEIGHT, color=LEVEL_RGB.get(dimension.level, "#9e9e9e"))
        axes.text(score + 1, row + offset, _label(dimension.level, dimension.score), va="center", fontsize=9)
        if previous is not None:
            before = previous.dimension(dimension.id)
            if before is not None:
                earlier = before.score or 0.0
                axes.barh(row - offset, earlier, height=BAR_HEIGHT, color=PREVIOUS_RGB)
                axes.text(
                    earlier + 1, row - offset, _label(before.level, before.score), va="center", fontsize=8
                )
        below = row - offset - BAR_HEIGHT / 2 - NOTE_GAP
        for line, note in enumerate(notes.get(dimension.id, ())):
            axes.text(
                0, below - line * NOTE_LINE, note_line(note), va="top", fontsize=8, color=NOTE_RGB[note.kind]
            )
    axes.set_yticks(rows, [d.name for d in dimensions])
    axes.set_ylim(-0.1, bottom)
    axes.set_xlim(0, 115)
    axes.set_xticks([0, 25, 50, 75, 100])
    level_score = view.level_score_text if view is not None else None
    axes.set_xlabel(SCORE_AXIS + (f"\n{level_score}" if level_score else ""), wrap=True)
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


def _label(level: int | None, score: float | None) -> str:
    level_text = "no level" if level is None else f"level {level}"
    return level_text if score is None else f"{level_text} · {score:.1f}"
