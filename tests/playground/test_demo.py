"""The playground: the real app, a fake workspace, choices sent as signed Slack requests."""

from __future__ import annotations

import io
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from bot.engine.catalog import BankCatalog
from bot.engine.history import day
from bot.engine.overview import length
from bot.engine.report_view import build_view
from bot.engine.scoring import applicable_questions, score
from bot.slack.values import BACK_ACTION, CANCEL_ACTION
from playground.demo import A_QUARTER, ask_bank, ask_person, demo_answers, demo_answers_later
from playground.fakeslack import FakeSlack
from playground.fakeslack.workspace import Button
from playground.screen import render_message, render_mrkdwn
from tests.playground.terminal import (
    raw_ids,
    read_until,
    run_without_a_terminal,
    start_in_terminal,
    type_line,
    wait_until_reading_the_terminal,
)
from tests.slack.adaptive_runs import take

BANK = BankCatalog.from_directory().get("mlops")


def test_the_demo_takes_two_assessments_in_a_row_and_shows_what_changed(tmp_path: Path) -> None:
    chart = tmp_path / "demo-chart.png"
    finished = run_without_a_terminal("--demo", "--chart", str(chart))
    assert finished.returncode == 0, finished.stderr
    out = finished.stdout
    answers, later = demo_answers(BANK), demo_answers_later(BANK)
    # The demo team is asked only the questions that can still change a level, twice; each time it is
    # offered to stop once its overall level is settled, and keeps going.
    runs = [take(BANK, answers, stop=False), take(BANK, later, stop=False)]
    offers = [run.offer for run in runs if run.offer is not None]
    assert offers, "the demo shows the offer to stop"
    assert out.count("DM from MLOps Compass") == sum(len(run.asked) for run in runs) + len(offers)
    assert out.count("→ Keep going: ≤") == len(offers)
    flat_out = " ".join(out.split())
    for offer in offers:
        level = offer.overall_level
        assert f"Your overall level is settled: {level} · {BANK.level_info(level).name}" in flat_out
    assert all(
        len(run.asked) < len(applicable_questions(BANK, a))
        for run, a in zip(runs, (answers, later), strict=True)
    )
    assert "Assessment 1 of 2" in out and "Assessment 2 of 2: the same team a quarter later" in out
    first, second = out.split("Assessment 2 of 2", 1)
    assert "No earlier result to compare with yet" in first
    flat_second = " ".join(second.split())
    before, after = build_view(runs[0].report), build_view(runs[1].report)
    moved = next(d for d in after.dimensions if d.level.level != before.dimension(d.id).level.level)
    # The first assessment's clicks are dated a quarter back, so the second report compares with then.
    then = day(time.time() - A_QUARTER)
    assert (
        f"{moved.name}: level {before.dimension(moved.id).level.level} → {moved.level.level} since {then} "
        in flat_second
    )
    assert f"Pulse index: {before.pulse_index:.1f} → {after.pulse_index:.1f} since {then}" in flat_second
    assert f"since {day(time.time())}" not in flat_second
    # Each report's thread is its own: the second shows the second report's details, not the first's.
    for part, view in ((first, before), (second, after)):
        thread = " ".join(part.rsplit("#general · thread", 1)[1].split())
        assert f"Pulse index {view.pulse_index:.1f}/100" in thread
    assert f"Pulse index {before.pulse_index:.1f}/100" not in second.rsplit("#general · thread", 1)[1]
    # The chart of the second report (this result against the first) is written where the playground says.
    png = chart.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert f"The chart of the last report is in {chart} ({len(png)} bytes)." in " ".join(out.split())
    assert "#general" in out and "Assessment for @you." in out
    assert raw_ids(out) == []
    view = before
    flat = " ".join(first.split())
    scored = view.overall_score_text if view.overall_score is None else f"score {view.overall_score_text}"
    assert scored in flat and "score score" not in flat
    assert view.overall.label in flat
    held = next(note for d in view.dimensions for note in d.notes if note.kind == "held")
    assert " ".join(held.text.split()) in flat
    assert "Next Steps" in out and "Find out" in out


def test_the_demo_runs_the_app_in_socket_mode_too(tmp_path: Path) -> None:
    finished = run_without_a_terminal("--socket", "--demo", "--chart", str(tmp_path / "chart.png"))
    assert finished.returncode == 0, finished.stderr
    out = finished.stdout
    assert "connected to the fake workspace over Socket Mode" in out
    runs = [take(BANK, demo_answers(BANK), stop=False), take(BANK, demo_answers_later(BANK), stop=False)]
    shown = sum(len(run.asked) + (run.offer is not None) for run in runs)
    assert out.count("DM from MLOps Compass") == shown
    assert f"Level {score(BANK, demo_answers(BANK)).overall_level}" in out[out.index("#general") :]
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")


def test_answers_from_a_file_reach_level_4(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({q.id: len(q.options) for q in BANK.questions}))
    finished = run_without_a_terminal("--answers", str(answers), "--chart", str(tmp_path / "chart.png"))
    assert finished.returncode == 0, finished.stderr
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
    report = finished.stdout[finished.stdout.index("#general") :]
    # The headline, the overall line and one per dimension.
    assert len(re.findall(r"Level 4", report)) == len(BANK.dimensions) + 2


def test_a_bad_answers_file_is_refused_before_anything_starts(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("no_such_question: 1\n")
    finished = run_without_a_terminal("--answers", str(answers))
    assert finished.returncode == 2
    assert "no_such_question" in finished.stderr
    assert "DM from MLOps Compass" not in finished.stdout


def test_b_goes_back_and_enter_keeps_the_answer_chosen_as_in_the_terminal(monkeypatch) -> None:
    output = io.StringIO()
    console = Console(file=output, width=200, no_color=True)
    prompts: list[str] = []
    entries = iter(["b", "", "2"])

    def typed(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(entries)

    monkeypatch.setattr(console, "input", typed)
    first = [
        Button("answer", "b", "{}", "Yes", "radio_buttons"),
        Button("answer", "b", "{}", "No", "radio_buttons"),
    ]
    # The first question has no Back button, and no answer chosen yet: neither key means anything there.
    assert ask_person(console)({}, first) == first[1]
    assert "'b' is not a choice" in output.getvalue() and "No choice given" in output.getvalue()
    assert "b = back" not in prompts[0] and "Enter" not in prompts[0]
    kept = Button("answer", "b", "{}", "Yes", "radio_buttons", chosen=True)
    later = [
        kept,
        first[1],
        Button(BACK_ACTION, "n", "{}", "← Back"),
        Button(CANCEL_ACTION, "n", "{}", "Cancel"),
    ]
    prompts.clear()
    entries = iter(["b", "", " B "])
    assert ask_person(console)({}, later) == later[2]
    assert ask_person(console)({}, later) == kept
    assert ask_person(console)({}, later) == later[2]
    assert "1–4 · Enter keeps ✓ · b = back · q = quit" in prompts[0]


def test_a_person_picks_by_number_and_is_asked_again_after_a_bad_entry(monkeypatch) -> None:
    console = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    entries = iter(["seven", "9", "2"])
    monkeypatch.setattr(console, "input", lambda prompt="": next(entries))
    buttons = [Button(f"answer:{i}", "b", "{}", f"option {i}") for i in range(3)]
    assert ask_person(console)({}, buttons) == buttons[1]
    monkeypatch.setattr(console, "input", lambda prompt="": "q")
    assert ask_person(console)({}, buttons) is None


def test_the_first_screen_offers_the_pulse_first_with_its_length(monkeypatch) -> None:
    full, pulse = BANK, BankCatalog.from_directory().get("pulse")
    output = io.StringIO()
    console = Console(file=output, width=200, no_color=True)
    entries = iter(["3", ""])
    monkeypatch.setattr(console, "input", lambda prompt="": next(entries))
    assert ask_bank(console, [full, pulse]) == pulse  # Enter takes the first
    screen = output.getvalue()
    offered = [line.strip("│ ") for line in screen.splitlines() if re.search(r"│ +\[\d\]", line)]
    assert offered == [f"[1] {pulse.title}: {length(pulse)}", f"[2] {full.title}: {length(full)}"]
    assert "8 questions, about 4 minutes" in offered[0]
    assert "'3' is not a choice" in screen
    monkeypatch.setattr(console, "input", lambda prompt="": "2")
    assert ask_bank(console, [pulse, full]) == full
    monkeypatch.setattr(console, "input", lambda prompt="": "q")
    assert ask_bank(console, [pulse, full]) is None


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


def test_mentions_render_as_the_names_the_workspace_gives() -> None:
    with FakeSlack() as fake:
        fake.set_user("U0PLAYER", name="you")
        fake.set_channel_name("C0GENERAL", "general")
        text = "*Assessment for <@U0PLAYER>* in <#C0GENERAL>, <#C0OTHER|other> and <#C0NEW>"
        assert render_mrkdwn(text, names=fake).plain == (
            "Assessment for @you in #general, #channel-c0other and #channel-c0new"
        )
        message = {
            "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "by <@U0PLAYER>"}]}]
        }
        assert render_message(message, fake)[0].plain.strip() == "by @you"
    assert render_mrkdwn("<#C0OTHER|other> <#C0NEW>").plain == "#other #C0NEW"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_ctrl_c_at_a_question_leaves_with_130_and_no_traceback() -> None:
    process, controller = start_in_terminal("--bank", "pulse")
    screen = read_until(controller, "Your choice", timeout=60)
    # The prompt is printed just before the program reads its answer: an interrupt that lands in between
    # is only acted on at the next keypress (Python checks for signals when a read is interrupted), so
    # press Ctrl-C once it is waiting, as a person does.
    wait_until_reading_the_terminal(process.pid)
    os.killpg(process.pid, signal.SIGINT)
    screen += read_until(controller, None, timeout=30)
    os.close(controller)
    assert process.wait(timeout=30) == 130, screen
    assert "Traceback" not in screen and "KeyboardInterrupt" not in screen
    assert "Left the playground" in screen


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_cancel_shows_what_the_app_answers_before_the_playground_ends() -> None:
    process, controller = start_in_terminal()
    try:
        read_until(controller, "Your choice", timeout=60)
        wait_until_reading_the_terminal(process.pid)
        type_line(controller, "")  # the first bank offered
        screen = read_until(controller, "Your choice", timeout=60)
        cancel = re.findall(r"\[(\d+)\] Cancel", screen)[-1]
        wait_until_reading_the_terminal(process.pid)
        type_line(controller, cancel)
        screen = " ".join(read_until(controller, None, timeout=30).split())
        assert process.wait(timeout=30) == 130, screen
    finally:
        os.close(controller)
    ending = screen[screen.index("→ Cancel") :]
    assert "Assessment cancelled: " in ending
    assert "Type /mlops-compass whenever you want to start again." in ending
    assert ending.index("start again") < ending.index("Left the playground")
