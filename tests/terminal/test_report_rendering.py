"""How the report and the questions look: colours, NO_COLOR, plain text and the wording of notes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from bot.engine.answers import DontKnow, OptionChoice
from bot.engine.bank import load_bank_file
from bot.engine.catalog import DEFAULT_BANKS_DIR
from bot.engine.progress import progress_line
from bot.engine.report_view import ReportView, build_view, range_text
from bot.engine.scoring import Report, score
from bot.terminal.console import make_console, plain_output_requested
from bot.terminal.report import marked, print_report, report_markdown
from tests.golden_reports import LEVEL_ABOVE_LOWER_SCORE, PULSE, PULSE_EXAMPLE, answered

from .report_figures import ANSI_ESCAPE, normalised

MLOPS = load_bank_file(DEFAULT_BANKS_DIR / "mlops.yaml")


def answers_all(index: int) -> dict:
    return {q.id: OptionChoice(len(q.options) - 1 if index < 0 else index) for q in MLOPS.questions}


def render(report, console: Console) -> str:
    print_report(console, report)
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


@pytest.mark.parametrize(
    ("level", "high", "note"),
    [(3, 4, "could be 4"), (2, 4, "could be 3–4"), (1, 2, "could be 2"), (2, 2, None), (None, None, None)],
)
def test_the_range_says_how_high_the_level_could_go(level, high, note) -> None:
    assert range_text(level, high) == note


def test_the_gate_note_names_the_gate_and_what_the_practices_alone_give() -> None:
    # Levels 1–2 of deploy (0 + 2 + 2)/6 = 0.67 ≥ 0.5 but the gate fails: level 2 short, 3 and 4 hold → 3.
    report = score(MLOPS, answers_all(-1) | {"quality_gate": OptionChoice(0)})
    deploy = build_view(report).dimension("deploy")
    assert deploy.level.level == 3
    held = deploy.note("held")
    assert held is not None
    assert held.text.startswith("Held at level 3 of 4 by a gate: the practices of 2 of its 3 levels hold")
    assert "Level 2 falls short: gate Release gate (answered below its pass mark)" in held.text
    assert held.text.endswith("(answered below its pass mark) · practices alone: level 4")
    assert held.short_text == "held by a gate: Release gate"


def test_a_dimension_held_by_practices_not_in_place_says_so_and_names_them() -> None:
    # Team at 2 (its level-3 and level-4 practices at option 1), everything else at its best: 4/4/4/2.
    weak = {q.id: OptionChoice(0) for q in MLOPS.questions_in("team") if q.level >= 3}
    view = build_view(score(MLOPS, answers_all(-1) | weak))
    team = view.dimension("team")
    assert team.level.level == 2
    held = team.note("held")
    assert held is not None and held.text.startswith("Held at level 2 of 4 by practices not in place:")
    assert (
        "Level 3 falls short: practices 0% in place, 70% needed (furthest: Incident postmortems" in held.text
    )
    assert held.short_text.startswith("held by practices not in place: Incident postmortems and ")
    # The headline keeps the weakest-link rule and says on one line what holds it and where the rest are.
    assert view.overall.level == 2
    assert "Team & Culture is the weakest dimension at 2 (held by Incident postmortems" in view.headline
    assert view.headline.endswith(
        "the others: Data & Experimentation 4; Deployment & Integration 4; Monitoring & Governance 4."
    )


def test_markdown_has_a_notes_column_only_when_a_dimension_has_a_note() -> None:
    gated = report_markdown(score(MLOPS, answers_all(-1) | {"quality_gate": OptionChoice(0)}))
    assert "| Dimension | Score | Level | Confidence | Notes |" in gated
    assert "confidence 100% | ⛔ Held at level 3 of 4 by a gate:" in gated
    assert "| Dimension | Score | Level | Confidence |\n" in report_markdown(score(MLOPS, answers_all(-1)))


def test_a_report_with_no_answers_renders_every_level_as_the_range_its_questions_allow() -> None:
    report = score(MLOPS, {})
    text = render(report, Console(file=io.StringIO(), width=120))
    markdown = report_markdown(report)
    for rendering in (text, markdown):
        assert "No overall level yet: it is between 1 and 4" in rendering
        assert "Recommendation" not in rendering
        assert "Next Steps" not in rendering
        assert "Answer these to get a level" in rendering
        assert "not enough answers" not in rendering
    # Nothing answered: every practice that applies (the context question switches none off unanswered)
    # could still change the level, which can be anything from 1 to 4, and the score anything at all.
    practices = len(MLOPS.questions_in("data"))
    assert (
        "| Data & Experimentation | score 0.0 to 100.0/100 (not every practice was asked) | "
        f"Level 1 to 4 · not settled | {practices} questions could still change it |"
    ) in markdown
    assert "▒▒▒▒▒▒▒▒▒▒ score 0.0 to 100.0/100 (not every practice was asked)" in text


def test_a_short_bank_at_its_ceiling_says_the_limit_is_the_banks() -> None:
    pulse = load_bank_file(DEFAULT_BANKS_DIR / "pulse.yaml")
    best = {q.id: OptionChoice(len(q.options) - 1) for q in pulse.questions}
    headline = build_view(score(pulse, best)).headline
    # The pulse asks no Team & Culture practice above level 2, so its level 2 is the bank's limit.
    assert "as high as this bank places Team & Culture" in headline
    assert "holds it there" not in headline


def plain(report: Report) -> str:
    return render(report, Console(file=io.StringIO(), width=200))


def terminal_sections(text: str, view: ReportView) -> dict[str, str]:
    """Each dimension's paragraph of the terminal report, by dimension id: its heading, figures and notes."""
    paragraphs = text.split("\n\n")
    return {
        d.id: next(p for p in paragraphs if p.startswith(f"{d.name}  {d.level.label}"))
        for d in view.dimensions
    }


def markdown_rows(text: str, view: ReportView) -> dict[str, str]:
    """Each dimension's row of the Markdown table, by dimension id."""
    lines = text.splitlines()
    return {d.id: next(line for line in lines if line.startswith(f"| {d.name} |")) for d in view.dimensions}


LAYOUTS = [
    pytest.param(plain, terminal_sections, id="terminal"),
    pytest.param(report_markdown, markdown_rows, id="markdown"),
]


@pytest.mark.parametrize(("rendering", "sections"), LAYOUTS)
@pytest.mark.parametrize(
    "answers_file", [LEVEL_ABOVE_LOWER_SCORE, PULSE_EXAMPLE], ids=["held", "ceiling-only"]
)
def test_each_note_is_under_its_own_dimension_and_nowhere_else(
    rendering, sections, answers_file: Path
) -> None:
    report = answered(PULSE, answers_file)
    view = build_view(report)
    text = rendering(report)
    by_dimension = sections(text, view)
    for dimension in view.dimensions:
        assert dimension.notes
        for note in dimension.notes:
            # Folded, since the terminal wraps a long note.
            assert normalised(marked(note)) in normalised(by_dimension[dimension.id])
            assert normalised(text).count(normalised(note.text)) == 1, note.text


@pytest.mark.parametrize(("rendering", "sections"), LAYOUTS)
def test_a_ceiling_is_marked_apart_from_what_holds_a_dimension(rendering, sections) -> None:
    report = answered(PULSE, PULSE_EXAMPLE)
    by_dimension = sections(rendering(report), build_view(report))
    # Team & Culture's one pulse practice is unanswered, so its level is not settled: nothing holds it, the
    # bank only measures up to 2.
    assert "Level 1 to 2 · not settled" in by_dimension["team"]
    assert "ℹ️ this bank measures Team & Culture up to level 2" in by_dimension["team"]
    assert "⛔" not in by_dimension["team"]
    data = normalised(by_dimension["data"])
    assert "⛔ Held at level 2 of 3 by practices not in place:" in data
    assert "ℹ️ this bank measures Data & Experimentation up to level 3" in data
    assert "⛔ this bank" not in data


def test_the_level_score_line_follows_the_dimensions_in_the_terminal_and_the_table_in_markdown() -> None:
    report = answered(PULSE, LEVEL_ABOVE_LOWER_SCORE)
    line = build_view(report).level_score_text
    assert line is not None
    paragraphs = [normalised(paragraph) for paragraph in plain(report).split("\n\n")]
    assert paragraphs[paragraphs.index(line) - 1].startswith("Team & Culture Level 1")
    markdown = report_markdown(report).split("\n\n")
    assert markdown[markdown.index(f"_{line}_") - 1].splitlines()[-1].startswith("| Team & Culture |")
