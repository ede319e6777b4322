"""Writes the app's description, made from the shipped question banks, into manifest.yml
(`display_information.long_description`) and README.md (its first paragraph), so that both state the
lengths and the report the app itself states. tests/test_description.py fails until this has been run
after a bank or the wording in bot/engine/overview.py changed.

    python scripts/write_description.py [--root DIR]
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.engine.catalog import DEFAULT_BANK_ID, BankCatalog
from bot.engine.overview import app_description
from bot.engine.schedule import BANK_FOR_CHOICE
from bot.slack.blocks import COMMAND

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 105  # the line length of the README's prose and of the manifest
LONG_DESCRIPTION = re.compile(r"^ *long_description: >-$")


class LayoutError(Exception):
    """The file does not have the place the description goes in."""


@functools.cache
def shipped_banks() -> BankCatalog:
    return BankCatalog.from_directory()


def description(markdown: bool) -> str:
    """The description of the bank `/mlops-compass` starts by default, with the pulse as the short check."""
    catalog = shipped_banks()
    full, short = catalog.get(DEFAULT_BANK_ID), catalog.get(BANK_FOR_CHOICE["pulse"])
    return app_description(COMMAND, full, short, markdown)


def _wrapped(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def with_readme_paragraph(readme: str, text: str) -> str:
    """`readme` with its first paragraph (the prose under the title) replaced by `text`."""
    lines = readme.splitlines()
    if not lines or not lines[0].startswith("# "):
        raise LayoutError("README.md does not start with its title")
    start = next((i for i, line in enumerate(lines) if i > 0 and line.strip()), None)
    if start is None or lines[start].startswith("#"):
        raise LayoutError("README.md has no paragraph under its title")
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return "\n".join([*lines[:start], *_wrapped(text), *lines[end:]]) + "\n"


def with_long_description(manifest: str, text: str) -> str:
    """`manifest` with the folded block under `long_description: >-` replaced by `text`."""
    lines = manifest.splitlines()
    found = [i for i, line in enumerate(lines) if LONG_DESCRIPTION.match(line)]
    if len(found) != 1:
        raise LayoutError("manifest.yml needs exactly one `long_description: >-` line")
    at = found[0]
    # The block is every line indented deeper than the key, as YAML reads it.
    inner = lines[at][: len(lines[at]) - len(lines[at].lstrip())] + "  "
    end = at + 1
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith(inner)):
        end += 1
    while end > at + 1 and not lines[end - 1].strip():  # blank lines after the block stay
        end -= 1
    return "\n".join([*lines[: at + 1], *_wrapped(text, inner), *lines[end:]]) + "\n"


@dataclass(frozen=True)
class Rewrite:
    path: Path
    before: str
    after: str

    @property
    def changes(self) -> bool:
        return self.after != self.before


def rewrites(root: Path) -> list[Rewrite]:
    """Both files under `root` as they are and as they should be; raises before anything is written."""
    planned = []
    for name, rewrite, markdown in (
        ("manifest.yml", with_long_description, False),
        ("README.md", with_readme_paragraph, True),
    ):
        path = root / name
        before = path.read_text(encoding="utf-8")
        planned.append(Rewrite(path, before, rewrite(before, description(markdown))))
    return planned


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write the app's description into manifest.yml and README.md."
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the folder holding both files")
    args = parser.parse_args(argv)
    try:
        planned = rewrites(args.root)
    except (OSError, LayoutError) as error:
        print(f"write_description: {error}; nothing was written", file=sys.stderr)
        return 1
    for rewrite in planned:
        if rewrite.changes:
            rewrite.path.write_text(rewrite.after, encoding="utf-8")
        print(f"{rewrite.path.name}: {'rewritten' if rewrite.changes else 'already up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
