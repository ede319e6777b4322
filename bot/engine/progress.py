"""Progress and score bars as plain text, worded the same in every front end."""

from __future__ import annotations

PROGRESS_CELLS = 12
SCORE_BAR_CELLS = 10


def bar(fraction: float, cells: int) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * cells)
    return "▓" * filled + "░" * (cells - filled)


def progress_line(number: int, total: int) -> str:
    """ "Question 5 of 20 ▓▓▓░░░░░░░░░ 25%": the share of the bank reached with this question."""
    fraction = number / total if total else 0.0
    return f"Question {number} of {total} {bar(fraction, PROGRESS_CELLS)} {round(fraction * 100)}%"
