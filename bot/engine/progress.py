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


def count_change_note(before: int, after: int, topics: list[str], total: int, exact: bool) -> str | None:
    """Why the number of questions changed after an answer, so "of 32" never turns into "of 27" unsaid:
    "5 questions about LLM features no longer apply: 27 in all." `total` is the run's new count of
    questions, `exact` False when it is only the most there can be. None when nothing changed."""
    if before == after:
        return None
    changed = abs(after - before)
    about = f" about {' and '.join(topics)}" if topics else ""
    if after < before:
        verb = "no longer applies" if changed == 1 else "no longer apply"
    else:
        verb = "now applies" if changed == 1 else "now apply"
    in_all = f"{total} in all" if exact else f"at most {total} in all"
    return f"{changed} question{'' if changed == 1 else 's'}{about} {verb} after your answer: {in_all}."


def progress_line(number: int, total: int, exact: bool = True) -> str:
    """ "Question 5 of 20 ▓▓▓░░░░░░░░░ 25%": the share of the run reached with this question. In an
    adaptive run the total is the most there can be ("of at most 31"), so the bar can only jump ahead."""
    fraction = number / total if total else 0.0
    of = f"of {total}" if exact else f"of at most {total}"
    return f"Question {number} {of} {bar(fraction, PROGRESS_CELLS)} {round(fraction * 100)}%"
