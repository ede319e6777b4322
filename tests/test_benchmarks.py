"""benchmarks/slack_load.py at the smallest scale: it runs to the end, its figures read as numbers, every
person's report reached their channel once, and it leaves nothing in Redis."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store import keys
from tests.conftest import REAL_REDIS_URL, real_redis

# The benchmarks run as processes against the app: the slow tier (`-m "not e2e"` leaves it out).
pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "slack_load.py"
MS_SPREAD = r"([\d,.]+) / ([\d,.]+) / ([\d,.]+)"


def number(text: str) -> float:
    return float(text.replace(",", ""))


def line_of(output: str, label: str) -> str:
    found = [line for line in output.splitlines() if line.strip().startswith(label)]
    assert len(found) == 1, f"no single line {label!r} in:\n{output}"
    return found[0]


def test_three_people_under_load_get_their_reports_and_the_figures_read(tmp_path: Path) -> None:
    redis_client = real_redis()
    command = [
        sys.executable, str(SCRIPT), "--people", "3", "--think-scale", "0.01", "--closed", "2",
        "--duration", "2", "--workers", "1", "--redis-url", REAL_REDIS_URL,
    ]  # fmt: skip
    finished = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=110,
        cwd=tmp_path,
    )
    output = finished.stdout
    assert finished.returncode == 0, finished.stderr + output

    acknowledged = re.findall(r"(\d[\d,]*)/(\d[\d,]*)", line_of(output, "requests acknowledged"))
    assert len(acknowledged) == 2
    assert all(ok == sent and number(sent) > 3 for ok, sent in acknowledged)
    for label in ("ack ms", "click to next question ms"):
        spreads = re.findall(MS_SPREAD, line_of(output, label))
        assert len(spreads) == 2, line_of(output, label)
        for p50, p99, worst in spreads:
            assert 0 < number(p50) <= number(p99) <= number(worst)
    assert re.search(r"\b3/3\s+3/3$", line_of(output, "assessments finished"))
    assert re.search(r"\b3/3\s+-$", line_of(output, "reports in the channel exactly once"))
    assert re.search(r"\b0 / 0\s+-$", line_of(output, "reports missing / duplicated"))

    closed = line_of(output, "2 ").split()
    app_rate, floor_rate, ratio = (number(cell) for cell in closed[1:4])
    assert app_rate > 0 and floor_rate > 0
    assert abs(ratio - app_rate / floor_rate) < 0.02

    workspace = re.search(r"workspace (TLOAD\w+)", output)
    assert workspace is not None, output
    assert not list(redis_client.scan_iter(match=keys.workspace_pattern(workspace.group(1))))
    for index in keys.CLOCK_INDEXES:
        assert not list(redis_client.zscan_iter(index, match=f"{workspace.group(1)}*"))
