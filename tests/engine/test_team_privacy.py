"""The team report's privacy guarantee (docs/privacy.md), played as an attack.

n members answer; all but one (the victim) collude and know their own answers exactly. They see every
figure any front end shows of the team report: the view, its Slack rendering and what the channel's
history keeps. For each single fact about the victim (their answer to a question, whether they said
"Don't know" to it, their level in a dimension, their score in a dimension) the test looks for another
complete answer set the victim could have given, with that fact different, that leaves everything shown
exactly the same. If it finds one, the colluders cannot tell which of the two the victim gave. The search
is the test's own (one answer changed, then a dimension filled with its lowest or highest answers, or
level by level) and compares the rendered figures, not the engine's band counts.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.answers import Answer, DontKnow, OptionChoice, choices, encode_answer
from bot.engine.bank import ContextQuestion, Question, QuestionBank
from bot.engine.history import team_summary
from bot.engine.scoring import Report, score
from bot.engine.team import TeamAggregate, aggregate_of, contribution, team_report
from bot.engine.team_view import build_team_view
from bot.slack.team_blocks import team_report_message
from tests.conftest import examples

from .synthetic import answer_sets, generated_banks, shipped_bank

Answers = Mapping[str, Answer]


_SCORED: dict[tuple[int, tuple[tuple[str, Hashable], ...]], Report] = {}


def scored(bank: QuestionBank, answers: Answers) -> Report:
    """``score``, remembered: the search scores the same alternatives again and again."""
    key = (id(bank), tuple(sorted((qid, encode_answer(a)) for qid, a in answers.items())))
    if key not in _SCORED:
        if len(_SCORED) > 20_000:
            _SCORED.clear()
        _SCORED[key] = score(bank, answers)
    return _SCORED[key]


def shown(bank: QuestionBank, colluders: TeamAggregate, victim: Answers) -> str:
    """Everything any front end shows of the team report, as one string."""
    report = team_report(bank, colluders + contribution(bank, victim))
    view = build_team_view(report)
    message = team_report_message(view)
    kept = team_summary(report, "run", 0.0)
    return json.dumps(
        [view.to_dict(), message.text, message.blocks, None if kept is None else kept.to_dict()],
        sort_keys=True,
        default=str,
    )


def _lowest(question: Question) -> Answer:
    values = [option.value for option in question.options]
    return OptionChoice(values.index(min(values)))


def _highest(question: Question) -> Answer:
    values = [option.value for option in question.options]
    return OptionChoice(values.index(max(values)))


def fills(bank: QuestionBank, dimension_id: str) -> Iterator[dict[str, Answer]]:
    """A dimension's practices all at their lowest, all at their highest, and level by level."""
    practices = bank.questions_in(dimension_id)
    yield {q.id: _lowest(q) for q in practices}
    yield {q.id: _highest(q) for q in practices}
    for level in range(1, 5):
        yield {q.id: _highest(q) if q.level <= level else _lowest(q) for q in practices}
        yield {q.id: _lowest(q) if q.level == level else _highest(q) for q in practices}


def dimension_of(bank: QuestionBank, question_id: str) -> list[str]:
    question = bank.question(question_id)
    if isinstance(question, ContextQuestion):
        return [d.id for d in bank.dimensions]
    return [question.dimension]


def question_alternatives(
    bank: QuestionBank, victim: Answers, question_id: str
) -> Iterator[dict[str, Answer]]:
    """The victim's answers with this question answered otherwise: alone, then with the dimensions it
    touches filled with their lowest or highest answers (every combination, for a context question)."""
    question = bank.question(question_id)
    dimensions = dimension_of(bank, question_id)
    for other, _ in choices(question):
        if other == victim.get(question_id):
            continue
        yield {**victim, question_id: other}
        ends = [
            [
                {q.id: _lowest(q) for q in bank.questions_in(d)},
                {q.id: _highest(q) for q in bank.questions_in(d)},
            ]
            for d in dimensions
        ]
        for combination in itertools.product(*ends):
            filled: dict[str, Answer] = dict(victim)
            for part in combination:
                filled.update(part)
            filled[question_id] = other
            yield filled


def dimension_alternatives(
    bank: QuestionBank, victim: Answers, dimension_id: str
) -> Iterator[dict[str, Answer]]:
    for fill in fills(bank, dimension_id):
        yield {**victim, **fill}
    for question in bank.questions_in(dimension_id):
        for other, _ in choices(question):
            yield {**victim, question.id: other}


def facts(
    bank: QuestionBank, victim: Answers
) -> Iterator[tuple[str, Callable[[Answers], Hashable], Callable[[], Iterator[dict[str, Answer]]]]]:
    """(name, how to read the fact from an answer set, where to look for an alternative)."""
    for question in bank.questions:
        qid = question.id

        def answer(answers: Answers, qid: str = qid) -> Hashable:
            given = answers.get(qid)
            return None if given is None else encode_answer(given)

        def dont_know(answers: Answers, qid: str = qid) -> Hashable:
            return isinstance(answers.get(qid), DontKnow)

        def search(qid: str = qid) -> Iterator[dict[str, Answer]]:
            return question_alternatives(bank, victim, qid)

        yield f"answer to {qid}", answer, search
        if isinstance(victim.get(qid), DontKnow):
            yield f"'Don't know' to {qid}", dont_know, search
    for dimension in bank.dimensions:
        did = dimension.id

        def level(answers: Answers, did: str = did) -> Hashable:
            return scored(bank, answers).dimension(did).level

        def points(answers: Answers, did: str = did) -> Hashable:
            return scored(bank, answers).dimension(did).score

        def search_dimension(did: str = did) -> Iterator[dict[str, Answer]]:
            return dimension_alternatives(bank, victim, did)

        yield f"level in {did}", level, search_dimension
        yield f"score in {did}", points, search_dimension


Shown = Callable[[QuestionBank, Sequence[Answers], Answers], Hashable]


_COLLUDERS: dict[
    tuple[int, tuple[tuple[tuple[str, Hashable], ...], ...]], tuple[QuestionBank, TeamAggregate]
] = {}


def colluders_aggregate(bank: QuestionBank, colluders: Sequence[Answers]) -> TeamAggregate:
    """``aggregate_of``, remembered: the search shows every alternative of a victim beside the same
    colluders. The bank is kept with it, so a bank made later at the same address is not mistaken for it."""
    key = (
        id(bank),
        tuple(tuple(sorted((qid, encode_answer(a)) for qid, a in member.items())) for member in colluders),
    )
    remembered = _COLLUDERS.get(key)
    if remembered is None or remembered[0] is not bank:
        if len(_COLLUDERS) > 1_000:
            _COLLUDERS.clear()
        remembered = _COLLUDERS[key] = (bank, aggregate_of(bank, colluders))
    return remembered[1]


def team_report_shown(bank: QuestionBank, colluders: Sequence[Answers], victim: Answers) -> Hashable:
    return shown(bank, colluders_aggregate(bank, colluders), victim)


def undeniable_facts(
    bank: QuestionBank, members: Sequence[Answers], show: Shown = team_report_shown
) -> list[str]:
    """Every fact about some member that the others, pooling their answers, could tell from what `show`
    shows of the team."""
    told = []
    for index, victim in enumerate(members):
        colluders = [m for i, m in enumerate(members) if i != index]
        seen = show(bank, colluders, victim)
        for name, fact, search in facts(bank, victim):
            actual = fact(victim)
            differing = (alternative for alternative in search() if fact(alternative) != actual)
            first = next(differing, None)
            if first is None:
                continue  # the bank itself fixes this fact: nobody learns it from the report
            if not any(show(bank, colluders, alt) == seen for alt in itertools.chain([first], differing)):
                told.append(f"member {index}: {name} = {actual!r}")
    return told


def extreme_answers(bank: QuestionBank) -> st.SearchStrategy[dict[str, Answer]]:
    """What colluders answer to corner the victim: every question at its first or its last option."""

    def pick(question: Any, last: bool) -> Answer:
        return OptionChoice(len(question.options) - 1 if last else 0)

    return st.booleans().map(lambda last: {q.id: pick(q, last) for q in bank.questions})


@st.composite
def teams(
    draw: st.DrawFn, bank_id: str | None, max_members: int = 6
) -> tuple[QuestionBank, list[dict[str, Answer]]]:
    bank = shipped_bank(bank_id) if bank_id else draw(generated_banks())
    member = answer_sets(bank) | extreme_answers(bank)
    return bank, draw(st.lists(member, min_size=3, max_size=max_members))


@pytest.mark.parametrize("bank_id", ["pulse", None], ids=["pulse", "generated"])
@settings(max_examples=examples(15), deadline=None)
@given(data=st.data())
def test_no_single_fact_of_a_member_can_be_told_by_all_the_others_together(bank_id, data) -> None:
    bank, members = data.draw(teams(bank_id))
    assert undeniable_facts(bank, members) == []


# The full bank asks up to 60 questions, so each attack searches far more alternatives: fewer and smaller
# teams keep it to seconds in the suite (a longer run is in docs/privacy.md).
@settings(max_examples=examples(6), deadline=None)
@given(data=st.data())
def test_no_single_fact_of_a_member_of_a_full_assessment_team_can_be_told(data) -> None:
    bank, members = data.draw(teams("mlops", max_members=4))
    assert undeniable_facts(bank, members) == []


def mean_scores_shown(bank: QuestionBank, colluders: Sequence[Answers], victim: Answers) -> Hashable:
    """What the report used to show, in part: the members' scores per dimension, summed exactly."""
    results = [score(bank, member) for member in [*colluders, victim]]
    return tuple(sum(r.dimension(d.id).score or 0.0 for r in results) for d in bank.dimensions)


def test_the_attack_finds_what_an_exact_figure_gives_away() -> None:
    """The search is strong enough to catch a leak: an exact sum of scores hands the colluders the
    victim's score in every dimension, and their level where the score fixes it."""
    bank = shipped_bank("pulse")
    first_option = {q.id: OptionChoice(0) for q in bank.questions}
    victim = {q.id: OptionChoice(2) for q in bank.questions}
    told = undeniable_facts(bank, [first_option, first_option, victim], show=mean_scores_shown)
    assert [fact for fact in told if fact.startswith("member 2: score")] == [
        f"member 2: score in {d.id} = 50.0" for d in bank.dimensions
    ]


# The attack that broke the earlier report, worked by hand ---------------------------------------------

# Two members answer the first option everywhere; the third answered this. Scores, by the bank's weights:
# data (2·1 + 3·0.75) / 5 = 85, deploy (2·0.5 + 3·0) / 5 = 20, monitor (2·0.25 + 3·1 + 3·0) / 8 = 43.75,
# team 50. Levels: data 3 (both gates at 0.75 or more), deploy 1, monitor 1, team 1.
PULSE_VICTIM: dict[str, Answer] = {
    "data_validation": OptionChoice(4),
    "reproducible_training": OptionChoice(3),
    "quality_gate": OptionChoice(2),
    "tested_rollback": OptionChoice(0),
    "security_privacy": OptionChoice(1),
    "drift_skew": OptionChoice(4),
    "prediction_quality": DontKnow(),
    "ownership_on_call": OptionChoice(2),
}
# Another answer to each question that keeps the victim on the same side of every band shown:
# data 75 (still 50 or more); data 100; deploy 10 (under 50); deploy 0; monitor 37.5 (under 50);
# monitor 34.4; "Don't know" and the lowest option both count 0; the team dimension shows no figure.
PULSE_OTHER_ANSWER: dict[str, Answer] = {
    "data_validation": OptionChoice(3),
    "reproducible_training": OptionChoice(4),
    "quality_gate": OptionChoice(1),
    "tested_rollback": DontKnow(),
    "security_privacy": OptionChoice(0),
    "drift_skew": OptionChoice(3),
    "prediction_quality": OptionChoice(0),
    "ownership_on_call": OptionChoice(4),
}


def test_two_colluders_answering_the_first_option_learn_none_of_the_third_members_answers() -> None:
    bank = shipped_bank("pulse")
    first_option = {q.id: OptionChoice(0) for q in bank.questions}
    colluders = aggregate_of(bank, [first_option, first_option])
    seen = shown(bank, colluders, PULSE_VICTIM)

    view = build_team_view(team_report(bank, colluders + contribution(bank, PULSE_VICTIM)))
    assert [(d.id, d.bands_text) for d in view.dimensions] == [
        ("data", "1 of 3 scoring 50 or more · 2 scoring under 50"),
        ("deploy", "0 of 3 scoring 50 or more · 3 scoring under 50"),
        ("monitor", "0 of 3 scoring 50 or more · 3 scoring under 50"),
        ("team", None),  # one question: any figure would tell its answer
    ]
    assert not view.dimension("team").shown and "too few questions" in (
        view.dimension("team").withheld_text or ""
    )
    for leaked in ("85", "0–", "levels held", "said “Don't know”", "Level 1:", "middle half"):
        assert leaked not in seen, leaked

    # Each answer has another that shows exactly the same report.
    for question_id, other in PULSE_OTHER_ANSWER.items():
        assert other != PULSE_VICTIM[question_id]
        assert shown(bank, colluders, {**PULSE_VICTIM, question_id: other}) == seen, question_id
    # Their level and score too: reproducible training at option 2 gives data 55, level 2, same band.
    lower_level = {**PULSE_VICTIM, "reproducible_training": OptionChoice(1)}
    assert score(bank, lower_level).dimension("data").level == 2
    assert score(bank, PULSE_VICTIM).dimension("data").level == 3
    assert shown(bank, colluders, lower_level) == seen
    # And the whole search finds nothing the two could tell.
    assert undeniable_facts(bank, [first_option, first_option, PULSE_VICTIM]) == []
