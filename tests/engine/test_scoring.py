"""Hand-worked cases for the scoring rules, each on a bank small enough to compute on paper."""

from __future__ import annotations

import pytest

from bot.engine.answers import DontKnow, NotApplicable, OptionChoice
from bot.engine.scoring import outcome_level, score, score_dimension

from .synthetic import by_value, context_question, question, scoring_bank


def data_bank(**fields):
    """data: q1 (L1, w1), q2 (L2, w2, gate), q3 (L3, w3), q4 (L4, w1)."""
    return scoring_bank(
        [
            question("q1", "data", level=1, weight=1),
            question("q2", "data", level=2, weight=2, gate=True),
            question("q3", "data", level=3, weight=3),
            question("q4", "data", level=4, weight=1),
        ],
        **fields,
    )


def test_all_best_is_level_4_and_all_worst_level_1():
    bank = data_bank()
    best = score_dimension(bank, "data", by_value(bank, dict.fromkeys(["q1", "q2", "q3", "q4"], 1.0)))
    worst = score_dimension(bank, "data", by_value(bank, dict.fromkeys(["q1", "q2", "q3", "q4"], 0.0)))
    assert (best.level, best.score) == (4, 100.0)
    assert (worst.level, worst.score) == (1, 0.0)


def test_level_is_staged_a_level_4_needs_the_level_4_practice():
    bank = data_bank()
    # Levels 1–2 (q1, q2) 3/3 = 1.0 → 2; level 3 (q3) 1.0 → 3; level 4 (q4) 0.0 < 0.7 → stays 3, although
    # the pooled attainment 6/7 = 0.86 would pass: each level's practices must hold on their own.
    no_top = score_dimension(bank, "data", by_value(bank, {"q1": 1.0, "q2": 1.0, "q3": 1.0, "q4": 0.0}))
    assert no_top.level == 3
    assert no_top.score == pytest.approx(100 * 6 / 7)
    # q3 at 0.5 < 0.7: level 3 falls short and costs one level; levels 2 and 4 hold → 1 + 2 = 3.
    weak_middle = score_dimension(bank, "data", by_value(bank, {"q1": 1.0, "q2": 1.0, "q3": 0.5, "q4": 1.0}))
    assert weak_middle.level == 3
    assert [s.level for s in weak_middle.shortfalls] == [3]
    # Levels 3 and 4 both short: 1 + 1 = 2.
    both = score_dimension(bank, "data", by_value(bank, {"q1": 1.0, "q2": 1.0, "q3": 0.5, "q4": 0.0}))
    assert both.level == 2 and [s.level for s in both.shortfalls] == [3, 4]


def test_a_failing_gate_costs_its_dimension_one_level():
    # q2 (gate, L2) at 0.0: ≤2 attainment (1 + 0)/3 = 0.33 fails anyway; raise the others so only the gate
    # can hold: q1 1, q2 0.5 passes the gate; q2 0.0 fails it.
    bank = scoring_bank(
        [
            question("q1", "data", level=1, weight=3),
            question("q2", "data", level=2, weight=1, gate=True, values=(0.0, 0.4, 1.0)),
            question("q3", "data", level=3, weight=3),
        ]
    )
    passing = score_dimension(bank, "data", by_value(bank, {"q1": 1.0, "q2": 1.0, "q3": 1.0}))
    failing = score_dimension(bank, "data", by_value(bank, {"q1": 1.0, "q2": 0.4, "q3": 1.0}))
    assert passing.level == 3
    # Attainment alone: levels 1–2 (3 + 0.4)/4 = 0.85, level 3 1.0 → 3; the failing level-2 gate makes
    # level 2 fall short, which costs one level: 1 + 1 (level 3 holds) = 2.
    assert failing.level == 2
    assert failing.level_without_gates == 3
    assert [g.question_id for g in failing.holding_gates] == ["q2"]
    assert failing.shortfalls[0].attained and failing.shortfalls[0].failing_gates[0].question_id == "q2"


def test_dont_know_counts_as_not_in_place_and_the_range_says_how_high_it_could_go():
    bank = data_bank()
    answers = by_value(bank, {"q1": 1.0, "q2": DontKnow(), "q3": 1.0, "q4": 1.0})
    worst = by_value(bank, {"q1": 1.0, "q2": 0.0, "q3": 1.0, "q4": 1.0})
    unknown, known_bad = score_dimension(bank, "data", answers), score_dimension(bank, "data", worst)
    # Levels 1–2 (1 + 0)/3 = 0.33 < 0.7 and the gate unknown: level 2 short; levels 3 and 4 hold → 3.
    assert (unknown.level, unknown.score) == (known_bad.level, known_bad.score) == (3, 100 * 5 / 7)
    assert unknown.level_if_unknowns_in_place == 4
    assert unknown.dont_know == ("q2",) and unknown.holding_gates[0].unknown
    assert unknown.confidence == pytest.approx(5 / 7)


def test_a_level_is_given_once_no_unasked_answer_could_change_it():
    bank = data_bank()
    # Unasked: the gate q2 could pass or fail level 2, q4 hold or fail level 4: anywhere from 2 to 4.
    thin = score_dimension(bank, "data", by_value(bank, {"q1": 1.0, "q3": 1.0}))
    assert (thin.level, thin.level_range, thin.open_questions) == (None, (2, 4), ("q2", "q4"))
    assert (thin.score, thin.score_range) == (None, (4 / 7 * 100, 100.0))
    # q4 settles level 4; the gate still decides level 2: 3 or 4.
    more = score_dimension(bank, "data", by_value(bank, {"q1": 1.0, "q3": 1.0, "q4": 1.0}))
    assert (more.level, more.level_range, more.open_questions) == (None, (3, 4), ("q2",))


def test_a_failing_gate_settles_its_level_without_the_rest_of_its_practices():
    bank = data_bank()
    # Level 2 falls short on its gate whatever q1 says; levels 3 and 4 hold: 3, with q1 never asked.
    result = score_dimension(bank, "data", by_value(bank, {"q2": 0.0, "q3": 1.0, "q4": 1.0}))
    assert (result.level, result.level_range, result.open_questions, result.unanswered) == (
        3,
        (3, 3),
        (),
        ("q1",),
    )
    assert result.score is None and result.score_range == (4 / 7 * 100, 5 / 7 * 100)
    report = score(bank, by_value(bank, {"q2": 0.0, "q3": 1.0, "q4": 1.0}))
    assert [qid for qid, _ in report.not_asked] == ["q1"] and report.to_answer == ()


def test_not_applicable_leaves_the_practice_out():
    bank = scoring_bank(
        [
            question("q1", "data", level=1, weight=1),
            question("q2", "data", level=2, weight=2, not_applicable="Batch only"),
            question("q3", "data", level=2, weight=1),
        ]
    )
    result = score_dimension(
        bank, "data", {"q1": OptionChoice(2), "q2": NotApplicable(), "q3": OptionChoice(2)}
    )
    assert (result.level, result.score, result.not_applicable) == (2, 100.0, 1)


def test_overall_level_is_the_weakest_and_the_score_the_mean_of_dimensions():
    bank = scoring_bank(
        [
            question("d1", "data", level=2, weight=1),
            question("d2", "data", level=2, weight=1),
            question("d3", "data", level=2, weight=1),
            question("o1", "ops", level=2, weight=5),
        ]
    )
    report = score(bank, by_value(bank, {"d1": 1.0, "d2": 1.0, "d3": 0.5, "o1": 0.0}))
    # data 2.5/3 = 83.3 at level 2; ops 0 at level 1. The mean of dimensions, not of questions (which
    # would be 2.5/8 = 31.25).
    assert report.overall_level == 1
    assert report.overall_score == pytest.approx((250 / 3 + 0) / 2)
    assert report.focus_dimension_id == "ops"


def test_a_dimension_with_too_few_answers_means_no_overall_level():
    bank = scoring_bank([question("d1", "data", level=2), question("o1", "ops", level=2)])
    report = score(bank, by_value(bank, {"d1": 1.0}))
    assert report.overall_level is None and report.overall_score is None
    assert [qid for qid, _ in report.to_answer] == ["o1"]


def test_the_level_ceiling_is_the_highest_tagged_level():
    bank = scoring_bank([question("q1", "data", level=2), question("q2", "data", level=3)])
    result = score_dimension(bank, "data", by_value(bank, {"q1": 1.0, "q2": 1.0}))
    assert (result.level, result.ceiling) == (3, 3)


def test_applies_if_skips_questions_and_they_do_not_count():
    bank = scoring_bank(
        [
            context_question("uses_llm", ("No", "Yes")),
            question("q1", "data", level=2),
            question("llm", "data", level=2, applies_if={"question": "uses_llm", "options": [2]}),
        ]
    )
    without = score(bank, {"uses_llm": OptionChoice(0), "q1": OptionChoice(2)})
    with_llm = score(bank, {"uses_llm": OptionChoice(1), "q1": OptionChoice(2)})
    assert without.dimension("data").level == 2 and without.dimension("data").skipped == 1
    assert without.applicable == 2
    # Switched on but unanswered: 1 of 2 answered = 50% < 60%.
    assert with_llm.dimension("data").level is None and with_llm.applicable == 3
    # A "Don't know" context answer switches nothing off.
    unsure = score(bank, {"uses_llm": DontKnow(), "q1": OptionChoice(2), "llm": OptionChoice(0)})
    assert unsure.dimension("data").skipped == 0


# Advice ------------------------------------------------------------------------------------------


def advice_bank():
    return scoring_bank(
        [
            question("found", "data", level=1, weight=1),
            question("gate2", "data", level=2, weight=2, gate=True),
            question("mid", "data", level=3, weight=3),
            question("top", "data", level=4, weight=3, after=["registry"]),
            question("registry", "data", level=3, weight=1),
            question("ops_a", "ops", level=2, weight=1),
            question("ops_b", "ops", level=3, weight=1),
        ]
    )


def test_next_steps_put_failing_gates_first_then_foundations_and_never_the_best():
    bank = advice_bank()
    answers = by_value(
        bank,
        {"found": 0.5, "gate2": 0.0, "mid": 0.0, "top": 0.0, "registry": 0.0, "ops_a": 1.0, "ops_b": 1.0},
    )
    report = score(bank, answers)
    ids = [s.question_id for s in report.next_steps]
    assert ids[0] == "gate2" and report.next_steps[0].kind == "gate"
    assert ids[1] == "found"  # a level-1 foundation before level-3 practices
    assert "ops_a" not in ids and "ops_b" not in ids
    assert report.recommendation is not None and report.recommendation.dimension_id == "data"
    assert report.recommendation.practices[0].question_id == "gate2"


def test_a_step_never_comes_before_one_it_depends_on():
    bank = advice_bank()
    answers = by_value(
        bank,
        {"found": 1.0, "gate2": 1.0, "mid": 1.0, "top": 0.0, "registry": 0.0, "ops_a": 1.0, "ops_b": 1.0},
    )
    ids = [s.question_id for s in score(bank, answers).next_steps]
    assert ids.index("registry") < ids.index("top")


def test_at_least_one_next_step_is_in_the_focus_dimension():
    bank = scoring_bank(
        [question("o1", "ops", level=2)] + [question(f"d{i}", "data", level=2, weight=3) for i in range(6)]
    )
    answers = by_value(bank, {**{f"d{i}": 0.5 for i in range(6)}, "o1": 0.0})
    report = score(bank, answers)
    # Both dimensions sit at level 1, so the first in the bank's order, ops, is the focus. By weight × gap
    # every data step (3 × 0.5) outranks ops's (1 × 1.0), so ops gets its step only by the focus rule.
    assert report.focus_dimension_id == "ops"
    assert [s.question_id for s in report.next_steps] == ["d0", "d1", "d2", "d3", "o1"]


def test_unknowns_that_block_a_level_are_find_out_steps():
    bank = data_bank()
    report = score(bank, by_value(bank, {"q1": 1.0, "q2": DontKnow(), "q3": 1.0, "q4": 1.0}))
    assert report.next_steps[0].kind == "find_out" and report.next_steps[0].question_id == "q2"
    assert [qid for qid, _ in report.find_out] == ["q2"]


def test_the_recommendation_never_names_a_practice_answered_best():
    bank = data_bank()
    report = score(bank, by_value(bank, {"q1": 1.0, "q2": 1.0, "q3": 0.5, "q4": 1.0}))
    assert report.recommendation is not None
    assert [s.question_id for s in report.recommendation.practices] == ["q3"]


# Outcomes and the pulse index --------------------------------------------------------------------


def test_outcome_levels_span_one_to_four():
    assert [outcome_level(v) for v in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)] == [1, 2, 2, 3, 3, 4]


def test_outcomes_that_disagree_with_practices_are_reported_and_not_scored():
    outcome = {
        "id": "failures",
        "kind": "outcome",
        "dimension": "data",
        "text": "How often do model releases fail?",
        "why": "Outcomes check the practices.",
        "options": [{"label": "Monthly", "value": 0.0}, {"label": "Never", "value": 1.0}],
    }
    bank = scoring_bank([question("q1", "data", level=3), question("q2", "data", level=2), outcome])
    strong = by_value(bank, {"q1": 1.0, "q2": 1.0})
    bad = score(bank, {**strong, "failures": OptionChoice(0)})
    good = score(bank, {**strong, "failures": OptionChoice(1)})
    assert bad.dimension("data").score == good.dimension("data").score == 100.0
    assert [(d.practice_level, d.outcome_level) for d in bad.disagreements] == [(3, 1)]
    assert good.disagreements == ()


def test_pulse_index_is_the_mean_of_dimension_scores_over_the_pulse_practices():
    bank = scoring_bank(
        [
            question("d1", "data", level=2, weight=1),
            question("d2", "data", level=2, weight=3),
            question("o1", "ops", level=2, weight=1),
            question("o2", "ops", level=2, weight=1),
        ],
        pulse=["d2", "o1"],
    )
    report = score(bank, by_value(bank, {"d1": 0.0, "d2": 0.5, "o1": 1.0, "o2": 0.0}))
    assert report.pulse_index == pytest.approx((50 + 100) / 2)
