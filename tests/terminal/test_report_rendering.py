"""How the report and the questions look: colours, NO_COLOR, plain text and the wording of notes."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from bot.engine.answers import DontKnow, OptionChoice
from bot.engine.bank import load_bank_file
from bot.engine.catalog import DEFAULT_BANKS_DIR
from bot.engine.progress import progress_line
from bot.engine.scoring import score
from bot.terminal.console import make_console, plain_output_requested
from bot.terminal.report import gate_note, level_range_note, print_report, report_markdown

from .report_figures import ANSI_ESCAPE

MLOPS = load_bank_file(DEFAULT_BANKS_DIR / "mlops.yaml")


def answers_all(index: int) -> dict:
    return {q.id: OptionChoice(len(q.options) - 1 if index < 0 else index) for q in MLOPS.questions}


def render(report, console: Console) -> str:
    print_report(console, report, MLOPS.title)
    console.file.seek(0)
    return console.file.read()


def terminal_console() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, color_system="standard", width=120)


@pytest.mark.parametrize(
    ("answers", "code"), [(answers_all(0), "\x1b[1;31m"), (answers_all(-1), "\x1b[1;32m")]
)
def test_levels_are_coloured_on_a_terminal(answers: dict, code: str) -> None:
    # Level 1 in red, level 4 in green.
    out = render(score(MLOPS, answers), terminal_console())
    level = "Level 1" if code.endswith("31m") else "Level 4"
    assert f"{code}{level}" in out


def test_a_plain_console_writes_no_escape_codes_and_no_trailing_spaces() -> None:
    report = score(MLOPS, answers_all(0) | {"quality_gate": DontKnow()})
    out = render(report, Console(file=io.StringIO(), width=60))
    assert not ANSI_ESCAPE.search(out)
    assert out.splitlines() and all(line == line.rstrip() for line in out.splitlines())


@pytest.mark.parametrize(("value", "plain"), [("1", True), ("true", True), ("", False), (None, False)])
def test_no_color_means_any_non_empty_value(value: str | None, plain: bool) -> None:
    environ = {} if value is None else {"NO_COLOR": value}
    assert plain_output_requested(environ) is plain
    console = make_console(environ=environ)
    assert console.no_color is plain
    if plain:
        assert console.is_terminal is False


def test_progress_line_matches_the_slack_wording() -> None:
    assert progress_line(5, 20) == "Question 5 of 20 ▓▓▓░░░░░░░░░ 25%"
    assert progress_line(20, 20) == "Question 20 of 20 ▓▓▓▓▓▓▓▓▓▓▓▓ 100%"


def dimension(level, low, high, gate=None) -> dict:
    return {"level": level, "level_range": [low, high], "gate": gate}


@pytest.mark.parametrize(
    ("entry", "note"),
    [
        (dimension(4, 3, 4), "(could be 3)"),
        (dimension(2, 2, 4), "(could be 4)"),
        (dimension(3, 2, 4), "(could be 2–4)"),
        (dimension(2, 2, 2), None),
        (dimension(None, 1, 4), None),
    ],
)
def test_level_range_note(entry: dict, note: str | None) -> None:
    assert level_range_note(entry) == note


def test_gate_note_wording() -> None:
    gate = {"question_id": "quality_gate", "question": "Is it gated?", "question_level": 2, "capped_from": 4}
    assert gate_note(dimension(2, 2, 2, gate)) == "held at level 2 by gate: Is it gated? (score alone: 4)"
    assert gate_note(dimension(2, 2, 2)) is None


def test_markdown_lists_gates_only_when_one_holds_a_level_back() -> None:
    gated = report_markdown(score(MLOPS, answers_all(-1) | {"quality_gate": OptionChoice(0)}), MLOPS.title)
    assert "**Production-safety gates**" in gated
    assert "- Deployment & Integration: held at level 2 by gate:" in gated
    assert "Production-safety gates" not in report_markdown(score(MLOPS, answers_all(-1)), MLOPS.title)


def test_a_report_with_no_answers_renders_in_every_format() -> None:
    report = score(MLOPS, {})
    text = render(report, Console(file=io.StringIO(), width=120))
    markdown = report_markdown(report, MLOPS.title)
    for rendering in (text, markdown):
        assert "no level yet" in rendering
        assert "not enough answers to score" in rendering
        assert "Recommendation" not in rendering
        assert "Next Steps" not in rendering
    assert "| Data & Experimentation | – | no level yet | 0% |" in markdown
