"""The facts the report view decides once for every front end: which note sits under which dimension,
whether it says what holds the dimension or only how far the bank measures, and whether levels and
scores rank the dimensions differently."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.bank import QuestionBank
from bot.engine.report_view import LEVEL_SCORE_REASON, DimensionNote, ReportView, build_view, level_meaning
from bot.engine.scoring import score
from tests.golden_reports import (
    LEVEL_ABOVE_LOWER_SCORE,
    MLOPS,
    PULSE,
    PULSE_EXAMPLE,
    TEAM_EXAMPLE,
    answered,
)

from .synthetic import answer_sets, by_value, question, scoring_bank


def test_a_dimension_held_below_the_pulse_ceiling_has_both_notes_in_that_order() -> None:
    view = build_view(answered(PULSE, LEVEL_ABOVE_LOWER_SCORE))
    data = view.dimension("data")
    assert [note.kind for note in data.notes] == ["held", "ceiling"]
    assert data.notes[0].text.startswith(
        "Held at level 1 of 3 by a gate: none of its 2 levels' practices hold. "
        "Level 2 falls short: gate Data validation"
    )
    assert data.notes[0].short_text == "held by a gate: Data validation before training"
    assert data.notes[1] == DimensionNote(
        "ceiling",
        "this bank measures Data & Experimentation up to level 3",
        "this bank measures up to level 3",
    )
    # Each dimension's notes name its own gates and practices, not another's.
    assert view.dimension("deploy").notes[0].short_text == "held by a gate: Tested rollback"


def test_a_ceiling_is_not_a_reason_the_dimension_is_held() -> None:
    # Team & Culture has too few answers for a level: nothing holds it, but the pulse still measures it
    # only up to level 2.
    team = build_view(answered(PULSE, PULSE_EXAMPLE)).dimension("team")
    assert team.level.level is None
    assert [(note.kind, note.text) for note in team.notes] == [
        ("ceiling", "this bank measures Team & Culture up to level 2")
    ]


def test_the_full_assessment_has_no_ceiling_notes() -> None:
    view = build_view(answered(MLOPS, TEAM_EXAMPLE))
    assert [[note.kind for note in d.notes] for d in view.dimensions] == [["held"]] * 4


def test_the_level_score_line_names_the_higher_level_with_the_lower_score() -> None:
    view = build_view(answered(PULSE, LEVEL_ABOVE_LOWER_SCORE))
    assert [(d.level.level, d.score) for d in view.dimensions] == [(1, 40.0), (2, 30.0), (1, 31.2), (1, 50.0)]
    assert view.level_score_text == (
        "Deployment & Integration has a higher level but a lower score than Data & Experimentation, "
        "Monitoring & Governance and Team & Culture: the level counts which levels' practices hold; the "
        "score weighs every answer."
    )


@pytest.mark.parametrize(
    ("bank", "answers_file"), [(PULSE, PULSE_EXAMPLE), (MLOPS, TEAM_EXAMPLE)], ids=["pulse", "mlops"]
)
def test_no_level_score_line_when_levels_and_scores_agree_in_order(
    bank: QuestionBank, answers_file: Path
) -> None:
    assert build_view(answered(bank, answers_file)).level_score_text is None


def higher_level_lower_score(view: ReportView) -> set[str]:
    """The dimensions shown at a higher level than another, with a lower score than it."""
    shown = [
        (d.name, d.level.level, d.score)
        for d in view.dimensions
        if d.level.level is not None and d.score is not None
    ]
    return {
        name
        for name, level, points in shown
        for _, other_level, other_points in shown
        if level > other_level and points < other_points
    }


@pytest.mark.parametrize("bank", [PULSE, MLOPS], ids=lambda bank: bank.id)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_the_level_score_line_appears_exactly_when_a_higher_level_has_a_lower_score(
    bank: QuestionBank, data: st.DataObject
) -> None:
    view = build_view(score(bank, data.draw(answer_sets(bank))))
    higher = higher_level_lower_score(view)
    if not higher:
        assert view.level_score_text is None
        return
    assert view.level_score_text is not None
    assert view.level_score_text.endswith(f": {LEVEL_SCORE_REASON}.")
    said = {
        d.name
        for d in view.dimensions
        if f"{d.name} has a higher level but a lower score" in view.level_score_text
    }
    assert said == higher


def two_dimension_bank() -> QuestionBank:
    """data: a level-2 gate and two level-2 practices, three level-3 practices; ops: one practice per
    level 2 and 3 (ceiling 3 each)."""
    return scoring_bank(
        [
            question("gate", "data", level=2, gate=True),
            question("d2a", "data", level=2, weight=2),
            question("d2b", "data", level=2),
            question("d3a", "data", level=3),
            question("d3b", "data", level=3),
            question("d3c", "data", level=3),
            question("o2", "ops", level=2),
            question("o3", "ops", level=3),
        ]
    )


def test_a_stopped_report_states_the_settled_overall_level_and_the_ranges_left() -> None:
    bank = two_dimension_bank()
    # data: the gate fails level 2; level 3's practices are not asked: 1 to 2. ops: both hold: 3.
    view = build_view(score(bank, by_value(bank, {"gate": 0.0, "o2": 1.0, "o3": 1.0})))
    data, ops = view.dimension("data"), view.dimension("ops")
    assert data.level.label == "Level 1 to 2 · not settled" and data.level.range == (1, 2)
    assert data.score is None and data.score_text.startswith("score 0.0 to ")
    assert data.confidence_text == "3 questions could still change it"
    assert ops.level.label == "Level 3 · Level 3 name" and ops.score == 100.0
    assert view.overall.level is None
    assert view.headline.startswith("No overall level yet: it is between 1 and 2")


def test_a_report_with_levels_settled_names_what_was_not_asked_and_says_at_most() -> None:
    bank = two_dimension_bank()
    # data level 2 falls short on its gate, so d2a and d2b can change nothing; level 3 falls short
    # whatever d3c says.
    answers = {"gate": 0.0, "d3a": 0.0, "d3b": 0.0, "o2": 1.0, "o3": 1.0}
    view = build_view(score(bank, by_value(bank, answers)))
    data = view.dimension("data")
    assert data.level.label == "Level 1 · Level 1 name"
    assert view.overall.level == 1 and view.headline.startswith("Overall Level 1 · Level 1 name.")
    assert "Stopped" not in view.headline
    held = data.notes[0].text
    assert held.startswith("Held at level 1 of 3 by a gate: none of its 2 levels' practices hold. ")
    assert "Level 3 falls short: practices at most 33% in place, 70% needed" in held
    assert view.not_asked == tuple(bank.question(q).text for q in ("d2a", "d2b", "d3c"))
    assert view.not_asked_text is not None and view.not_asked_text.startswith(
        "3 questions not asked: no answer to them could change a level."
    )
    assert view.level_meaning_text.startswith("A dimension's level is 1 plus the number of its levels")


def test_an_overall_level_settled_before_every_dimension_says_which_are_not() -> None:
    bank = two_dimension_bank()
    # ops falls short at 2 and 3: level 1, so the overall level is 1 whatever data's open level 3 says.
    answers = {"gate": 1.0, "d2a": 1.0, "d2b": 1.0, "o2": 0.0, "o3": 0.0}
    view = build_view(score(bank, by_value(bank, answers)))
    assert view.overall.level == 1
    assert view.headline.endswith("Not settled yet, for want of answers: Data 2 to 3.")
    assert view.not_asked_text == (
        "3 questions not asked could still settle the levels not settled. Answer them for every level and "
        "more Next Steps."
    )
    assert view.to_answer == tuple(bank.question(q).text for q in ("d3a", "d3b", "d3c"))


def test_a_level_above_a_level_that_falls_short_reads_as_a_count() -> None:
    bank = two_dimension_bank()
    # data: level 2 falls short on practices (gate passes, d2a and d2b missing); level 3 holds.
    answers = {"gate": 1.0, "d2a": 0.0, "d2b": 0.0, "d3a": 1.0, "d3b": 1.0, "d3c": 1.0, "o2": 1.0, "o3": 1.0}
    held = build_view(score(bank, by_value(bank, answers))).dimension("data").notes[0].text
    assert held.startswith(
        "Held at level 2 of 3 by practices not in place: the practices of 1 of its 2 levels hold (level 3). "
        "Level 2 falls short: practices 25% in place, 70% needed"
    )


def test_a_stopped_report_counts_both_kinds_of_questions_not_asked() -> None:
    bank = two_dimension_bank()
    # data's gate fails level 2, so d2a and d2b can change nothing; ops at 1 settles the overall level
    # while data's level 3 is still open.
    answers = {"gate": 0.0, "o2": 0.0, "o3": 0.0}
    view = build_view(score(bank, by_value(bank, answers)))
    assert view.overall.level == 1
    assert view.not_asked_text == (
        "5 questions not asked: 3 could still settle the levels not settled, and no answer to the other 2 "
        "could change a level. Answer them for every level, a complete picture and more Next Steps."
    )


def test_the_level_meaning_counts_the_levels_a_bank_reaches(mlops: QuestionBank, pulse: QuestionBank) -> None:
    assert level_meaning(4) in build_view(score(mlops, {})).level_meaning_text
    assert build_view(score(pulse, {})).level_meaning_text == (
        "A dimension's level is 1 plus the number of its levels (2 to 3) whose practices hold; each level is "
        "checked on its own practices, so level 2 can mean that level 3 holds while level 2 falls short."
    )


def test_a_recommendation_with_nothing_to_do_among_the_answers_says_what_was_not_asked() -> None:
    bank = two_dimension_bank()
    # Everything asked is at its best; ops at 3 and data at 3 with d2b never asked (level 2 holds).
    answers = {"gate": 1.0, "d2a": 1.0, "d3a": 1.0, "d3b": 1.0, "d3c": 1.0, "o2": 1.0, "o3": 1.0}
    view = build_view(score(bank, by_value(bank, answers)))
    assert view.recommendation is not None and not view.recommendation.items
    assert view.recommendation.heading == (
        "Data: every practice answered is at its best; 1 question about it was not asked, since no answer "
        "could change its level. Answer it for more to do."
    )
