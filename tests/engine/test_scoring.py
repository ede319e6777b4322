from __future__ import annotations

from typing import TypeVar

import pytest

from bot.engine.answers import DontKnow, NotApplicable
from bot.engine.scoring import level_for_score, score

from .synthetic import by_value, question, recommendation, scoring_bank

DK = DontKnow()
NA = NotApplicable()
GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
T = TypeVar("T")


def known(value: T | None) -> T:
    """A figure the case expects to be there (scores and levels are None where nothing was answered)."""
    assert value is not None
    return value


def test_hand_computed_dimension_score():
    bank = scoring_bank(
        [
            question("a", "data", weight=1, values=GRID),
            question("b", "data", weight=2, values=GRID),
            question("c", "data", weight=3, values=GRID),
        ]
    )

    report = score(bank, by_value(bank, {"a": 0.25, "b": 0.5, "c": 1.0}))

    # (1×0.25 + 2×0.5 + 3×1.0) ÷ (1 + 2 + 3) = 4.25 ÷ 6
    data = report.dimension("data")
    assert data.score == pytest.approx(100 * 4.25 / 6)
    assert data.level == 3
    assert data.confidence == 1.0
    assert (data.answered, data.dont_know, data.not_applicable) == (3, 0, 0)
    assert report.to_dict()["dimensions"][0]["score"] == 70.8


def test_dont_know_and_not_applicable_are_left_out_of_score_and_confidence():
    bank = scoring_bank(
        [
            question("a", "data", weight=1, values=GRID),
            question("b", "data", weight=2, values=GRID, not_applicable="Not for us"),
            question("c", "data", weight=3, values=GRID),
            question("d", "data", weight=2, values=GRID),
        ]
    )

    data = score(bank, by_value(bank, {"a": DK, "b": NA, "c": 0.5, "d": 0.25})).dimension("data")

    assert data.score == pytest.approx(100 * (3 * 0.5 + 2 * 0.25) / 5)
    # answered weight (c, d) ÷ applicable weight (a, c, d): N/A leaves the denominator, don't-know does not
    assert data.confidence == pytest.approx(5 / 6)
    assert (data.answered, data.dont_know, data.not_applicable) == (2, 1, 1)


def test_an_unanswered_question_counts_against_confidence_like_dont_know():
    bank = scoring_bank([question(q, "data", weight=1, values=GRID) for q in "abcd"])

    data = score(bank, by_value(bank, {"a": 1.0, "b": 0.5})).dimension("data")

    assert data.score == pytest.approx(75.0)
    assert data.confidence == pytest.approx(0.5)
    assert data.level_low < data.level_high


@pytest.mark.parametrize(
    ("value", "level"),
    [(0.0, 1), (34.9, 1), (34.999, 1), (35, 2), (59.9, 2), (60, 3), (84.9, 3), (85, 4), (100, 4)],
)
def test_level_thresholds(value, level):
    assert level_for_score(value) == level


@pytest.mark.parametrize(("value", "level"), [(0.349, 1), (0.35, 2), (0.6, 3), (0.85, 4)])
@pytest.mark.parametrize("weights", [(1, 1, 1), (2, 2, 2), (1, 2, 1), (0.5, 1, 2.5)])
def test_a_score_exactly_on_a_threshold_reaches_that_level(value, level, weights):
    # Every answer worth the same value makes the weighted mean that value, whatever the weights.
    bank = scoring_bank(
        [question(f"q{i}", "data", weight=w, values=(0.0, value, 1.0)) for i, w in enumerate(weights)]
    )

    data = score(bank, by_value(bank, {f"q{i}": value for i in range(3)})).dimension("data")

    assert round(known(data.score), 6) == round(100 * value, 6)
    assert data.level == level


GATE_VALUES = (0.0, 0.4, 0.5, 1.0)


def gated_bank(gate_weight: float = 3, gate_level: int = 2):
    """One gate-candidate question plus six weight-2 practices; with all six perfect, the dimension
    scores above 85 even when the candidate answers 0.4."""
    questions = [question("gate", "data", level=gate_level, weight=gate_weight, values=GATE_VALUES)]
    questions += [question(f"p{i}", "data", level=1 + i % 4, weight=2, values=GRID) for i in range(6)]
    questions += [question(f"o{i}", "ops", weight=1, values=GRID) for i in range(3)]
    return scoring_bank(questions)


def perfect_but(bank, **overrides):
    wanted = {q.id: 1.0 for q in bank.questions}
    wanted.update(overrides)
    return by_value(bank, wanted)


def test_a_failing_gate_caps_the_dimension_at_its_level_and_is_named():
    bank = gated_bank()

    report = score(bank, perfect_but(bank, gate=0.4))

    data = report.dimension("data")
    assert data.score == pytest.approx(100 * (3 * 0.4 + 12) / 15)
    assert level_for_score(known(data.score)) == 4
    assert data.level == 2
    assert data.uncapped_level == 4
    assert data.gate is not None
    assert (data.gate.question_id, data.gate.question_level, data.gate.value) == ("gate", 2, 0.4)
    assert data.gate.question_text == bank.question("gate").text
    assert report.to_dict()["dimensions"][0]["gate"] == {
        "question_id": "gate",
        "question": bank.question("gate").text,
        "question_level": 2,
        "capped_from": 4,
    }
    assert report.overall_level == 2


def test_a_gate_scoring_exactly_the_pass_mark_does_not_cap():
    bank = gated_bank()

    data = score(bank, perfect_but(bank, gate=0.5)).dimension("data")

    assert data.level == data.uncapped_level == 4
    assert data.gate is None
    assert score(bank, perfect_but(bank, gate=0.5)).to_dict()["dimensions"][0]["gate"] is None


def test_a_weight_above_three_gates_too():
    bank = gated_bank(gate_weight=4)

    assert score(bank, perfect_but(bank, gate=0.0)).dimension("data").level == 2


@pytest.mark.parametrize(("weight", "value"), [(2, 0.0), (2.5, 0.4)])
def test_a_question_below_weight_three_never_gates(weight, value):
    bank = gated_bank(gate_weight=weight)

    data = score(bank, perfect_but(bank, gate=value)).dimension("data")

    assert data.level == data.uncapped_level == level_for_score(known(data.score)) == 4
    assert data.gate is None


def test_a_gate_does_not_cap_a_dimension_already_at_or_below_its_level():
    bank = gated_bank(gate_level=3)
    answers = perfect_but(bank, gate=0.0, **{f"p{i}": 0.25 for i in range(6)})

    data = score(bank, answers).dimension("data")

    assert known(data.uncapped_level) <= 3
    assert data.level == data.uncapped_level
    assert data.gate is None


def test_the_lowest_failing_gate_is_the_one_named():
    bank = scoring_bank(
        [
            question("g3", "data", level=3, weight=3, values=GATE_VALUES),
            question("g1", "data", level=1, weight=3, values=GATE_VALUES),
            question("g2", "data", level=2, weight=3, values=GATE_VALUES),
        ]
        + [question(f"p{i}", "data", weight=2, values=GRID) for i in range(12)]
    )
    answers = by_value(bank, {"g3": 0.0, "g1": 0.4, "g2": 0.0} | {f"p{i}": 1.0 for i in range(12)})

    data = score(bank, answers).dimension("data")

    # all three fail, and g2 and g1 sit below the uncapped level; the lowest one holds the dimension
    assert data.uncapped_level == 3
    assert data.level == 1
    gate = known(data.gate)
    assert (gate.question_id, gate.question_level) == ("g1", 1)


def test_dont_knows_give_a_range_of_levels():
    bank = scoring_bank([question(q, "data", values=GRID) for q in "abc"])

    data = score(bank, by_value(bank, {"a": 1.0, "b": DK, "c": 0.5})).dimension("data")

    assert data.level == 3  # 75 on what is known
    assert (data.level_low, data.level_high) == (2, 3)  # 50 and 83.3 with "b" as 0 and as 1
    assert data.level_is_uncertain
    assert score(bank, by_value(bank, {"a": 1.0, "b": DK, "c": 0.5})).to_dict()["dimensions"][0][
        "level_range"
    ] == [2, 3]


def test_a_dont_know_on_a_gate_could_mean_the_gate_fails():
    bank = gated_bank()

    data = score(bank, perfect_but(bank, gate=DK)).dimension("data")

    assert data.level == 4
    assert data.gate is None
    assert (data.level_low, data.level_high) == (2, 4)


def test_without_dont_knows_the_range_is_the_level():
    bank = gated_bank()

    data = score(bank, perfect_but(bank, gate=0.4, p0=0.5)).dimension("data")

    assert data.level_low == data.level == data.level_high == 2
    assert not data.level_is_uncertain


def test_not_applicable_does_not_widen_the_range():
    bank = scoring_bank([question(q, "data", values=GRID, not_applicable="No") for q in "abc"])

    data = score(bank, by_value(bank, {"a": 1.0, "b": NA, "c": 0.75})).dimension("data")

    assert data.level_low == data.level_high == data.level == 4


def two_dimension_bank():
    return scoring_bank(
        [question(f"a{i}", "alpha", weight=1, values=GRID) for i in range(3)]
        + [question(f"b{i}", "beta", weight=2, values=GRID) for i in range(3)]
    )


def test_overall_level_is_the_weakest_dimension():
    bank = two_dimension_bank()

    report = score(bank, by_value(bank, {"a0": 1.0, "a1": 1.0, "a2": 1.0, "b0": 0.5, "b1": 0.5, "b2": 0.25}))

    assert [d.level for d in report.dimensions] == [4, 2]
    assert report.overall_level == 2
    assert report.to_dict()["overall"]["level_name"] == "Level 2 name"


def test_overall_score_weights_every_answered_question_not_each_dimension():
    bank = two_dimension_bank()
    answers = by_value(bank, {"a0": 1.0, "a1": 1.0, "a2": 1.0, "b0": 0.0, "b1": 0.0, "b2": DK})

    report = score(bank, answers)

    # alpha scores 100 on weight 3 and beta 0 on weight 4; a mean of dimensions would say 50
    assert report.overall_score == pytest.approx(100 * 3 / 7)
    assert report.answered == 5
    assert report.total_questions == 6


def test_recommendation_is_for_the_weakest_dimension_at_its_level():
    bank = two_dimension_bank()

    report = score(bank, by_value(bank, {"a0": 1.0, "a1": 1.0, "a2": 0.75, "b0": 0.5, "b1": 0.25, "b2": 0.5}))

    assert report.focus_dimension_id == "beta"
    assert report.recommendation == bank.recommendations["beta"][2] == recommendation("beta", 2)
    assert report.to_dict()["recommendation"] == {"dimension": "beta", "text": recommendation("beta", 2)}


def test_equal_levels_are_broken_by_the_lower_score():
    bank = two_dimension_bank()
    # alpha 41.7 and beta 50, both level 2; the reverse case below shows bank order plays no part
    answers = by_value(bank, {"a0": 0.25, "a1": 0.5, "a2": 0.5, "b0": 0.5, "b1": 0.5, "b2": 0.5})

    report = score(bank, answers)

    assert [d.level for d in report.dimensions] == [2, 2]
    assert report.focus_dimension_id == "alpha"
    answers = by_value(bank, {"a0": 0.5, "a1": 0.5, "a2": 0.5, "b0": 0.25, "b1": 0.5, "b2": 0.5})
    assert score(bank, answers).focus_dimension_id == "beta"


def test_a_gated_dimension_is_weaker_than_a_higher_level_with_a_lower_score():
    bank = gated_bank()
    answers = perfect_but(bank, gate=0.4, o0=0.5, o1=0.75, o2=0.75)

    report = score(bank, answers)

    assert report.dimension("ops").level == 3
    assert known(report.dimension("ops").score) < known(report.dimension("data").score)
    assert report.focus_dimension_id == "data"
    assert report.recommendation == recommendation("data", 2)


def next_steps_bank():
    return scoring_bank(
        [
            question("a", "data", level=2, weight=3, values=GRID),
            question("b", "data", level=1, weight=1, values=GRID),
            question("c", "data", level=3, weight=2, values=GRID),
            question("d", "ops", level=1, weight=3, values=GRID),
            question("e", "ops", level=1, weight=3, values=GRID),
            question("f", "ops", level=1, weight=1, values=GRID),
        ]
    )


def test_next_steps_are_the_top_three_by_weight_times_gap():
    bank = next_steps_bank()
    # priorities: a 1.5, b 1.0, c 2.0, d 0 (perfect), e unknown, f 0.5
    answers = by_value(bank, {"a": 0.5, "b": 0.0, "c": 0.0, "d": 1.0, "e": DK, "f": 0.5})

    steps = score(bank, answers).next_steps

    assert [s.question_id for s in steps] == ["c", "a", "b"]
    assert [s.priority for s in steps] == pytest.approx([2.0, 1.5, 1.0])
    first = steps[0]
    assert (first.dimension_id, first.practice, first.improvement, first.tools) == (
        "data",
        bank.question("c").text,
        "Improve c.",
        ("c-tool",),
    )


def test_next_steps_leave_out_perfect_unknown_and_not_applicable_answers():
    bank = next_steps_bank()

    steps = score(bank, by_value(bank, {"a": 1.0, "b": 1.0, "c": 0.75, "d": DK, "f": 1.0})).next_steps

    assert [s.question_id for s in steps] == ["c"]
    assert steps[0].priority == pytest.approx(0.5)


def test_next_steps_prefer_lower_level_practices_on_equal_priority():
    bank = next_steps_bank()
    # a (level 2) and d, e (level 1) all at priority 3; b, c, f perfect
    answers = by_value(bank, {"a": 0.0, "b": 1.0, "c": 1.0, "d": 0.0, "e": 0.0, "f": 1.0})

    assert [s.question_id for s in score(bank, answers).next_steps] == ["d", "e", "a"]


def test_a_dimension_of_only_dont_knows_has_no_score():
    bank = two_dimension_bank()

    report = score(bank, by_value(bank, {"a0": DK, "a1": DK, "a2": DK, "b0": 0.25, "b1": 0.25, "b2": 0.25}))

    alpha = report.dimension("alpha")
    assert alpha.score is None and alpha.level is None and alpha.uncapped_level is None
    assert alpha.confidence == 0.0
    assert (alpha.level_low, alpha.level_high) == (1, 4)
    assert alpha.dont_know == 3
    # An unscored dimension could be the weakest, so there is no overall level; the focus is the
    # weakest dimension that was scored.
    assert report.overall_level is None
    assert report.focus_dimension_id == "beta"
    assert report.overall_score == pytest.approx(25.0)
    assert report.to_dict()["dimensions"][0]["score"] is None


def test_nothing_known_means_no_overall_result():
    bank = two_dimension_bank()

    report = score(bank, {q.id: DK for q in bank.questions})

    assert report.overall_score is None
    assert report.overall_level is None
    assert report.focus_dimension_id is None
    assert report.recommendation is None
    assert report.next_steps == ()
    assert report.to_dict()["overall"] == {
        "score": None,
        "level": None,
        "level_name": None,
        "level_rule": "weakest dimension",
    }


def test_report_names_its_bank():
    bank = two_dimension_bank()

    report = score(bank, {})

    assert report.to_dict()["bank"] == {"id": "test", "version": "1.0"}
    assert report.level_names == {n: f"Level {n} name" for n in (1, 2, 3, 4)}
