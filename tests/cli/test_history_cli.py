"""The command line's side of results over time: `assess --chart FILE` and `export` for an admin."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest
import yaml

from bot.cli.main import main
from bot.engine.bank import load_bank_file
from bot.engine.catalog import DEFAULT_BANKS_DIR
from bot.engine.export import read_csv
from bot.engine.history import DimensionSummary, ResultSummary
from bot.store.history import HistoryStore, Scope, record_channel_result
from tests.conftest import REAL_REDIS_URL, real_redis

MLOPS = load_bank_file(DEFAULT_BANKS_DIR / "mlops.yaml")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_assess_writes_the_reports_chart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({q.id: len(q.options) for q in MLOPS.questions}))
    chart = tmp_path / "chart.png"
    code, out, err = run(
        capsys, "assess", "--answers", str(answers), "--format", "json", "--chart", str(chart)
    )
    assert code == 0
    assert json.loads(out)["overall"]["level"] == 4  # the report itself is untouched
    png = chart.read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 5000
    assert f"chart written to {chart} ({len(png)} bytes)" in " ".join(err.split())


def test_a_report_with_a_level_not_settled_still_gets_its_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Monitoring & Governance left out: its level is a range and its score not exact, which the chart draws
    # on levels rather than as an empty bar (tests/test_chart.py).
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        yaml.safe_dump({q.id: 1 for q in MLOPS.questions if getattr(q, "dimension", None) != "monitor"})
    )
    chart = tmp_path / "chart.png"
    code, out, err = run(
        capsys, "assess", "--answers", str(answers), "--format", "json", "--chart", str(chart)
    )
    assert code == 0, err
    monitor = next(d for d in json.loads(out)["dimensions"] if d["id"] == "monitor")
    assert monitor["level"]["level"] is None and monitor["score"] is None
    assert chart.read_bytes().startswith(PNG_MAGIC)
    assert f"chart written to {chart}" in " ".join(err.split())


def test_a_chart_path_that_cannot_be_written_is_refused_before_anything_is_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "assess", "--chart", str(tmp_path / "missing" / "chart.png"))
    assert code == 2 and out == ""
    assert "does not exist" in err
    code, _, err = run(capsys, "assess", "--chart", str(tmp_path))
    assert code == 2 and "is a directory" in err


def summary(result_id: str, finished_at: float, title: str = "MLOps") -> ResultSummary:
    return ResultSummary(
        result_id,
        finished_at,
        "mlops",
        "2.0.0",
        title,
        2,
        55.5,
        40.0,
        (DimensionSummary("data", "Data", 2, 55.5),),
    )


@pytest.fixture
def seeded(team_id: str, monkeypatch: pytest.MonkeyPatch) -> list[ResultSummary]:
    real_redis()
    monkeypatch.setenv("REDIS_URL", REAL_REDIS_URL)
    now = time.time()
    results = [summary("r1", now - 60), summary("r2", now, title="@SUM(A1:A9)")]
    for result in results:
        record_channel_result(real_redis(), team_id, "C0TEAM", result, finished_at=result.finished_at)
    return results


def test_export_writes_a_workspaces_results_as_csv(
    team_id: str, seeded: list[ResultSummary], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "export", "--workspace", team_id)
    assert code == 0
    assert "exported 2 result(s) from 1 workspace(s)" in err
    rows = read_csv(out)
    assert [(r.workspace, r.scope, r.scope_id) for r in rows] == [(team_id, "channel", "C0TEAM")] * 2
    assert [r.result.result_id for r in rows] == ["r1", "r2"]
    raw = list(csv.reader(io.StringIO(out)))
    assert raw[2][raw[0].index("bank_title")] == "'@SUM(A1:A9)"
    assert HistoryStore(real_redis()).results(Scope.channel(team_id, "C0TEAM"))[0].result_id == "r2"


def test_export_as_json_to_a_file(
    team_id: str, seeded: list[ResultSummary], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "export.json"
    code, out, err = run(
        capsys, "export", "--format", "json", "--workspace", team_id, "--output", str(target)
    )
    assert code == 0 and out == "" and f"to {target}" in err
    items = json.loads(target.read_text())
    assert [ResultSummary.from_dict(i) for i in items] == seeded
    assert items[1]["bank_title"] == "@SUM(A1:A9)"  # JSON is not a spreadsheet: nothing to escape


def test_export_refuses_bad_input_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(capsys, "export", "--workspace", "not-a-team")
    assert code == 2 and out == "" and "not a workspace id: not-a-team" in err
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    code, out, err = run(capsys, "export")
    assert code == 2 and out == ""
    assert err.startswith("mlops-compass export: Redis at REDIS_URL=redis://127.0.0.1:1/0 is unreachable")
    assert err.count("\n") == 1
    monkeypatch.setenv("HISTORY_KEEP", "0")
    code, _, err = run(capsys, "export")
    assert code == 2 and "HISTORY_KEEP is invalid" in err
