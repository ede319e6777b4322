"""How much one answer can swing a level: for many answer sets (random ones and the golden answer files),
every one-rung move of every practice answer (the option above or below the one chosen), and how far it
moves the answer's dimension and the overall level.

    python benchmarks/sensitivity.py [--samples 400] [--seed 0]

Prints, per shipped bank, how many moves change a level and a histogram of |Δ level| for dimensions and
for the overall level. A calibrated bank shows no move of two levels or more.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

from bot.engine.answers import Answer, OptionChoice, choices
from bot.engine.bank import ContextQuestion, Question, QuestionBank
from bot.engine.catalog import BankCatalog
from bot.engine.scoring import score_dimension
from bot.terminal.answers_file import load_answers_file

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden"


def random_answers(bank: QuestionBank, rng: random.Random, strong: bool = False) -> dict[str, Answer]:
    """Every answer equally likely; or, for a `strong` team, one of each practice's top three options, so
    that the upper levels, where one answer decides most, are probed as often as the lower ones."""
    answers: dict[str, Answer] = {}
    for q in bank.questions:
        if isinstance(q, Question) and strong:
            answers[q.id] = OptionChoice(rng.randrange(max(0, len(q.options) - 3), len(q.options)))
        elif isinstance(q, Question | ContextQuestion):
            answers[q.id] = rng.choice([answer for answer, _ in choices(q)])
    return answers


def golden_answers(bank: QuestionBank) -> list[dict[str, Answer]]:
    sets = []
    for path in sorted(GOLDEN.glob("*.yaml")):
        if path.name in ("expected.yaml",):
            continue
        try:
            sets.append(dict(load_answers_file(path, bank).answers))
        except Exception:
            continue
    return sets


def one_rung_moves(bank: QuestionBank, answers: Mapping[str, Answer]) -> Iterator[tuple[Question, Answer]]:
    for question in bank.practices:
        answer = answers.get(question.id)
        if not isinstance(answer, OptionChoice):
            continue
        for index in (answer.index - 1, answer.index + 1):
            if 0 <= index < len(question.options):
                yield question, OptionChoice(index)


def levels(bank: QuestionBank, answers: Mapping[str, Answer]) -> dict[str, int | None]:
    return {d.id: score_dimension(bank, d.id, answers).level for d in bank.dimensions}


def overall(dimension_levels: Mapping[str, int | None]) -> int | None:
    values = list(dimension_levels.values())
    return None if any(v is None for v in values) else min(v for v in values if v is not None)


def measure(bank: QuestionBank, answer_sets: list[dict[str, Answer]]) -> tuple[Counter[int], Counter[int]]:
    dimension_moves: Counter[int] = Counter()
    overall_moves: Counter[int] = Counter()
    for answers in answer_sets:
        before = levels(bank, answers)
        before_overall = overall(before)
        for question, moved in one_rung_moves(bank, answers):
            changed = {**answers, question.id: moved}
            after = {**before, question.dimension: score_dimension(bank, question.dimension, changed).level}
            old, new = before[question.dimension], after[question.dimension]
            if old is not None and new is not None:
                dimension_moves[abs(new - old)] += 1
            after_overall = overall(after)
            if before_overall is not None and after_overall is not None:
                overall_moves[abs(after_overall - before_overall)] += 1
    return dimension_moves, overall_moves


def histogram(counts: Counter[int]) -> str:
    total = sum(counts.values())
    moved = total - counts[0]
    parts = "  ".join(f"|Δ|={delta}: {counts[delta]}" for delta in range(0, 4))
    share = f"{moved / total:.1%}" if total else "n/a"
    return f"{total} moves, {moved} change the level ({share})   {parts}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for bank in BankCatalog.from_directory().banks:
        rng = random.Random(args.seed)
        goldens = golden_answers(bank) if bank.id == "mlops" else []
        sets = [random_answers(bank, rng, strong=n % 2 == 1) for n in range(args.samples)] + goldens
        started = time.perf_counter()
        dimension_moves, overall_moves = measure(bank, sets)
        elapsed = time.perf_counter() - started
        print(
            f"{bank.id} {bank.version}: {args.samples} random (half of them strong teams) + "
            f"{len(goldens)} golden answer sets, {elapsed:.1f} s"
        )
        print(f"  dimension level: {histogram(dimension_moves)}")
        print(f"  overall level:   {histogram(overall_moves)}")


if __name__ == "__main__":
    main()
