"""Export as CSV and JSON: every result comes back from the CSV, and no cell runs as a formula."""

from __future__ import annotations

import csv
import io
import json

from hypothesis import given
from hypothesis import strategies as st

from bot.engine.export import (
    FORMULA_STARTS,
    ExportRow,
    dimension_ids,
    escape_cell,
    read_csv,
    to_csv,
    to_json,
    unescape_cell,
)
from bot.engine.history import DimensionSummary, ResultSummary


def summary(result_id: str = "r1", title: str = "MLOps Maturity Assessment") -> ResultSummary:
    return ResultSummary(
        result_id=result_id,
        finished_at=1_790_000_000.0,
        bank_id="mlops",
        bank_version="2.0.0",
        bank_title=title,
        overall_level=2,
        overall_score=61.3,
        pulse_index=58.1,
        dimensions=(
            DimensionSummary("data", "Data & Experimentation", 2, 81.8),
            DimensionSummary("monitor", "Monitoring & Governance", None, 12.5),
        ),
    )


def test_a_formula_like_cell_is_written_as_text_and_read_back_as_it_was() -> None:
    rows = [ExportRow("T1", "person", "U1", summary(title='=HYPERLINK("http://x","click")'))]
    text = to_csv(rows)
    raw = list(csv.reader(io.StringIO(text)))
    title_column = raw[0].index("bank_title")
    assert raw[1][title_column] == '\'=HYPERLINK("http://x","click")'
    assert read_csv(text) == rows


def test_every_formula_start_is_escaped() -> None:
    for start in FORMULA_STARTS:
        assert escape_cell(f"{start}1+1") == f"'{start}1+1"
    assert escape_cell("Level 2") == "Level 2"
    assert escape_cell("'quoted") == "''quoted"


def test_results_of_different_banks_share_one_header() -> None:
    other = ResultSummary(
        "r2",
        1_790_000_100.0,
        "pulse",
        "2.0.0",
        "Pulse",
        3,
        70.0,
        70.0,
        (DimensionSummary("team", "Team", 3, 70.0),),
    )
    rows = [ExportRow("T1", "person", "U1", summary()), ExportRow("T1", "channel", "C1", other)]
    text = to_csv(rows)
    header = next(csv.reader(io.StringIO(text)))
    assert header[-15:] == [
        f"{dimension} {field}"
        for dimension in ("data", "monitor", "team")
        for field in ("name", "level", "score", "lowest level", "highest level")
    ]
    assert read_csv(text) == rows


def test_an_adaptive_result_keeps_its_empty_scores_and_its_ranges_through_the_csv() -> None:
    """An adaptive run that stopped at a settled overall level: exact levels where settled, the range where
    not, and no exact score anywhere; each comes back as it went in, not as 0 or as no level."""
    stopped = ResultSummary(
        "r3",
        1_790_000_000.0,
        "mlops",
        "3.0.0",
        "MLOps Maturity Assessment",
        overall_level=1,
        overall_score=None,
        pulse_index=41.2,
        dimensions=(
            DimensionSummary("data", "Data & Experimentation", 1, None, level_range=(1, 1)),
            DimensionSummary("team", "Team & Culture", None, None, level_range=(1, 3)),
        ),
        overall_level_range=(1, 1),
    )
    text = to_csv([ExportRow("T1", "person", "U1", stopped)])
    header, row = list(csv.reader(io.StringIO(text)))
    cells = dict(zip(header, row, strict=True))
    assert (cells["overall_level"], cells["overall_score"]) == ("1", "")
    assert (cells["team level"], cells["team lowest level"], cells["team highest level"]) == ("", "1", "3")
    assert (cells["data level"], cells["data score"]) == ("1", "")
    assert read_csv(text) == [ExportRow("T1", "person", "U1", stopped)]


def test_json_holds_the_same_results() -> None:
    rows = [ExportRow("T1", "person", "U1", summary())]
    [item] = json.loads(to_json(rows))
    assert item["finished_at_iso"] == "2026-09-21T14:13:20Z"
    assert ResultSummary.from_dict(item) == rows[0].result


@given(st.text())
def test_escaping_round_trips(value: str) -> None:
    assert unescape_cell(escape_cell(value)) == value


@given(st.text())
def test_no_escaped_cell_starts_a_formula(value: str) -> None:
    assert not escape_cell(value).startswith(FORMULA_STARTS)


cell_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=30)
levels = st.one_of(st.none(), st.integers(1, 4))
level_ranges = st.one_of(
    st.none(), st.tuples(st.integers(1, 4), st.integers(1, 4)).map(lambda pair: (min(pair), max(pair)))
)
points = st.one_of(st.none(), st.floats(0, 100, allow_nan=False).map(lambda v: round(v, 1)))
dimensions = st.lists(
    st.builds(
        DimensionSummary,
        id=st.sampled_from(["data", "deploy", "monitor", "team"]),
        name=cell_text,
        level=levels,
        score=points,
        level_range=level_ranges,
    ),
    max_size=4,
    unique_by=lambda d: d.id,
)
summaries = st.builds(
    ResultSummary,
    result_id=st.text("0123456789abcdef", min_size=1, max_size=32),
    finished_at=st.integers(0, 4_000_000_000).map(float),
    bank_id=cell_text,
    bank_version=cell_text,
    bank_title=cell_text,
    overall_level=levels,
    overall_score=points,
    pulse_index=points,
    dimensions=dimensions.map(tuple),
    overall_level_range=level_ranges,
)


@given(st.lists(st.builds(ExportRow, workspace=cell_text, scope=st.sampled_from(["person", "channel"]),
                          scope_id=cell_text, result=summaries), max_size=5))  # fmt: skip
def test_a_csv_export_reads_back_to_the_same_results(rows: list[ExportRow]) -> None:
    # A dimension with no name, level, score or range is indistinguishable from no dimension at all, and
    # each row's dimensions come back in the header's order.
    order = dimension_ids(rows)
    expected = [
        ExportRow(
            r.workspace,
            r.scope,
            r.scope_id,
            ResultSummary(
                **{
                    **r.result.__dict__,
                    "dimensions": tuple(
                        sorted(
                            (
                                d
                                for d in r.result.dimensions
                                if (d.name, d.level, d.score, d.level_range) != ("", None, None, None)
                            ),
                            key=lambda d: order.index(d.id),
                        )
                    ),
                }
            ),
        )
        for r in rows
    ]
    assert read_csv(to_csv(rows)) == expected
