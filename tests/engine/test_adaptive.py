"""Adaptive runs: the levels are those of the full bank on the same answers, always; the overall level,
once offered as settled, is the full bank's; and the order and the offer to stop work as stated."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.adaptive import AskingMode, member_asking_mode, questions_to_ask, standing
from bot.engine.answers import Answer, DontKnow, OptionChoice
from bot.engine.bank import ContextQuestion, OutcomeQuestion, Question, QuestionBank
from bot.engine.conversation import (
    AnswerQuestion,
    AskQuestion,
    Back,
    Conversation,
    Event,
    KeepGoing,
    NoStopOffered,
    OfferStop,
    Phase,
    ShowReport,
    Start,
    StopHere,
    advance,
    prompt_for,
)
from bot.engine.scoring import Report, score
from bot.engine.team_bands import dimension_bands
from tests.conftest import examples

from .synthetic import answer_sets, by_value, generated_banks, question, scoring_bank, shipped_bank

PROPERTY = settings(max_examples=examples(200), deadline=None)
SHIPPED = ("mlops", "pulse")


def levels(report: Report) -> tuple[tuple[int | None, ...], int | None]:
    return tuple(d.level for d in report.dimensions), report.overall_level


def answer_from(
    bank: QuestionBank,
    truth: Mapping[str, Answer],
    mode: AskingMode = AskingMode.ADAPTIVE,
    stop: bool = False,
) -> tuple[Conversation, list[object]]:
    """Answer every question asked with `truth`, as a person whose situation it describes would; keep
    going past the offer to stop unless `stop`. Returns the final state and every prompt shown."""
    transition = advance(Conversation.new(bank, mode, offer_stop=True), Start(), bank)
    prompts: list[object] = [transition.prompt]
    while not transition.state.finished:
        prompt = transition.prompt
        if isinstance(prompt, OfferStop):
            event: Event = StopHere() if stop else KeepGoing()
        else:
            assert isinstance(prompt, AskQuestion)
            event = AnswerQuestion(prompt.question.id, truth[prompt.question.id])
        transition = advance(transition.state, event, bank)
        prompts.append(transition.prompt)
    return transition.state, prompts


@st.composite
def bank_and_truth(draw: st.DrawFn) -> tuple[QuestionBank, dict[str, Answer]]:
    source = draw(st.sampled_from([*SHIPPED, None]))
    bank = shipped_bank(source) if source else draw(generated_banks())
    return bank, draw(answer_sets(bank))


@PROPERTY
@given(bank_and_truth())
def test_adaptive_levels_are_the_full_banks_for_any_answers(case):
    bank, truth = case
    state, _ = answer_from(bank, truth)
    assert state.phase is Phase.COMPLETE
    assert set(state.answers) <= set(truth)
    assert levels(score(bank, state.answers)) == levels(score(bank, truth))


@PROPERTY
@given(bank_and_truth())
def test_a_settled_overall_level_is_the_full_banks_and_stopping_keeps_it(case):
    bank, truth = case
    state, prompts = answer_from(bank, truth, stop=True)
    full = score(bank, truth)
    offers = [p for p in prompts if isinstance(p, OfferStop)]
    assert len(offers) <= 1
    for offer in offers:
        assert offer.overall_level == full.overall_level
        holding = {d.name for d in full.dimensions if d.level == full.overall_level}
        assert set(offer.holding) <= holding
    stopped = score(bank, state.answers)
    assert stopped.overall_level == full.overall_level
    for dimension, truth_dimension in zip(stopped.dimensions, full.dimensions, strict=True):
        low, high = dimension.level_range
        assert truth_dimension.level is None or low <= truth_dimension.level <= high
        if dimension.level is not None:
            assert dimension.level == truth_dimension.level


@PROPERTY
@given(bank_and_truth())
def test_the_total_shown_never_grows_except_through_a_context_answer(case):
    bank, truth = case
    _, prompts = answer_from(bank, truth)
    asks = [p for p in prompts if isinstance(p, AskQuestion)]
    for earlier, later in itertools.pairwise(asks):
        if later.count_note is None:
            assert later.total <= earlier.total
        assert later.number == earlier.number + 1


@PROPERTY
@given(bank_and_truth())
def test_a_full_run_asks_every_question_that_applies(case):
    bank, truth = case
    state, _ = answer_from(bank, truth, AskingMode.FULL)
    assert set(state.answers) == {q.id for q in questions_to_ask(bank, truth, AskingMode.FULL)} | {
        q.id for q in bank.questions if q.id in state.answers
    }
    assert score(bank, state.answers).not_asked == ()


@pytest.mark.parametrize("bank_id", SHIPPED)
def test_context_then_pulse_then_gates_then_the_heaviest(bank_id):
    bank = shipped_bank(bank_id)
    order = questions_to_ask(bank, {}, AskingMode.ADAPTIVE)
    contexts = [q for q in bank.questions if isinstance(q, ContextQuestion)]
    assert order[: len(contexts)] == contexts
    pulse = [q.id for q in order[len(contexts) : len(contexts) + len(bank.pulse)]]
    assert pulse == list(bank.pulse)
    rest = [q for q in order[len(contexts) + len(bank.pulse) :]]
    gates = [q for q in rest if getattr(q, "gate", False)]
    assert rest[: len(gates)] == gates
    weights = [q.weight for q in rest[len(gates) :] if isinstance(q, Question)]
    assert len(weights) == len(rest) - len(gates)
    assert weights == sorted(weights, reverse=True)
    assert not any(isinstance(q, OutcomeQuestion) for q in order)


def test_a_failing_gate_settles_its_level_and_its_pool_is_not_asked():
    bank = scoring_bank(
        [
            question("gate2", "data", level=2, gate=True, weight=1),
            question("heavy2", "data", level=2, weight=3),
            question("light2", "data", level=2, weight=1),
            question("three_a", "data", level=3, weight=1),
            question("three_b", "data", level=3, weight=1),
        ],
        pulse=["gate2"],
    )
    answers = by_value(bank, {"gate2": 0.0})
    asked = [q.id for q in questions_to_ask(bank, answers, AskingMode.ADAPTIVE)]
    assert asked == ["three_a", "three_b"]  # level 2 falls short whatever heavy2 and light2 say
    result = score(bank, {**answers, "three_a": OptionChoice(2), "three_b": OptionChoice(2)})
    assert result.dimensions[0].level == 2
    assert [qid for qid, _ in result.not_asked] == ["heavy2", "light2"]
    assert result.dimensions[0].score is None
    assert result.dimensions[0].score_range == pytest.approx((2 / 7 * 100, 6 / 7 * 100))


def test_dont_know_counts_as_not_in_place_and_settles_like_an_answer():
    bank = scoring_bank(
        [question(f"q{i}", "data", level=2, weight=1) for i in range(4)]
        + [question(f"r{i}", "data", level=3, weight=1) for i in range(3)]
    )
    answers: dict[str, Answer] = {"q0": DontKnow(), "q1": DontKnow(), "q2": DontKnow()}
    # 3 of 4 level-2 practices unknown: even the last in place leaves 25%, under 50%.
    assert [q.id for q in questions_to_ask(bank, answers, AskingMode.ADAPTIVE)] == ["r0", "r1", "r2"]
    assert standing(bank, answers).dimensions[0].level_range == (1, 2)


def test_the_offer_names_the_level_the_dimension_holding_it_and_the_most_left(mlops):
    answers = {q.id: OptionChoice(0) for q in mlops.questions}
    _, prompts = answer_from(mlops, answers, stop=True)
    offer = next(p for p in prompts if isinstance(p, OfferStop))
    asked_before = [p for p in prompts if isinstance(p, AskQuestion)]
    assert offer.overall_level == 1 == score(mlops, answers).overall_level
    assert offer.holding and set(offer.holding) <= {d.name for d in mlops.dimensions}
    assert offer.answered == len(asked_before)
    assert offer.at_most_left == len(
        questions_to_ask(mlops, prompts_answers(prompts, answers), AskingMode.ADAPTIVE)
    )
    assert offer.at_most_left > 0
    report = prompts[-1]
    assert isinstance(report, ShowReport)
    assert report.report.overall_level == offer.overall_level
    assert any(d.level is None for d in report.report.dimensions)


def prompts_answers(prompts: list[object], truth: Mapping[str, Answer]) -> dict[str, Answer]:
    return {p.question.id: truth[p.question.id] for p in prompts if isinstance(p, AskQuestion)}


def test_keep_going_and_stop_are_refused_without_an_offer(small_bank):
    state = advance(Conversation.new(small_bank), Start(), small_bank).state
    for event in (KeepGoing(), StopHere()):
        with pytest.raises(NoStopOffered):
            advance(state, event, small_bank)


def test_back_from_the_offer_returns_to_the_last_answer_and_the_offer_comes_again(mlops):
    answers = {q.id: OptionChoice(len(q.options) - 1) for q in mlops.questions}
    answers[mlops.pulse[0]] = OptionChoice(0)
    transition = advance(Conversation.new(mlops, offer_stop=True), Start(), mlops)
    while not isinstance(transition.prompt, OfferStop):
        assert isinstance(transition.prompt, AskQuestion)
        question = transition.prompt.question
        transition = advance(transition.state, AnswerQuestion(question.id, answers[question.id]), mlops)
    last = mlops.questions[transition.state.asked[-1]].id
    back = advance(transition.state, Back(last), mlops)
    assert isinstance(back.prompt, AskQuestion)
    assert back.prompt.question.id == last
    assert back.prompt.previous_answer == answers[last]
    again = advance(back.state, AnswerQuestion(last, answers[last]), mlops)
    assert isinstance(again.prompt, OfferStop)
    assert prompt_for(again.state, mlops) == again.prompt
    restored = Conversation.from_dict(again.state.to_dict())
    assert restored == again.state


def test_an_earlier_runs_answers_are_not_asked_again(mlops):
    answers = {q.id: OptionChoice(len(q.options) - 1) for q in mlops.questions}
    adaptive, _ = answer_from(mlops, answers)
    rest = Conversation.new(mlops, AskingMode.FULL, answers=adaptive.answers)
    transition = advance(rest, Start(), mlops)
    assert isinstance(transition.prompt, AskQuestion)
    assert transition.prompt.question.id not in adaptive.answers
    assert transition.prompt.total == len(questions_to_ask(mlops, adaptive.answers, AskingMode.FULL))


@PROPERTY
@given(bank_and_truth())
def test_the_pulse_index_is_exact_in_every_adaptive_run(case):
    bank, truth = case
    state, _ = answer_from(bank, truth)
    assert score(bank, state.answers).pulse_index == score(bank, truth).pulse_index


def test_a_team_banded_by_score_answers_every_question_and_one_banded_by_level_adaptively(mlops, pulse):
    assert dimension_bands(mlops) and set(dimension_bands(mlops).values()) == {"level"}
    assert member_asking_mode(mlops, dimension_bands(mlops)) is AskingMode.ADAPTIVE
    # The pulse bands three dimensions by score, exact only with every practice answered.
    assert "score" in dimension_bands(pulse).values()
    assert member_asking_mode(pulse, dimension_bands(pulse)) is AskingMode.FULL
