"""What the fake workspace shows, as terminal text: Slack mrkdwn and messages with numbered buttons."""

from __future__ import annotations

import re
from typing import Any, Protocol

from rich.markup import escape
from rich.text import Text

from playground.fakeslack.workspace import Button, buttons_of

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_QUIT = 130
SLACK_EMOJI = {
    ":compass:": "🧭", ":bulb:": "💡", ":dart:": "🎯", ":no_entry:": "⛔", ":warning:": "⚠️",
    ":information_source:": "ℹ️", ":red_circle:": "🔴", ":large_orange_circle:": "🟠",
    ":large_yellow_circle:": "🟡", ":large_green_circle:": "🟢", ":chart_with_upwards_trend:": "📈",
    ":bar_chart:": "📊", ":hourglass:": "⌛",
}  # fmt: skip


class Names(Protocol):
    """Who and what a workspace's ids stand for (the fake workspace knows)."""

    def user_name(self, user_id: str) -> str: ...

    def channel_name(self, channel_id: str) -> str | None: ...


def _mentions(text: str, names: Names | None) -> str:
    """`<@U…>` and `<#C…>` (with or without a `|label`) as a Slack client shows them: by name."""

    def user(match: re.Match[str]) -> str:
        return "@" + (names.user_name(match[1]) if names else match[2] or match[1])

    def channel(match: re.Match[str]) -> str:
        return "#" + ((names.channel_name(match[1]) if names else None) or match[2] or match[1])

    text = re.sub(r"<@(\w+)(?:\|([^>]*))?>", user, text)
    return re.sub(r"<#(\w+)(?:\|([^>]*))?>", channel, text)


def render_mrkdwn(text: str, style: str = "", names: Names | None = None) -> Text:
    """Slack mrkdwn as styled terminal text: *bold*, _italic_, `code`, mentions (by name, given `names`)
    and emoji codes."""
    for code, emoji in SLACK_EMOJI.items():
        text = text.replace(code, emoji)
    # A date Slack shows in the reader's time zone: here, the fallback text it carries.
    text = re.sub(r"<!date\^[^|>]*\|([^>]*)>", r"\1", text)
    text = _mentions(text, names)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    markup = escape(text)
    markup = re.sub(r"(?<!\w)\*([^*\n]+)\*(?!\w)", r"[bold]\1[/bold]", markup)
    markup = re.sub(r"(?<!\w)_([^_\n]+)_(?!\w)", r"[italic]\1[/italic]", markup)
    markup = re.sub(r"`([^`\n]+)`", r"\1", markup)
    return Text.from_markup(markup, style=style)


def render_message(message: dict[str, Any], names: Names | None = None) -> tuple[Text, list[Button]]:
    """A Slack message as terminal text, with its buttons numbered in the order they appear."""
    lines = Text()
    buttons = buttons_of(message)
    number = 0
    for block in message.get("blocks") or [{"type": "section", "text": {"text": message.get("text", "")}}]:
        kind = block.get("type")
        if kind == "header":
            lines.append(render_mrkdwn(block["text"]["text"], "bold underline", names))
        elif kind == "section":
            texts = [block["text"]["text"]] if "text" in block else []
            texts += [field["text"] for field in block.get("fields", [])]
            lines.append(render_mrkdwn("\n\n".join(texts), names=names))
        elif kind == "context":
            context = " ".join(e.get("text", "") for e in block["elements"])
            lines.append(render_mrkdwn(context, "dim", names))
        if kind in ("header", "section", "context"):
            lines.append("\n")
        if kind == "divider":
            lines.append("─" * 40 + "\n", style="dim")
        elif kind == "actions":
            for button in buttons_of({"blocks": [block]}):
                number += 1
                lines.append(f"  [{number}] ", style="bold cyan")
                lines.append(("✓ " if button.chosen else "") + button.label + "\n")
    return lines, buttons
