"""How many questions an adaptive assessment asks, measured by running the engine itself.

Each team answers a real conversation (`advance()`, adaptive, offered the stop at a settled overall level
and going on) from its full answer set. For each run it counts the questions asked (context and practice
questions: outcome questions are never asked in an adaptive run) and how many had been asked when the
overall level was first settled (where the person is offered to stop; the end of the run if that never
came), and checks that the levels are those `score()` gives on the full answer set: it stops with an
error at the first team where they are not.

The teams, for each shipped bank:
- golden: the answer files in tests/golden/ written from published maturity descriptions
  (azure_*.yaml, google_*.yaml) and, for the pulse, tests/golden/pulse/ as well;
- coherent, m per dimension: per dimension a latent maturity m ~ U[0, 1]; each practice answered at the
  option nearest m, moved one option up or down with probability 0.3, 5 % "Don't know", 5 % "Not
  applicable" where offered; each context question answered uniformly over its options;
- coherent, m per team ±0.1: one m ~ U[0, 1] per team, each dimension's m + N(0, 0.1); otherwise the same.

The simulated sets are drawn from fixed seeds, team by team, so `--teams 40` runs the first 40 teams of
the default 1,000.

    python benchmarks/questions_asked.py [--teams 1000] [--write] [--banks-dir DIR]

`--write` puts the measured length into each bank file's `asked:` block (median and 90th percentile of
the questions asked, and the median until the overall level was settled, over both simulated sets
together), which every length the app states comes from (bot/engine/overview.py); the rest of the file
is left as it is. Re-run it after changing a bank's questions, then scripts/write_description.py.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bot.engine.adaptive import AskingMode
from bot.engine.answers import Answer, DontKnow, NotApplicable, OptionChoice
from bot.engine.bank import (
    SECONDS_PER_QUESTION,
    ContextQuestion,
    MeasuredLength,
    OutcomeQuestion,
    Question,
    QuestionBank,
)
from bot.engine.catalog import DEFAULT_BANKS_DIR, BankCatalog
from bot.engine.conversation import (
    AnswerQuestion,
    AskQuestion,
    Conversation,
    Event,
    KeepGoing,
    OfferStop,
    ShowReport,
    Start,
    advance,
)
from bot.engine.scoring import Report, applicable_questions, score
from bot.terminal.answers_file import load_answers_file

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden"
GOLDEN_PATTERNS = ("azure_*.yaml", "google_*.yaml")
DEFAULT_TEAMS = 1000
PER_DIMENSION = "coherent, m per dimension"
PER_TEAM = "coherent, m per team ±0.1"
SEEDS = {PER_DIMENSION: 20261, PER_TEAM: 20262}
DONT_KNOW_SHARE = 0.05
NOT_APPLICABLE_SHARE = 0.05
MOVED_SHARE = 0.3  # an answer one option above or below the team's maturity
DIMENSION_SPREAD = 0.1  # per team: how far a dimension's maturity strays from the team's

Levels = tuple[tuple[int | None, ...], int | None]
Number = TypeVar("Number", int, float)


class AdaptiveRunFailed(Exception):
    """An adaptive run ended with levels other than the full bank's on the same answers, or asked what it
    should not."""


@dataclass(frozen=True)
class Team:
    name: str
    answers: Mapping[str, Answer]


@dataclass(frozen=True)
class Run:
    team: str
    levels: Levels
    asked: int  # context and practice questions
    settled_at: int  # questions asked when the overall level was first settled
    full: int  # the context and practice questions that apply: what a full run asks
    advance_seconds: tuple[float, ...]  # CPU time of each advance() call


# Teams --------------------------------------------------------------------------------------------


def practice_answer(question: Question, maturity: float, rng: random.Random) -> Answer:
    draw = rng.random()
    if draw < DONT_KNOW_SHARE:
        return DontKnow()
    if question.not_applicable and draw < DONT_KNOW_SHARE + NOT_APPLICABLE_SHARE:
        return NotApplicable()
    top = len(question.options) - 1
    option = round(top * maturity)
    if rng.random() < MOVED_SHARE:
        option += rng.choice((-1, 1))
    return OptionChoice(min(max(option, 0), top))


def coherent_answers(
    bank: QuestionBank, maturity: Mapping[str, float], rng: random.Random
) -> dict[str, Answer]:
    """Every context and practice question answered; outcome questions are never asked adaptively."""
    answers: dict[str, Answer] = {}
    for question in bank.questions:
        if isinstance(question, ContextQuestion):
            answers[question.id] = OptionChoice(rng.randrange(len(question.options)))
        elif isinstance(question, Question):
            answers[question.id] = practice_answer(question, maturity[question.dimension], rng)
    return answers


def per_dimension_teams(bank: QuestionBank, count: int) -> Iterator[Team]:
    rng = random.Random(SEEDS[PER_DIMENSION])
    for number in range(count):
        maturity = {dimension.id: rng.random() for dimension in bank.dimensions}
        yield Team(f"team {number + 1}", coherent_answers(bank, maturity, rng))


def per_team_teams(bank: QuestionBank, count: int) -> Iterator[Team]:
    rng = random.Random(SEEDS[PER_TEAM])
    for number in range(count):
        team = rng.random()
        maturity = {
            dimension.id: min(max(team + rng.gauss(0.0, DIMENSION_SPREAD), 0.0), 1.0)
            for dimension in bank.dimensions
        }
        yield Team(f"team {number + 1}", coherent_answers(bank, maturity, rng))


def golden_files(bank: QuestionBank) -> list[Path]:
    files = [path for pattern in GOLDEN_PATTERNS for path in sorted(GOLDEN.glob(pattern))]
    own = GOLDEN / bank.id
    return [*files, *sorted(own.glob("*.yaml"))] if own.is_dir() else files


def golden_teams(bank: QuestionBank, others: Sequence[QuestionBank]) -> list[Team]:
    """The golden answer files, read for `bank` (a full assessment's file answers the pulse too)."""
    return [
        Team(path.stem, load_answers_file(path, bank, other_banks=others).answers)
        for path in golden_files(bank)
    ]


# One run ------------------------------------------------------------------------------------------


def levels_of(report: Report) -> Levels:
    return tuple(d.level for d in report.dimensions), report.overall_level


def full_count(bank: QuestionBank, answers: Mapping[str, Answer]) -> int:
    return sum(not isinstance(q, OutcomeQuestion) for q in applicable_questions(bank, answers))


def run_team(bank: QuestionBank, team: Team) -> Run:
    """One adaptive conversation answered from `team`'s answers, going on past the offer to stop."""
    state = Conversation.new(bank, AskingMode.ADAPTIVE, offer_stop=True)
    event: Event = Start()
    asked = 0
    settled_at: int | None = None
    offered_level: int | None = None
    seconds: list[float] = []
    while True:
        started = time.process_time()
        transition = advance(state, event, bank)
        seconds.append(time.process_time() - started)
        state, prompt = transition.state, transition.prompt
        if isinstance(prompt, ShowReport):
            break
        if isinstance(prompt, OfferStop):
            settled_at, offered_level = asked, prompt.overall_level
            event = KeepGoing()
            continue
        if not isinstance(prompt, AskQuestion) or isinstance(prompt.question, OutcomeQuestion):
            raise AdaptiveRunFailed(f"{bank.id} {team.name}: the run showed {prompt!r}")
        if prompt.question.id not in team.answers:
            raise AdaptiveRunFailed(
                f"{bank.id} {team.name}: asked {prompt.question.id!r}, which it did not answer"
            )
        event = AnswerQuestion(prompt.question.id, team.answers[prompt.question.id])
        asked += 1
    full = levels_of(score(bank, team.answers))
    adaptive = levels_of(score(bank, state.answers))
    if adaptive != full or (offered_level is not None and offered_level != full[1]):
        raise AdaptiveRunFailed(
            f"{bank.id} {team.name}: the adaptive run gave levels {adaptive} (overall offered as "
            f"{offered_level}), the full bank {full}"
        )
    settled = asked if settled_at is None else settled_at
    return Run(team.name, full, asked, settled, full_count(bank, team.answers), tuple(seconds))


# Figures ------------------------------------------------------------------------------------------


def percentile(values: Sequence[Number], share: float) -> Number:
    """The nearest-rank percentile: at least `share` of the values are at most it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def measured_length(runs: Sequence[Run]) -> MeasuredLength:
    asked = [run.asked for run in runs]
    return MeasuredLength(
        median=percentile(asked, 0.5),
        p90=percentile(asked, 0.9),
        overall_median=percentile([run.settled_at for run in runs], 0.5),
    )


def minutes(questions: float) -> str:
    return f"{questions * SECONDS_PER_QUESTION / 60:.1f}"


def table_row(label: str, runs: Sequence[Run]) -> str:
    asked = [run.asked for run in runs]
    settled = [run.settled_at for run in runs]
    full = [run.full for run in runs]
    cells = [
        label,
        str(len(runs)),
        f"{percentile(asked, 0.5)} / {percentile(asked, 0.9)}",
        f"{statistics.mean(asked):.1f}",
        f"{percentile(settled, 0.5)} / {percentile(settled, 0.9)}",
        f"{percentile(full, 0.5)} / {percentile(full, 0.9)}",
        f"{minutes(percentile(asked, 0.5))} / {minutes(percentile(asked, 0.9))}",
    ]
    return "| " + " | ".join(cells) + " |"


TABLE_HEAD = (
    "| teams | runs | questions asked, median / p90 | mean | overall level settled after, median / p90 "
    "| full bank, median / p90 | minutes asked, median / p90 |\n"
    "| --- | --- | --- | --- | --- | --- | --- |"
)


def team_rows(runs: Sequence[Run]) -> str:
    lines = [
        "| team | levels (dimensions; overall) | questions asked | overall level settled after | full bank |",
        "| --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        dimensions = "/".join("-" if level is None else str(level) for level in run.levels[0])
        cells = (run.team, f"{dimensions}; {run.levels[1]}", run.asked, run.settled_at, run.full)
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(lines)


def advance_cost(runs: Sequence[Run]) -> str:
    seconds = [s for run in runs for s in run.advance_seconds]
    median, p90 = percentile(seconds, 0.5), percentile(seconds, 0.9)
    return (
        f"advance() CPU per call: median {median * 1e3:.2f} ms, p90 {p90 * 1e3:.2f} ms, "
        f"mean {statistics.mean(seconds) * 1e3:.2f} ms over {len(seconds):,} calls"
    )


# Writing the bank ---------------------------------------------------------------------------------

WRITTEN_BY = "benchmarks/questions_asked.py"
COMMENT = (
    "# How many questions an adaptive run asks: the median and 90th percentile over {teams} simulated\n"
    "# teams, and the median until the overall level is settled. Written by {script}\n"
    "# (`python {script} --write`); re-run it after changing the questions.\n"
)
COMMENT_START = COMMENT.split(":", 1)[0]
ASKED_KEY = re.compile(r"^asked:")
# Where a bank without an `asked:` entry gets one: after the first of these top-level entries it has.
ANCHORS = ("changes:", "description:")


def asked_block(measured: MeasuredLength, teams: int) -> str:
    return COMMENT.format(teams=f"{teams:,}", script=WRITTEN_BY) + (
        f"asked: {{median: {measured.median}, p90: {measured.p90}, "
        f"overall_median: {measured.overall_median}}}\n"
    )


def _entry_end(lines: list[str], start: int) -> int:
    """The line after the top-level entry starting at `start`: its value may go on over indented lines."""
    end = start + 1
    while end < len(lines) and lines[end].startswith((" ", "\t")):
        end += 1
    return end


def _asked_lines(lines: list[str]) -> tuple[int, int] | None:
    """Where the `asked:` entry is, with the comment this script writes above it (a comment someone else
    wrote above that stays)."""
    found = next((n for n, line in enumerate(lines) if ASKED_KEY.match(line)), None)
    if found is None:
        return None
    end = _entry_end(lines, found)
    start = found
    while start > 0 and lines[start - 1].startswith("#"):
        start -= 1
        if lines[start].startswith(COMMENT_START):
            return start, end
    return found, end


def with_asked(text: str, block: str) -> str:
    """`text` with its `asked:` entry (and the comment this script writes above it) replaced by `block`.
    A bank without one gets it after its `changes:` entry (else `description:`) and the blank line after
    that, followed by a blank line of its own, so an edit next to `changes:` is not touched."""
    lines = text.splitlines(keepends=True)
    where = _asked_lines(lines)
    if where is not None:
        start, end = where
        return "".join([*lines[:start], block, *lines[end:]])
    anchor = next(
        (n for key in ANCHORS for n, line in enumerate(lines) if line.startswith(key)),
        None,
    )
    if anchor is None:
        raise ValueError(f"the bank has none of {', '.join(ANCHORS)} at the top level")
    end = _entry_end(lines, anchor)
    if end < len(lines) and not lines[end].strip():
        return "".join([*lines[: end + 1], block, "\n", *lines[end + 1 :]])
    return "".join([*lines[:end], "\n", block, *lines[end:]])


def without_asked(text: str) -> str:
    """`text` without its `asked:` entry, the comment this script writes above it and the blank line it
    adds below: a bank whose adaptive run is no shorter than the bank states its full length."""
    lines = text.splitlines(keepends=True)
    where = _asked_lines(lines)
    if where is None:
        return text
    start, end = where
    if end < len(lines) and not lines[end].strip():
        end += 1
    return "".join([*lines[:start], *lines[end:]])


def shortens(bank: QuestionBank, measured: MeasuredLength) -> bool:
    """Whether an adaptive run asks fewer than the bank's context and practice questions at the median:
    otherwise "about 8 questions (at most 8 …)" says less than the full length does."""
    return measured.median < sum(not isinstance(q, OutcomeQuestion) for q in bank.questions)


def write_bank(path: Path, bank: QuestionBank, measured: MeasuredLength, teams: int) -> str:
    text = path.read_text(encoding="utf-8")
    if shortens(bank, measured):
        written, said = with_asked(text, asked_block(measured, teams)), "wrote the asked block of"
    else:
        written, said = without_asked(text), "no asked block (adaptive asks them all at the median) in"
    if written != text:
        path.write_text(written, encoding="utf-8")
    return f"{said} {path.name}"


# Running ------------------------------------------------------------------------------------------


def measure(label: str, bank: QuestionBank, teams: Iterable[Team]) -> list[Run]:
    started = time.perf_counter()
    runs = [run_team(bank, team) for team in teams]
    print(
        f"  {bank.id}, {label}: {len(runs):,} teams in {time.perf_counter() - started:.1f} s", file=sys.stderr
    )
    return runs


def measure_bank(bank: QuestionBank, others: Sequence[QuestionBank], teams: int) -> dict[str, list[Run]]:
    generators: dict[str, Callable[[QuestionBank, int], Iterator[Team]]] = {
        PER_DIMENSION: per_dimension_teams,
        PER_TEAM: per_team_teams,
    }
    results = {"golden": measure("golden", bank, golden_teams(bank, others))}
    for label, generate in generators.items():
        results[label] = measure(label, bank, generate(bank, teams))
    return results


def report(bank: QuestionBank, results: Mapping[str, list[Run]]) -> MeasuredLength:
    """Prints the tables for one bank and returns its measured length, over both simulated sets."""
    simulated = results[PER_DIMENSION] + results[PER_TEAM]
    print(f"## {bank.id} {bank.version}: at {SECONDS_PER_QUESTION} s a question\n")
    print(TABLE_HEAD)
    for label, runs in results.items():
        print(table_row(label, runs))
    print(table_row("both simulated sets", simulated))
    print(f"\nGolden teams, one by one ({bank.id}):\n")
    print(team_rows(results["golden"]))
    every_run = [run for runs in results.values() for run in runs]
    print(f"\nEvery run's levels equal the full bank's on the same answers ({len(every_run):,} runs).")
    print(advance_cost(every_run))
    measured = measured_length(simulated)
    print(
        f"asked: {{median: {measured.median}, p90: {measured.p90}, "
        f"overall_median: {measured.overall_median}}}"
    )
    return measured


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--teams", type=int, default=DEFAULT_TEAMS, help="teams in each simulated set")
    parser.add_argument("--write", action="store_true", help="write each bank's `asked:` block")
    parser.add_argument("--banks-dir", type=Path, default=DEFAULT_BANKS_DIR)
    args = parser.parse_args(argv)

    catalog = BankCatalog.from_directory(args.banks_dir)
    paths = {file.bank.id: file.path for file in catalog.files if file.bank is not None and file.loaded}
    for bank in catalog.banks:
        try:
            results = measure_bank(bank, catalog.banks, args.teams)
        except AdaptiveRunFailed as failure:
            sys.exit(f"error: {failure}")
        measured = report(bank, results)
        if args.write:
            print(write_bank(paths[bank.id], bank, measured, 2 * args.teams))
        print()


if __name__ == "__main__":
    main()
