"""Checks of a bank as an instrument, beyond its format: that every gate can change a result, and that
no practice recommends a tool that is shut down or being retired."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.engine.answers import Answer, DontKnow, OptionChoice, choices
from bot.engine.bank import BankProblem, ContextQuestion, Question, QuestionBank
from bot.engine.scoring import score_dimension

RETIRED_TOOLS_FILE = "retired-tools.txt"
# How many characters of an answer option each front end shows whole. Slack shows options as radio
# buttons (75 characters, on desktop and mobile); a button would show only about 30.
OPTION_TEXT_SHOWN = 75


@dataclass(frozen=True)
class GateEffect:
    question_id: str
    dimension_id: str
    gate_level: int
    level_passing: int | None
    level_failing: int | None

    @property
    def fires(self) -> bool:
        return (
            self.level_passing is not None
            and self.level_failing is not None
            and self.level_failing < self.level_passing
        )


def _switched_on(bank: QuestionBank, question: Question) -> dict[str, Answer]:
    """Context answers under which `question` is asked."""
    if question.applies_if is None:
        return {}
    return {question.applies_if.question: OptionChoice(question.applies_if.options[0] - 1)}


def best_answers(bank: QuestionBank) -> dict[str, Answer]:
    return {q.id: OptionChoice(len(q.options) - 1) for q in bank.practices}


def failing_answer(bank: QuestionBank, question: Question) -> Answer:
    """The best answer that still fails the gate: the top option under the pass mark, else "Don't know"."""
    under = [i for i, option in enumerate(question.options) if option.value < bank.gate_pass_mark]
    return OptionChoice(max(under)) if under else DontKnow()


def gate_effects(bank: QuestionBank) -> list[GateEffect]:
    """Each gate's effect on its dimension when everything else is at its best: the gate passing against
    the gate failing as narrowly as its options allow."""
    effects = []
    for gate in (q for q in bank.practices if q.gate):
        passing = {**best_answers(bank), **_switched_on(bank, gate)}
        failing = {**passing, gate.id: failing_answer(bank, gate)}
        effects.append(
            GateEffect(
                gate.id,
                gate.dimension,
                gate.level,
                score_dimension(bank, gate.dimension, passing).level,
                score_dimension(bank, gate.dimension, failing).level,
            )
        )
    return effects


def gate_problems(bank: QuestionBank, file: str) -> list[BankProblem]:
    problems = []
    for effect in gate_effects(bank):
        if not effect.fires:
            problems.append(
                BankProblem(
                    file,
                    f"questions[{_index(bank, effect.question_id)}].gate",
                    f"gate {effect.question_id!r} can never change a result: with every other practice at "
                    f"its best, failing it leaves {effect.dimension_id!r} at level {effect.level_failing}",
                )
            )
    return problems


def level_pool(bank: QuestionBank, dimension_id: str, level: int) -> list[Question]:
    """The practices checked at `level` for a team whose context switches nothing on (level-1 practices
    count with level 2)."""
    return [
        q
        for q in bank.questions_in(dimension_id)
        if q.applies_if is None and (q.level == level or (level == 2 and q.level == 1))
    ]


def level_pool_problems(bank: QuestionBank, file: str) -> list[BankProblem]:
    """A level resting on fewer practices than the bank promises (`min_practices_per_level`), or a
    hygiene (weight-1) practice that could decide a level by itself: a gate, or so heavy in its level that
    with everything else at its best, its worst answer alone would fail the level."""
    problems = []
    for dimension in bank.dimensions:
        for level in range(2, bank.level_ceiling(dimension.id) + 1):
            pool = level_pool(bank, dimension.id, level)
            where = f"dimensions[{bank.dimensions.index(dimension)}]"
            if len(pool) < bank.min_practices_per_level:
                problems.append(
                    BankProblem(
                        file,
                        where,
                        f"level {level} of {dimension.id!r} rests on {len(pool)} practice(s); "
                        f"at least {bank.min_practices_per_level} needed",
                    )
                )
            weight = sum(q.weight for q in pool)
            for question in pool:
                if question.weight > 1 or not weight:
                    continue
                deciding = question.gate or question.weight / weight > 1 - bank.threshold_at(level)
                if deciding:
                    problems.append(
                        BankProblem(
                            file,
                            f"questions[{_index(bank, question.id)}].weight",
                            f"hygiene practice {question.id!r} (weight 1) could decide level {level} of "
                            f"{dimension.id!r} on its own",
                        )
                    )
    return problems


@dataclass(frozen=True)
class GateFiring:
    changes_level: float  # failing instead of passing at its best lowers the dimension's level
    by_gate_rule: float  # ... and the gate rule itself, not the attainment, is what holds it


def sampled_gate_firing(bank: QuestionBank, samples: int, seed: int = 0) -> dict[str, GateFiring]:
    """For each gate, over random answer sets (every answer equally likely): how often failing the gate
    instead of passing it at its best lowers its dimension's level, and how often the gate rule is what
    holds it there."""
    rng = random.Random(seed)
    fired = dict.fromkeys((q.id for q in bank.practices if q.gate), 0)
    held = dict.fromkeys(fired, 0)
    for _ in range(samples):
        answers: dict[str, Answer] = {}
        for question in bank.questions:
            if isinstance(question, Question | ContextQuestion):
                answers[question.id] = rng.choice([answer for answer, _ in choices(question)])
        for gate_id in fired:
            gate = bank.practice(gate_id)
            base = {**answers, **_switched_on(bank, gate)}
            passing = score_dimension(
                bank, gate.dimension, {**base, gate_id: OptionChoice(len(gate.options) - 1)}
            )
            failing = score_dimension(bank, gate.dimension, {**base, gate_id: failing_answer(bank, gate)})
            if passing.level is not None and failing.level is not None and failing.level < passing.level:
                fired[gate_id] += 1
                if failing.level_without_gates is not None and failing.level < failing.level_without_gates:
                    held[gate_id] += 1
    return {gate_id: GateFiring(fired[gate_id] / samples, held[gate_id] / samples) for gate_id in fired}


def _index(bank: QuestionBank, question_id: str) -> int:
    return next(i for i, q in enumerate(bank.questions) if q.id == question_id)


# Retired tools -----------------------------------------------------------------------------------


def read_retired_tools(path: Path) -> dict[str, str]:
    """`Name  # reason` per line; lines starting with # are comments."""
    retired: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, _, reason = stripped.partition("#")
        retired[name.strip()] = reason.strip()
    return retired


def retired_tool_problems(bank: QuestionBank, retired: Mapping[str, str], file: str) -> list[BankProblem]:
    """A retired tool named in a practice's tools, or by name in its improvement text."""
    problems = []
    for index, question in enumerate(bank.questions):
        if not isinstance(question, Question):
            continue
        for position, tool in enumerate(question.tools):
            for name, reason in _named(retired, [tool]):
                problems.append(
                    BankProblem(file, f"questions[{index}].tools[{position}]", f"{name} is retired: {reason}")
                )
        for name, reason in _named(retired, [question.improvement]):
            problems.append(
                BankProblem(
                    file, f"questions[{index}].improvement", f"names {name}, which is retired: {reason}"
                )
            )
    return problems


def _named(retired: Mapping[str, str], texts: Iterable[str]) -> list[tuple[str, str]]:
    found = []
    for name, reason in retired.items():
        pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)
        if any(pattern.search(text) for text in texts):
            found.append((name, reason))
    return found


# Presentation ------------------------------------------------------------------------------------


def cut_label_warnings(bank: QuestionBank, file: str, shown: int = OPTION_TEXT_SHOWN) -> list[BankProblem]:
    """Answer labels longer than the chosen presentation shows whole: a person would choose without
    reading them. Warnings, not problems: the bank still loads."""
    warnings = []
    for index, question in enumerate(bank.questions):
        for position, (_, label) in enumerate(choices(question)):
            if len(label) > shown:
                warnings.append(
                    BankProblem(
                        file,
                        f"questions[{index}].options[{position}]",
                        f"label of {len(label)} characters; Slack shows {shown} whole, the rest would be cut",
                    )
                )
    return warnings
