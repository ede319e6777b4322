from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.engine.answers import Answer, DontKnow, NotApplicable, OptionChoice
from bot.engine.bank import QuestionBank
from bot.engine.scoring import NEXT_STEPS_COUNT, Report, level_for_score, score

from .synthetic import answer_sets, generated_banks, shipped_bank

MLOPS = shipped_bank("mlops")
# Parsing a generated bank takes longer than hypothesis's default deadline allows on a slow runner.
PROPERTY = settings(max_examples=120, deadline=None)


@st.composite
def mlops_answers(draw: st.DrawFn) -> tuple[QuestionBank, dict[str, Answer]]:
    return MLOPS, draw(answer_sets(MLOPS))


@st.composite
def generated_answers(draw: st.DrawFn) -> tuple[QuestionBank, dict[str, Answer]]:
    bank = draw(generated_banks())
    return bank, draw(answer_sets(bank))


BANKS_AND_ANSWERS = [
    pytest.param(mlops_answers(), id="mlops"),
    pytest.param(generated_answers(), id="generated"),
]


def assert_report_is_well_formed(bank: QuestionBank, answers: dict[str, Answer], report: Report) -> None:
    for d in report.dimensions:
        questions = bank.questions_in(d.dimension_id)
        assert d.answered + d.dont_know + d.not_applicable == len(questions)
        assert 0.0 <= d.confidence <= 1.0
        assert 1 <= d.level_low <= d.level_high <= 4
        if d.score is None:
            assert d.level is None and d.answered == 0
            continue
        assert 0.0 <= d.score <= 100.0
        assert d.level in (1, 2, 3, 4)
        assert d.uncapped_level == level_for_score(d.score)
        assert d.level <= d.uncapped_level
        assert (d.gate is None) == (d.level == d.uncapped_level)
        if d.gate is not None:
            assert d.level == d.gate.question_level
            assert bank.question(d.gate.question_id).is_gate and d.gate.value < 0.5
        assert d.level_low <= d.level <= d.level_high
        if d.dont_know == 0 and d.answered + d.not_applicable == len(questions):
            assert d.level_low == d.level == d.level_high

    scored = [d for d in report.dimensions if d.score is not None]
    if not scored:
        assert report.overall_score is None and report.overall_level is None and report.recommendation is None
        return
    scores = [d.score for d in scored if d.score is not None]
    levels = [d.level for d in scored if d.level is not None]
    assert report.overall_score is not None and len(levels) == len(scored)
    assert 0.0 <= report.overall_score <= 100.0
    # a weighted mean of all answers lies between the weakest and strongest dimension's score
    assert min(scores) - 1e-9 <= report.overall_score <= max(scores) + 1e-9
    if len(scored) < len(report.dimensions):
        # an unscored dimension could be the weakest one
        assert report.overall_level is None
    else:
        assert report.overall_level == min(levels)
    assert report.focus_dimension_id is not None
    focus = report.dimension(report.focus_dimension_id)
    assert focus.level == min(levels)
    assert report.recommendation == bank.recommendations[focus.dimension_id][focus.level]

    priorities = [step.priority for step in report.next_steps]
    assert len(priorities) <= NEXT_STEPS_COUNT
    assert priorities == sorted(priorities, reverse=True)
    assert all(p > 0 for p in priorities)
    for step in report.next_steps:
        assert isinstance(answers[step.question_id], OptionChoice)


@pytest.mark.parametrize("cases", BANKS_AND_ANSWERS)
@PROPERTY
@given(data=st.data())
def test_report_figures_stay_in_range(cases, data):
    bank, answers = data.draw(cases, label="bank and answers")

    assert_report_is_well_formed(bank, answers, score(bank, answers))


@pytest.mark.parametrize("cases", BANKS_AND_ANSWERS)
@PROPERTY
@given(data=st.data())
def test_raising_one_answer_never_lowers_a_result(cases, data):
    bank, answers = data.draw(cases, label="bank and answers")
    raisable = [
        q
        for q in bank.questions
        if isinstance(answers[q.id], OptionChoice) and answers[q.id].index < len(q.options) - 1
    ]
    assume(raisable)
    raised_question = data.draw(st.sampled_from(raisable), label="raised")
    higher = data.draw(
        st.integers(answers[raised_question.id].index + 1, len(raised_question.options) - 1), label="to"
    )
    before = score(bank, answers)
    after = score(bank, {**answers, raised_question.id: OptionChoice(higher)})

    dimension = raised_question.dimension
    raised_before, raised_after = before.dimension(dimension), after.dimension(dimension)
    assert raised_before.score is not None and raised_after.score is not None
    assert raised_before.level is not None and raised_after.level is not None
    assert before.overall_score is not None and after.overall_score is not None
    assert raised_after.score >= raised_before.score
    assert raised_after.level >= raised_before.level
    assert after.overall_score >= before.overall_score
    # raising an answer never changes which dimensions are scored, so both have a level or neither
    assert (after.overall_level is None) == (before.overall_level is None)
    if before.overall_level is not None and after.overall_level is not None:
        assert after.overall_level >= before.overall_level
    for d in bank.dimensions:
        if d.id != dimension:
            assert after.dimension(d.id) == before.dimension(d.id)


@pytest.mark.parametrize("cases", BANKS_AND_ANSWERS)
@PROPERTY
@given(data=st.data())
def test_answer_order_changes_nothing(cases, data):
    bank, answers = data.draw(cases, label="bank and answers")
    shuffled = data.draw(st.permutations(list(answers.items())), label="order")
    expected = score(bank, answers).to_dict()

    assert score(bank, dict(shuffled)).to_dict() == expected
    assert score(bank, dict(reversed(shuffled))).to_dict() == expected


@PROPERTY
@given(answer_sets(MLOPS))
def test_turning_an_answer_into_dont_know_only_widens_what_is_possible(answers):
    known = [qid for qid, answer in answers.items() if isinstance(answer, OptionChoice)]
    assume(known)
    qid = known[0]
    before = score(MLOPS, answers)
    after = score(MLOPS, {**answers, qid: DontKnow()})

    dimension = MLOPS.question(qid).dimension
    b, a = before.dimension(dimension), after.dimension(dimension)
    assert a.level_low <= b.level_low and a.level_high >= b.level_high
    assert a.confidence < b.confidence
    assert a.answered == b.answered - 1 and a.dont_know == b.dont_know + 1


NA_OFFERED = [q.id for q in MLOPS.questions if q.not_applicable]


@PROPERTY
@given(answer_sets(MLOPS), st.sampled_from(NA_OFFERED))
def test_not_applicable_and_dont_know_differ_only_in_confidence_and_range(answers, qid):
    as_dk = score(MLOPS, {**answers, qid: DontKnow()})
    as_na = score(MLOPS, {**answers, qid: NotApplicable()})

    assert as_na.overall_score == as_dk.overall_score
    na, dk = (report.dimension(MLOPS.question(qid).dimension) for report in (as_na, as_dk))
    assert (na.score, na.level, na.gate) == (dk.score, dk.level, dk.gate)
    assert na.confidence >= dk.confidence
    assert na.level_low >= dk.level_low and na.level_high <= dk.level_high
