"""The scoring rules stated as properties and checked with hypothesis over the shipped banks and over
generated ones:
- all best answers give the top level the bank can place (4 for mlops), all worst give level 1;
- a better answer never lowers a score or a level;
- "Don't know" never gives more than the worst answer;
- every gate in every shipped bank can change a result;
- one answer moved one rung (indeed any change of one practice's answer) never moves a dimension or the
  overall level by two or more.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.answers import Answer, DontKnow, NotApplicable, OptionChoice, choices
from bot.engine.audit import best_answers, gate_effects
from bot.engine.bank import Question, QuestionBank
from bot.engine.scoring import Report, applies, score
from tests.conftest import examples

from .synthetic import answer_sets, generated_banks, shipped_bank

SHIPPED = ("mlops", "pulse")
PROPERTY = settings(max_examples=examples(150), deadline=None)


@st.composite
def bank_answers_and_practice(draw: st.DrawFn, bank_id: str | None) -> tuple[QuestionBank, dict, Question]:
    bank = shipped_bank(bank_id) if bank_id else draw(generated_banks())
    answers = draw(answer_sets(bank))
    practice = draw(st.sampled_from(bank.practices))
    return bank, answers, practice


SOURCES = [pytest.param(bank_id, id=bank_id) for bank_id in SHIPPED] + [pytest.param(None, id="generated")]


def figures(report: Report) -> list[tuple[float | None, int | None]]:
    rows = [(d.score, d.level) for d in report.dimensions]
    return [*rows, (report.overall_score, report.overall_level)]


def no_lower(before: Report, after: Report) -> None:
    """Every score and level of `after` is at least that of `before` (where both have one)."""
    for (score_before, level_before), (score_after, level_after) in zip(
        figures(before), figures(after), strict=True
    ):
        if score_before is not None and score_after is not None:
            assert score_after >= score_before - 1e-9
        if level_before is not None and level_after is not None:
            assert level_after >= level_before


@pytest.mark.parametrize("bank_id", SHIPPED)
def test_all_best_gives_the_top_level_and_all_worst_level_1(bank_id):
    bank = shipped_bank(bank_id)
    best = score(bank, best_answers(bank))
    worst = score(bank, {q.id: OptionChoice(0) for q in bank.practices})
    for dimension in best.dimensions:
        assert dimension.level == bank.level_ceiling(dimension.dimension_id)
        assert dimension.score == 100.0
    assert {d.level for d in worst.dimensions} == {1}
    assert worst.overall_level == 1 and worst.overall_score == 0.0
    if bank_id == "mlops":
        assert best.overall_level == 4


@pytest.mark.parametrize("source", SOURCES)
@PROPERTY
@given(data=st.data())
def test_a_better_answer_never_lowers_a_score_or_a_level(source, data):
    bank, answers, practice = data.draw(bank_answers_and_practice(source))
    worse = data.draw(st.integers(0, len(practice.options) - 1))
    better = data.draw(st.integers(worse, len(practice.options) - 1))
    no_lower(
        score(bank, {**answers, practice.id: OptionChoice(worse)}),
        score(bank, {**answers, practice.id: OptionChoice(better)}),
    )


@pytest.mark.parametrize("source", SOURCES)
@PROPERTY
@given(data=st.data())
def test_dont_know_never_gives_more_than_the_worst_answer(source, data):
    bank, answers, practice = data.draw(bank_answers_and_practice(source))
    no_lower(
        score(bank, {**answers, practice.id: DontKnow()}),
        score(bank, {**answers, practice.id: OptionChoice(0)}),
    )


@pytest.mark.parametrize("source", SOURCES)
@PROPERTY
@given(data=st.data())
def test_reports_are_well_formed(source, data):
    bank, answers, _ = data.draw(bank_answers_and_practice(source))
    report = score(bank, answers)
    for d in report.dimensions:
        assert 0.0 <= d.confidence <= 1.0 + 1e-9
        low, high = d.level_range
        assert 1 <= low <= high <= d.ceiling
        if d.level is None:
            continue
        assert d.level == low == high
        assert d.level_if_unknowns_in_place is not None and d.level_without_gates is not None
        assert 1 <= d.level <= d.level_if_unknowns_in_place <= d.ceiling
        assert d.level <= d.level_without_gates
        # Every level that falls short costs one level, and every failing gate is named at its level.
        assert d.level == d.ceiling - len(d.shortfalls)
        short = {s.level for s in d.shortfalls}
        for gate in d.holding_gates:
            assert gate.level in short and bank.practice(gate.question_id).gate
        if not d.dont_know and not d.unanswered:
            assert d.level == d.level_if_unknowns_in_place
    if report.overall_level is not None:
        assert report.overall_level == min(d.level for d in report.dimensions if d.level is not None)
    for step in report.next_steps:
        # Never advice for a practice already answered at its best.
        answer: Answer | None = answers.get(step.question_id)
        practice = bank.practice(step.question_id)
        assert not (isinstance(answer, OptionChoice) and answer.index == len(practice.options) - 1)
    picked = [s.question_id for s in report.next_steps]
    for position, question_id in enumerate(picked):
        for earlier in bank.practice(question_id).after:
            if earlier in picked:
                assert picked.index(earlier) < position
    focus = report.focus_dimension_id
    if focus is not None and any(
        not isinstance(answers.get(q.id), NotApplicable)
        and answers.get(q.id) != OptionChoice(len(q.options) - 1)
        and applies(q, answers, bank)
        for q in bank.questions_in(focus)
    ):
        assert any(s.dimension_id == focus for s in report.next_steps)


@pytest.mark.parametrize("bank_id", SHIPPED)
def test_every_gate_in_every_shipped_bank_can_change_a_result(bank_id):
    effects = gate_effects(shipped_bank(bank_id))
    assert effects, "a shipped bank without gates"
    for effect in effects:
        assert effect.fires, effect
        assert effect.level_passing is not None
        assert effect.level_failing == effect.level_passing - 1


def level_moves(before: Report, after: Report) -> list[int]:
    pairs = [(b.level, a.level) for b, a in zip(before.dimensions, after.dimensions, strict=True)]
    pairs.append((before.overall_level, after.overall_level))
    return [abs(a - b) for b, a in pairs if a is not None and b is not None]


@pytest.mark.parametrize("source", SOURCES)
@settings(max_examples=examples(300), deadline=None)
@given(data=st.data())
def test_one_answer_moved_one_rung_never_moves_a_level_by_two(source, data):
    bank, answers, practice = data.draw(bank_answers_and_practice(source))
    index = data.draw(st.integers(0, len(practice.options) - 2))
    lower = score(bank, {**answers, practice.id: OptionChoice(index)})
    upper = score(bank, {**answers, practice.id: OptionChoice(index + 1)})
    assert all(move <= 1 for move in level_moves(lower, upper))


@pytest.mark.parametrize("source", SOURCES)
@PROPERTY
@given(data=st.data())
def test_no_change_to_one_practice_answer_moves_a_level_by_two(source, data):
    # Stronger than one rung: any option, "Don't know" or "Not applicable" for one practice, because a
    # practice's answer enters exactly one level's check.
    bank, answers, practice = data.draw(bank_answers_and_practice(source))
    offered = [answer for answer, _ in choices(practice)]
    first, second = data.draw(st.sampled_from(offered)), data.draw(st.sampled_from(offered))
    moves = level_moves(
        score(bank, {**answers, practice.id: first}), score(bank, {**answers, practice.id: second})
    )
    assert all(move <= 1 for move in moves)
