"""Progress and score bars as plain text, worded the same in every front end."""

from __future__ import annotations

PROGRESS_CELLS = 12
SCORE_BAR_CELLS = 10


def bar(fraction: float, cells: int) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * cells)
    return "▓" * filled + "░" * (cells - filled)


def answered_text(answered: int, applicable: int) -> str:
    """ "answered 5 of the 27 questions that apply": how far someone got, in the same words and numbers in
    the report, on cancelling and on resuming, in the terminal and in Slack."""
    if applicable == 1:
        return f"answered {answered} of the 1 question that applies"
    return f"answered {answered} of the {applicable} questions that apply"


def sentence(text: str) -> str:
    """`text` starting a sentence."""
    return text[:1].upper() + text[1:]


def count_change_note(before: int, after: int, topics: list[str]) -> str | None:
    """Why the number of questions changed after an answer, so "of 32" never turns into "of 27" unsaid:
    "5 questions about LLM features no longer apply: 27 in all." None when it did not change."""
    if before == after:
        return None
    changed = abs(after - before)
    about = f" about {' and '.join(topics)}" if topics else ""
    if after < before:
        verb = "no longer applies" if changed == 1 else "no longer apply"
    else:
        verb = "now applies" if changed == 1 else "now apply"
    return f"{changed} question{'' if changed == 1 else 's'}{about} {verb} after your answer: {after} in all."


def progress_line(number: int, total: int) -> str:
    """ "Question 5 of 20 ▓▓▓░░░░░░░░░ 25%": the share of the bank reached with this question."""
    fraction = number / total if total else 0.0
    return f"Question {number} of {total} {bar(fraction, PROGRESS_CELLS)} {round(fraction * 100)}%"
