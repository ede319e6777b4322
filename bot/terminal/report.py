"""The maturity report as terminal text, Markdown and JSON.

Every rendering lays out the engine's one report view (``bot.engine.report_view``): the figures, level
names, range texts and sentences are the view's, so the formats cannot state different facts.
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from bot.engine.progress import SCORE_BAR_CELLS
from bot.engine.report_view import DimensionNote, LevelView, ReportView, StepView, build_view
from bot.engine.scoring import Report

REPORT_FORMATS = ("text", "json", "markdown")
# Rich styles per level colour; distinct even on a 16-colour terminal, where orange has no colour of its own.
COLOUR_STYLES = {"red": "bold red", "orange": "bold yellow", "yellow": "bold cyan", "green": "bold green"}
# What holds a dimension back is the team's to change; a ceiling is only how far the bank can measure.
NOTE_MARKS = {"held": "⛔", "ceiling": "ℹ️"}
NOTE_STYLES = {"held": "red", "ceiling": "dim"}
# A score bar: the score in place, then how far the practices nobody was asked could take it.
IN_PLACE_CELL, COULD_BE_CELL, EMPTY_CELL = "▓", "▒", "░"
# The questions not asked are listed up to this many in the terminal and open in Markdown; the rest are
# counted in the terminal and folded away in Markdown.
NOT_ASKED_SHOWN = 5
ScoreRanges = dict[str, tuple[float, float] | None]


def score_bar(score_range: tuple[float, float] | None, cells: int = SCORE_BAR_CELLS) -> str:
    """The score as a bar; a score the unasked practices leave open fills its range with ▒, so no bar
    claims more or less than the answers say."""
    if score_range is None:
        return EMPTY_CELL * cells
    low, high = (round(max(0.0, min(100.0, value)) / 100 * cells) for value in score_range)
    return IN_PLACE_CELL * low + COULD_BE_CELL * (high - low) + EMPTY_CELL * (cells - high)


def overall_score_words(view: ReportView) -> str:
    """ "score 62.0/100", or the view's own words for a range ("score 40.0 to 75.0/100 (…)")."""
    return f"score {view.overall_score_text}" if view.overall_score is not None else view.overall_score_text


def styled(level: LevelView) -> Text:
    return Text(level.label, style=COLOUR_STYLES.get(level.colour, "dim"))


def report_json(report: Report) -> str:
    return json.dumps(build_view(report).to_dict(), indent=2, ensure_ascii=False)


def _indented(text: Text, columns: int = 2) -> Padding:
    # Padding rather than leading spaces, so lines that wrap keep the indent.
    return Padding(text, (0, 0, 0, columns), expand=False)


def print_report(console: Console, report: Report) -> None:
    view = build_view(report)
    ranges: ScoreRanges = {d.dimension_id: d.score_range for d in report.dimensions}
    if console.is_terminal:
        _print_report(console, view, ranges)
        return
    # Rich pads wrapped and indented lines to the full width; in a file or CI log that is only noise.
    with console.capture() as captured:
        _print_report(console, view, ranges)
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def _print_report(console: Console, view: ReportView, ranges: ScoreRanges) -> None:
    console.print()
    console.rule(Text(view.title, style="bold"))
    overall = Text.assemble(("Overall: ", "bold"), styled(view.overall))
    if view.overall_range_text:
        overall.append(f" ({view.overall_range_text})", style="italic")
    overall.append(f"  ·  {overall_score_words(view)}")
    console.print(overall)
    console.print(Text(view.headline))
    console.print(Text(view.rule_text, style="dim"))
    console.print(Text(view.level_meaning_text, style="dim"))

    for dimension in view.dimensions:
        console.print()
        heading = Text.assemble((dimension.name, "bold"), "  ", styled(dimension.level))
        if dimension.range_text:
            heading.append(f" ({dimension.range_text})", style="italic")
        console.print(heading)
        figures = Text.assemble(
            (score_bar(ranges.get(dimension.id)), COLOUR_STYLES.get(dimension.level.colour, "dim")),
            f" {dimension.score_text}  ·  {dimension.confidence_text}",
        )
        console.print(_indented(figures))
        for note in dimension.notes:
            console.print(_indented(Text(marked(note), style=NOTE_STYLES[note.kind])))
    if view.level_score_text:
        console.print()
        console.print(Text(view.level_score_text, style="italic"))

    if view.recommendation:
        console.print()
        console.print(Text("Recommendation", style="bold"))
        console.print(Text(view.recommendation.heading))
        _print_steps(console, view.recommendation.items)

    if view.next_steps:
        console.print()
        console.print(Text("Next Steps", style="bold"))
        _print_steps(console, view.next_steps)

    for title, lines in (
        ("Find out", view.find_out),
        ("Answer these to get a level", view.to_answer),
        ("Delivery outcomes", view.outcomes),
        ("Outcomes and practices disagree", view.disagreements),
    ):
        if lines:
            console.print()
            console.print(Text(title, style="bold"))
            for line in lines:
                console.print(_indented(Text(f"• {line}")))
    if view.not_asked_text:
        console.print()
        console.print(Text("Not asked", style="bold"))
        console.print(Text(view.not_asked_text))
        for line in view.not_asked[:NOT_ASKED_SHOWN]:
            console.print(_indented(Text(f"• {line}")))
        unlisted = len(view.not_asked) - NOT_ASKED_SHOWN
        if unlisted > 0:
            console.print(_indented(Text(f"… and {unlisted} more", style="dim")))

    console.print()
    if view.pulse_text:
        console.print(Text(view.pulse_text, style="dim"))
    console.print(Text(view.footer, style="dim"))


def marked(note: DimensionNote) -> str:
    return f"{NOTE_MARKS[note.kind]} {note.text}"


def _print_steps(console: Console, steps: tuple[StepView, ...]) -> None:
    table = Table.grid(padding=(0, 1))
    table.add_column(justify="right")
    table.add_column()
    for rank, step in enumerate(steps, start=1):
        body = Text(step.text)
        if step.tools:
            body.append(f"\nTools: {', '.join(step.tools)}", style="dim")
        table.add_row(f"{rank}.", body)
    console.print(table)


def _cell(text: str) -> str:
    """Table cells end at a pipe and rows at a newline, so neither may reach the table raw."""
    return text.replace("|", "\\|").replace("\n", " ")


def report_markdown(report: Report) -> str:
    view = build_view(report)
    overall = view.overall.label + (f" ({view.overall_range_text})" if view.overall_range_text else "")
    lines = [
        f"# {view.title}",
        "",
        f"**Overall: {overall}** · {overall_score_words(view)}",
        "",
        view.headline,
        "",
        f"_{view.rule_text}_",
        "",
        f"_{view.level_meaning_text}_",
        "",
    ]
    # A note sits in its dimension's row; the column is there only when some dimension has one.
    with_notes = any(d.notes for d in view.dimensions)
    lines += [
        "| Dimension | Score | Level | Confidence |" + (" Notes |" if with_notes else ""),
        "| --- | --- | --- | --- |" + (" --- |" if with_notes else ""),
    ]
    for dimension in view.dimensions:
        level = dimension.level.label + (f" ({dimension.range_text})" if dimension.range_text else "")
        row = (
            f"| {_cell(dimension.name)} | {_cell(dimension.score_text)} | {_cell(level)} | "
            f"{_cell(dimension.confidence_text)} |"
        )
        if with_notes:
            row += f" {'<br>'.join(_cell(marked(note)) for note in dimension.notes)} |"
        lines.append(row)
    if view.level_score_text:
        lines += ["", f"_{view.level_score_text}_"]
    if view.recommendation:
        lines += ["", "## Recommendation", "", view.recommendation.heading, ""]
        lines += _markdown_steps(view.recommendation.items)
    if view.next_steps:
        lines += ["", "## Next Steps", ""]
        lines += _markdown_steps(view.next_steps)
    for title, items in (
        ("Find out", view.find_out),
        ("Answer these to get a level", view.to_answer),
        ("Delivery outcomes", view.outcomes),
        ("Outcomes and practices disagree", view.disagreements),
    ):
        if items:
            lines += ["", f"## {title}", ""] + [f"- {item}" for item in items]
    if view.not_asked_text:
        lines += ["", "## Not asked", "", view.not_asked_text, ""]
        lines += _markdown_folded(f"The {len(view.not_asked)} questions not asked", view.not_asked)
    lines += [""]
    if view.pulse_text:
        lines += [f"_{view.pulse_text}_", ""]
    lines += [f"_{view.footer}_", ""]
    return "\n".join(lines)


def _markdown_folded(summary: str, items: tuple[str, ...]) -> list[str]:
    """A list, folded away under `summary` when it is longer than NOT_ASKED_SHOWN (GitHub shows it closed)."""
    listed = [f"- {item}" for item in items]
    if len(items) <= NOT_ASKED_SHOWN:
        return listed
    return [f"<details><summary>{summary}</summary>", "", *listed, "", "</details>"]


def _markdown_steps(steps: tuple[StepView, ...]) -> list[str]:
    lines = []
    for rank, step in enumerate(steps, start=1):
        lines.append(f"{rank}. {step.text}")
        if step.tools:
            lines.append(f"   Tools: {', '.join(step.tools)}")
    return lines
