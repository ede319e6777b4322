"""The maturity report as terminal text, Markdown and JSON.

Every rendering reads its figures from ``Report.to_dict()``, so a score, level or confidence printed in one
format is exactly the one printed in the others (scores rounded to one decimal, confidence to a percent).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from bot.engine.progress import SCORE_BAR_CELLS, bar
from bot.engine.scoring import Report
from bot.terminal.console import LEVEL_STYLES, level_label, styled_level

REPORT_FORMATS = ("text", "json", "markdown")
OVERALL_RULE_REASON = "a team can rely only on its weakest practice area"


def report_title(bank_title: str | None) -> str:
    return f"MLOps maturity report · {bank_title}" if bank_title else "MLOps maturity report"


def level_range_note(dimension: Mapping[str, Any]) -> str | None:
    """ "(could be N)" when the "don't know" answers, scored either way, would move the level."""
    low, high = dimension["level_range"]
    level = dimension["level"]
    if level is None or low == high:
        return None
    others = [candidate for candidate in (low, high) if candidate != level]
    if len(others) == 2:
        return f"(could be {low}–{high})"
    return f"(could be {others[0]})"


def gate_note(dimension: Mapping[str, Any]) -> str | None:
    gate = dimension["gate"]
    if gate is None:
        return None
    return (
        f"held at level {dimension['level']} by gate: {gate['question']} (score alone: {gate['capped_from']})"
    )


def confidence_text(dimension: Mapping[str, Any]) -> str:
    return f"confidence {round(dimension['confidence'] * 100)}%"


def score_text(score: float | None) -> str:
    return "not enough answers to score" if score is None else f"{score:.1f}/100"


def overall_rule_text(rule: str) -> str:
    return f"overall level = {rule}: {OVERALL_RULE_REASON}"


def _dimension_name(data: Mapping[str, Any], dimension_id: str | None) -> str:
    return next((d["name"] for d in data["dimensions"] if d["id"] == dimension_id), str(dimension_id))


def _focus_level(data: Mapping[str, Any]) -> int | None:
    return next(
        (d["level"] for d in data["dimensions"] if d["id"] == data["recommendation"]["dimension"]), None
    )


def report_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)


def _indented(text: Text, columns: int = 2) -> Padding:
    # Padding rather than leading spaces, so lines that wrap keep the indent.
    return Padding(text, (0, 0, 0, columns), expand=False)


def print_report(console: Console, report: Report, bank_title: str | None = None) -> None:
    if console.is_terminal:
        _print_report(console, report, bank_title)
        return
    # Rich pads wrapped and indented lines to the full width; in a file or CI log that is only noise.
    with console.capture() as captured:
        _print_report(console, report, bank_title)
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def _print_report(console: Console, report: Report, bank_title: str | None) -> None:
    data = report.to_dict()
    names = dict(report.level_names)
    overall = data["overall"]

    console.print()
    console.rule(Text(report_title(bank_title), style="bold"))
    console.print(
        Text.assemble(
            ("Overall: ", "bold"),
            styled_level(overall["level"], names),
            "  ·  score ",
            (score_text(overall["score"]), "bold"),
        )
    )
    console.print(Text(overall_rule_text(overall["level_rule"]), style="dim"))

    for dimension in data["dimensions"]:
        console.print()
        heading = Text.assemble((dimension["name"], "bold"), "  ", styled_level(dimension["level"], names))
        if note := level_range_note(dimension):
            heading.append(f" {note}", style="italic")
        console.print(heading)
        fraction = (dimension["score"] or 0.0) / 100
        figures = Text.assemble(
            (bar(fraction, SCORE_BAR_CELLS), LEVEL_STYLES.get(dimension["level"], "dim")),
            f" {score_text(dimension['score'])}  ·  {confidence_text(dimension)}",
        )
        console.print(_indented(figures))
        if note := gate_note(dimension):
            console.print(_indented(Text(note, style="red")))

    recommendation = data["recommendation"]
    if recommendation["text"]:
        console.print()
        focus = _dimension_name(data, recommendation["dimension"])
        console.print(Text(f"Recommendation · {focus} (level {_focus_level(data)})", style="bold"))
        console.print(Text(recommendation["text"]))

    if data["next_steps"]:
        console.print()
        console.print(Text("Next Steps", style="bold"))
        steps = Table.grid(padding=(0, 1))
        steps.add_column(justify="right")
        steps.add_column()
        for rank, step in enumerate(data["next_steps"], start=1):
            body = Text.assemble(
                (f"{_dimension_name(data, step['dimension'])}: ", "bold"), step["improvement"]
            )
            if step["tools"]:
                body.append(f"\nTools: {', '.join(step['tools'])}", style="dim")
            steps.add_row(f"{rank}.", body)
        console.print(steps)

    console.print()
    console.print(Text(_footer(data), style="dim"))


def _footer(data: Mapping[str, Any]) -> str:
    return (
        f"Answered {data['answered']} of {data['total_questions']} · "
        f"bank {data['bank']['id']} v{data['bank']['version']}"
    )


def _cell(text: str) -> str:
    """Table cells end at a pipe and rows at a newline, so neither may reach the table raw."""
    return text.replace("|", "\\|").replace("\n", " ")


def report_markdown(report: Report, bank_title: str | None = None) -> str:
    data = report.to_dict()
    names = dict(report.level_names)
    overall = data["overall"]
    lines = [
        f"# {report_title(bank_title)}",
        "",
        f"**Overall: {level_label(overall['level'], names)}** · score {score_text(overall['score'])}",
        "",
        f"_{overall_rule_text(overall['level_rule'])}._",
        "",
        "| Dimension | Score | Level | Confidence |",
        "| --- | --- | --- | --- |",
    ]
    for dimension in data["dimensions"]:
        level = level_label(dimension["level"], names)
        if note := level_range_note(dimension):
            level += f" {note}"
        score = "–" if dimension["score"] is None else f"{dimension['score']:.1f}"
        confidence = f"{round(dimension['confidence'] * 100)}%"
        lines.append(f"| {_cell(dimension['name'])} | {score} | {_cell(level)} | {confidence} |")
    gates = [(dimension["name"], note) for dimension in data["dimensions"] if (note := gate_note(dimension))]
    if gates:
        lines += ["", "**Production-safety gates**", ""]
        lines += [f"- {name}: {note}" for name, note in gates]

    recommendation = data["recommendation"]
    if recommendation["text"]:
        focus = _dimension_name(data, recommendation["dimension"])
        lines += ["", f"## Recommendation · {focus} (level {_focus_level(data)})", "", recommendation["text"]]

    if data["next_steps"]:
        lines += ["", "## Next Steps", ""]
        for rank, step in enumerate(data["next_steps"], start=1):
            lines.append(f"{rank}. **{_dimension_name(data, step['dimension'])}:** {step['improvement']}")
            if step["tools"]:
                lines.append(f"   Tools: {', '.join(step['tools'])}")

    lines += ["", f"_{_footer(data)}_", ""]
    return "\n".join(lines)
