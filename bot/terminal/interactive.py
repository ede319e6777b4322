"""The interactive assessment: shows each question, reads one line, and turns it into an engine event.

The engine's state machine decides everything (which question comes next, when the overall level is
settled, Back, completion, scoring); this module only translates keystrokes into events and prompts into
text, so the terminal cannot drift from the Slack app.

By default the run is adaptive: only the questions that can still change a level are asked, and once the
overall level is settled the person may stop there. After a report that left questions out because no
answer to them could change a level, the person may answer them in a full run that keeps every answer
given, and gets the report again.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.text import Text

from bot.engine.adaptive import AskingMode, questions_to_ask
from bot.engine.answers import choices
from bot.engine.bank import OutcomeQuestion, QuestionBank
from bot.engine.conversation import (
    AnswerQuestion,
    AskQuestion,
    Back,
    Cancel,
    Conversation,
    Event,
    InvalidEvent,
    KeepGoing,
    OfferStop,
    ShowCancelled,
    ShowReport,
    Start,
    StopHere,
    Transition,
    advance,
)
from bot.engine.overview import full_length, length, settled_after
from bot.engine.progress import progress_line, sentence
from bot.engine.report_view import build_view
from bot.engine.scoring import Report
from bot.terminal.report import print_report

BACK_KEY = "b"
QUIT_KEY = "q"
KEEP_GOING_KEY = "1"
STOP_HERE_KEY = "2"
ANSWER_LEFT_OUT_KEY = "1"
EXIT_COMPLETED = 0
# The shell's code for a run ended by Ctrl-C, which is what quitting part-way amounts to.
EXIT_CANCELLED = 130

ReadLine = Callable[[Text], str]
Prompting = AskQuestion | OfferStop


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


def translate_offer(entry: str, last_question_id: str) -> Event:
    """The event a typed line stands for at the offer to stop; `last_question_id` is the question Back
    returns to. Raises Refusal with what to type instead."""
    key = entry.strip().casefold()
    if key == QUIT_KEY:
        return Cancel()
    if key == BACK_KEY:
        return Back(last_question_id)
    if key == KEEP_GOING_KEY:
        return KeepGoing()
    if key == STOP_HERE_KEY:
        return StopHere()
    shown = f"{entry.strip()!r} is not a choice" if key else "No answer given"
    raise Refusal(
        f"{shown}: type {KEEP_GOING_KEY} to keep going, {STOP_HERE_KEY} to stop here, {BACK_KEY} to go "
        f"back or {QUIT_KEY} to quit."
    )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def length_lines(bank: QuestionBank, mode: AskingMode) -> list[str]:
    """How long this run is, in the words every front end uses, and where it may stop."""
    if mode is AskingMode.FULL:
        return [f"{sentence(full_length(bank))}: every question that applies is asked."]
    lines = [
        f"{sentence(length(bank))}: only the questions that can still change a level are asked "
        "(--full asks every one)."
    ]
    settled = settled_after(bank)
    if settled is not None:
        lines.append(
            f"Your overall level is usually settled {settled}; you may stop there or go on for every "
            "dimension's level."
        )
    return lines


def show_introduction(console: Console, bank: QuestionBank, mode: AskingMode = AskingMode.ADAPTIVE) -> None:
    console.rule(Text(bank.title, style="bold"))
    for line in length_lines(bank, mode):
        console.print(Text(line, style="bold"))
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
    console.print(Text(progress_line(ask.number, ask.total, ask.total_is_exact), style="cyan"))
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


def names_and(names: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C" """
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def settled_text(bank: QuestionBank, offer: OfferStop) -> str:
    """ "Your overall level is settled: 2 · Repeatable / Automated — Monitoring & Governance holds it." """
    level = f"{offer.overall_level} · {bank.level_info(offer.overall_level).name}"
    if not offer.holding:
        return f"Your overall level is settled: {level}."
    verb = "holds" if len(offer.holding) == 1 else "hold"
    return f"Your overall level is settled: {level} — {names_and(offer.holding)} {verb} it."


def show_offer(console: Console, bank: QuestionBank, offer: OfferStop) -> None:
    console.print()
    console.rule(Text("Overall level settled", style="bold magenta"))
    console.print(Text(settled_text(bank, offer), style="bold"))
    verb = "is" if offer.at_most_left == 1 else "are"
    console.print(
        Text(
            f"At most {plural(offer.at_most_left, 'question')} {verb} left for every dimension's level and "
            "Next Steps."
        )
    )
    console.print()
    console.print(Text(f"    {KEEP_GOING_KEY}  Keep going"))
    console.print(Text(f"    {STOP_HERE_KEY}  Stop here and see the report"))
    console.print(Text(f"        {BACK_KEY} = back  ·  {QUIT_KEY} = quit", style="dim"))


def answer_prompt(ask: AskQuestion) -> Text:
    return Text(f"Your answer [1-{len(choices(ask.question))}]: ", style="bold")


OFFER_PROMPT = Text(f"Keep going or stop [{KEEP_GOING_KEY}-{STOP_HERE_KEY}]: ", style="bold")
LEFT_OUT_ENDING = "now, or press Enter to finish: "


def left_out_text(left_out: int, outcomes: int) -> str:
    """ "the 25 questions left out and 4 about delivery outcomes": what a full run after an adaptive one
    asks, since an adaptive run asks no outcome question (none is scored)."""
    about = f" and {outcomes} about delivery outcomes" if outcomes else ""
    return f"the {plural(left_out, 'question')} left out{about}"


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
    mode: AskingMode = AskingMode.ADAPTIVE,
) -> int:
    """Ask the questions of `bank` (in an adaptive run, those that can still change a level, with the offer
    to stop once the overall level is settled), then print the report (and hand it to `on_report`); offer
    to answer the questions it left out, and if they are answered print the report again. Returns the
    process exit code."""
    read = read_line or _console_reader(console)
    show_introduction(console, bank, mode)
    conversation = Conversation.new(bank, mode, offer_stop=mode is AskingMode.ADAPTIVE)
    transition = _converse(console, bank, advance(conversation, Start(), bank), read)
    if isinstance(transition.prompt, ShowCancelled):
        error_console.print(f"Assessment cancelled: {transition.prompt.answered_text}; nothing was saved.")
        return EXIT_CANCELLED
    report = _reported(console, transition, on_report)
    if build_view(report).not_asked_text is not None:
        _answer_the_left_out(bank, console, error_console, read, on_report, transition.state, report)
    return EXIT_COMPLETED


def _answer_the_left_out(
    bank: QuestionBank,
    console: Console,
    error_console: Console,
    read: ReadLine,
    on_report: Callable[[Report], None] | None,
    finished: Conversation,
    report: Report,
) -> None:
    """Offer a full run seeded with the answers of `finished`, which asks only what it did not, and print
    its report if it is completed; quitting it keeps `report`, already printed."""
    seeded = Conversation.new(bank, AskingMode.FULL, answers=finished.answers)
    remaining = questions_to_ask(bank, seeded.answers, AskingMode.FULL)
    outcomes = sum(isinstance(question, OutcomeQuestion) for question in remaining)
    left_out = left_out_text(len(remaining) - outcomes, outcomes)
    if not _wants_the_left_out(console, read, left_out):
        return
    console.print()
    console.print(
        Text(
            f"{sentence(left_out)}, in the bank's order; your earlier answers stand. {QUIT_KEY} stops and "
            "keeps the report above.",
            style="bold",
        )
    )
    completed = _converse(console, bank, advance(seeded, Start(), bank), read)
    if isinstance(completed.prompt, ShowCancelled):
        error_console.print(
            f"Stopped before the questions left out were answered: {completed.prompt.answered_text}; "
            "the report above stands."
        )
        return
    _reported(console, completed, on_report)


def _reported(console: Console, transition: Transition, on_report: Callable[[Report], None] | None) -> Report:
    if not isinstance(transition.prompt, ShowReport):
        raise AssertionError(f"unexpected prompt {transition.prompt!r}")
    report = transition.prompt.report
    print_report(console, report)
    if on_report is not None:
        on_report(report)
    return report


def _converse(console: Console, bank: QuestionBank, transition: Transition, read: ReadLine) -> Transition:
    """Show each prompt and read the person's answers until the run is finished."""
    while isinstance(transition.prompt, AskQuestion | OfferStop):
        if isinstance(transition.prompt, AskQuestion):
            show_question(console, bank, transition.prompt)
        else:
            show_offer(console, bank, transition.prompt)
        transition = _next_transition(console, bank, transition, read)
    return transition


def _event(entry: str, prompt: Prompting, state: Conversation, bank: QuestionBank) -> Event:
    if isinstance(prompt, AskQuestion):
        return translate(entry, prompt)
    # Back from the offer returns to the question answered last, the last one shown.
    return translate_offer(entry, bank.questions[state.asked[-1]].id)


def _next_transition(console: Console, bank: QuestionBank, current: Transition, read: ReadLine) -> Transition:
    """Read until a line the conversation accepts; ending the input or Ctrl-C cancels."""
    prompt = current.prompt
    assert isinstance(prompt, AskQuestion | OfferStop)
    while True:
        try:
            entry = read(answer_prompt(prompt) if isinstance(prompt, AskQuestion) else OFFER_PROMPT)
        except (EOFError, KeyboardInterrupt):
            console.print()
            return advance(current.state, Cancel(), bank)
        try:
            return advance(current.state, _event(entry, prompt, current.state, bank), bank)
        except Refusal as refusal:
            console.print(Text(refusal.message, style="yellow"))
        except InvalidEvent as error:
            console.print(Text(str(error), style="yellow"))


def _wants_the_left_out(console: Console, read: ReadLine, left_out: str) -> bool:
    """Whether the person asks for the questions the report left out; ending the input declines."""
    prompt = Text(f"Type {ANSWER_LEFT_OUT_KEY} to answer {left_out} {LEFT_OUT_ENDING}", style="bold")
    while True:
        try:
            entry = read(prompt).strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return False
        if entry == "":
            return False
        if entry == ANSWER_LEFT_OUT_KEY:
            return True
        console.print(
            Text(
                f"{entry!r} is not a choice: type {ANSWER_LEFT_OUT_KEY} to answer them, or press Enter "
                "to finish.",
                style="yellow",
            )
        )
