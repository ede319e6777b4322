"""`/mlops-compass …`: the one table of subcommands, each with its handler and its lines of help.

The command listener parses the payload once (payloads.SlashCommand) and `dispatch` routes it by its first
word; `help_message` is written from the same table, so what help lists is what the command does.
Answers that need no state go back in the acknowledgement itself; the others acknowledge first (Slack
waits 3 seconds at most) and the outcome follows as its own message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slack_bolt import Ack, Respond

from bot.engine.bank import QuestionBank
from bot.engine.catalog import UnknownBank
from bot.engine.overview import full_length, length
from bot.slack import blocks
from bot.slack.assessment import STARTING, AssessmentFlow, settled_clause
from bot.slack.blocks import COMMAND, escape
from bot.slack.history_blocks import forget_confirm_message
from bot.slack.history_flow import HistoryFlow
from bot.slack.modals import ModalFlow
from bot.slack.payloads import SlashCommand
from bot.slack.schedule import ScheduleFlow
from bot.slack.team import TeamFlow
from bot.slack.workshop import WorkshopFlow
from bot.usecases.team_runs import BadRunRequest, parse_run_request

STARTING_RUN = ":busts_in_silhouette: One moment: starting a team run in this channel…"
STARTING_WORKSHOP = ":busts_in_silhouette: One moment: starting an open team workshop in this channel…"
EXPORTING = ":inbox_tray: Preparing your export: the CSV file comes to our DM."
SHORTCUT_HELP = (
    "the shortcut *Start MLOps assessment* (in Slack's shortcuts menu) starts an assessment whose report "
    "stays in our DM"
)


@dataclass(frozen=True)
class Flows:
    """The flows a subcommand may hand over to; a subcommand whose flow is absent is not offered."""

    assessments: AssessmentFlow
    team: TeamFlow | None = None
    history: HistoryFlow | None = None
    schedules: ScheduleFlow | None = None
    modals: ModalFlow | None = None
    workshops: WorkshopFlow | None = None


Handler = Callable[[Flows, SlashCommand, Ack, Respond], None]


@dataclass(frozen=True)
class Subcommand:
    name: str
    handle: Handler
    # Help lines: (what follows the command, what it does); {banks}, {default} and the default bank's
    # {length}, {full_length} and {settled} (when its overall level is usually settled) are filled in.
    help: tuple[tuple[str, str], ...]
    available: Callable[[Flows], bool] = lambda flows: True
    # Typed with nothing after it, when the app has forms: open the subcommand's form instead.
    alone: Handler | None = None


# Handlers ------------------------------------------------------------------------------------------


def _help(flows: Flows, command: SlashCommand, ack: Ack, respond: Respond) -> None:
    catalog = flows.assessments.catalog
    ack(**help_message(catalog.banks, catalog.by_id(flows.assessments.default_bank)).as_kwargs())


def _banks(flows: Flows, command: SlashCommand, ack: Ack, respond: Respond) -> None:
    ack(**blocks.banks_message(flows.assessments.catalog.banks).as_kwargs())


FULL_WORD = "full"
START_USAGE = "start [full] [bank]"


class BadStart(ValueError):
    """`start …` with words that do not fit; the message says what would."""


@dataclass(frozen=True)
class StartRequest:
    bank_id: str | None
    full: bool  # every question that applies, not only those that can still change a level


def parse_start(words: Sequence[str]) -> StartRequest:
    """The words after `start`: `full` (every question), a bank id, both or neither, `full` first."""
    rest = list(words)
    full = bool(rest) and rest[0].lower() == FULL_WORD
    if full:
        rest.pop(0)
    if len(rest) > 1 or any(word.lower() == FULL_WORD for word in rest):
        shown = escape(" ".join(words))[:100]
        raise BadStart(
            f"I read `start {shown}` but expected `{START_USAGE}`, e.g. `start full` or `start full pulse`. "
            "Nothing was started."
        )
    return StartRequest(rest[0] if rest else None, full)


def _start(flows: Flows, command: SlashCommand, ack: Ack, respond: Respond) -> None:
    flow = flows.assessments
    try:
        request = parse_start(command.arguments)
    except BadStart as error:
        ack(text=str(error))
        return
    # Only an unknown bank is known at once; what else happens needs Redis and Slack, so the
    # acknowledgement promises nothing and the outcome follows as its own message.
    try:
        flow.catalog.by_id(request.bank_id or flow.default_bank)
    except UnknownBank as error:
        ack(text=escape(str(error)))
        return
    ack(text=STARTING)
    flow.start(
        command.team_id, command.user_id, command.channel_id, request.bank_id, respond, full=request.full
    )


def _resume(flows: Flows, command: SlashCommand, ack: Ack, respond: Respond) -> None:
    ack()
    flows.assessments.resume(command.team_id, command.user_id, respond)


def _cancel(flows: Flows, command: SlashCommand, ack: Ack, respond: Respond) -> None:
    ack()
    flows.assessments.cancel(command.team_id, command.user_id, respond)


def _team(flows: Flows, command: SlashCommand, ack: Ack, respond: Respond) -> None:
    assert flows.team is not None
    try:
        request = parse_run_request(command.arguments)
    except BadRunRequest as error:
        ack(text=escape(str(error)))
        return
    ack(text=STARTING_RUN)
    flows.team.start(command.team_id, command.user_id, command.channel_id, request, respond)


def _workshop(flows: Flows, command: SlashCommand, ack: Ack, respond: Respond) -> None:
    assert flows.workshops is not None
    if len(command.arguments) > 1:
        ack(text=f"I read `{escape(' '.join(command.arguments))}` but expected `workshop [bank]`.")
        return
    ack(text=STARTING_WORKSHOP)
    bank_id = command.arguments[0] if command.arguments else None
    flows.workshops.start(command.team_id, command.user_id, command.channel_id, bank_id, respond)


def _history(flows: Flows, command: SlashCommand, ack: Ack, respond: Respond) -> None:
    assert flows.history is not None
    ack()
    channel = command.arguments[0] if command.arguments else None
    flows.history.show_history(command.team_id, command.user_id, channel, respond)


def _export(flows: Flows, command: SlashCommand, ack: Ack, respond: Respond) -> None:
    assert flows.history is not None
    ack(text=EXPORTING)
    flows.history.export_requested(command, respond)


def _forget(flows: Flows, command: SlashCommand, ack: Ack, respond: Respond) -> None:
    if [word.lower() for word in command.arguments] == ["me"]:
        ack(**forget_confirm_message(command.user_id).as_kwargs())
    else:
        ack(text=f"To delete your data, type `{COMMAND} forget me`; I'll ask you to confirm first.")


def _schedule(flows: Flows, command: SlashCommand, ack: Ack, respond: Respond) -> None:
    assert flows.schedules is not None
    ack()
    flows.schedules.command(command.team_id, command.user_id, command.channel_id, command.rest, respond)


def _open_form(flows: Flows, command: SlashCommand, ack: Ack, respond: Respond) -> None:
    assert flows.modals is not None
    # Acknowledges and opens the form at once: the trigger id is good for 3 seconds.
    flows.modals.open_for_command(command, ack, respond)


def _unknown(command: SlashCommand, ack: Ack) -> None:
    shown = escape(" ".join(command.words))[:100]
    ack(
        text=f"I don't know `{shown}`. Try `{COMMAND}` to start, or `{COMMAND} help` for everything I can do."
    )


# The table -----------------------------------------------------------------------------------------

SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "start",
        _start,
        (
            (
                "",
                "start an assessment in a DM, asking only the questions that can still change a level "
                "({length}){settled}; the report comes back here",
            ),
            ("start [bank]", "start with a specific question bank ({banks}; default `{default}`)"),
            (
                "start full [bank]",
                "every question that applies ({full_length}), for exact scores and every Next Step",
            ),
        ),
    ),
    Subcommand("resume", _resume, (("resume", "send me the current question again"),)),
    Subcommand("cancel", _cancel, (("cancel", "discard the assessment in progress"),)),
    Subcommand(
        "team",
        _team,
        (
            (
                "team [bank] [closes in N days]",
                "a team assessment in this channel: private answers, one team report (default: closes in "
                "7 days)",
            ),
        ),
        available=lambda flows: flows.team is not None,
        alone=_open_form,
    ),
    Subcommand(
        "workshop",
        _workshop,
        (
            (
                "workshop [bank]",
                "an open team workshop in this channel: everyone votes on each question with their name "
                "shown, a facilitator settles it, and the team gets its own levels",
            ),
        ),
        available=lambda flows: flows.workshops is not None,
    ),
    Subcommand(
        "history",
        _history,
        (("history", "your results over time; `history #channel` — a channel's team results"),),
        available=lambda flows: flows.history is not None,
    ),
    Subcommand(
        "export",
        _export,
        (("export", "your history as a CSV file in a DM (in a channel, with its team results)"),),
        available=lambda flows: flows.history is not None,
    ),
    Subcommand(
        "forget",
        _forget,
        (("forget me", "delete your data, after you confirm"),),
        available=lambda flows: flows.history is not None,
    ),
    Subcommand("banks", _banks, (("banks", "list the question banks"),)),
    Subcommand(
        "schedule",
        _schedule,
        (
            (
                'schedule quarterly|monthly|"cron" [pulse|full] [team] [at HH:MM]',
                "remind this channel (`schedule list`, `schedule cancel ID`, `schedule resume ID`)",
            ),
        ),
        available=lambda flows: flows.schedules is not None,
        alone=_open_form,
    ),
    Subcommand("help", _help, (("help", "this message"),)),
)
BY_NAME = {subcommand.name: subcommand for subcommand in SUBCOMMANDS}


def dispatch(flows: Flows, command: SlashCommand, ack: Ack, respond: Respond) -> None:
    subcommand = BY_NAME.get(command.subcommand)
    if subcommand is None or not subcommand.available(flows):
        _unknown(command, ack)
    elif subcommand.alone is not None and not command.arguments and command.words and flows.modals:
        subcommand.alone(flows, command, ack, respond)
    else:
        subcommand.handle(flows, command, ack, respond)


def help_message(banks: Sequence[QuestionBank], default_bank: QuestionBank) -> blocks.Message:
    bank_list = ", ".join(f"`{escape(b.id)}`" for b in banks)
    settled = settled_clause(default_bank)
    fields = {
        "banks": bank_list,
        "default": escape(default_bank.id),
        "length": length(default_bank),
        "full_length": full_length(default_bank),
        "settled": f"; {settled}" if settled else "",
    }
    lines = ["*MLOps Compass* measures how mature your MLOps practice is and tells you what to do next."]
    forms = [f"`{COMMAND} {s.name}`" for s in SUBCOMMANDS if s.alone is not None]
    last_with_form = max(i for i, s in enumerate(SUBCOMMANDS) if s.alone is not None)
    for number, subcommand in enumerate(SUBCOMMANDS):
        for usage, what in subcommand.help:
            typed = f"{COMMAND} {usage}" if usage else COMMAND
            lines.append(f"• `{typed}` — {what.format(**fields)}")
        if number == last_with_form:
            # The other ways in follow the last subcommand that has a form.
            lines.append(f"• {' or '.join(forms)} alone opens a form for it; {SHORTCUT_HELP}")
    return blocks.text_message("\n".join(lines))
