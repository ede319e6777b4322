"""The team aggregate: golden cases worked out by hand on a small bank, and the rules as properties over
the shipped banks and generated ones:
- adding a response and subtracting it again leaves the aggregate as it was;
- a dimension's figure is the number of members whose own result is in its upper band, and the rest;
- fewer than three respondents never show a figure beyond the count.
Why nothing finer is shown is tests/engine/test_team_privacy.py and docs/privacy.md.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.answers import Answer, DontKnow, NotApplicable, OptionChoice
from bot.engine.bank import QuestionBank
from bot.engine.scoring import score
from bot.engine.team import (
    MIN_RESPONDENTS,
    TeamAggregate,
    aggregate_of,
    contribution,
    team_report,
)
from bot.engine.team_bands import deniable, dimension_bands, in_upper_band
from bot.engine.team_view import NO_BAND_TEXT, UNCOUNTED_TEXT, build_team_view
from tests.conftest import examples

from .synthetic import answer_sets, generated_banks, question, scoring_bank, shipped_bank

PROPERTY = settings(max_examples=examples(60), deadline=None)
SOURCES = [
    pytest.param("mlops", id="mlops"),
    pytest.param("pulse", id="pulse"),
    pytest.param(None, id="generated"),
]
FIVE = (0.0, 0.25, 0.5, 0.75, 1.0)


def small_bank() -> QuestionBank:
    """Shaped like the shipped banks: data has a practice at each level (a level band), ops a gate and a
    heavier practice (a score band), team a single question (no figure can hide its answer)."""
    return scoring_bank(
        [
            question("a", "data", level=1, values=FIVE),
            question("b", "data", level=2, values=FIVE, gate=True),
            question("c", "data", level=3, values=FIVE),
            question("d", "data", level=4, values=FIVE),
            question("e", "ops", level=2, weight=2, values=FIVE, gate=True),
            question("f", "ops", level=3, weight=3, values=FIVE, not_applicable="No live traffic"),
            question("g", "team", level=2, values=FIVE, gate=True),
        ]
    )


def answers(**chosen: int | str) -> dict[str, Answer]:
    decoded: dict[str, Answer] = {}
    for qid, code in chosen.items():
        decoded[qid] = (
            DontKnow() if code == "dk" else NotApplicable() if code == "na" else OptionChoice(int(code))
        )
    return decoded


# Bands -----------------------------------------------------------------------------------------------


def test_each_dimension_gets_the_first_band_that_hides_every_fact() -> None:
    assert dimension_bands(small_bank()) == {"data": "level", "ops": "score", "team": None}
    assert dimension_bands(shipped_bank("mlops")) == dict.fromkeys(
        ("data", "deploy", "monitor", "team"), "level"
    )
    # The pulse places no dimension above level 3, so "Level 3 or above" would be one level: the score band.
    assert dimension_bands(shipped_bank("pulse")) == {
        "data": "score",
        "deploy": "score",
        "monitor": "score",
        "team": None,
    }


def test_a_band_that_pins_an_answer_is_refused() -> None:
    # Options 0, 0.5, 1 and the bank's ceiling at 3: "Level 3 or above" needs levels 2 and 3 both held,
    # so the level-2 and level-3 practices could only be at 1, and the band would tell them.
    bank = scoring_bank(
        [question("a", "data", level=1), question("b", "data", level=2), question("c", "data", level=3)]
    )
    assert not deniable(bank, "data", "level")
    # Nor does any score band hide every answer of so short a ladder.
    assert dimension_bands(bank) == {"data": None}


# Golden cases --------------------------------------------------------------------------------------


def test_one_contribution_counts_the_respondent_and_their_bands() -> None:
    bank = small_bank()
    # data: a, b at their best, c at 0.75 → level 3 (the level-4 practice d is not in place): upper.
    # ops: (2 × 0.5 + 3 × 1) / 5 = 80, 50 or more: upper. team: no band, nothing counted.
    counts = contribution(bank, answers(a=4, b=4, c=3, d=0, e=2, f=4, g="dk")).counts
    assert counts == {"n": 1, "b:data:upper": 1, "b:ops:upper": 1}
    # "Don't know" counts as not in place: data holds level 3 alone (level 2's gate unknown, level 4's d
    # not in place), so level 2; ops (2 × 0 + 3 × 0.5) / 5 = 30.
    counts = contribution(bank, answers(a=4, b="dk", c=4, d=0, e="dk", f=2, g=4)).counts
    assert counts == {"n": 1, "b:data:lower": 1, "b:ops:lower": 1}


def test_a_retake_replaces_the_earlier_response() -> None:
    bank = small_bank()
    first, retake, other = answers(a=0, e=0), answers(a=4, b=4, c=4, e=4), answers(a=2, e=2)
    run = aggregate_of(bank, [first, other])
    run = run - contribution(bank, first) + contribution(bank, retake)
    assert run == aggregate_of(bank, [retake, other])
    assert run.respondents == 2


def test_the_aggregate_reads_back_from_a_redis_hash() -> None:
    bank = small_bank()
    aggregate = aggregate_of(bank, [answers(a=1, e=2), answers(a=4, b=4, c=4, d=4, e=4, f=4)])
    as_redis = {name.encode(): str(value).encode() for name, value in aggregate.counts.items()}
    as_redis[b"b:team:upper"] = b"0"  # a field counted down to zero by a retake
    assert TeamAggregate.from_fields(as_redis) == aggregate


MATURE = answers(a=4, b=4, c=4, d=4, e=4, f=4, g=4)  # data level 4, ops 100
STARTING = answers(a=1, b=0, c=0, d=0, e=1, f=0, g=0)  # data level 1, ops 10
MIXED = answers(a=4, b=3, c=0, d=0, e=0, f=4, g=2)  # data level 2, ops 60


def test_the_view_counts_members_per_band_and_names_the_split() -> None:
    bank = small_bank()
    view = build_team_view(team_report(bank, aggregate_of(bank, [MATURE, STARTING, MIXED, STARTING]), 6))
    assert view.count_text == "4 answered of 6 members invited"
    data, ops, team = view.dimensions
    assert data.bands_text == "1 of 4 at Level 3 or above · 3 below Level 3"
    assert data.position_text == "most of the team below Level 3"
    assert ops.bands_text == "2 of 4 scoring 50 or more · 2 scoring under 50"
    assert ops.position_text == "the team is split evenly"
    assert (team.shown, team.bands_text, team.withheld_text) == (False, None, NO_BAND_TEXT)
    assert [(s.dimension_id, s.detail.split(":")[0]) for s in view.splits] == [
        ("data", "1 at Level 3 or above, 3 below Level 3"),
        ("ops", "2 scoring 50 or more, 2 scoring under 50"),
    ]
    # The focus is data, with the fewest in its upper band; its practices come from the bank, gates first.
    assert view.headline == "Fewest members at Level 3 or above in Data: 1 of 4."
    assert view.recommendation is not None and view.recommendation.dimension_id == "data"
    assert [item.question_id for item in view.recommendation.items] == ["b", "a", "c"]
    assert [item.text for item in view.recommendation.items] == ["Improve b.", "Improve a.", "Improve c."]


def test_a_whole_team_on_one_side_is_no_split() -> None:
    bank = small_bank()
    view = build_team_view(team_report(bank, aggregate_of(bank, [MATURE] * 3)))
    assert view.dimension("data").position_text == "the whole team at Level 3 or above"
    assert view.splits == ()


def test_answers_counted_without_bands_show_no_figure() -> None:
    bank = small_bank()
    earlier = TeamAggregate({"n": 1, "a:a:4": 1, "l:data:2": 1})  # counted before bands were kept
    report = team_report(bank, earlier + aggregate_of(bank, [MATURE, STARTING]))
    data = build_team_view(report).dimension("data")
    assert (data.shown, data.withheld_text) == (False, UNCOUNTED_TEXT)


def test_two_respondents_withhold_everything_but_the_count() -> None:
    bank = small_bank()
    report = team_report(bank, aggregate_of(bank, [MATURE, STARTING]), invited=8, min_respondents=1)
    assert report.min_respondents == MIN_RESPONDENTS  # a lower setting cannot go under the floor
    assert report.withheld and report.dimensions == () and report.focus_practices == ()
    view = build_team_view(report)
    assert view.count_text == "2 answered of 8 members invited"
    assert view.withheld_text is not None and "only 2 people answered" in view.withheld_text
    assert "from 3 respondents" in view.withheld_text
    assert (view.dimensions, view.splits, view.recommendation, view.headline) == ((), (), None, None)


def test_a_higher_minimum_withholds_more() -> None:
    bank = small_bank()
    members = [MIXED] * 4
    assert not team_report(bank, aggregate_of(bank, members)).withheld
    assert team_report(bank, aggregate_of(bank, members), min_respondents=5).withheld


# Properties ------------------------------------------------------------------------------------------


@st.composite
def bank_and_members(draw: st.DrawFn, bank_id: str | None, most: int = 7) -> tuple[QuestionBank, list]:
    bank = shipped_bank(bank_id) if bank_id else draw(generated_banks())
    members = draw(st.lists(answer_sets(bank), min_size=1, max_size=most))
    return bank, members


@pytest.mark.parametrize("bank_id", [p.values[0] for p in SOURCES], ids=[p.id for p in SOURCES])
@PROPERTY
@given(data=st.data())
def test_adding_then_subtracting_a_response_changes_nothing(bank_id, data) -> None:
    bank, members = data.draw(bank_and_members(bank_id))
    extra = data.draw(answer_sets(bank))
    run = aggregate_of(bank, members)
    assert run + contribution(bank, extra) - contribution(bank, extra) == run
    assert run - contribution(bank, extra) + contribution(bank, extra) == run
    # Order does not matter either: the aggregate is a sum.
    assert aggregate_of(bank, list(reversed(members))) == run


@pytest.mark.parametrize("bank_id", [p.values[0] for p in SOURCES], ids=[p.id for p in SOURCES])
@PROPERTY
@given(data=st.data())
def test_band_counts_match_a_computation_from_the_raw_answers(bank_id, data) -> None:
    bank, members = data.draw(bank_and_members(bank_id))
    report = team_report(bank, aggregate_of(bank, members))
    if len(members) < MIN_RESPONDENTS:
        assert report.withheld and report.dimensions == ()
        return
    bands = dimension_bands(bank)
    individual = [score(bank, member) for member in members]
    for summary in report.dimensions:
        kind = bands[summary.dimension_id]
        assert summary.band == kind
        if kind is None:
            continue
        upper = sum(in_upper_band(kind, r.dimension(summary.dimension_id)) for r in individual)
        assert (summary.upper, summary.lower, summary.counted) == (upper, len(members) - upper, True)
    shown = report.shown
    if shown:
        fewest = min(d.upper for d in shown)
        assert report.focus_dimension_id == next(d.dimension_id for d in shown if d.upper == fewest)
