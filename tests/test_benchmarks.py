"""The benchmarks at their smallest scale.

- benchmarks/slack_load.py runs to the end, its figures read as numbers, every person's report reached
  their channel once, and it leaves nothing in Redis; its burst alone, with two report workers, does the
  same and sends the last answers over the window it is given.
- benchmarks/worker_throughput.py has a worker process deliver a few reports, each once, reads its
  figures as numbers, and leaves nothing of its workspace in Redis.
- benchmarks/questions_asked.py runs the engine for a few teams, states the figures it writes, and its
  `--write` changes a bank file's `asked:` block and nothing else.
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import questions_asked
from bot.engine.answers import OptionChoice
from bot.engine.bank import MeasuredLength, OutcomeQuestion, parse_bank
from bot.engine.catalog import DEFAULT_BANKS_DIR, BankCatalog
from bot.engine.scoring import score
from bot.store import keys
from tests.conftest import REAL_REDIS_URL, examples, real_redis
from tests.e2e.conftest import DedicatedRedis

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "slack_load.py"
QUESTIONS_ASKED = ROOT / "benchmarks" / "questions_asked.py"
SHIPPED = sorted(DEFAULT_BANKS_DIR.glob("*.yaml"))
MS_SPREAD = r"([\d,.]+) / ([\d,.]+) / ([\d,.]+)"
LATENCY_SPREAD = r"([\d,.]+) / ([\d,.]+) / ([\d,.]+) / ([\d,.]+)"


def number(text: str) -> float:
    return float(text.replace(",", ""))


def line_of(output: str, label: str) -> str:
    found = [line for line in output.splitlines() if line.strip().startswith(label)]
    assert len(found) == 1, f"no single line {label!r} in:\n{output}"
    return found[0]


def run_slack_load(arguments: list[str], cwd: Path) -> str:
    """The output of slack_load.py, run to the end; a report that never comes is given up on well before
    the run's time is out, so that the figures say which."""
    command = [
        sys.executable, str(SCRIPT), "--workers", "1", "--report-timeout", "30",
        "--redis-url", REAL_REDIS_URL, *arguments,
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, timeout=110, cwd=cwd)
    assert finished.returncode == 0, finished.stderr + finished.stdout
    return finished.stdout


def assert_report_latencies_read(line: str) -> None:
    spread = re.search(LATENCY_SPREAD, line)
    assert spread is not None, line
    p50, p95, p99, worst = (number(cell) for cell in spread.groups())
    assert 0 < p50 <= p95 <= p99 <= worst


def assert_workspace_deleted(output: str) -> None:
    redis_client = real_redis()
    workspace = re.search(r"workspace (TLOAD\w+)", output)
    assert workspace is not None, output
    assert not list(redis_client.scan_iter(match=keys.workspace_pattern(workspace.group(1))))
    for index in keys.CLOCK_INDEXES:
        assert not list(redis_client.zscan_iter(index, match=f"{workspace.group(1)}*"))


# The benchmarks run as processes against the app: the slow tier (`-m "not e2e"` leaves it out).
@pytest.mark.e2e
def test_three_people_under_load_get_their_reports_and_the_figures_read(tmp_path: Path) -> None:
    real_redis()
    arguments = ["--people", "3", "--think-scale", "0.01", "--closed", "2", "--duration", "2"]
    output = run_slack_load(arguments, tmp_path)

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
    assert_report_latencies_read(line_of(output, "report latency ms"))
    assert "Burst" not in output

    closed = line_of(output, "2 ").split()
    app_rate, floor_rate, ratio = (number(cell) for cell in closed[1:4])
    assert app_rate > 0 and floor_rate > 0
    assert abs(ratio - app_rate / floor_rate) < 0.02

    assert_workspace_deleted(output)


@pytest.mark.e2e
def test_a_burst_alone_delivers_each_report_once_and_spreads_the_last_answers(tmp_path: Path) -> None:
    real_redis()
    arguments = [
        "--people", "0", "--closed", "0", "--burst", "3", "--burst-window", "1", "--report-workers", "2",
    ]  # fmt: skip
    output = run_slack_load(arguments, tmp_path)

    assert "2 report worker(s)" in output
    assert "Open loop" not in output and "Closed loop" not in output
    assert "Burst: 3 people answer `start pulse`" in output
    assert line_of(output, "at their last question when the window opened").endswith(" 3/3")
    assert line_of(output, "final answers acknowledged (HTTP 200)").endswith(" 3/3")
    assert line_of(output, "assessments finished").endswith(" 3/3")
    assert line_of(output, "last answers that did not finish").endswith(" 0")
    # Sent at 0, 1/3 and 2/3 of the window after it opened: never closer together than that.
    assert number(line_of(output, "final answers sent over s").split()[-1]) >= 0.6
    assert_report_latencies_read(line_of(output, "report latency ms"))
    assert line_of(output, "reports within 30 s of the last click").endswith(" 3/3")
    assert line_of(output, "reports in the channel exactly once").endswith(" 3/3")
    assert line_of(output, "reports missing / duplicated").endswith(" 0 / 0")
    assert number(line_of(output, "last report, s after the window opened").split()[-1]) > 0
    assert_workspace_deleted(output)


# worker_throughput.py -----------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_worker_delivers_a_few_reports_each_once_and_the_figures_read(tmp_path: Path) -> None:
    # A Redis of its own: the worker runs every job queued in its database.
    server = DedicatedRedis(tmp_path, persist=False)
    server.start()
    try:
        command = [
            sys.executable, str(ROOT / "benchmarks" / "worker_throughput.py"), "--reports", "3",
            "--slack-latency-ms", "5", "--worker-threads", "2", "--timeout", "60", "--redis-url", server.url,
        ]  # fmt: skip
        finished = subprocess.run(command, capture_output=True, text=True, timeout=110, cwd=tmp_path)
        output = finished.stdout
        assert finished.returncode == 0, finished.stderr + output
        assert line_of(output, "reports delivered:").startswith("reports delivered: 3/3 in ")
        assert number(line_of(output, "reports per second:").split(":")[1]) > 0
        for label in ("ms per report in the worker", "ms from the first report's start"):
            p50, p90, worst = (number(n) for n in re.findall(MS_SPREAD, line_of(output, label))[0])
            assert 0 < p50 <= p90 <= worst
        assert number(line_of(output, "Web API calls per report:").split(":")[1]) >= 4
        assert number(line_of(output, "ms of CPU to draw a report's chart").split(":")[1]) > 0
        assert line_of(output, "each channel and DM got its report once:").endswith("yes")
        workspace = re.search(r"workspace (TWORK\w+)", output)
        assert workspace is not None, output
        client = redis.Redis.from_url(server.url)
        assert not list(client.scan_iter(match=keys.workspace_pattern(workspace.group(1))))
        assert not list(client.scan_iter(match=f"rq:job:*{workspace.group(1)}*"))
    finally:
        server.stop()


# questions_asked.py -------------------------------------------------------------------------------


def added_lines(before: str, after: str) -> list[str]:
    """The lines `after` adds to `before`; fails if it removes or changes any."""
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    assert not [line for line in diff if line.startswith("- ")], "a line of the bank was changed"
    return [line[2:] for line in diff if line.startswith("+ ")]


def asked_figures(output: str) -> list[MeasuredLength]:
    found = re.findall(r"^asked: \{median: (\d+), p90: (\d+), overall_median: (\d+)\}$", output, re.M)
    return [MeasuredLength(median=int(a), p90=int(b), overall_median=int(c)) for a, b, c in found]


@pytest.mark.e2e
def test_questions_asked_measures_forty_teams_a_set_and_writes_only_the_asked_block(tmp_path: Path) -> None:
    for bank_file in SHIPPED:
        shutil.copy(bank_file, tmp_path / bank_file.name)
    command = [sys.executable, str(QUESTIONS_ASKED), "--teams", "40", "--write", "--banks-dir", str(tmp_path)]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=110, cwd=tmp_path)
    output = finished.stdout
    assert finished.returncode == 0, finished.stderr + output

    catalog = BankCatalog.from_directory(tmp_path)
    figures = asked_figures(output)
    assert len(figures) == len(catalog.banks) == len(SHIPPED)
    for bank, measured in zip(catalog.banks, figures, strict=True):
        assert f"## {bank.id} {bank.version}" in output
        assert re.search(r"^\| coherent, m per team ±0\.1 \| 40 \| \d+ / \d+ \|", output, re.M)
        assert "| both simulated sets | 80 |" in output
        # The shipped file as it would be without a block, so that the test holds whether it has one or not.
        original = questions_asked.without_asked((DEFAULT_BANKS_DIR / f"{bank.id}.yaml").read_text("utf-8"))
        written = (tmp_path / f"{bank.id}.yaml").read_text(encoding="utf-8")
        assert questions_asked.without_asked(written) == original
        practices = sum(not isinstance(q, OutcomeQuestion) for q in bank.questions)
        if measured.median < practices:
            assert bank.asked == measured
            assert questions_asked.asked_block(measured, 80) in written
            assert "python benchmarks/questions_asked.py --write" in written
        else:
            assert written == original and bank.asked is None
    assert "Every run's levels equal the full bank's" in output
    assert re.search(r"^\| azure_0 \| [\d/]+; \d \| \d+ \| \d+ \| 46 \|$", output, re.M)


def test_a_team_that_does_not_answer_a_question_it_is_asked_stops_the_measurement() -> None:
    bank = BankCatalog.from_directory().get("pulse")
    answers = {q.id: OptionChoice(0) for q in bank.questions[1:]}
    with pytest.raises(questions_asked.AdaptiveRunFailed, match=bank.questions[0].id):
        questions_asked.run_team(bank, questions_asked.Team("silent", answers))


def test_levels_other_than_the_full_banks_stop_the_measurement(monkeypatch: pytest.MonkeyPatch) -> None:
    bank = BankCatalog.from_directory().get("pulse")
    answers = {q.id: OptionChoice(len(q.options) - 1) for q in bank.questions}
    # What a broken engine would do: the full answers score one way, the answers asked another.
    monkeypatch.setattr(
        questions_asked, "score", lambda bank_, given: score(bank_, given if given is answers else {})
    )
    with pytest.raises(questions_asked.AdaptiveRunFailed, match="the full bank"):
        questions_asked.run_team(bank, questions_asked.Team("strong", answers))


figures = st.builds(
    MeasuredLength,
    median=st.integers(1, 200),
    p90=st.integers(1, 200),
    overall_median=st.integers(1, 200),
)


@settings(max_examples=examples(40), deadline=None)
@given(bank_file=st.sampled_from(SHIPPED), first=figures, second=figures, teams=st.integers(1, 10_000))
def test_the_asked_block_goes_after_changes_and_replaces_itself(
    bank_file: Path, first: MeasuredLength, second: MeasuredLength, teams: int
) -> None:
    original = questions_asked.without_asked(bank_file.read_text(encoding="utf-8"))
    assert parse_bank(original, bank_file.name).asked is None
    block = questions_asked.asked_block(first, teams)
    written = questions_asked.with_asked(original, block)
    assert parse_bank(written, bank_file.name).asked == first
    # Only the block's lines and one blank line after them are added; nothing else changes.
    assert [line for line in added_lines(original, written) if line.strip()] == block.splitlines()
    assert len(written.splitlines()) == len(original.splitlines()) + len(block.splitlines()) + 1
    lines = written.splitlines()
    changes = next(n for n, line in enumerate(lines) if line.startswith("changes:"))
    assert lines[changes + 1] == "" and lines[changes + 2].startswith("# ")
    again = questions_asked.with_asked(written, questions_asked.asked_block(second, teams))
    assert again == questions_asked.with_asked(original, questions_asked.asked_block(second, teams))
    assert questions_asked.without_asked(again) == original


HAND_WRITTEN = """id: small
title: "Small"
version: "1.0.0"
reviewed: "2026-11"
description: >-
  A bank whose description
  goes on over two lines.
# Someone's note about levels.
levels: []
"""


def test_without_changes_the_block_follows_the_description_wherever_its_value_ends() -> None:
    block = questions_asked.asked_block(MeasuredLength(median=3, p90=4, overall_median=2), 20)
    written = questions_asked.with_asked(HAND_WRITTEN, block)
    assert written == HAND_WRITTEN.replace("# Someone's", "\n" + block + "# Someone's")
    assert questions_asked.without_asked(written) == HAND_WRITTEN.replace("# Someone's", "\n# Someone's")


def test_a_comment_someone_else_wrote_above_the_block_stays() -> None:
    text = "id: small\n# Kept by hand.\nasked: {median: 9, p90: 9, overall_median: 9}\nlevels: []\n"
    block = questions_asked.asked_block(MeasuredLength(median=3, p90=4, overall_median=2), 20)
    assert questions_asked.with_asked(text, block) == f"id: small\n# Kept by hand.\n{block}levels: []\n"


SMALLEST_RUNS = {
    "click_cost.py": (["--messages", "10", "--assessments", "1"], "CPU per click median"),
    "team_close.py": (["--responses", "10"], "round trips per last answer: median"),
}


@pytest.mark.parametrize("script", sorted(SMALLEST_RUNS))
def test_a_benchmark_of_the_flows_runs_against_them_as_they_are(script: str, tmp_path: Path) -> None:
    """A benchmark that builds the flows itself breaks when their wiring changes: run it, smallest."""
    real_redis()
    arguments, figure = SMALLEST_RUNS[script]
    command = [sys.executable, str(ROOT / "benchmarks" / script), *arguments, "--redis", REAL_REDIS_URL]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=110, cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr + finished.stdout
    assert figure in finished.stdout, finished.stdout
