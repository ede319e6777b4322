"""Consoles and the small visual pieces (bars, level colours) shared by every terminal screen."""

from __future__ import annotations

import os
from collections.abc import Mapping

from rich.console import Console
from rich.text import Text

# Distinct even on a 16-colour terminal, where orange would collapse into red or yellow.
LEVEL_STYLES = {1: "bold red", 2: "bold yellow", 3: "bold cyan", 4: "bold green"}


def plain_output_requested(environ: Mapping[str, str] | None = None) -> bool:
    """NO_COLOR set to anything non-empty (https://no-color.org)."""
    environ = os.environ if environ is None else environ
    return environ.get("NO_COLOR", "") != ""


def make_console(*, stderr: bool = False, environ: Mapping[str, str] | None = None) -> Console:
    """A console that styles only a real terminal.

    Rich already leaves pipes and files unstyled when force_terminal is None. Under NO_COLOR we also
    drop bold and other attributes, because people set it to get text they can paste or feed to a
    screen reader, and a report coloured by level still names every level in words.
    """
    plain = plain_output_requested(environ)
    return Console(
        stderr=stderr,
        no_color=plain,
        force_terminal=False if plain else None,
        # Bank text is data: numbers must not be recoloured and ":name:" must not become an emoji.
        highlight=False,
        emoji=False,
    )


def level_label(level: int | None, names: Mapping[int, str]) -> str:
    if level is None:
        return "no level yet"
    name = names.get(level)
    return f"Level {level} · {name}" if name else f"Level {level}"


def styled_level(level: int | None, names: Mapping[int, str]) -> Text:
    return Text(level_label(level, names), style=LEVEL_STYLES.get(level, "dim") if level else "dim")
