"""How long an assessment takes and what its report gives, worded once for every place that says so.

Slack's help, the message a person gets when an assessment starts, the bank lists in Slack and in the
terminal, the Home tab, the team run's messages, the setup forms, and the description in manifest.yml and
README.md all take their words from here, so no two of them can give an assessment different lengths.
The two static files are written from `app_description` by scripts/write_description.py.
"""

from __future__ import annotations

import math

from bot.engine.bank import SECONDS_PER_QUESTION, QuestionBank
from bot.engine.scoring import NEXT_STEPS_COUNT

PRODUCT = "MLOps Compass"
NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def counted(count: int, noun: str, in_words: bool = False) -> str:
    """ "1 question", "8 questions", or "five Next Steps" in words."""
    number = NUMBER_WORDS[count] if in_words and count < len(NUMBER_WORDS) else str(count)
    return f"{number} {noun}" if count == 1 else f"{number} {noun}s"


def minutes(questions: int) -> str:
    return counted(max(1, math.ceil(questions * SECONDS_PER_QUESTION / 60)), "minute")


def every_question(bank: QuestionBank) -> str:
    """ "8 questions", or "50 to 60 questions" where context answers can switch questions off."""
    fewest, most = bank.question_counts
    return counted(most, "question") if fewest == most else f"{fewest} to {most} questions"


def full_length(bank: QuestionBank) -> str:
    """Every question: "8 questions, about 4 minutes", or "50 to 60 questions, about 30 minutes"; the
    minutes are those of the most questions."""
    return f"{every_question(bank)}, about {counted(bank.estimated_minutes, 'minute')}"


def length(bank: QuestionBank) -> str:
    """What an adaptive run asks, as measured (bank.asked): "about 31 questions, 16 minutes; at most 42
    for 9 in 10 people"; the full length for a bank that was never measured."""
    asked = bank.asked
    if asked is None:
        return full_length(bank)
    return f"{brief_length(bank)}; at most {asked.p90} for 9 in 10 people"


def brief_length(bank: QuestionBank) -> str:
    """`length` without the 90th percentile, for a line with little room: "about 31 questions, 16
    minutes"."""
    asked = bank.asked
    if asked is None:
        return full_length(bank)
    return f"about {counted(asked.median, 'question')}, {minutes(asked.median)}"


def settled_after(bank: QuestionBank) -> str | None:
    """When the overall level is usually known, where a person may stop: "after about 11 questions"."""
    if bank.asked is None:
        return None
    return f"after about {counted(bank.asked.overall_median, 'question')}"


def report_contents(bank: QuestionBank) -> str:
    """What a report of `bank` gives, from the bank itself: its levels, its dimensions, whether it has
    production-safety gates, and how many Next Steps the scoring can give."""
    lowest = bank.level_info(1)
    highest = bank.level_info(max(bank.level_ceiling(dimension.id) for dimension in bank.dimensions))
    names = ", ".join(dimension.name for dimension in bank.dimensions)
    where = (
        f"each of {counted(len(bank.dimensions), 'dimension', in_words=True)} ({names})"
        if len(bank.dimensions) > 1
        else names
    )
    parts = [f"a level from {lowest.level} ({lowest.name}) to {highest.level} ({highest.name}) in {where}"]
    if any(practice.gate for practice in bank.practices):
        parts.append("the production-safety gate that holds a dimension back")
    parts.append("one recommendation for the weakest dimension, built from the team's own gaps")
    steps = counted(min(NEXT_STEPS_COUNT, len(bank.practices)), "Next Step", in_words=True)
    tools = " and tools" if any(practice.tools for practice in bank.practices) else ""
    parts.append(f"up to {steps} naming practices{tools}")
    return f"{', '.join(parts[:-1])}, and {parts[-1]}"


def app_description(command: str, full: QuestionBank, short: QuestionBank | None, markdown: bool) -> str:
    """What the app is, for its Slack app listing (manifest.yml) and the README's first paragraph:
    `full` is the bank `command` starts, `short` the quick check offered beside it. `markdown` sets the
    commands in backticks."""

    def typed(text: str) -> str:
        return f"`{text}`" if markdown else text

    settled = settled_after(full)
    if settled is None:
        asks = f"the bot asks {length(full)}, one at a time in a DM."
    else:
        asks = (
            f"the bot asks only the questions that can still change a level, one at a time in a DM: "
            f"{length(full)}. The overall level is usually settled {settled}, and you can stop there; "
            f"{typed(f'{command} start full')} asks all {every_question(full)}."
        )
    text = (
        f"{PRODUCT} tells an ML team how mature its MLOps practice is and what to do next. Type "
        f"{typed(command)} in a channel and {asks} It then posts a maturity report to that channel: "
        f"{report_contents(full)}."
    )
    if short is not None:
        started = typed(f"{command} start {short.id}")
        text += f" The short option is the {short.title} ({started}): {length(short)}."
    return text
