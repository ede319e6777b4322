"""What a person can answer to one question, and its compact stored form.

Stored form: the option's index (0-based) for a real option, "dk" for "Don't know", "na" for
"Not applicable". Compact because it travels in button values and lives in Redis.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.bank import AskedQuestion

DONT_KNOW_LABEL = "Don't know"
DONT_KNOW_CODE = "dk"
NOT_APPLICABLE_CODE = "na"


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


def encode_answer(answer: Answer) -> int | str:
    if isinstance(answer, OptionChoice):
        return answer.index
    return DONT_KNOW_CODE if isinstance(answer, DontKnow) else NOT_APPLICABLE_CODE


def decode_answer(code: int | str) -> Answer:
    if isinstance(code, bool):
        raise InvalidAnswer(f"not an answer code: {code!r}")
    if isinstance(code, int):
        return OptionChoice(code)
    if code == DONT_KNOW_CODE:
        return DontKnow()
    if code == NOT_APPLICABLE_CODE:
        return NotApplicable()
    raise InvalidAnswer(f"not an answer code: {code!r}")


def check_answer(question: AskedQuestion, answer: Answer) -> None:
    """Raise InvalidAnswer unless `question` offers `answer`."""
    if isinstance(answer, OptionChoice) and not 0 <= answer.index < len(question.options):
        raise InvalidAnswer(
            f"question {question.id!r} has options 1–{len(question.options)}; got option {answer.index + 1}"
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
        number = int(text)
        answer: Answer = OptionChoice(number - 1)
        if number < 1:
            raise InvalidAnswer(f"option numbers start at 1; got {number}")
        check_answer(question, answer)
        return answer
    if not isinstance(text, str):
        raise InvalidAnswer(f"{text!r} is not an option")
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
    raise InvalidAnswer(f"{text!r} is not an option of {question.id!r} ({labels}, or 'dont_know')")
