"""`mlops-compass-playground --workshop`: a live team workshop in #general, you facilitating it.

You type `/mlops-compass workshop`, the app opens the workshop and posts each question in the thread of
its message. Four simulated teammates vote on each question shortly after it appears, each as a click on
its Vote button, and the question's message shows every vote with the voter's name, as Slack shows it.
You vote too, then settle the question: with the team's answer, or as another option from the "Settle
as…" menu (or skip it, go back, pause). At the end the app posts the team's report, with where the team
disagreed and what nobody knew in its thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bot.engine import workshop as rules
from bot.engine.answers import Answer, DontKnow, OptionChoice
from bot.engine.bank import AskedQuestion, ContextQuestion, QuestionBank
from bot.slack.workshop_blocks import SETTLE_ACTION, SETTLE_AS_ACTION, VOTE_ACTION, WorkshopButton
from playground.demo import QUIT_MESSAGE, demo_answers, read_choice
from playground.fakeslack.workspace import Button, SlackUser, buttons_of
from playground.screen import EXIT_OK, EXIT_QUIT, EXIT_USAGE, render_message, render_mrkdwn

# The short bank keeps a workshop to a few questions; --bank picks another.
WORKSHOP_BANK = "pulse"
# How long after a question appears, and after each other, the simulated teammates vote.
TEAMMATE_PAUSE_SECONDS = 0.3
WAIT_SECONDS = 30.0
# (name, how they lean): the simulated teammates' personas, in the order they vote.
PERSONAS = (
    ("ava", "votes the team's usual view"),
    ("ben", "now and then a rung more hopeful"),
    ("cho", "often a rung lower than the rest"),
    ("dev", "sometimes doesn't know"),
)

# What the person at the terminal (or the demo in their place) does at each step: their vote, and their
# step as facilitator, from the controls numbered as the question's message shows them.
Voter = Callable[[AskedQuestion, list[tuple[Answer, str]]], Answer | None]
Settler = Callable[[list[Button]], Button | None]


def team_view(question: AskedQuestion, answers: dict[str, Answer]) -> Answer:
    """The answer the built-in demo team gives, which the teammates' votes spread around."""
    return answers.get(question.id, DontKnow())


def teammate_vote(number: int, position: int, question: AskedQuestion, view: Answer) -> Answer:
    """Teammate `number`'s vote on the workshop's `position`th question (from 1), by their persona in
    PERSONAS: so most questions split a little, and some are left to Don't know."""
    top = len(question.options) - 1
    if number == 1 and position % 3 == 2 and isinstance(view, OptionChoice):
        return OptionChoice(min(top, view.index + 1))
    if number == 1 and not isinstance(view, OptionChoice):
        return OptionChoice(top // 2)  # he thinks he knows
    if number == 2 and position % 3 != 0 and not isinstance(question, ContextQuestion):
        lower = view.index - 1 if isinstance(view, OptionChoice) else 0
        return OptionChoice(max(0, lower))
    if number == 3 and position % 3 == 1:
        return DontKnow()
    return view


@dataclass(frozen=True)
class Teammate:
    user: SlackUser
    number: int  # their place in PERSONAS


def _block_ids(message: dict[str, Any]) -> set[str]:
    return {str(b.get("block_id", "")) for b in message.get("blocks") or []}


def _workshop_message(user: SlackUser) -> dict[str, Any] | None:
    """The workshop's own message in the channel (its questions are in its thread)."""
    for message in reversed(user.fake.messages(user.channel_id)):
        if {"title", "open"} <= _block_ids(message) and not message.get("thread_ts"):
            found: dict[str, Any] = message
            return found
    return None


def _open_question(user: SlackUser, thread_ts: str) -> dict[str, Any] | None:
    """The question open in the workshop's thread: the newest message there with the facilitator's
    controls (a settled question's message has none)."""
    for message in reversed(user.fake.messages(user.channel_id)):
        if message.get("thread_ts") == thread_ts and "controls" in _block_ids(message):
            found: dict[str, Any] = message
            return found
    return None


def _followed(user: SlackUser, thread_ts: str, settled_ts: str) -> bool:
    """Whether what follows a settled question is there: another open question, or the report."""
    following = _open_question(user, thread_ts)
    return (following is not None and following["ts"] != settled_ts) or _report(user) is not None


def _report(user: SlackUser) -> dict[str, Any] | None:
    for message in reversed(user.fake.messages(user.channel_id)):
        if "workshop-title" in _block_ids(message):
            found: dict[str, Any] = message
            return found
    return None


def _in_thread_of(user: SlackUser, ts: str) -> dict[str, Any] | None:
    return next((m for m in user.fake.messages(user.channel_id) if m.get("thread_ts") == ts), None)


def _current(user: SlackUser, ts: str) -> dict[str, Any] | None:
    return next((m for m in user.fake.messages(user.channel_id) if m["ts"] == ts), None)


def _wait_for(check: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout}s for {what}")
        time.sleep(0.02)
    return found


def vote_buttons(message: dict[str, Any], bank: QuestionBank) -> list[tuple[Answer, str, Button]]:
    """The question's Vote buttons (one beside each option), with the answer and the label of each."""
    found = []
    for block in message.get("blocks") or []:
        accessory = block.get("accessory") or {}
        if not str(accessory.get("action_id", "")).startswith(VOTE_ACTION):
            continue
        carried = WorkshopButton.decode(accessory["value"])
        if carried.answer is None:
            continue
        label = rules.answer_label(bank.question(carried.question_id), carried.answer)
        button = Button(accessory["action_id"], block["block_id"], accessory["value"], f"Vote: {label}")
        found.append((carried.answer, label, button))
    return found


def settle_menu(message: dict[str, Any]) -> list[Button]:
    """The options of the question's "Settle as…" menu, each as something to choose once."""
    found = []
    for block in message.get("blocks") or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") != SETTLE_AS_ACTION:
                continue
            found += [
                Button(
                    SETTLE_AS_ACTION,
                    block.get("block_id", ""),
                    option["value"],
                    f"Settle as… {option['text']['text']}",
                    element_type="static_select",
                )
                for option in element.get("options", [])
            ]
    return found


def _question_of(message: dict[str, Any], bank: QuestionBank) -> AskedQuestion | None:
    votes = vote_buttons(message, bank)
    if not votes:
        return None
    return bank.question(WorkshopButton.decode(votes[0][2].value).question_id)


def _show(console: Console, user: SlackUser, message: dict[str, Any], title: str) -> None:
    text, _ = render_message(message, user.fake)
    console.print(Panel(text, title=title, title_align="left", border_style="green"))


def cast_vote(
    user: SlackUser, message: dict[str, Any], answer: Answer, bank: QuestionBank
) -> Callable[[], bool]:
    """Click the Vote button beside `answer`: whether the message shows the vote with a name yet. The app
    shows new votes at most once a window, so the votes of several people are waited for together."""
    button = next(b for a, _, b in vote_buttons(message, bank) if a == answer)
    user.click(message, button, channel_id=user.channel_id)
    mention = f"<@{user.user_id}>"

    def shown() -> bool:
        now = _current(user, message["ts"])
        return now is not None and any(
            mention in str(block.get("text", {}).get("text", ""))
            for block in now.get("blocks") or []
            if str(block.get("block_id", "")).startswith("option-")
            and str(block.get("accessory", {}).get("value", "")) == button.value
        )

    return shown


def ask_vote(console: Console) -> Voter:
    """The person's vote: one of the question's options by its number."""

    def vote(question: AskedQuestion, offered: list[tuple[Answer, str]]) -> Answer | None:
        menu = Text("Your vote:\n")
        for number, (_, label) in enumerate(offered, start=1):
            menu.append(f"  [{number}] ", style="bold cyan")
            menu.append(f"{label}\n")
        menu.rstrip()
        console.print(menu)
        choice = read_choice(console, len(offered))
        return None if choice is None or isinstance(choice, str) else offered[choice][0]

    return vote


def ask_settle(console: Console) -> Settler:
    """The facilitator's step: a control of the question's message (Team answer, Skip, Back, Pause or
    Resume) or an option of its "Settle as…" menu, by number; Enter takes the team's answer."""

    def settle(controls: list[Button]) -> Button | None:
        team = next((b for b in controls if b.action_id == SETTLE_ACTION), None)
        keys = {"": "Enter = the team's answer"} if team is not None else {}
        choice = read_choice(console, len(controls), keys)
        if choice is None:
            return None
        return team if choice == "" else controls[int(choice)]

    return settle


def vote_as_the_team(answers: dict[str, Answer]) -> Voter:
    """The demo's vote: the demo team's answer to the question on show."""

    def vote(question: AskedQuestion, offered: list[tuple[Answer, str]]) -> Answer | None:
        return team_view(question, answers)

    return vote


def take_the_team_answer(controls: list[Button]) -> Button | None:
    return next((b for b in controls if b.action_id == SETTLE_ACTION), None)


def facilitator_controls(message: dict[str, Any]) -> list[Button]:
    """What the facilitator can choose on the question's message, numbered as shown: its buttons, then
    the "Settle as…" menu's options."""
    return buttons_of(message) + settle_menu(message)


def facilitator_view(message: dict[str, Any], user: SlackUser) -> Text:
    """The question's message as the playground draws it, with the menu's options numbered after its
    buttons."""
    text, buttons = render_message(message, user.fake)
    for number, option in enumerate(settle_menu(message), start=len(buttons) + 1):
        text.append(f"  [{number}] ", style="bold cyan")
        text.append(option.label + "\n")
    return text


def _wait_for_step(user: SlackUser, message: dict[str, Any], before: int) -> str | None:
    """Until the app changes the clicked message (None) or answers the click alone (its note)."""

    def reacted() -> str | bool:
        now = _current(user, message["ts"])
        if now is None or now.get("blocks") != message.get("blocks"):
            return True
        for call in user.fake.calls[before:]:
            if call.method == "response_url" and call.params.get("_id") == user.last_response_id:
                return str(call.params.get("text", "")) or True
        return False

    found = _wait_for(reacted, "the app's answer to the facilitator's step")
    return found if isinstance(found, str) else None


def play_question(
    console: Console,
    you: SlackUser,
    teammates: list[Teammate],
    bank: QuestionBank,
    message: dict[str, Any],
    position: int,
    vote: Voter,
    settle: Settler,
) -> int | None:
    """One question: the teammates vote, you vote, you settle. An exit code when you quit."""
    question = _question_of(message, bank)
    if question is None:
        console.print("The workshop's open question offers no Vote buttons.", style="red")
        return EXIT_USAGE
    _show(console, you, message, "#general · thread")
    view = team_view(question, demo_answers(bank))
    offered = [(answer, label) for answer, label, _ in vote_buttons(message, bank)]
    labels = dict(offered)
    votes_shown = []
    for mate in teammates:
        time.sleep(TEAMMATE_PAUSE_SECONDS)
        answer = teammate_vote(mate.number, position, question, view)
        votes_shown.append(cast_vote(mate.user, _current(you, message["ts"]) or message, answer, bank))
        console.print(render_mrkdwn(f"<@{mate.user.user_id}> voted: *{labels[answer]}*", "dim", you.fake))
    _wait_for(lambda: all(shown() for shown in votes_shown), "the teammates' votes on the question's message")
    mine = vote(question, offered)
    if mine is None:
        console.print(QUIT_MESSAGE, style="yellow")
        return EXIT_QUIT
    console.print(f"→ you voted: {labels[mine]}", style="bold")
    _wait_for(
        cast_vote(you, _current(you, message["ts"]) or message, mine, bank),
        "your vote on the question's message",
    )
    while True:
        shown = _current(you, message["ts"]) or message
        if "controls" not in _block_ids(shown):
            return None  # settled, skipped, or left by Back: the next open question follows
        console.print(
            Panel(
                facilitator_view(shown, you),
                title="#general · thread: you facilitate",
                title_align="left",
                border_style="green",
            )
        )
        step = settle(facilitator_controls(shown))
        if step is None:
            console.print(QUIT_MESSAGE, style="yellow")
            return EXIT_QUIT
        console.print(f"→ {step.label}", style="bold")
        before = len(you.fake.calls)
        you.click(shown, step, channel_id=you.channel_id)
        note = _wait_for_step(you, shown, before)
        if note:
            console.print(render_mrkdwn(note, "yellow", you.fake))
        settled = _current(you, message["ts"]) or {}
        outcome = next((b for b in settled.get("blocks") or [] if b.get("block_id") == "settled"), None)
        if outcome is not None:
            console.print(render_mrkdwn(outcome["elements"][0]["text"], "green", you.fake))


def play_workshop(
    console: Console,
    you: SlackUser,
    teammates: list[Teammate],
    bank: QuestionBank,
    vote: Voter,
    settle: Settler,
) -> int:
    """The whole workshop: opened by your command, question after question, then the team's report."""
    console.print(
        Panel(f"You typed [bold]/mlops-compass workshop {bank.id}[/] in [bold]#general[/]", style="cyan")
    )
    acknowledged = you.command(f"workshop {bank.id}")
    if not acknowledged.acked:
        console.print(f"The app refused the command: {acknowledged.status} {acknowledged.body}", style="red")
        return EXIT_USAGE
    parent = _wait_for(lambda: _workshop_message(you), "the workshop's message")
    _show(console, you, parent, "#general")
    names = ", ".join(f"@{mate.user.user_name} ({PERSONAS[mate.number][1]})" for mate in teammates)
    console.print(
        f"{len(teammates)} simulated teammates vote on each question shortly after it appears: {names}. "
        "You vote too, and settle each question as its facilitator.",
        style="dim",
    )
    asked: list[str] = []
    while True:
        found = _wait_for(
            lambda: _open_question(you, parent["ts"]) or _report(you), "the next question or the report"
        )
        if "workshop-title" in _block_ids(found):
            break
        asked.append(found["ts"])
        code = play_question(console, you, teammates, bank, found, len(asked), vote, settle)
        if code is not None:
            return code
        _wait_for(partial(_followed, you, parent["ts"], found["ts"]), "what follows the settled question")
    report = found
    _show(console, you, report, "#general")
    agenda = _wait_for(lambda: _in_thread_of(you, report["ts"]), "where the team disagreed")
    _show(console, you, agenda, "#general · thread")
    console.print(
        f"The workshop asked {len(asked)} question(s), each voted on by {len(teammates) + 1} people "
        "whose names were shown with their votes.",
        style="dim",
    )
    return EXIT_OK
