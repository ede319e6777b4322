"""The facts the report view decides once for every front end: which note sits under which dimension,
whether it says what holds the dimension or only how far the bank measures, and whether levels and
scores rank the dimensions differently."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.bank import QuestionBank
from bot.engine.report_view import LEVEL_SCORE_REASON, DimensionNote, ReportView, build_view
from bot.engine.scoring import score
from tests.golden_reports import (
    LEVEL_ABOVE_LOWER_SCORE,
    MLOPS,
    PULSE,
    PULSE_EXAMPLE,
    TEAM_EXAMPLE,
    answered,
)

from .synthetic import answer_sets


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
