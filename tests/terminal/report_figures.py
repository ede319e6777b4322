"""Reading the figures back out of the text and Markdown reports, to compare them with the JSON form."""

from __future__ import annotations

import re
from typing import Any

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def normalised(text: str) -> str:
    return " ".join(text.split())


def _overall(line: str) -> tuple[float | None, int | None]:
    """(score, level) from the overall line; None where there were too few answers."""
    level = re.search(r"Overall:\W*Level (\d)", line)
    score = re.search(r"score ([\d.]+)/100", line)
    return (float(score[1]) if score else None, int(level[1]) if level else None)


def text_figures(text: str, names: list[str]) -> dict[str, Any]:
    """Overall and per-dimension (score, level, confidence %) from the terminal report."""
    lines = text.splitlines()
    figures: dict[str, Any] = {
        "overall": _overall(next(line for line in lines if line.startswith("Overall:")))
    }
    for name in names:
        index = next(i for i, line in enumerate(lines) if line.startswith(name))
        level = re.search(r"Level (\d)", lines[index])
        numbers = re.search(r"([\d.]+)/100 · confidence (\d+)%", normalised(lines[index + 1]))
        if numbers is None:
            assert "not enough answers" in lines[index + 1]
            confidence = re.search(r"confidence (\d+)%", lines[index + 1])
            assert confidence is not None, lines[index + 1]
            figures[name] = (None, None, int(confidence[1]))
        else:
            figures[name] = (float(numbers[1]), int(level[1]) if level else None, int(numbers[2]))
    return figures


def markdown_figures(markdown: str, names: list[str]) -> dict[str, Any]:
    lines = markdown.splitlines()
    figures: dict[str, Any] = {
        "overall": _overall(next(line for line in lines if line.startswith("**Overall:")))
    }
    for name in names:
        row = next(line for line in markdown.splitlines() if line.startswith(f"| {name} |"))
        _, _, score, level, confidence, _ = (cell.strip() for cell in row.split("|"))
        level_number = re.match(r"Level (\d)", level)
        figures[name] = (
            None if score == "–" else float(score),
            int(level_number[1]) if level_number else None,
            int(confidence.rstrip("%")),
        )
    return figures


def json_figures(data: dict[str, Any]) -> dict[str, Any]:
    figures: dict[str, Any] = {"overall": (data["overall"]["score"], data["overall"]["level"])}
    for dimension in data["dimensions"]:
        figures[dimension["name"]] = (
            dimension["score"],
            dimension["level"],
            round(dimension["confidence"] * 100),
        )
    return figures
