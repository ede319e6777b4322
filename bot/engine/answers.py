"""What a person can answer to one question, and its compact stored form.

Stored form: the option's index (0-based) for a real option, "dk" for "Don't know", "na" for
"Not applicable". Compact because it travels in button values and lives in Redis.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass

from bot.engine.bank import AskedQuestion

DONT_KNOW_LABEL = "Don't know"
DONT_KNOW_CODE = "dk"
NOT_APPLICABLE_CODE = "na"
# Enough to recognise an option label or a question id, short enough that a message stays readable
# when what was written is a whole paragraph or a runaway paste.
READABLE_LENGTH = 80


@dataclass(frozen=True)
class OptionChoice:
    index: int


@dataclass(frozen=True)
class DontKnow:
    pass


@dataclass(frozen=True)
class NotApplicable:
    pass


Answer = OptionChoice | DontKnow | NotApplicable


class InvalidAnswer(ValueError):
    """An answer that the question does not offer."""


def _first_items_repr() -> reprlib.Repr:
    # A few items, two levels deep: YAML aliases can nest a list in itself until its full repr would
    # take gigabytes.
    bounded = reprlib.Repr()
    bounded.maxlevel = 2
    bounded.maxstring = bounded.maxother = READABLE_LENGTH
    return bounded


_FIRST_ITEMS = _first_items_repr()


def readable_repr(value: object) -> str:
    """`repr(value)` for a message, cut to READABLE_LENGTH characters with the full length noted."""
    if isinstance(value, str):
        if len(value) <= READABLE_LENGTH:
            return repr(value)
        return f"{value[:READABLE_LENGTH]!r}… ({len(value):,} characters)"
    if isinstance(value, list | tuple | set | frozenset | dict):
        text = _FIRST_ITEMS.repr(value)
        return text if len(text) <= READABLE_LENGTH else f"{text[:READABLE_LENGTH]}…"
    text = repr(value)
    if len(text) <= READABLE_LENGTH:
        return text
    return f"{text[:READABLE_LENGTH]}… ({len(text):,} characters)"


def encode_answer(answer: Answer) -> int | str:
    if isinstance(answer, OptionChoice):
        return answer.index
    return DONT_KNOW_CODE if isinstance(answer, DontKnow) else NOT_APPLICABLE_CODE


def decode_answer(code: int | str) -> Answer:
    if isinstance(code, bool):
        raise InvalidAnswer(f"not an answer code: {readable_repr(code)}")
    if isinstance(code, int):
        return OptionChoice(code)
    if code == DONT_KNOW_CODE:
        return DontKnow()
    if code == NOT_APPLICABLE_CODE:
        return NotApplicable()
    raise InvalidAnswer(f"not an answer code: {readable_repr(code)}")


def check_answer(question: AskedQuestion, answer: Answer) -> None:
    """Raise InvalidAnswer unless `question` offers `answer`."""
    if isinstance(answer, OptionChoice) and not 0 <= answer.index < len(question.options):
        raise InvalidAnswer(
            f"question {question.id!r} has options 1–{len(question.options)}; "
            f"got option {readable_repr(answer.index + 1)}"
        )
    if isinstance(answer, NotApplicable) and question.not_applicable is None:
        raise InvalidAnswer(f"question {question.id!r} does not offer 'Not applicable'")


def choices(question: AskedQuestion) -> list[tuple[Answer, str]]:
    """Every answer the question offers, in display order, with its label."""
    offered: list[tuple[Answer, str]] = [
        (OptionChoice(i), option.label) for i, option in enumerate(question.options)
    ]
    if question.not_applicable:
        offered.append((NotApplicable(), question.not_applicable))
    offered.append((DontKnow(), DONT_KNOW_LABEL))
    return offered


def parse_answer_text(question: AskedQuestion, text: object) -> Answer:
    """Read an answer as a person writes it in an answers file: the option's number (1-based),
    its exact label (case-insensitive), "dont_know"/"don't know" or "n/a"/"not_applicable"."""
    if isinstance(text, bool):
        raise InvalidAnswer(f"{text!r} is not an option")
    if isinstance(text, int) or (isinstance(text, str) and text.strip().isdecimal()):
        try:
            number = int(text)
        except ValueError:  # more digits than Python converts: no question has that many options
            raise InvalidAnswer(
                f"{readable_repr(text)} is not an option; options are numbered 1–{len(question.options)}"
            ) from None
        answer: Answer = OptionChoice(number - 1)
        if number < 1:
            raise InvalidAnswer(f"option numbers start at 1; got {readable_repr(number)}")
        check_answer(question, answer)
        return answer
    if not isinstance(text, str):
        raise InvalidAnswer(f"{readable_repr(text)} is not an option")
    wanted = text.strip().casefold()
    if wanted in {"dk", "dont_know", "don't know", "dont know", "unknown"}:
        return DontKnow()
    if wanted in {"na", "n/a", "not_applicable", "not applicable"}:
        answer = NotApplicable()
        check_answer(question, answer)
        return answer
    for index, option in enumerate(question.options):
        if option.label.casefold() == wanted:
            return OptionChoice(index)
    if question.not_applicable and question.not_applicable.casefold() == wanted:
        return NotApplicable()
    labels = ", ".join(f"{i + 1}={o.label!r}" for i, o in enumerate(question.options))
    raise InvalidAnswer(
        f"{readable_repr(text)} is not an option of {question.id!r} ({labels}, or 'dont_know')"
    )
