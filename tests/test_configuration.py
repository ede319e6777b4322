"""Every command that offers banks reads the same bank settings (BANKS_DIR, DEFAULT_BANK), a broken bank
file blocks only itself, and settings that only `serve` reads cannot break the other commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from bot.cli.main import main
from bot.engine.catalog import DEFAULT_BANKS_DIR, BankCatalog
from bot.settings import SERVICE_SETTINGS
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import app_process

PULSE = BankCatalog.from_directory().by_id("pulse")
VALID_SERVE = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "0123456789abcdef"}


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "BANKS_DIR", "DEFAULT_BANK", *SERVICE_SETTINGS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def banks_dir_with_a_broken_file(tmp_path: Path) -> tuple[Path, Path]:
    banks = tmp_path / "banks"
    shutil.copytree(DEFAULT_BANKS_DIR, banks)
    broken = banks / "platform.yaml"
    broken.write_text("id: platform\ntitle: Platform\nquestions: []\n")
    return banks, broken


def table_rows(out: str) -> dict[str, list[str]]:
    """`banks` lists a bank in two lines: id, title (or NOT LOADED) and its file, then its details."""
    rows = {}
    for line in out.splitlines()[1:]:
        if line[:1].strip():
            bank_id, rest = line.rstrip().split(None, 1)
            title, _, file_name = rest.rpartition(" · ")
            rows[file_name] = [bank_id, title]
    return rows


def pulse_answers(tmp_path: Path) -> Path:
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({q.id: len(q.options) for q in PULSE.questions}))
    return answers


def test_banks_marks_a_broken_file_lists_its_problems_and_still_lists_the_good_banks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    banks, broken = banks_dir_with_a_broken_file(tmp_path)
    monkeypatch.setenv("BANKS_DIR", str(banks))
    code, out, err = run(capsys, "banks")
    assert code == 1
    assert f"Question banks in {banks}" in out
    rows = table_rows(out)
    assert rows["mlops.yaml"][0] == "mlops" and rows["pulse.yaml"][0] == "pulse"
    assert rows["platform.yaml"][1].startswith("NOT LOADED:")
    assert f"{broken}: questions: " in err
    assert "1 bank file not loaded" in err


def test_a_copied_bank_is_an_error_naming_both_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    banks = tmp_path / "banks"
    shutil.copytree(DEFAULT_BANKS_DIR, banks)
    shutil.copy(banks / "pulse.yaml", banks / "pulse-copy.yaml")
    monkeypatch.setenv("BANKS_DIR", str(banks))
    code, out, err = run(capsys, "banks")
    assert code == 1
    rows = table_rows(out)
    assert rows["mlops.yaml"][1] == "MLOps Maturity Assessment"
    assert rows["pulse.yaml"][1].startswith("NOT LOADED")
    assert rows["pulse-copy.yaml"][1].startswith("NOT LOADED")
    original, copy = banks / "pulse.yaml", banks / "pulse-copy.yaml"
    assert f"{copy}: id: bank id 'pulse' also used by {original}" in err
    assert f"{original}: id: bank id 'pulse' also used by {copy}" in err

    code, out, _ = run(capsys, "validate")
    assert code == 1
    assert out.strip().splitlines()[-1] == "2 problems in 2 files; 1 bank OK"


def test_assess_uses_a_good_bank_beside_a_broken_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    banks, _ = banks_dir_with_a_broken_file(tmp_path)
    monkeypatch.setenv("BANKS_DIR", str(banks))
    code, out, err = run(capsys, "assess", "--bank", "pulse", "--answers", str(pulse_answers(tmp_path)))
    assert code == 0, err
    assert "MLOps Quarterly Pulse" in out


def test_assess_names_the_files_that_did_not_load_when_the_bank_is_not_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    banks, _ = banks_dir_with_a_broken_file(tmp_path)
    monkeypatch.setenv("BANKS_DIR", str(banks))
    code, _, err = run(capsys, "assess", "--bank", "platform", "--answers", str(pulse_answers(tmp_path)))
    assert code == 2
    assert [line for line in err.splitlines() if line] == [
        f"no question bank 'platform' (available: mlops, pulse); not loaded from {banks}: platform.yaml "
        "(`mlops-compass validate` lists their problems)"
    ]


def test_default_bank_and_banks_dir_reach_assess_and_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    banks = tmp_path / "banks"
    banks.mkdir()
    shutil.copy(DEFAULT_BANKS_DIR / "pulse.yaml", banks / "pulse.yaml")
    monkeypatch.setenv("BANKS_DIR", str(banks))
    monkeypatch.setenv("DEFAULT_BANK", "pulse")
    code, out, err = run(capsys, "assess", "--answers", str(pulse_answers(tmp_path)), "--format", "json")
    assert code == 0, err
    assert '"bank_id": "pulse"' in out
    code, out, _ = run(capsys, "validate")
    assert (code, out.strip()) == (0, "1 bank OK")
    # The shipped mlops bank is not in BANKS_DIR, so it is not offered by id.
    code, _, err = run(capsys, "assess", "--bank", "mlops", "--answers", str(pulse_answers(tmp_path)))
    assert code == 2
    assert "no question bank 'mlops' (available: pulse)" in err


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEFAULT_BANK", "No Such Bank!", "mlops-compass assess: DEFAULT_BANK is invalid"),
        ("BANKS_DIR", "/no/such/dir", "BANKS_DIR: /no/such/dir: <root>: no such directory"),
    ],
)
def test_a_bad_bank_setting_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    argv = ["assess", "--answers", "answers.yaml"] if name == "DEFAULT_BANK" else ["banks"]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(message)


def test_settings_only_serve_reads_do_not_break_other_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "WEB_CONCURRENCY": "zero",
        "PORT": "eighty",
        "REDIS_URL": "nonsense",
        "SLACK_BOT_TOKEN": "not-a-token",
        "LOG_LEVEL": "chatty",
    }.items():
        monkeypatch.setenv(name, value)
    assert run(capsys, "--help")[0] == 0
    assert run(capsys, "banks")[0] == 0
    assert run(capsys, "assess", "--bank", "pulse", "--answers", str(pulse_answers(tmp_path)))[0] == 0


@pytest.mark.e2e
def test_web_concurrency_zero_leaves_help_and_banks_working_in_a_real_process() -> None:
    # gunicorn reads WEB_CONCURRENCY as it is imported, so this needs a fresh interpreter.
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_SETTINGS} | {"WEB_CONCURRENCY": "zero"}
    for argv in (["--help"], ["banks"]):
        finished = subprocess.run(
            [sys.executable, "-m", "bot", *argv], capture_output=True, text=True, env=env, timeout=60
        )
        assert finished.returncode == 0, finished.stderr
        assert finished.stderr == ""
    served = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        capture_output=True,
        text=True,
        env=env | VALID_SERVE,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert served.returncode == 2
    assert served.stderr.splitlines() == [
        "mlops-compass serve: WEB_CONCURRENCY is invalid: "
        "Input should be a valid integer, unable to parse string as an integer"
    ]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert (code, out.strip()) == (0, f"mlops-compass {metadata.version('mlops-compass')}")


@pytest.mark.e2e
def test_serve_logs_a_broken_bank_and_serves_the_good_ones(tmp_path: Path) -> None:
    banks, broken = banks_dir_with_a_broken_file(tmp_path)
    with FakeSlack() as fake:
        env = VALID_SERVE | {"SLACK_API_URL": fake.base_url, "BANKS_DIR": str(banks), "LOG_LEVEL": "WARNING"}
        with app_process(env, memory=True) as app:
            assert app.health() == 200
        [logged] = [line for line in app.log().splitlines() if "is not offered" in line]
        assert f"question bank file {broken} is not offered: " in logged
        assert "questions: List should have at least 1 item" in logged


@pytest.mark.e2e
def test_serve_stops_when_the_default_bank_is_the_broken_one(tmp_path: Path) -> None:
    banks = tmp_path / "banks"
    banks.mkdir()
    shutil.copy(DEFAULT_BANKS_DIR / "pulse.yaml", banks / "pulse.yaml")
    (banks / "mlops.yaml").write_text("id: mlops\n")
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_SETTINGS and k != "DEFAULT_BANK"}
    finished = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--memory"],
        capture_output=True,
        text=True,
        env=env | VALID_SERVE | {"BANKS_DIR": str(banks)},
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert finished.returncode == 2
    last = finished.stderr.strip().splitlines()[-1]
    assert last == (
        "mlops-compass serve: DEFAULT_BANK is invalid: no question bank 'mlops' (available: pulse); "
        f"1 file(s) in {banks} did not load"
    )


@pytest.mark.e2e
def test_the_playground_plays_the_default_bank_of_banks_dir(tmp_path: Path) -> None:
    banks, _ = banks_dir_with_a_broken_file(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_SETTINGS}
    finished = subprocess.run(
        [sys.executable, "-m", "playground", "--demo", "--chart", str(tmp_path / "chart.png")],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=env
        | {
            "BANKS_DIR": str(banks),
            "DEFAULT_BANK": "pulse",
            "NO_COLOR": "1",
            "COLUMNS": "200",
            "WEB_CONCURRENCY": "zero",
        },
    )
    assert finished.returncode == 0, finished.stderr
    # The demo takes the assessment twice: the second time, the same team a quarter later.
    assert finished.stdout.count("DM from MLOps Compass") == 2 * len(PULSE.questions)
