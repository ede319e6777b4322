"""`mlops-compass-playground`: the real Slack app, a fake workspace, and you in the terminal.

The playground's parts: `playground.demo` plays an assessment (alone or with simulated teammates),
`playground.schedule_demo` fast-forwards the clock through a schedule, `playground.screen` draws what
the fake workspace (`playground.fakeslack`) shows.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

from rich.console import Console

from bot.engine.bank import BankError, QuestionBank
from bot.engine.catalog import BankCatalog, UnknownBank
from bot.settings import SettingsError, load_bank_settings
from bot.terminal.answers_file import AnswersFileError, load_answers_file
from bot.terminal.console import make_console
from playground.demo import (
    CHANNEL,
    DEFAULT_CHART,
    PLAYER,
    QUIT_MESSAGE,
    TEAMMATES,
    answer_from,
    ask_bank,
    ask_person,
    demo_answers,
    demo_answers_later,
    member,
    play,
    play_team,
    playground_app,
    teammate_answers,
)
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import AppDidNotStart
from playground.fakeslack.workspace import SlackUser, Transport
from playground.oauth import (
    WORKSPACES,
    Installation,
    InstallFailed,
    install_workspaces,
    oauth_settings,
    report_tokens,
)
from playground.schedule_demo import run_schedule_demo
from playground.screen import EXIT_OK, EXIT_QUIT, EXIT_USAGE
from playground.workshop_demo import (
    WORKSHOP_BANK,
    Teammate,
    ask_settle,
    ask_vote,
    play_workshop,
    take_the_team_answer,
    vote_as_the_team,
)

PROGRAM = "mlops-compass-playground"
EXIT_WRONG_TOKEN = 1
# Asked to stop by `kill`, or the terminal closed: the playground ends as on Ctrl-C, stopping its app.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class StopSignal(BaseException):
    """Raised in the main thread by a stop signal, so that every `with` on the way out runs; a
    BaseException, like KeyboardInterrupt, that no `except Exception` on the way catches."""

    def __init__(self, number: int):
        self.number = number
        super().__init__(signal.Signals(number).name)


def _raise_stop_signal(number: int, frame: FrameType | None) -> None:
    raise StopSignal(number)


@contextmanager
def stopping_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise StopSignal meanwhile; a signal this process was started ignoring (under
    `nohup`, say) stays ignored."""
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    for number, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(number, _raise_stop_signal)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Runs the real Slack app with an in-process store against a local fake Slack "
        "workspace. Without a terminal on stdin (and without --answers), it plays --demo.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--answers", type=Path, metavar="FILE", help="answer from FILE (question id -> option)"
    )
    source.add_argument("--demo", action="store_true", help="answer with a built-in example team's answers")
    source.add_argument(
        "--schedule-demo",
        action="store_true",
        help="schedule a quarterly reminder in #general, then fast-forward the clock to see it posted",
    )
    parser.add_argument(
        "--bank",
        metavar="ID",
        help="question bank id (default: you choose in a terminal; the demo and --answers take "
        "$DEFAULT_BANK, or mlops)",
    )
    parser.add_argument(
        "--chart",
        type=Path,
        metavar="FILE",
        default=DEFAULT_CHART,
        help=f"where to write the last report's chart (default: {DEFAULT_CHART})",
    )
    parser.add_argument(
        "--socket",
        action="store_true",
        help="run the app in Socket Mode: it connects to the fake workspace over a WebSocket",
    )
    parser.add_argument(
        "--oauth",
        action="store_true",
        help=f"distribute the app by OAuth: install it into {len(WORKSPACES)} fake workspaces through its "
        "install link (/slack/install, /slack/oauth_redirect), then play in the last one, with its own "
        "bot token",
    )
    parser.add_argument(
        "--team",
        action="store_true",
        help=f"run a team assessment in #general: {len(TEAMMATES)} simulated teammates answer beside you, "
        "then you close the run and see the team report",
    )
    parser.add_argument(
        "--workshop",
        action="store_true",
        help=f"facilitate a live team workshop in #general (the {WORKSHOP_BANK} bank unless --bank): "
        f"{len(TEAMMATES)} simulated teammates vote on each question with their names shown, you vote and "
        "settle it, and the team's report comes with where the team disagreed",
    )
    return parser


def run_playground(args: argparse.Namespace, console: Console) -> int:
    try:
        return _run_playground(args, console)
    except KeyboardInterrupt:
        # Ctrl-C ends the playground as `q` does; the app process is stopped on the way out.
        console.print()
        console.print(QUIT_MESSAGE, style="yellow")
        return EXIT_QUIT
    except StopSignal as stopped:
        # A closed terminal takes this message with it; there is no one left to tell.
        with suppress(OSError):
            print(f"{PROGRAM}: stopped by {stopped}; the app's processes were stopped.", file=sys.stderr)
        return 128 + stopped.number


def _run_playground(args: argparse.Namespace, console: Console) -> int:
    settings = load_bank_settings()
    if args.schedule_demo:
        try:
            return run_schedule_demo(console, settings.banks_directory, CHANNEL)
        except AppDidNotStart as error:
            print(f"{PROGRAM}: the app did not start: {error}", file=sys.stderr)
            return EXIT_USAGE
    interactive = args.answers is None and not args.demo and sys.stdin.isatty()
    try:
        catalog = BankCatalog.from_directory(settings.banks_directory)
        if args.bank is not None or not interactive or args.workshop:
            # By id only: the app the playground starts offers the banks of BANKS_DIR, and no file elsewhere.
            bank = catalog.by_id(args.bank or (WORKSHOP_BANK if args.workshop else settings.default_bank))
        elif (chosen := ask_bank(console, catalog.banks)) is not None:
            bank = chosen
        else:
            console.print(QUIT_MESSAGE, style="yellow")
            return EXIT_QUIT
        if args.answers is not None:
            loaded = load_answers_file(args.answers, bank, other_banks=catalog.banks)
            note = loaded.ignored_note(str(args.answers), bank.id)
            if note:
                console.print(note, style="dim")
            choosers = [answer_from(loaded.answers)]
        elif not interactive:
            if args.workshop:
                console.print(
                    "No terminal on stdin: you vote as the demo team and settle each question with the "
                    "team's answer.",
                    style="dim",
                )
            elif not args.demo:
                console.print(
                    "No terminal on stdin: playing the built-in demo answers (--demo).", style="dim"
                )
            choosers = [answer_from(demo_answers(bank))]
            if not args.team:
                # Twice in a row, the second time a quarter later: the second report shows what changed.
                choosers.append(answer_from(demo_answers_later(bank)))
        else:
            choosers = [ask_person(console)]
    except (BankError, UnknownBank, AnswersFileError) as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return EXIT_USAGE
    signing_secret = secrets.token_hex(16)
    try:
        with (
            FakeSlack() as fake,
            playground_app(
                fake,
                signing_secret,
                bank.id,
                settings.banks_directory,
                socket_mode=args.socket,
                oauth=oauth_settings() if args.oauth else None,
            ) as (app, transport),
        ):
            played_in: Installation | None = None
            if args.oauth:
                played_in = install_workspaces(console, app, fake, PLAYER, "you")[-1]
                console.print(f"You play in {played_in.team_name}.", style="dim")
            team_id = played_in.team_id if played_in is not None else None
            before = len(fake.calls)
            user = member(fake, transport, "you", team_id=team_id)
            if args.socket:
                console.print(
                    f"The app connected to the fake workspace over Socket Mode "
                    f"({fake.socket_mode.urls_issued} URL from apps.connections.open).",
                    style="dim",
                )
            if args.workshop:
                code = _play_workshop(console, fake, transport, user, bank, interactive, team_id)
            elif not args.team:
                code = play(console, user, choosers, args.chart)
            else:
                teammates = [
                    (
                        member(fake, transport, name, user_id, team_id=team_id),
                        answer_from(teammate_answers(bank, number)),
                    )
                    for number, (user_id, name) in enumerate(TEAMMATES)
                ]
                fake.set_channel_members(CHANNEL, [user.user_id, *(mate.user_id for mate, _ in teammates)])
                code = play_team(console, user, choosers[0], teammates)
            # Every call the session led to was made for the workspace played in, with its own token.
            if (
                played_in is not None
                and code == EXIT_OK
                and not report_tokens(console, played_in, fake.calls[before:])
            ):
                return EXIT_WRONG_TOKEN
            return code
    except InstallFailed as error:
        print(f"{PROGRAM}: the install did not go through: {error}", file=sys.stderr)
        return EXIT_USAGE
    except AppDidNotStart as error:
        print(f"{PROGRAM}: the app did not start: {error}", file=sys.stderr)
        return EXIT_USAGE
    except TimeoutError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return EXIT_USAGE


def _play_workshop(
    console: Console,
    fake: FakeSlack,
    transport: Transport,
    you: SlackUser,
    bank: QuestionBank,
    interactive: bool,
    team_id: str | None,
) -> int:
    """You facilitate; the simulated teammates are members of #general who vote in the thread."""
    teammates = [
        Teammate(member(fake, transport, name, user_id, team_id=team_id), number)
        for number, (user_id, name) in enumerate(TEAMMATES)
    ]
    fake.set_channel_members(CHANNEL, [you.user_id, *(mate.user.user_id for mate in teammates)])
    if interactive:
        return play_workshop(console, you, teammates, bank, ask_vote(console), ask_settle(console))
    return play_workshop(
        console, you, teammates, bank, vote_as_the_team(demo_answers(bank)), take_the_team_answer
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.workshop and (args.team or args.schedule_demo or args.answers is not None):
        parser.error("--workshop plays a workshop of its own, without --team, --schedule-demo or --answers")
    if args.oauth and (args.socket or args.schedule_demo):
        # Socket Mode serves no install pages, and the schedule demo runs an app of its own.
        parser.error("--oauth runs the app over HTTP, without --socket or --schedule-demo")
    console = make_console()
    try:
        with stopping_on_signals():
            return run_playground(args, console)
    except SettingsError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return EXIT_USAGE
