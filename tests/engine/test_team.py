"""The team aggregate: golden cases worked out by hand on a small bank, and the rules as properties over
the shipped banks and generated ones:
- adding a response and subtracting it again leaves the aggregate as it was;
- the median level per dimension is the lower median of the members' own levels;
- the team's answer to a question is the lower median of the options its members chose;
- fewer than three respondents never show a figure beyond the count.
"""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.answers import Answer, DontKnow, NotApplicable, OptionChoice
from bot.engine.bank import QuestionBank
from bot.engine.scoring import applicable_questions, score
from bot.engine.team import (
    MIN_RESPONDENTS,
    TeamAggregate,
    aggregate_of,
    contribution,
    lower_median,
    nearest_rank,
    team_answers,
    team_report,
)
from bot.engine.team_view import build_team_view

from .synthetic import answer_sets, generated_banks, question, scoring_bank, shipped_bank

PROPERTY = settings(max_examples=80, deadline=None)
SOURCES = [
    pytest.param("mlops", id="mlops"),
    pytest.param("pulse", id="pulse"),
    pytest.param(None, id="generated"),
]


def small_bank() -> QuestionBank:
    return scoring_bank(
        [
            question("a", "data", level=1, weight=1, values=(0.0, 0.25, 0.5, 0.75, 1.0)),
            question("b", "data", level=2, weight=1, not_applicable="We have none"),
            question("c", "ops", level=1, weight=1),
            question("d", "ops", level=2, weight=1, gate=True),
        ]
    )


def answers(**chosen: int | str) -> dict[str, Answer]:
    decoded: dict[str, Answer] = {}
    for qid, code in chosen.items():
        decoded[qid] = (
            DontKnow() if code == "dk" else NotApplicable() if code == "na" else OptionChoice(int(code))
        )
    return decoded


# Golden cases --------------------------------------------------------------------------------------


def test_one_contribution_counts_answers_levels_scores_and_confidence() -> None:
    bank = small_bank()
    counts = contribution(bank, answers(a=4, b="na", c=2, d="dk")).counts
    # data: a answered best, b not applicable → score 100, level 2 (its ceiling), confidence 1.
    # ops: c best, d "Don't know" → score 50, coverage 1, a failing gate at level 2 → level 1,
    # confidence 0.5.
    assert counts == {
        "n": 1,
        "a:a:4": 1,
        "a:b:na": 1,
        "a:c:2": 1,
        "a:d:dk": 1,
        "l:data:2": 1,
        "s:data:100": 1,
        "c:data": 1_000_000,
        "l:ops:1": 1,
        "s:ops:50": 1,
        "c:ops": 500_000,
    }


def test_a_dimension_without_enough_answers_counts_as_no_level() -> None:
    bank = small_bank()
    counts = contribution(bank, answers(a=4)).counts
    assert counts["l:ops:none"] == 1
    assert counts["s:ops:0"] == 1  # unknown practices count as not in place
    assert "c:ops" not in counts  # confidence 0 leaves no count


def test_a_retake_replaces_the_earlier_response() -> None:
    bank = small_bank()
    first, retake, other = answers(a=0, c=0, d=0), answers(a=4, c=2, d=2), answers(a=2, c=1, d=1)
    run = aggregate_of(bank, [first, other])
    run = run - contribution(bank, first) + contribution(bank, retake)
    assert run == aggregate_of(bank, [retake, other])
    assert run.respondents == 2


def test_the_aggregate_reads_back_from_a_redis_hash() -> None:
    bank = small_bank()
    aggregate = aggregate_of(bank, [answers(a=1, c=2, d=2), answers(a=3, b=2, c=0, d="dk")])
    as_redis = {name.encode(): str(value).encode() for name, value in aggregate.counts.items()}
    as_redis[b"a:a:0"] = b"0"  # a field counted down to zero by a retake
    assert TeamAggregate.from_fields(as_redis) == aggregate


def test_medians_ranges_and_middle_half_from_counts() -> None:
    assert lower_median({1: 2, 3: 2}) == 1
    assert lower_median({2: 1, 3: 1, 4: 1}) == 3
    assert lower_median({}) is None
    scores = {10: 1, 20: 1, 30: 1, 40: 1, 50: 1, 60: 1, 70: 1, 80: 1}
    assert (nearest_rank(scores, 0.25), nearest_rank(scores, 0.75)) == (20, 60)


def test_the_team_answer_set_follows_the_majority_rules() -> None:
    bank = small_bank()
    members = [
        answers(a=0, b="na", c="dk", d=0),
        answers(a=1, b="na", c="dk", d=2),
        answers(a=4, b="na", c=1, d=2),
        answers(a=4, b=0, c="dk", d="dk"),
        answers(a=3, b="dk", c=2, d="dk"),
    ]
    team = team_answers(bank, aggregate_of(bank, members))
    assert team["a"] == OptionChoice(3)  # options 0, 1, 3, 4, 4: the median is 3
    assert team["b"] == NotApplicable()  # 3 of 5 said "not applicable"
    assert team["c"] == DontKnow()  # 3 of 5 did not know
    assert team["d"] == OptionChoice(2)  # 2 of 5 did not know, not most; options 0, 2, 2 → median 2


def test_an_even_split_takes_the_lower_option() -> None:
    bank = small_bank()
    members = [answers(a=0, c=0, d=0)] * 2 + [answers(a=4, c=2, d=2)] * 2
    assert team_answers(bank, aggregate_of(bank, members))["a"] == OptionChoice(0)


def test_alignment_gaps_are_answers_two_or_more_options_apart() -> None:
    bank = small_bank()
    members = [
        answers(a=0, b=0, c=0, d=1),
        answers(a=4, b=1, c=0, d=2),
        answers(a=2, b=1, c=2, d=1),
    ]
    report = team_report(bank, aggregate_of(bank, members))
    # a spans options 1-5 (4 apart), c spans 1-3 (2 apart); b and d are one option apart.
    assert [(g.question_id, g.options_apart) for g in report.alignment_gaps] == [("a", 4), ("c", 2)]
    first = report.alignment_gaps[0]
    assert (first.low_label, first.high_label, first.answered_with_option) == ("a option 1", "a option 5", 3)


def test_dont_know_is_no_answer_for_alignment() -> None:
    bank = small_bank()
    members = [answers(a=0, c="dk", d=1), answers(a=1, c=2, d="dk"), answers(a="dk", c=2, d=1)]
    assert team_report(bank, aggregate_of(bank, members)).alignment_gaps == ()


def test_knowledge_gaps_start_at_a_third_saying_dont_know() -> None:
    bank = small_bank()
    known = answers(a=1, b=1, c=1, d=1)
    members = [answers(a="dk", b="dk", c=1, d=1)] * 3 + [answers(a=1, b="dk", c="dk", d=1)] * 2 + [known] * 4
    report = team_report(bank, aggregate_of(bank, members))
    # b: 5 of 9, a: 3 of 9 (exactly a third), c: 2 of 9 (under a third).
    assert [(g.question_id, g.dont_know, g.asked) for g in report.knowledge_gaps] == [
        ("b", 5, 9),
        ("a", 3, 9),
    ]


def test_two_respondents_withhold_everything_but_the_count() -> None:
    bank = small_bank()
    members = [answers(a=0, c=0, d=0), answers(a=4, c=2, d=2)]
    report = team_report(bank, aggregate_of(bank, members), invited=8, min_respondents=1)
    assert report.min_respondents == MIN_RESPONDENTS  # a lower setting cannot go under the floor
    assert report.withheld
    assert (report.dimensions, report.alignment_gaps, report.knowledge_gaps) == ((), (), ())
    assert report.team_report is None
    view = build_team_view(report)
    assert view.count_text == "2 answered of 8 members invited"
    assert view.withheld_text is not None and "only 2 people answered" in view.withheld_text
    assert "from 3 respondents" in view.withheld_text
    rendered = str(view.to_dict())
    assert not any(f"Level {n}" in rendered for n in range(1, 5))
    assert "a option 1" not in rendered and "scores 0" not in rendered


def test_a_higher_minimum_withholds_more() -> None:
    bank = small_bank()
    members = [answers(a=1, c=1, d=1)] * 4
    assert not team_report(bank, aggregate_of(bank, members)).withheld
    assert team_report(bank, aggregate_of(bank, members), min_respondents=5).withheld


def test_the_view_states_medians_ranges_and_gaps_in_words() -> None:
    bank = small_bank()
    members = [answers(a=0, b=0, c=0, d=0), answers(a=4, b=2, c=2, d=2), answers(a=4, b=2, c=2, d="dk")]
    view = build_team_view(team_report(bank, aggregate_of(bank, members), invited=5))
    data = view.dimension("data")
    # data levels: 1, 2, 2 → median 2; scores 0, 100, 100.
    assert data.median_text == "median Level 2 · Level 2 name"
    assert data.levels_text == "levels held: 1: 1 · 2: 2"
    assert data.scores_text == "scores 0–100 · middle half 0–100"
    assert view.count_text == "3 answered of 5 members invited"
    assert [g.question_id for g in view.alignment_gaps] == ["a", "b", "c", "d"]
    assert view.alignment_gaps[0].detail.startswith("answers run from “a option 1” to “a option 5”")
    assert view.overall is not None and view.headline is not None
    assert view.headline.startswith("From the team's answers: Overall Level")


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
def test_medians_match_a_computation_from_the_raw_answers(bank_id, data) -> None:
    bank, members = data.draw(bank_and_members(bank_id))
    report = team_report(bank, aggregate_of(bank, members), min_respondents=MIN_RESPONDENTS)
    if len(members) < MIN_RESPONDENTS:
        assert report.withheld and report.dimensions == ()
        return
    individual = [score(bank, member) for member in members]
    for summary in report.dimensions:
        levels = [r.dimension(summary.dimension_id).level for r in individual]
        placed = [level for level in levels if level is not None]
        assert summary.median_level == (statistics.median_low(placed) if placed else None)
        assert summary.without_level == levels.count(None)
        scores = [r.dimension(summary.dimension_id).score for r in individual]
        points = [int(s + 1e-9) for s in scores if s is not None]
        assert (summary.score_low, summary.score_high) == (
            (min(points), max(points)) if points else (None, None)
        )
    team = team_answers(bank, aggregate_of(bank, members))
    for asked_question in bank.questions:
        asked = [
            m[asked_question.id]
            for m in members
            if asked_question in applicable_questions(bank, m) and asked_question.id in m
        ]
        options = [a.index for a in asked if isinstance(a, OptionChoice)]
        dont_know = sum(isinstance(a, DontKnow) for a in asked)
        if (
            options
            and dont_know * 2 <= len(asked)
            and len(asked) - len(options) - dont_know <= len(asked) / 2
        ):
            assert team[asked_question.id] == OptionChoice(statistics.median_low(options))
        if asked and dont_know * 2 > len(asked):
            assert team[asked_question.id] == DontKnow()
