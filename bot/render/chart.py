"""The report's chart: a PNG of the dimension scores, this result against the previous comparable one.

A result of an adaptive run has levels but no exact scores (the practices it did not ask leave each
score a range), so a chart with such a result draws levels instead, for both results: a settled level as
a bar coloured by the level, a level not settled as a grey bar up to its lowest level and a hatched one
up to its highest. No bar stands for a score or a level that was not given.

`chart_layout` places every piece in pixels (pure arithmetic over the font's measures) and `chart_png`
paints it with Pillow in the DejaVu Sans that matplotlib ships: a worker draws one chart per report, and
threads of one process share one core, so the chart is kept to a few milliseconds of CPU (matplotlib
took over 100). Pillow is imported on first use: commands that draw nothing do not pay for it.
"""

from __future__ import annotations

import functools
import io
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bot.engine.history import HIGHEST_LEVEL, DimensionSummary, ResultSummary, day
from bot.engine.report_view import DimensionNote, ReportView

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont

# Slack's level colours (report_view.LEVEL_COLOURS) as RGB, for the level each bar reaches.
LEVEL_RGB = {1: "#d64541", 2: "#f39c12", 3: "#f1c40f", 4: "#2eb886", None: "#9e9e9e"}
PREVIOUS_RGB = "#b0bec5"
WIDTH = 800  # pixels
BAR_HEIGHT = 0.36  # rows
# The report's marks for a note, in glyphs DejaVu Sans has (it has no ⛔): what holds a dimension back is
# the team's to change, a ceiling only how far the bank measures.
NOTE_MARKS = {"held": "⊖", "ceiling": "ℹ"}
NOTE_RGB = {"held": "#b03a2e", "ceiling": "#616161"}
NOTE_LINE = 0.3  # the height of a line of note text under a bar, in rows
NOTE_GAP = 0.05  # between the lowest bar of a dimension and its first note, in rows
ROW = 75  # pixels a row takes
SCORE_AXIS = "score out of 100 (bar colour: the level reached)"
LEVEL_AXIS = "level (bar colour: the level reached; hatched: the levels not settled)"
NOT_SETTLED_RGB = "#9e9e9e"
INK = "#000000"
Measure = Literal["score", "level"]
# Font sizes in pixels (matplotlib's 10, 9 and 8 points at 100 dots an inch).
AXIS_SIZE, LABEL_SIZE, SMALL_SIZE = 14, 12, 11
MARGIN = 16
TICK = 4
HATCH_SPACING = 8


@functools.cache
def font(size: int) -> FreeTypeFont:
    from PIL import ImageFont

    spec = find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise RuntimeError("the chart's font comes with matplotlib, which is not installed")
    path = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    return ImageFont.truetype(str(path), size)


Box = tuple[float, float, float, float]  # left, top, right, bottom, in pixels from the top left


@dataclass(frozen=True)
class BarPiece:
    """A piece of a bar (a level not settled is drawn in two): where it starts and how long it is, in the
    chart's measure, and where it is painted."""

    row: float  # the row's centre, in rows from the bottom
    start: float
    length: float
    colour: str | None  # None: not filled, hatched
    box: Box

    @property
    def hatched(self) -> bool:
        return self.colour is None


@dataclass(frozen=True)
class ChartText:
    """A bar's label or a note under it."""

    text: str
    colour: str
    size: int
    box: Box


@dataclass(frozen=True)
class ChartLayout:
    width: int
    height: int
    title: tuple[str, str]
    measure: Measure
    names: tuple[tuple[str, float], ...]  # each dimension's name and the pixel height of its row
    pieces: tuple[BarPiece, ...]
    texts: tuple[ChartText, ...]
    ticks: tuple[tuple[str, float], ...]  # each tick's label and its pixel position
    x_label: str  # the axis's label and, below it, the line about levels and scores
    x_label_lines: tuple[str, ...]  # as painted: the line about levels and scores wrapped
    plot: Box


def chart_png(
    current: ResultSummary, previous: ResultSummary | None = None, view: ReportView | None = None
) -> bytes:
    """Horizontal bars per dimension of `current` (coloured by its level) beside `previous` (grey); with
    `current`'s report view, what holds each dimension or caps it under its bar."""
    return paint(chart_layout(current, previous, view))


def note_line(note: DimensionNote) -> str:
    return f"{NOTE_MARKS[note.kind]} {note.short_text}"


def _text_width(text: str, size: int) -> float:
    return float(font(size).getlength(text))


def _line_height(size: int) -> float:
    return round(size * 1.25)


def _wrapped(text: str, width: float, size: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and _text_width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def chart_layout(
    current: ResultSummary, previous: ResultSummary | None = None, view: ReportView | None = None
) -> ChartLayout:
    """Where `chart_png` paints each piece."""
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
    bottom = max(bottom, 1.0)
    measure = chart_measure(current, previous)
    x_max = 115.0 if measure == "score" else HIGHEST_LEVEL * 1.5
    tick_values = [0, 25, 50, 75, 100] if measure == "score" else list(range(HIGHEST_LEVEL + 1))

    subtitle = f"colour: this result, {_when(current.finished_at, previous)}"
    if previous is not None:
        subtitle += f"  ·  grey: the previous one, {_when(previous.finished_at, current)}"
    top = MARGIN + 2 * _line_height(AXIS_SIZE) + MARGIN
    left = MARGIN + max((_text_width(d.name, AXIS_SIZE) for d in dimensions), default=0.0) + TICK + 6
    right = WIDTH - MARGIN
    plot_bottom = top + (bottom + 0.1) * ROW

    def x_at(value: float) -> float:
        return left + value / x_max * (right - left)

    def y_at(row: float) -> float:
        return top + (bottom - row) * ROW

    pieces: list[BarPiece] = []
    texts: list[ChartText] = []
    offset = BAR_HEIGHT / 2 if previous is not None else 0.0
    for row, dimension in zip(rows, dimensions, strict=True):
        drawn = [(dimension, row + offset, LEVEL_RGB.get(dimension.level, NOT_SETTLED_RGB), LABEL_SIZE)]
        before = previous.dimension(dimension.id) if previous is not None else None
        if before is not None:
            drawn.append((before, row - offset, PREVIOUS_RGB, SMALL_SIZE))
        for summary, centre, colour, size in drawn:
            spans, label_at = _bar(measure, summary, colour)
            y0, y1 = y_at(centre) - BAR_HEIGHT * ROW / 2, y_at(centre) + BAR_HEIGHT * ROW / 2
            for start, length, fill in spans:
                box = (x_at(start), y0, x_at(start + length), y1)
                pieces.append(BarPiece(centre, start, length, fill, box))
            label = _label(summary)
            x, height = x_at(label_at), _line_height(size)
            box = (x, y_at(centre) - height / 2, x + _text_width(label, size), y_at(centre) + height / 2)
            texts.append(ChartText(label, INK, size, box))
        below = row - offset - BAR_HEIGHT / 2 - NOTE_GAP
        for line, note in enumerate(notes.get(dimension.id, ())):
            text, y = note_line(note), y_at(below - line * NOTE_LINE)
            box = (left, y, left + _text_width(text, SMALL_SIZE), y + _line_height(SMALL_SIZE))
            texts.append(ChartText(text, NOTE_RGB[note.kind], SMALL_SIZE, box))

    level_score = view.level_score_text if view is not None else None
    axis = SCORE_AXIS if measure == "score" else LEVEL_AXIS
    wrapped = [axis, *(_wrapped(level_score, right - left, AXIS_SIZE) if level_score else [])]
    height = plot_bottom + TICK + _line_height(AXIS_SIZE) * (1 + len(wrapped)) + MARGIN
    return ChartLayout(
        width=WIDTH,
        height=round(height),
        title=(current.bank_title, subtitle),
        measure=measure,
        names=tuple((d.name, y_at(row)) for d, row in zip(dimensions, rows, strict=True)),
        pieces=tuple(pieces),
        texts=tuple(texts),
        ticks=tuple((str(value), x_at(value)) for value in tick_values),
        x_label=axis + (f"\n{level_score}" if level_score else ""),
        x_label_lines=tuple(wrapped),
        plot=(left, top, right, plot_bottom),
    )


def paint(layout: ChartLayout) -> bytes:
    """The layout as a PNG: the same bytes for the same layout."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (layout.width, layout.height), "white")
    draw = ImageDraw.Draw(image)
    title, subtitle = layout.title
    draw.text((MARGIN, MARGIN), title, fill=INK, font=font(AXIS_SIZE))
    draw.text((MARGIN, MARGIN + _line_height(AXIS_SIZE)), subtitle, fill=INK, font=font(AXIS_SIZE))
    left, top, right, bottom = layout.plot
    for piece in layout.pieces:
        x0, y0, x1, y1 = piece.box
        if x1 - x0 < 0.5:
            continue
        if piece.colour is not None:
            draw.rectangle((x0, y0, x1, y1), fill=piece.colour)
            continue
        _hatch(draw, piece.box)
        draw.rectangle((x0, y0, x1, y1), outline=NOT_SETTLED_RGB)
    for text in layout.texts:
        draw.text((text.box[0], text.box[1]), text.text, fill=text.colour, font=font(text.size))
    draw.line((left, top, left, bottom), fill=INK)
    draw.line((left, bottom, right, bottom), fill=INK)
    for name, y in layout.names:
        draw.line((left - TICK, y, left, y), fill=INK)
        draw.text((left - TICK - 4, y), name, fill=INK, font=font(AXIS_SIZE), anchor="rm")
    for label, x in layout.ticks:
        draw.line((x, bottom, x, bottom + TICK), fill=INK)
        draw.text((x, bottom + TICK + 2), label, fill=INK, font=font(AXIS_SIZE), anchor="mt")
    y = bottom + TICK + 2 + _line_height(AXIS_SIZE) + 4
    for line in layout.x_label_lines:
        draw.text(((left + right) / 2, y), line, fill=INK, font=font(AXIS_SIZE), anchor="mt")
        y += _line_height(AXIS_SIZE)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _hatch(draw: object, box: Box) -> None:
    """ "///" inside `box`: lines rising to the right, clipped to it."""
    from PIL import ImageDraw

    assert isinstance(draw, ImageDraw.ImageDraw)
    x0, y0, x1, y1 = box
    height = y1 - y0
    start = x0 - height
    while start < x1:
        # The line from (start, y1) to (start + height, y0), clipped to x0..x1.
        a_x, a_y = start, y1
        b_x, b_y = start + height, y0
        if a_x < x0:
            a_y -= x0 - a_x
            a_x = x0
        if b_x > x1:
            b_y += b_x - x1
            b_x = x1
        if a_x < b_x:
            draw.line((a_x, a_y, b_x, b_y), fill=NOT_SETTLED_RGB)
        start += HATCH_SPACING


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


def _bar(
    measure: Measure, dimension: DimensionSummary, colour: str
) -> tuple[list[tuple[float, float, str | None]], float]:
    """One result's bar for a dimension, in pieces (start, length, fill; None: hatched), and where its
    label starts."""
    if measure == "score":
        score = dimension.score or 0.0
        return [(0.0, score, colour)], score + 1
    unsettled = dimension.unsettled_range
    if unsettled is not None:
        low, high = unsettled
        solid = colour if colour == PREVIOUS_RGB else NOT_SETTLED_RGB
        return [(0.0, float(low), solid), (float(low), float(high - low), None)], high + 0.05
    reached = dimension.level or 0
    return ([(0.0, float(reached), colour)] if reached else []), reached + 0.05


def _label(dimension: DimensionSummary) -> str:
    unsettled = dimension.unsettled_range
    if unsettled is not None:
        return f"level {unsettled[0]} to {unsettled[1]} · not settled"
    level_text = "no level" if dimension.level is None else f"level {dimension.level}"
    return level_text if dimension.score is None else f"{level_text} · {dimension.score:.1f}"
