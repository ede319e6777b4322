"""The ``mlops-compass`` command.

Each subcommand is one ``add_<name>_command(subparsers)`` function that declares its arguments and sets
``handler`` to a ``run_<name>(args, consoles) -> int`` function returning the exit code. ``build_parser``
registers every function listed in ``COMMANDS``, so adding a subcommand means writing that pair and
appending the first to the list. Terminal rendering lives in ``bot.terminal``; this module only wires
arguments to it and maps outcomes to exit codes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TypeAlias

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.cli.clock_command import add_clock_command
from bot.cli.history import ChartPathError, add_export_command, check_chart_path, write_chart
from bot.cli.installations import add_installations_command
from bot.cli.serve import add_serve_command
from bot.cli.worker import add_worker_command
from bot.engine.adaptive import AskingMode
from bot.engine.bank import BANK_SUFFIXES, BankError, QuestionBank, load_bank_file
from bot.engine.catalog import BankCatalog, UnknownBank
from bot.engine.overview import length
from bot.engine.scoring import Report, score
from bot.settings import BankSettings, SettingsError, load_bank_settings
from bot.terminal.answers_file import AnswersFileError, load_answers_file
from bot.terminal.bank_check import MissingBankPath, check_banks
from bot.terminal.console import make_console
from bot.terminal.interactive import names_and, run_assessment
from bot.terminal.report import REPORT_FORMATS, print_report, report_json, report_markdown

PROGRAM = "mlops-compass"
DISTRIBUTION = "mlops-compass"
EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
# What a shell reports for a process killed by SIGPIPE, e.g. when output is piped into `head`.
EXIT_BROKEN_PIPE = 141


@dataclass(frozen=True)
class Consoles:
    out: Console
    err: Console


Handler = Callable[[argparse.Namespace, Consoles], int]
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _print_lines(console: Console, lines: Sequence[str], style: str | None = None) -> None:
    # soft_wrap keeps each message on one line, as `grep` and CI logs expect, however narrow the output.
    for line in lines:
        console.print(Text(line, style=style or ""), soft_wrap=True)


# assess ------------------------------------------------------------------------------------------


def add_assess_command(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "assess",
        help="take an assessment, interactively or from an answers file",
        description=(
            "Take an assessment in the terminal, one question at a time, then see the report. Only the "
            "questions that can still change a level are asked, and once the overall level is settled you "
            "may stop; --full asks every question. With --answers, read the answers from a file instead "
            "and print only the report (for CI)."
        ),
    )
    parser.add_argument(
        "--bank",
        metavar="ID|PATH",
        help="question bank id, or the path of a bank file (default: $DEFAULT_BANK, or mlops)",
    )
    parser.add_argument(
        "--answers",
        metavar="FILE",
        help="YAML or JSON file mapping question id to answer; a question left out is unanswered: a "
        "level it could change is given as the range the missing answers allow",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="ask every question that applies, not only those that can still change a level",
    )
    parser.add_argument(
        "--format",
        choices=REPORT_FORMATS,
        help="report format with --answers (default: text)",
    )
    parser.add_argument(
        "--chart",
        type=Path,
        metavar="FILE",
        help="also write the report's chart (PNG) to FILE, as Slack shows it",
    )
    parser.set_defaults(handler=run_assess)


def load_bank(reference: str, settings: BankSettings) -> QuestionBank:
    """A bank by file path, or by id from the banks directory (BANKS_DIR).

    A path is loaded on its own, so a broken bank elsewhere in the directory cannot block it; nor can
    one block a bank named by id. A bare word is always an id, even if a file of that name happens to
    be in the working directory.
    """
    path = Path(reference)
    if path.suffix in BANK_SUFFIXES or os.sep in reference:
        return load_bank_file(path)
    catalog = BankCatalog.from_directory(settings.banks_directory)
    try:
        return catalog.by_id(reference)
    except UnknownBank as error:
        if not catalog.broken:
            raise
        names = ", ".join(f.path.name for f in catalog.broken)
        raise UnknownBank(
            f"{error}; not loaded from {settings.banks_directory}: {names} "
            f"(`{PROGRAM} validate` lists their problems)"
        ) from None


def missing_notes(missing: Sequence[str], name: str, report: Report) -> list[str]:
    """What the questions missing from an answers file did to the report: a level they could change is
    given as a range, a level they could not change is given."""
    lines = [f"note: {len(missing)} question(s) that apply are missing from {name}: " + ", ".join(missing)]
    if not report.to_answer:
        return [*lines, "note: no answer to them could change a level, so every level is given"]
    # A practice that can still change a level belongs to a dimension whose level is not settled.
    unsettled = [d.name for d in report.dimensions if d.level is None and d.score_range is not None]
    ranges = f"{names_and(unsettled)} {'gets' if len(unsettled) == 1 else 'get'} a range, not a level"
    overall = "" if report.overall_level is not None else ", and the overall level is not settled"
    return [
        *lines,
        f"note: {len(report.to_answer)} of them could still change a level: {ranges}{overall}; "
        "the report lists them to answer",
    ]


def run_assess(args: argparse.Namespace, consoles: Consoles) -> int:
    if args.format and not args.answers:
        _print_lines(consoles.err, [f"{PROGRAM} assess: --format applies only with --answers FILE"])
        return EXIT_USAGE
    if args.full and args.answers:
        _print_lines(
            consoles.err,
            [f"{PROGRAM} assess: --full applies only to an interactive assessment, not to --answers FILE"],
        )
        return EXIT_USAGE
    if args.chart is not None:
        try:
            check_chart_path(args.chart)
        except ChartPathError as error:
            _print_lines(consoles.err, [f"{PROGRAM} assess: {error}"])
            return EXIT_USAGE
    settings = load_bank_settings()
    reference = args.bank or settings.default_bank
    try:
        bank = load_bank(reference, settings)
    except UnknownBank as error:
        _print_lines(consoles.err, [str(error)])
        return EXIT_USAGE
    except BankError as error:
        _print_lines(consoles.err, [str(problem) for problem in error.problems])
        _print_lines(
            consoles.err, [f"cannot use bank {reference!r}; `{PROGRAM} validate` lists its problems"]
        )
        return EXIT_USAGE

    def chart(report: Report) -> None:
        if args.chart is not None:
            size = write_chart(report, args.chart)
            _print_lines(consoles.err, [f"chart written to {args.chart} ({size} bytes)"])

    if not args.answers:
        mode = AskingMode.FULL if args.full else AskingMode.ADAPTIVE
        return run_assessment(bank, consoles.out, consoles.err, on_report=chart, mode=mode)

    # The other banks' questions, so a full assessment's file answers the pulse (the rest is ignored).
    others = BankCatalog.from_directory(settings.banks_directory).banks
    try:
        loaded = load_answers_file(Path(args.answers), bank, name=args.answers, other_banks=others)
    except AnswersFileError as error:
        _print_lines(consoles.err, error.problems)
        return EXIT_USAGE
    ignored = loaded.ignored_note(args.answers, bank.id)
    if ignored:
        _print_lines(consoles.err, [ignored])
    report = score(bank, loaded.answers)
    if loaded.missing:
        _print_lines(consoles.err, missing_notes(loaded.missing, args.answers, report))
    report_format = args.format or "text"
    if report_format == "json":
        consoles.out.file.write(report_json(report) + "\n")
    elif report_format == "markdown":
        consoles.out.file.write(report_markdown(report))
    else:
        print_report(consoles.out, report)
    chart(report)
    return EXIT_OK


# validate ----------------------------------------------------------------------------------------


def add_validate_command(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check question bank files and list every problem",
        description=(
            "Check question bank files, and every bank file in the directories given. "
            "Prints each problem as `file: path: reason`; exits 1 if there is any."
        ),
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="bank file or directory of bank files (default: $BANKS_DIR, or the shipped banks)",
    )
    parser.set_defaults(handler=run_validate)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def run_validate(args: argparse.Namespace, consoles: Consoles) -> int:
    try:
        check = check_banks(args.paths or [load_bank_settings().banks_directory])
    except MissingBankPath as error:
        _print_lines(consoles.err, [str(error)])
        return EXIT_USAGE
    _print_lines(consoles.out, [str(problem) for problem in check.problems])
    _print_lines(consoles.out, [f"warning: {warning}" for warning in check.warnings], style="yellow")
    if not check.problems:
        _print_lines(consoles.out, [f"{_plural(len(check.files), 'bank')} OK"], style="green")
        return EXIT_OK
    summary = f"{_plural(len(check.problems), 'problem')} in {_plural(check.bad_files, 'file')}"
    if check.ok_files:
        summary += f"; {_plural(check.ok_files, 'bank')} OK"
    _print_lines(consoles.out, [summary], style="red")
    return EXIT_PROBLEMS


# banks -------------------------------------------------------------------------------------------


def add_banks_command(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "banks",
        help="list the question banks",
        description="List the question banks in $BANKS_DIR (by default, the banks shipped with the app), "
        "marking any file that does not load.",
    )
    parser.set_defaults(handler=run_banks)


def run_banks(args: argparse.Namespace, consoles: Consoles) -> int:
    directory = load_bank_settings().banks_directory
    try:
        catalog = BankCatalog.from_directory(directory)
    except BankError as error:
        _print_lines(consoles.err, [f"BANKS_DIR: {problem}" for problem in error.problems])
        return EXIT_USAGE
    # A path longer than the terminal folds rather than running past the edge.
    consoles.out.print(Text(f"Question banks in {directory}", style="bold", overflow="fold"))
    # Two lines a bank, its details indented under its title, so the list fits 80 columns; a wide table
    # wrapped the titles word by word there.
    listing = Table.grid(padding=(0, 2))
    listing.add_column(style="bold", no_wrap=True)
    listing.add_column(overflow="fold")
    for bank_file in catalog.files:
        bank = bank_file.bank
        if bank_file.loaded and bank is not None:
            details = f"v{bank.version}, reviewed {bank.reviewed} · {length(bank)}"
            listing.add_row(bank.id, f"{bank.title} · {bank_file.path.name}\n{details}")
        else:
            problems = _plural(len(bank_file.problems), "problem")
            version = f"\nv{bank.version}" if bank is not None else ""
            listing.add_row(
                bank.id if bank is not None else "?",
                f"NOT LOADED: {problems} · {bank_file.path.name}{version}",
                style="red",
            )
    consoles.out.print(listing)
    if catalog.broken:
        _print_lines(consoles.err, [str(problem) for problem in catalog.problems])
        _print_lines(
            consoles.err,
            [f"{_plural(len(catalog.broken), 'bank file')} not loaded; `{PROGRAM} validate` checks them"],
        )
        return EXIT_PROBLEMS
    if not catalog.files:
        _print_lines(consoles.err, [f"{directory}: no question bank files"])
        return EXIT_PROBLEMS
    return EXIT_OK


# entry point -------------------------------------------------------------------------------------

COMMANDS: list[Callable[[SubParsers], None]] = [
    add_assess_command,
    add_validate_command,
    add_banks_command,
    add_serve_command,
    add_clock_command,
    add_worker_command,
    add_export_command,
    add_installations_command,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Measure how mature your team's MLOps practice is, and what to do next.",
        epilog="exit codes: 0 ok, 1 question bank problems, 2 bad usage or input, 130 assessment cancelled",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(subparsers)
    return parser


def installed_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _exit_code(code: object) -> int:
    """argparse ends with SystemExit; turn its code into the int `main` promises."""
    if code is None:
        return EXIT_OK
    return code if isinstance(code, int) else EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:
        return _exit_code(exit_request.code)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    handler: Handler = args.handler
    consoles = Consoles(out=make_console(), err=make_console(stderr=True))
    try:
        return handler(args, consoles)
    except SettingsError as error:
        _print_lines(consoles.err, [f"{PROGRAM} {args.command}: {error}"])
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader has gone; point stdout at /dev/null so the interpreter's final flush fails quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
