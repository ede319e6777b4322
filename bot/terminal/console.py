"""Consoles for every terminal screen: styled only on a real terminal, plain under NO_COLOR."""

from __future__ import annotations

import os
from collections.abc import Mapping

from rich.console import Console


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
