"""Which question comes next: in an adaptive run, only those that can still change a level.

A level of a dimension is checked on its own pool of practices (bot/engine/scoring.py). Once no answers
to a pool's unasked questions could change whether that level holds, the rest of the pool cannot change
any level, so an adaptive run does not ask them: the levels are those of the full bank on the same
answers, always (tests/engine/test_adaptive.py proves it for any answers). The order:

1. the context questions, since they decide which practices exist;
2. the bank's pulse practices, always, even where their level is already settled: the pulse index, which
   a quarterly pulse compares with, is exact only with every one of them; and every failing pulse gate
   settles its level;
3. the other gates, since one failing answer settles a level;
4. the heaviest open practice, which moves its level's attainment most.

Ties keep the bank's order. A full run asks every question that applies, in the bank's order; outcome
questions, which are never scored, are asked only there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.engine.answers import Answer
from bot.engine.bank import AskedQuestion, ContextQuestion, Question, QuestionBank
from bot.engine.scoring import DimensionResult, applies, overall_range, score_dimension


class AskingMode(StrEnum):
    ADAPTIVE = "adaptive"  # only what can still change a level
    FULL = "full"  # every question that applies


@dataclass(frozen=True)
class Standing:
    """Where a run stands after its answers so far."""

    dimensions: tuple[DimensionResult, ...]
    overall_level_range: tuple[int, int] | None

    @property
    def overall_settled(self) -> bool:
        return (
            self.overall_level_range is not None
            and self.overall_level_range[0] == self.overall_level_range[1]
        )

    @property
    def every_level_settled(self) -> bool:
        return all(d.settled for d in self.dimensions if d.score_range is not None)

    @property
    def holding(self) -> tuple[DimensionResult, ...]:
        """The dimensions whose level is settled at the overall level: what holds it there."""
        if not self.overall_settled or self.overall_level_range is None:
            return ()
        level = self.overall_level_range[1]
        return tuple(
            d
            for d in self.dimensions
            if d.score_range is not None and not d.may_have_none and d.level_range[1] == level
        )


def standing(bank: QuestionBank, answers: Mapping[str, Answer]) -> Standing:
    dimensions = tuple(score_dimension(bank, d.id, answers) for d in bank.dimensions)
    return Standing(dimensions, overall_range(dimensions))


def _adaptive_rank(bank: QuestionBank) -> dict[str, tuple[int, float, int]]:
    pulse = {qid: rank for rank, qid in enumerate(bank.pulse)}
    ranks: dict[str, tuple[int, float, int]] = {}
    for order, question in enumerate(bank.questions):
        if isinstance(question, ContextQuestion):
            ranks[question.id] = (0, 0.0, order)
        elif isinstance(question, Question):
            if question.id in pulse:
                ranks[question.id] = (1, 0.0, pulse[question.id])
            else:
                ranks[question.id] = (2 if question.gate else 3, -question.weight, order)
    return ranks


def _bounding_dimension(now: Standing) -> str | None:
    """The dimension most likely to be the weakest: the one whose level can go least high, then least low,
    then with the fewest questions open, then the bank's order. Its open levels settle the overall level
    soonest, whether they hold or fall short (benchmarks/questions_asked.py measured the alternatives)."""
    if now.overall_settled:
        return None
    candidates = [d for d in now.dimensions if d.open_questions and not d.may_have_none]
    if not candidates:
        return None
    return min(
        candidates, key=lambda d: (d.level_range[1], d.level_range[0], len(d.open_questions))
    ).dimension_id


def questions_to_ask(
    bank: QuestionBank,
    answers: Mapping[str, Answer],
    mode: AskingMode,
    headline_first: bool = False,
    now: Standing | None = None,
) -> list[AskedQuestion]:
    """The unanswered questions still to ask, in the order they are asked: the first is next, and the
    count is the most that can be left. `headline_first` puts, after the pulse, the open questions of the
    dimension most likely to hold the overall level first, so that it is settled (and can be offered as
    a place to stop) as early as possible. `now` is `standing(bank, answers)` where the caller has it."""
    unanswered = [q for q in bank.questions if q.id not in answers and applies(q, answers, bank)]
    if mode is AskingMode.FULL:
        return unanswered
    now = now or standing(bank, answers)
    open_ids = {qid for d in now.dimensions for qid in d.open_questions}
    ranks = _adaptive_rank(bank)
    always = {*bank.pulse}
    wanted = [q for q in unanswered if isinstance(q, ContextQuestion) or q.id in open_ids or q.id in always]
    target = _bounding_dimension(now) if headline_first else None

    def rank(question: AskedQuestion) -> tuple[int, tuple[int, float, int]]:
        kind, weight, order = ranks[question.id]
        outside = not (isinstance(question, Question) and question.dimension == target)
        return (kind if kind < 2 else 2 + outside, (kind, weight, order))

    return sorted(wanted, key=rank)


def member_asking_mode(bank: QuestionBank, bands: Mapping[str, str | None]) -> AskingMode:
    """How a team run asks each member: adaptively when every banded dimension is banded by level, which an
    adaptive run settles exactly; every question when some dimension is banded by score, which is exact
    only with every practice answered (bot/engine/team_bands.py chooses the bands)."""
    return AskingMode.FULL if "score" in bands.values() else AskingMode.ADAPTIVE
