"""The playground: the real app, a fake workspace, choices sent as signed Slack requests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from rich.console import Console

from bot.engine.catalog import BankCatalog
from bot.engine.scoring import score
from bot.fakeslack.workspace import Button
from bot.playground import ask_person, demo_answers, render_message

BANK = BankCatalog.from_directory().get("mlops")


def run_playground(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "playground", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def test_the_demo_takes_the_whole_assessment_through_the_app_and_prints_the_channel_report() -> None:
    finished = run_playground("--demo")
    assert finished.returncode == 0, finished.stderr
    out = finished.stdout
    assert out.count("DM from MLOps Compass") == len(BANK.questions)
    assert "#general" in out
    expected = score(BANK, demo_answers(BANK))
    assert f"score {expected.overall_score:.0f}/100" in out
    assert f"Level {expected.overall_level}" in out
    gated = next(d for d in expected.dimensions if d.gate is not None)
    assert f"Held at level {gated.level} (score alone: {gated.uncapped_level})" in out
    assert "Next Steps" in out


def test_the_demo_runs_the_app_in_socket_mode_too() -> None:
    finished = run_playground("--socket", "--demo")
    assert finished.returncode == 0, finished.stderr
    out = finished.stdout
    assert "connected to the fake workspace over Socket Mode" in out
    assert out.count("DM from MLOps Compass") == len(BANK.questions)
    assert f"Level {score(BANK, demo_answers(BANK)).overall_level}" in out[out.index("#general") :]


def test_answers_from_a_file_reach_level_4(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({q.id: len(q.options) for q in BANK.questions}))
    finished = run_playground("--answers", str(answers))
    assert finished.returncode == 0, finished.stderr
    report = finished.stdout[finished.stdout.index("#general") :]
    assert len(re.findall(r"Level 4", report)) == len(BANK.dimensions) + 1


def test_a_bad_answers_file_is_refused_before_anything_starts(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("no_such_question: 1\n")
    finished = run_playground("--answers", str(answers))
    assert finished.returncode == 2
    assert "no_such_question" in finished.stderr
    assert "DM from MLOps Compass" not in finished.stdout


def test_a_person_picks_by_number_and_is_asked_again_after_a_bad_entry(monkeypatch) -> None:
    console = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    entries = iter(["seven", "9", "2"])
    monkeypatch.setattr(console, "input", lambda prompt="": next(entries))
    buttons = [Button(f"answer:{i}", "b", "{}", f"option {i}") for i in range(3)]
    assert ask_person(console)({}, buttons) == buttons[1]
    monkeypatch.setattr(console, "input", lambda prompt="": "q")
    assert ask_person(console)({}, buttons) is None


def test_messages_render_as_text_with_numbered_buttons() -> None:
    def button(action_id: str, label: str) -> dict:
        return {
            "type": "button",
            "action_id": action_id,
            "value": "{}",
            "text": {"type": "plain_text", "text": label},
        }

    message = {
        "text": "fallback",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Bold* &lt;tag&gt; for <@U1>"}},
            {"type": "actions", "elements": [button("answer:0", "Yes"), button("answer:1", "No")]},
        ],
    }
    text, buttons = render_message(message)
    assert "Bold <tag> for @U1" in text.plain
    assert "[1] Yes" in text.plain and "[2] No" in text.plain
    assert [b.label for b in buttons] == ["Yes", "No"]
