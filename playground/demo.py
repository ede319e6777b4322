"""The playground's assessment: the real Slack app, a fake workspace, and you in the terminal.

The app runs exactly as `mlops-compass serve --memory` runs it (`serve --socket --memory` with
`--socket`). The fake workspace is the project's own Slack Web API stand-in; what the bot posts there is
rendered here as text, its buttons become numbered choices, and every choice goes to the app as Slack
sends it: a request signed the way Slack signs it, or an envelope over the app's Socket Mode connection.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from bot.engine.answers import Answer, DontKnow, OptionChoice, encode_answer
from bot.engine.bank import ContextQuestion, OutcomeQuestion, QuestionBank
from bot.engine.history import day
from bot.engine.overview import length
from bot.slack.values import BACK_ACTION, CANCEL_ACTION, KEEP_GOING_ACTION
from bot.terminal.interactive import BACK_KEY, QUIT_KEY
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import AppProcess, app_process
from playground.fakeslack.workspace import (
    Acknowledgement,
    Button,
    HttpTransport,
    SlackUser,
    SocketModeTransport,
    Transport,
    buttons_of,
)
from playground.screen import EXIT_OK, EXIT_QUIT, EXIT_USAGE, Names, render_message, render_mrkdwn

CHANNEL = "C0GENERAL"
CHANNEL_NAME = "general"
PLAYER = "U0PLAYER"
QUIT_MESSAGE = "Left the playground; its fake workspace and in-process state end with it."

Chooser = Callable[[dict[str, Any], list[Button]], Button | None]
DEFAULT_CHART = Path(tempfile.gettempdir()) / "mlops-compass-playground-chart.png"
CHART_WAIT_SECONDS = 20
# Thirteen weeks: the demo's second assessment comes this long after its first.
A_QUARTER = 91 * 24 * 3600
# Simulated teammates for `--team`: (user id, name). Their names never reach the team report.
TEAMMATES = (("U0TEAMAVA", "ava"), ("U0TEAMBEN", "ben"), ("U0TEAMCHO", "cho"), ("U0TEAMDEV", "dev"))
RUN_HEADER = "Team MLOps assessment"
TEAM_REPORT_HEADER = "Team MLOps maturity report"


def demo_answers(bank: QuestionBank) -> dict[str, Answer]:
    """A team without LLM features that does the basics well and the advanced practices less, that
    ships confidently but fails one production-safety gate, and that cannot answer another: so the demo
    report shows a gate holding a dimension back, a level range, a "Find out" item and ranked steps."""
    gates = sorted((q for q in bank.practices if q.gate), key=lambda q: q.level)
    skipped_gate = gates[0] if gates else None
    answers: dict[str, Answer] = {}
    for question in bank.questions:
        best = len(question.options) - 1
        if isinstance(question, ContextQuestion):
            answers[question.id] = OptionChoice(0)
        elif isinstance(question, OutcomeQuestion):
            answers[question.id] = OptionChoice(best // 2)
        else:
            strong = skipped_gate is not None and question.dimension == skipped_gate.dimension
            answers[question.id] = OptionChoice(best if strong else max(0, best - question.level + 1))
    if skipped_gate is not None:
        answers[skipped_gate.id] = OptionChoice(0)
    unknown = next(
        (g for g in reversed(gates) if g.dimension != getattr(skipped_gate, "dimension", None)), None
    )
    if unknown is not None:
        answers[unknown.id] = DontKnow()
    return answers


def demo_answers_later(bank: QuestionBank) -> dict[str, Answer]:
    """The demo team a quarter later: it fixed the failing gate, found out what it did not know, and moved
    every other practice one option up, so the second report shows what changed."""
    answers = demo_answers(bank)
    later: dict[str, Answer] = {}
    for question in bank.questions:
        answer = answers[question.id]
        best = len(question.options) - 1
        if isinstance(question, ContextQuestion):
            later[question.id] = answer
        elif isinstance(answer, OptionChoice):
            later[question.id] = OptionChoice(best if answer.index == 0 else min(best, answer.index + 1))
        else:
            later[question.id] = OptionChoice(best)
    return later


def teammate_answers(bank: QuestionBank, number: int) -> dict[str, Answer]:
    """A teammate who sees the demo team a little differently: most answers the same or one option better,
    but the first two teammates rate the production-safety gates far better than the demo team does, and
    two teammates know the answer the demo team does not. So the team report has a few disagreements to
    show, and something most of the team is unsure of."""
    answers = demo_answers(bank)
    gates = {q.id for q in bank.practices if q.gate}
    for position, question in enumerate(bank.questions):
        base = answers.get(question.id)
        best = len(question.options) - 1
        if isinstance(question, ContextQuestion):
            continue
        if not isinstance(base, OptionChoice):
            if number >= 2:
                answers[question.id] = OptionChoice(1)
            continue
        if question.id in gates and number < 2 and base.index <= best - 2:
            answers[question.id] = OptionChoice(best)
        else:
            answers[question.id] = OptionChoice(min(best, base.index + (number + position) % 2))
    return answers


def member(
    fake: FakeSlack, transport: Transport, name: str, user_id: str = PLAYER, team_id: str | None = None
) -> SlackUser:
    """Someone in #general of the fake workspace (`team_id`, unless the fake's own), whose mentions read
    @`name` as in a Slack client."""
    fake.set_user(user_id, name=name)
    fake.set_channel_name(CHANNEL, CHANNEL_NAME)
    return SlackUser(
        fake, transport, user_id, name, channel_id=CHANNEL, channel_name=CHANNEL_NAME, team_id=team_id
    )


def answer_from(answers: dict[str, Answer], at_the_offer: str = KEEP_GOING_ACTION) -> Chooser:
    """Answers from `answers`; at the offer to stop once the overall level is settled, `at_the_offer`
    (keep going, or stop here)."""

    def choose(message: dict[str, Any], buttons: list[Button]) -> Button | None:
        offered = next((b for b in buttons if b.action_id == at_the_offer), None)
        if offered is not None:
            return offered
        question_id = _question_on(buttons)
        answer = answers.get(question_id, DontKnow()) if question_id is not None else DontKnow()
        wanted = encode_answer(answer)
        return next(b for b in buttons if b.action_id.startswith("answer") and _value(b).get("a") == wanted)

    return choose


QUIT_KEYS = (QUIT_KEY, "quit")


def read_choice(console: Console, count: int, keys: Mapping[str, str] | None = None) -> int | str | None:
    """What the person picks: a number from 1 to `count` (as an index from 0), one of `keys` as typed
    (each key mapped to its hint in the prompt; "" is Enter), or None when they quit (q, or the end of
    input). Anything else is refused with what to type instead, and asked again."""
    keys = keys or {}
    choices = " · ".join([f"1–{count}", *keys.values(), f"{QUIT_KEY} = quit"])
    while True:
        try:
            entry = console.input(f"[bold]Your choice ({escape(choices)}):[/] ").strip().casefold()
        except EOFError:
            return None
        if entry in QUIT_KEYS:
            return None
        if entry in keys:
            return entry
        if entry.isdecimal() and 1 <= int(entry) <= count:
            return int(entry) - 1
        shown = f"{entry!r} is not a choice" if entry else "No choice given"
        console.print(f"{shown}. The choices: {choices}", style="yellow", markup=False)


def ask_bank(console: Console, banks: Sequence[QuestionBank]) -> QuestionBank | None:
    """The playground's first screen: the banks to choose from, shortest first (the quarterly pulse before
    the full assessment); Enter takes the first. None when the person quits."""
    offered = sorted(banks, key=lambda bank: (bank.estimated_minutes, bank.id))
    if len(offered) == 1:
        return offered[0]
    menu = Text("The real MLOps Compass app, in a fake Slack workspace: its messages are shown here as ")
    menu.append("text and its buttons become numbered choices.\n\nWhich assessment would you like to take?\n")
    for number, bank in enumerate(offered, start=1):
        menu.append(f"  [{number}] ", style="bold cyan")
        menu.append(bank.title, style="bold")
        menu.append(f": {length(bank)}\n")
    menu.rstrip()
    console.print(Panel(menu, title="mlops-compass-playground", title_align="left", border_style="cyan"))
    choice = read_choice(console, len(offered), {"": "Enter = 1"})
    if choice is None:
        return None
    return offered[0 if choice == "" else int(choice)]


def ask_person(console: Console) -> Chooser:
    """The person at the terminal, with the keys `mlops-compass assess` takes besides the numbers: b for
    the question's Back button, Enter for the answer already chosen (✓), q to quit."""

    def choose(message: dict[str, Any], buttons: list[Button]) -> Button | None:
        keys: dict[str, tuple[Button, str]] = {}
        kept = next((button for button in buttons if button.chosen), None)
        if kept is not None:
            keys[""] = (kept, "Enter keeps ✓")
        back = next((button for button in buttons if button.action_id == BACK_ACTION), None)
        if back is not None:
            keys[BACK_KEY] = (back, f"{BACK_KEY} = back")
        choice = read_choice(console, len(buttons), {key: hint for key, (_, hint) in keys.items()})
        if choice is None:
            return None
        return keys[choice][0] if isinstance(choice, str) else buttons[choice]

    return choose


def _value(button: Button) -> dict[str, Any]:
    try:
        value = json.loads(button.value)
        return value if isinstance(value, dict) else {}
    except ValueError:
        return {}


def _question_on(buttons: list[Button]) -> str | None:
    return next((_value(b).get("q") for b in buttons if b.action_id.startswith("answer")), None)


@contextmanager
def playground_app(
    fake: FakeSlack,
    signing_secret: str,
    bank_id: str,
    banks_dir: Path,
    socket_mode: bool = False,
    oauth: Mapping[str, str] | None = None,
) -> Iterator[tuple[AppProcess, Transport]]:
    """The app in a child process, and how the fake workspace reaches it. With `oauth` (the OAuth
    settings) it has no bot token of its own: each workspace's comes from its installation."""
    env = {
        "BANKS_DIR": str(banks_dir),
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_API_URL": fake.base_url,
        "DEFAULT_BANK": bank_id,
        "LOG_LEVEL": "WARNING",
        **(oauth if oauth is not None else {"SLACK_BOT_TOKEN": "xoxb-playground"}),
    }
    if socket_mode:
        env["SLACK_APP_TOKEN"] = "xapp-1-playground"
        with app_process(env, memory=True, socket_mode_ready=lambda: fake.socket_mode.connected) as app:
            yield app, SocketModeTransport(fake.socket_mode)
    else:
        with app_process(env, memory=True) as app:
            yield app, HttpTransport(app.events_url, signing_secret)


def answer_questions(
    user: SlackUser, choose: Chooser, console: Console | None = None, ago: float = 0.0
) -> int | None:
    """Answer the questions in `user`'s DM, and the offer to stop, until none is left; an exit code when
    they quit or cancel. With a console each is shown; without one (a simulated teammate) it runs
    silently. Slack dates each click `ago` seconds back."""
    while (question := user.awaiting()) is not None:
        text, buttons = render_message(question, user.fake)
        if console is not None:
            _show_dm(console, text)
        button = choose(question, buttons)
        if button is None:
            if console is not None:
                console.print(QUIT_MESSAGE, style="yellow")
            return EXIT_QUIT
        if console is not None:
            console.print(f"→ {button.label}", style="bold")
        before = len(user.fake.calls)
        user.click(question, button, clicked_at=time.time() - ago)
        note = wait_for_reply(user, question, before)
        if note and console is not None:
            console.print(render_mrkdwn(note, "yellow", user.fake))
        if button.action_id == CANCEL_ACTION:
            if console is not None:
                # Unless the app answered the click alone, what it put in place of the question says what
                # the cancel did, and how to start again.
                edited = (
                    None if note else next((m for m in user.dm_messages() if m["ts"] == question["ts"]), None)
                )
                if edited is not None:
                    _show_dm(console, render_message(edited, user.fake)[0])
                console.print(QUIT_MESSAGE, style="yellow")
            return EXIT_QUIT
    return None


def _show_dm(console: Console, text: Text) -> None:
    console.print(Panel(text, title="DM from MLOps Compass", title_align="left", border_style="blue"))


def wait_for_reply(
    user: SlackUser, message: dict[str, Any], before: int, timeout: float = 15.0
) -> str | None:
    """Until the app edits `message` in `user`'s DM (None) or answers this click alone (its text). Others'
    clicks may land meanwhile, so only this user's message and this click's response URL count."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = next((m for m in user.dm_messages() if m["ts"] == message["ts"]), None)
        if now is None or now.get("blocks") != message.get("blocks"):
            return None
        for call in user.fake.calls[before:]:
            if call.method == "response_url" and call.params.get("_id") == user.last_response_id:
                return str(call.params.get("text", ""))
        time.sleep(0.01)
    raise TimeoutError(f"the app did not answer {user.user_name}'s click within {timeout}s")


def play(
    console: Console, user: SlackUser, choosers: Sequence[Chooser], chart_path: Path | None = None
) -> int:
    """One assessment per chooser, in a row, a quarter apart: the fake workspace dates the clicks of each
    but the last a quarter before the next, so each report compares with one a quarter earlier. Then the
    last report's chart is written to `chart_path`."""
    chart: bytes | None = None
    for number, choose in enumerate(choosers, start=1):
        ago = (len(choosers) - number) * A_QUARTER
        if len(choosers) > 1:
            when = (
                ": the same team a quarter later"
                if number > 1
                else f": a quarter ago (the fake workspace dates these clicks {day(time.time() - ago)})"
            )
            console.rule(Text(f"Assessment {number} of {len(choosers)}{when}", style="bold cyan"))
        before = len(user.fake.calls)
        code = play_round(console, user, choose, ago)
        if code != EXIT_OK:
            return code
        chart = _shared_chart(console, user, before) or chart
    if chart_path is not None and chart is not None:
        chart_path.write_bytes(chart)
        console.print(
            f"The chart of the last report is in {chart_path.resolve()} ({len(chart)} bytes).", style="bold"
        )
    return EXIT_OK


def _shared_chart(console: Console, user: SlackUser, after: int) -> bytes | None:
    """The chart the app shared under the report, as it reached the fake Slack's upload URL."""
    try:
        shared = user.fake.wait_for(
            "files.completeUploadExternal", lambda c: c.ok, after=after, timeout=CHART_WAIT_SECONDS
        )
    except AssertionError:
        console.print("The app shared no chart with this report.", style="yellow")
        return None
    file_id = json.loads(shared.params["files"])[0]["id"]
    found = next((f for f in user.fake.uploaded_files() if f.id == file_id), None)
    if found is None or found.data is None:
        return None
    console.print(
        render_mrkdwn(f":bar_chart: Chart shared under the report: {found.title}", "dim", user.fake)
    )
    return found.data


def play_round(console: Console, user: SlackUser, choose: Chooser, ago: float = 0.0) -> int:
    console.print(Panel("You typed [bold]/mlops-compass[/] in [bold]#general[/]", style="cyan"))
    before = len(user.fake.calls)
    acknowledged = user.command("")
    if not acknowledged.acked:
        console.print(f"The app refused the command: {acknowledged.status} {acknowledged.body}", style="red")
        return EXIT_USAGE
    console.print(render_mrkdwn(acknowledged.text, "dim", user.fake))
    # The acknowledgement only says "one moment"; what happened follows as a message of its own.
    outcome = user.fake.wait_for("response_url", after=before, timeout=15)
    console.print(render_mrkdwn(outcome.params.get("text", ""), "dim", user.fake))
    if user.current_question() is None:
        return EXIT_USAGE
    quit_code = answer_questions(user, choose, console, ago)
    if quit_code is not None:
        return quit_code
    # The report reaches the channel just after the DM copy, its details as a reply in the thread under it.
    posted = user.fake.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == user.channel_id, after=before
    )
    text, _ = render_message(posted.params, user.fake)
    console.print(Panel(text, title="#general", title_align="left", border_style="green"))
    # This report's own thread: an earlier round's report has one in the same channel.
    reply = user.fake.wait_for(
        "chat.postMessage",
        lambda c: (
            c.params.get("channel") == user.channel_id and c.params.get("thread_ts") == posted.response["ts"]
        ),
        after=before,
    )
    text, _ = render_message(reply.params, user.fake)
    console.print(Panel(text, title="#general · thread", title_align="left", border_style="green"))
    return EXIT_OK


def _channel_message(user: SlackUser, header: str) -> dict[str, Any] | None:
    """The newest message in the user's channel whose header starts with `header`."""
    for message in reversed(user.fake.messages(user.channel_id)):
        blocks = message.get("blocks") or []
        if blocks and blocks[0].get("type") == "header" and str(blocks[0]["text"]["text"]).startswith(header):
            found: dict[str, Any] = message
            return found
    return None


def _wait_for(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while (found := check()) is None or found is False:
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout}s for {what}")
        time.sleep(0.02)
    return found


def _click_on_run(user: SlackUser, label: str) -> None:
    message = _wait_for(lambda: _channel_message(user, RUN_HEADER), "the team run's message")
    button = next(b for b in buttons_of(message) if b.label == label)
    user.click(message, button, channel_id=user.channel_id)


def take_part(user: SlackUser) -> None:
    """Click Take part on the run's message and wait for the first question in the DM."""
    _click_on_run(user, "Take part")
    _wait_for(user.current_question, f"{user.user_name}'s first question")


def _show_channel(console: Console, user: SlackUser, message: dict[str, Any]) -> None:
    text, _ = render_message(message, user.fake)
    console.print(Panel(text, title="#general", title_align="left", border_style="green"))


def _shown_value(element: dict[str, Any], names: Names) -> str:
    option = element.get("initial_option")
    if isinstance(option, dict):
        return str(option["text"]["text"])
    if conversation := element.get("initial_conversation"):
        return f"#{names.channel_name(conversation) or conversation}"
    return str(element.get("initial_value") or element.get("initial_time") or "(empty)")


def submit_form_as_shown(console: Console, user: SlackUser) -> Acknowledgement:
    """The modal the command opened, shown as its fields with what they hold, and submitted that way."""
    modal = user.modal()
    fields = [
        f"{block['label']['text']}: [bold]{escape(_shown_value(block['element'], user.fake))}[/]"
        for block in modal["blocks"]
        if block.get("type") == "input"
    ]
    console.print(
        Panel(
            "\n".join(fields),
            title=f"Form: {modal['title']['text']}",
            title_align="left",
            border_style="cyan",
        )
    )
    console.print(f"You pressed [bold]{escape(modal['submit']['text'])}[/].", style="dim")
    return user.submit_view(modal)


def play_team(
    console: Console, you: SlackUser, choose: Chooser, teammates: list[tuple[SlackUser, Chooser]]
) -> int:
    """A team run in #general: you start it, your teammates answer in their DMs while you answer in yours,
    then you close it and the team report comes to the channel."""
    console.print(Panel("You typed [bold]/mlops-compass team[/] in [bold]#general[/]", style="cyan"))
    acknowledged = you.command("team")
    if not acknowledged.acked:
        console.print(f"The app refused the command: {acknowledged.status} {acknowledged.body}", style="red")
        return EXIT_USAGE
    submitted = submit_form_as_shown(console, you)
    if not submitted.acked or (submitted.payload or {}).get("response_action") == "errors":
        console.print(f"The app refused the form: {submitted.status} {submitted.body}", style="red")
        return EXIT_USAGE
    _show_channel(
        console, you, _wait_for(lambda: _channel_message(you, RUN_HEADER), "the team run's message")
    )
    failures: list[BaseException] = []

    def teammate(member: SlackUser, answers: Chooser) -> None:
        try:
            take_part(member)
            answer_questions(member, answers)
        except BaseException as error:  # reported below; a teammate must not end the playground silently
            failures.append(error)

    threads = [threading.Thread(target=teammate, args=pair, daemon=True) for pair in teammates]
    for thread in threads:
        thread.start()
    console.print(
        f"{len(teammates)} simulated teammates took part and answer in their own DMs while you answer in "
        "yours. Only you see your answers; the channel will see the team's aggregate.",
        style="dim",
    )
    take_part(you)
    quit_code = answer_questions(you, choose, console)
    if quit_code is not None:
        return quit_code
    for thread in threads:
        thread.join(timeout=60)
    if failures:
        console.print(f"A simulated teammate could not finish: {failures[0]}", style="red")
        return EXIT_USAGE
    everyone = f"*{len(teammates) + 1} answered*"

    def counted() -> dict[str, Any] | None:
        message = _channel_message(you, RUN_HEADER)
        return message if message is not None and everyone in json.dumps(message) else None

    _show_channel(console, you, _wait_for(counted, "the count of everyone's answers"))
    console.print(
        Panel("You started the run, so you may close it: [bold]Close & show results[/]", style="cyan")
    )
    _click_on_run(you, "Close & show results")
    _show_channel(
        console, you, _wait_for(lambda: _channel_message(you, TEAM_REPORT_HEADER), "the team report")
    )
    return EXIT_OK
