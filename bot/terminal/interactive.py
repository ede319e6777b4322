"""The interactive assessment: shows each question, reads one line, and turns it into an engine event.

The engine's state machine decides everything (order, Back, completion, scoring); this module only
translates keystrokes into events and prompts into text, so the terminal cannot drift from the Slack app.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from rich.console import Console
from rich.text import Text

from bot.engine.answers import choices
from bot.engine.bank import QuestionBank
from bot.engine.conversation import (
    AnswerQuestion,
    AskQuestion,
    Back,
    Cancel,
    Conversation,
    Event,
    InvalidEvent,
    ShowCancelled,
    ShowReport,
    Start,
    Transition,
    advance,
)
from bot.engine.overview import length
from bot.engine.progress import progress_line, sentence
from bot.engine.scoring import Report
from bot.terminal.report import print_report

BACK_KEY = "b"
QUIT_KEY = "q"
EXIT_COMPLETED = 0
# The shell's code for a run ended by Ctrl-C, which is what quitting part-way amounts to.
EXIT_CANCELLED = 130

ReadLine = Callable[[Text], str]


class Refusal(Exception):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def translate(entry: str, ask: AskQuestion) -> Event:
    """The event a typed line stands for; raises Refusal with what to type instead."""
    offered = choices(ask.question)
    key = entry.strip().casefold()
    if key == QUIT_KEY:
        return Cancel()
    if key == BACK_KEY:
        if ask.number == 1:
            raise Refusal("This is the first question; there is nothing to go back to.")
        return Back(ask.question.id)
    if key == "" and ask.previous_answer is not None:
        return AnswerQuestion(ask.question.id, ask.previous_answer)
    if key.isdecimal() and 1 <= int(key) <= len(offered):
        return AnswerQuestion(ask.question.id, offered[int(key) - 1][0])
    shown = f"{entry.strip()!r} is not a choice" if key else "No answer given"
    raise Refusal(
        f"{shown}: type a number from 1 to {len(offered)}, {BACK_KEY} to go back or {QUIT_KEY} to quit."
    )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def show_introduction(console: Console, bank: QuestionBank) -> None:
    console.rule(Text(bank.title, style="bold"))
    console.print(Text(sentence(length(bank)), style="bold"))
    console.print(bank.description)
    console.print(
        Text(
            "Answer with the option's number. Describe what happens today, not what is planned. "
            f"Type {BACK_KEY} to go back, {QUIT_KEY} to quit.",
            style="dim",
        )
    )


def show_question(console: Console, bank: QuestionBank, ask: AskQuestion) -> None:
    question = ask.question
    console.print()
    console.rule(Text(bank.section_name(question), style="bold magenta"))
    console.print(Text(progress_line(ask.number, ask.total), style="cyan"))
    if ask.count_note:
        console.print(Text(ask.count_note, style="yellow"))
    console.print()
    console.print(Text(question.text, style="bold"))
    console.print(Text.assemble(("Why it matters: ", "italic"), (question.why, "dim")))
    console.print()
    for number, (answer, label) in enumerate(choices(question), start=1):
        chosen = answer == ask.previous_answer
        marker = "✓" if chosen else " "
        line = Text(f" {marker} {number:>2}  {label}", style="bold green" if chosen else "")
        if chosen:
            line.append("  (your answer; press Enter to keep it)", style="dim")
        console.print(line)
    back = f"{BACK_KEY} = back  ·  " if ask.number > 1 else ""
    console.print(Text(f"        {back}{QUIT_KEY} = quit", style="dim"))


def answer_prompt(ask: AskQuestion) -> Text:
    return Text(f"Your answer [1-{len(choices(ask.question))}]: ", style="bold")


def _console_reader(console: Console) -> ReadLine:
    def read(prompt: Text) -> str:
        entry = console.input(prompt)
        if not sys.stdin.isatty():
            # A pipe does not echo what was "typed", and a transcript without the answers is unreadable.
            console.print(Text(entry))
        return entry

    return read


def run_assessment(
    bank: QuestionBank,
    console: Console,
    error_console: Console,
    read_line: ReadLine | None = None,
    on_report: Callable[[Report], None] | None = None,
) -> int:
    """Ask every question of `bank`, then print the report (and hand it to `on_report`). Returns the
    process exit code."""
    read = read_line or _console_reader(console)
    show_introduction(console, bank)
    transition = advance(Conversation.new(bank), Start(), bank)
    while isinstance(transition.prompt, AskQuestion):
        show_question(console, bank, transition.prompt)
        transition = _next_transition(console, bank, transition, read)

    if isinstance(transition.prompt, ShowReport):
        print_report(console, transition.prompt.report)
        if on_report is not None:
            on_report(transition.prompt.report)
        return EXIT_COMPLETED
    if isinstance(transition.prompt, ShowCancelled):
        error_console.print(f"Assessment cancelled: {transition.prompt.answered_text}; nothing was saved.")
        return EXIT_CANCELLED
    raise AssertionError(f"unexpected prompt {transition.prompt!r}")


def _next_transition(console: Console, bank: QuestionBank, current: Transition, read: ReadLine) -> Transition:
    """Read until a line the conversation accepts; ending the input or Ctrl-C cancels."""
    assert isinstance(current.prompt, AskQuestion)
    while True:
        try:
            entry = read(answer_prompt(current.prompt))
        except (EOFError, KeyboardInterrupt):
            console.print()
            return advance(current.state, Cancel(), bank)
        try:
            return advance(current.state, translate(entry, current.prompt), bank)
        except Refusal as refusal:
            console.print(Text(refusal.message, style="yellow"))
        except InvalidEvent as error:
            console.print(Text(str(error), style="yellow"))
