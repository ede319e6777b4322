"""Prints the README's Quickstart commands, one a line, exactly as the page shows them: `.ci/run` runs
these and nothing else to install and test, so CI and a newcomer's first hour cannot drift apart."""

from __future__ import annotations

import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def quickstart_commands(readme: Path = README) -> list[str]:
    lines = readme.read_text(encoding="utf-8").splitlines()
    heading = lines.index("## Quickstart")
    opening = next(n for n in range(heading, len(lines)) if lines[n].startswith("```"))
    closing = next(n for n in range(opening + 1, len(lines)) if lines[n].startswith("```"))
    return [line for line in lines[opening + 1 : closing] if line.strip()]


if __name__ == "__main__":
    sys.stdout.write("".join(f"{command}\n" for command in quickstart_commands()))
