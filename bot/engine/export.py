"""Kept results as CSV or JSON, one row per result, safe to open in a spreadsheet.

A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` as a formula (and a leading tab or
carriage return can smuggle one in), so such a cell is written with a leading apostrophe, which
spreadsheets show as text. A value that itself begins with an apostrophe gets one more, so
`unescape_cell` gives back exactly what was escaped.
"""

from __future__ import annotations

import calendar
import csv
import io
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.engine.history import DimensionSummary, ResultSummary

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE_MARK = "'"
EXPORT_FORMATS = ("csv", "json")
BASE_COLUMNS = (
    "workspace",
    "scope",
    "scope_id",
    "result_id",
    "finished_at",
    "bank_id",
    "bank_version",
    "bank_title",
    "overall_level",
    "overall_score",
    "pulse_index",
    "overall_lowest_level",
    "overall_highest_level",
)
# Per dimension, columns named "<dimension id> name", "… level" and so on. A level an adaptive run left
# unsettled is empty, and its lowest and highest level say the range; a score is empty unless exact.
DIMENSION_FIELDS = ("name", "level", "score", "lowest level", "highest level")


def escape_cell(value: str) -> str:
    if value.startswith((*FORMULA_STARTS, ESCAPE_MARK)):
        return ESCAPE_MARK + value
    return value


def unescape_cell(value: str) -> str:
    return value[1:] if value.startswith(ESCAPE_MARK) else value


@dataclass(frozen=True)
class ExportRow:
    workspace: str
    scope: str  # "person" or "channel"
    scope_id: str  # the user id or the channel id
    result: ResultSummary


def iso_time(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def parse_iso_time(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))


def _number(value: float | int | None) -> str:
    return "" if value is None else str(value)


def _range_cells(level_range: tuple[int, int] | None) -> list[str]:
    return ["", ""] if level_range is None else [str(level_range[0]), str(level_range[1])]


def _range_of(low: str, high: str) -> tuple[int, int] | None:
    return None if low == "" and high == "" else (int(low), int(high))


def dimension_ids(rows: Iterable[ExportRow]) -> list[str]:
    """Every dimension in the rows, in the order they first appear."""
    seen: dict[str, None] = {}
    for row in rows:
        for dimension in row.result.dimensions:
            seen.setdefault(dimension.id, None)
    return list(seen)


def to_csv(rows: Sequence[ExportRow]) -> str:
    dimensions = dimension_ids(rows)
    header = [*BASE_COLUMNS, *(f"{d} {field}" for d in dimensions for field in DIMENSION_FIELDS)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([escape_cell(h) for h in header])
    for row in rows:
        result = row.result
        cells = [
            row.workspace,
            row.scope,
            row.scope_id,
            result.result_id,
            iso_time(result.finished_at),
            result.bank_id,
            result.bank_version,
            result.bank_title,
            _number(result.overall_level),
            _number(result.overall_score),
            _number(result.pulse_index),
            *_range_cells(result.overall_level_range),
        ]
        for dimension_id in dimensions:
            found = result.dimension(dimension_id)
            if found is None:
                cells += [""] * len(DIMENSION_FIELDS)
            else:
                cells += [
                    found.name,
                    _number(found.level),
                    _number(found.score),
                    *_range_cells(found.level_range),
                ]
        writer.writerow([escape_cell(cell) for cell in cells])
    return buffer.getvalue()


def read_csv(text: str) -> list[ExportRow]:
    """The rows `to_csv` wrote (times to the second)."""
    reader = csv.reader(io.StringIO(text))
    header = [unescape_cell(h) for h in next(reader)]
    dimensions = [h.rsplit(" ", 1)[0] for h in header[len(BASE_COLUMNS) :: len(DIMENSION_FIELDS)]]
    rows = []
    for raw in reader:
        cells = dict(zip(header, (unescape_cell(c) for c in raw), strict=True))
        found = []
        for dimension_id in dimensions:
            fields = {field: cells[f"{dimension_id} {field}"] for field in DIMENSION_FIELDS}
            if all(value == "" for value in fields.values()):
                continue
            found.append(
                DimensionSummary(
                    id=dimension_id,
                    name=fields["name"],
                    level=_int_or_none(fields["level"]),
                    score=_float_or_none(fields["score"]),
                    level_range=_range_of(fields["lowest level"], fields["highest level"]),
                )
            )
        result = ResultSummary(
            result_id=cells["result_id"],
            finished_at=parse_iso_time(cells["finished_at"]),
            bank_id=cells["bank_id"],
            bank_version=cells["bank_version"],
            bank_title=cells["bank_title"],
            overall_level=_int_or_none(cells["overall_level"]),
            overall_score=_float_or_none(cells["overall_score"]),
            pulse_index=_float_or_none(cells["pulse_index"]),
            dimensions=tuple(found),
            overall_level_range=_range_of(cells["overall_lowest_level"], cells["overall_highest_level"]),
        )
        rows.append(ExportRow(cells["workspace"], cells["scope"], cells["scope_id"], result))
    return rows


def _int_or_none(text: str) -> int | None:
    return None if text == "" else int(text)


def _float_or_none(text: str) -> float | None:
    return None if text == "" else float(text)


def to_json(rows: Sequence[ExportRow]) -> str:
    """JSON needs no formula escaping: nothing evaluates it."""
    payload: list[dict[str, Any]] = [
        {
            "workspace": row.workspace,
            "scope": row.scope,
            "scope_id": row.scope_id,
            "finished_at_iso": iso_time(row.result.finished_at),
            **row.result.to_dict(),
        }
        for row in rows
    ]
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
