"""The report's chart: a PNG, the same bytes for the same results, and different with a previous result."""

from __future__ import annotations

import struct

from bot.engine.history import DimensionSummary, ResultSummary
from bot.render.chart import chart_png

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
