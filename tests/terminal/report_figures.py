"""Reading the facts back out of every rendering of a report, to compare them with the one report view."""

from __future__ import annotations

import re
from typing import Any

from bot.engine.report_view import ReportView

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_MARKUP = re.compile(r"[*_`]")


def normalised(text: str) -> str:
    """Whitespace folded and mrkdwn/Markdown emphasis dropped, so a fact reads the same in every format."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(_MARKUP.sub("", text).split())


def facts(view: ReportView) -> list[str]:
    """Every fact the report states, as the view words it."""
    stated = [view.overall.label, view.overall_score_text, view.headline, view.footer]
    if view.overall_range_text:
        stated.append(view.overall_range_text)
    if view.pulse_text:
        stated.append(view.pulse_text)
    for dimension in view.dimensions:
        stated += [dimension.name, dimension.level.label, dimension.score_text, dimension.confidence_text]
        if dimension.range_text:
            stated.append(dimension.range_text)
        stated += [note.text for note in dimension.notes]
    if view.level_score_text:
        stated.append(view.level_score_text)
    if view.recommendation:
        stated.append(view.recommendation.heading)
        stated += [item.text for item in view.recommendation.items]
    for step in (*view.next_steps, *(view.recommendation.items if view.recommendation else ())):
        stated.append(step.text)
        if step.tools:
            stated.append(", ".join(step.tools))
    stated += [*view.find_out, *view.to_answer, *view.outcomes, *view.disagreements]
    return stated


def report_facts(view: ReportView) -> list[str]:
    """`facts`, and what a report states since levels are settled one by one: what a level number means,
    and how many questions were not asked because no answer to them could change a level."""
    stated = [*facts(view), view.level_meaning_text]
    if view.not_asked_text:
        stated.append(view.not_asked_text)
    return stated


def slack_text(message: dict[str, Any]) -> str:
    """All the text a person reads in a Block Kit message."""
    parts: list[str] = []
    for block in message["blocks"]:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [field["text"] for field in block.get("fields", [])]
        parts += [
            element.get("text", "") for element in block.get("elements", []) if isinstance(element, dict)
        ]
    return "\n".join(parts)
