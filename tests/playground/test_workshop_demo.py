"""`mlops-compass-playground --workshop`: you facilitate a live workshop in #general while four simulated
teammates vote on each question by name, all through the real app in a fake workspace."""

from __future__ import annotations

import os
import re
import sys

import pytest

from bot.engine.answers import DONT_KNOW_LABEL
from playground.demo import TEAMMATES
from tests.playground.terminal import (
    raw_ids,
    read_until,
    run_without_a_terminal,
    start_in_terminal,
    type_line,
    wait_until_reading_the_terminal,
)

NAMES = [name for _, name in TEAMMATES]


SETTLED = "Settled by the facilitator as: "


def questions_of(out: str) -> list[str]:
    """The transcript cut into one part per settled question: from where it appears to its outcome."""
    return out.split(SETTLED)[:-1]


def test_the_workshop_demo_plays_every_question_with_everyones_votes_into_the_teams_report() -> None:
    finished = run_without_a_terminal("--workshop", timeout=240)
    assert finished.returncode == 0, finished.stderr
    out = finished.stdout
    assert "/mlops-compass workshop pulse" in out and "not an anonymous survey" in out
    asked = questions_of(out)
    assert len(asked) >= 2, out
    for question in asked:
        # The teammates vote shortly after it appears, each shown by name, and the message the
        # facilitator settles from lists every voter beside the option they chose.
        for name in NAMES:
            assert f"@{name} voted: " in question, (name, question[:200])
        assert re.search(r"Question \d+: ", question), question[:200]
        live = question[question.index("you facilitate") :]
        assert all(f"@{name}" in live for name in [*NAMES, "you"]), live
        assert "→ Team answer: " in live
    # One teammate is often a rung lower and one sometimes doesn't know: the votes split somewhere.
    assert any(f"@dev voted: {DONT_KNOW_LABEL}" in question for question in asked)
    report = out[out.index("The team's report from the workshop") :]
    assert report.startswith(f"The team's report from the workshop ({1 + len(TEAMMATES)} voted")
    thread = report[report.index("Where the team disagreed") :]
    assert "What nobody knew" in thread and "@cho" in thread.split("What nobody knew")[0]
    assert raw_ids(out) == []


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_in_a_terminal_you_vote_and_settle_as_another_option_than_the_teams() -> None:
    other_label = ""
    process, controller = start_in_terminal("--workshop")
    screen = ""
    try:
        while process.poll() is None:
            seen = read_until(controller, "Your choice", timeout=60)
            screen += seen
            if "Your choice" not in seen:
                break
            wait_until_reading_the_terminal(process.pid)
            if seen.rfind("Your vote:") > seen.rfind("you facilitate"):
                type_line(controller, "1")
            elif not other_label:
                # The first option on the "Settle as…" menu that is not the team's answer.
                found = re.findall(r"\[(\d+)\] Settle as… ([^│\r\n]+)", seen)
                menu = [(number, label.strip()) for number, label in found]
                number, other_label = next(
                    (n, label) for n, label in menu if f"Take the team's answer: {label}," not in seen
                )
                type_line(controller, number)
            else:
                type_line(controller, "")  # Enter: the team's answer
        screen += read_until(controller, None, timeout=30)
        assert process.wait(timeout=30) == 0, screen
    finally:
        os.close(controller)
    flat = " ".join(screen.split())
    assert f"→ Settle as… {other_label}" in flat
    assert f"{SETTLED}{other_label}." in flat
    assert "→ you voted: " in flat and "Where the team disagreed" in flat
