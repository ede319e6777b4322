"""The report's chart: a PNG of the dimension scores, this result against the previous comparable one.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no global figure state), so
worker threads can draw at once. matplotlib is imported on first use: commands that draw nothing do not
pay for it.
"""

from __future__ import annotations

import io
import time
from typing import Any

from bot.engine.history import ResultSummary, day

# Slack's level colours (report_view.LEVEL_COLOURS) as RGB, for the level each bar reaches.
LEVEL_RGB = {1: "#d64541", 2: "#f39c12", 3: "#f1c40f", 4: "#2eb886", None: "#9e9e9e"}
PREVIOUS_RGB = "#b0bec5"
WIDTH_INCHES, DOTS_PER_INCH = 8.0, 100
BAR_HEIGHT = 0.36


def chart_png(current: ResultSummary, previous: ResultSummary | None = None) -> bytes:
    """Horizontal bars per dimension of `current` (coloured by its level) beside `previous` (grey)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dimensions = list(current.dimensions)
    height = 1.6 + 0.75 * max(1, len(dimensions))
    figure = Figure(figsize=(WIDTH_INCHES, height), dpi=DOTS_PER_INCH)
    FigureCanvasAgg(figure)
    axes: Any = figure.add_subplot()
    rows = list(range(len(dimensions)))[::-1]  # the first dimension on top
    for row, dimension in zip(rows, dimensions, strict=True):
        score = dimension.score or 0.0
        offset = BAR_HEIGHT / 2 if previous is not None else 0.0
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
    axes.set_yticks(rows, [d.name for d in dimensions])
    axes.set_xlim(0, 115)
    axes.set_xticks([0, 25, 50, 75, 100])
    axes.set_xlabel("score out of 100 (bar colour: the level reached)")
    axes.spines[["top", "right"]].set_visible(False)
    subtitle = f"colour: this result, {_when(current.finished_at, previous)}"
    if previous is not None:
        subtitle += f"  ·  grey: the previous one, {_when(previous.finished_at, current)}"
    # On the figure, not the axes: the title may use the width the dimension names take.
    figure.suptitle(f"{current.bank_title}\n{subtitle}", x=0.02, ha="left", fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    # No "Software" stamp: the same result draws the same bytes whatever matplotlib version drew it.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _when(timestamp: float, other: ResultSummary | None) -> str:
    """The day, with the time of day when the other result is from the same day."""
    text = day(timestamp)
    if other is not None and day(other.finished_at) == text:
        text += time.strftime(" %H:%M UTC", time.gmtime(timestamp))
    return text


def _label(level: int | None, score: float | None) -> str:
    level_text = "no level" if level is None else f"level {level}"
    return level_text if score is None else f"{level_text} · {score:.1f}"
