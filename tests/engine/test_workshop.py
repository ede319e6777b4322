"""A live team workshop: the team's answer from the votes (golden cases worked by hand, and its rules as
properties), where the votes split, and the workshop's transitions, whose report is the one a person's
answers give."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.adaptive import AskingMode, questions_to_ask
from bot.engine.answers import Answer, DontKnow, NotApplicable, OptionChoice, choices
from bot.engine.bank import AskedQuestion, ContextQuestion, Question, QuestionBank
from bot.engine.scoring import Report, score
from bot.engine.workshop import (
    BUTTON_TEXT_LIMIT,
    MAX_VOTERS,
    AlreadyFacilitator,
    CorruptWorkshop,
    NoTeamAnswer,
    NothingToGoBackTo,
    NotPaused,
    NotTheOpenQuestion,
    Position,
    Rule,
    TooManyVoters,
    UnofferedAnswer,
    WorkshopBankChanged,
    WorkshopFinished,
    WorkshopPaused,
    WorkshopState,
    back,
    default_button_text,
    describe_default,
    disagreements,
    hand_over,
    next_question,
    nobody_knew,
    pause,
    report,
    resume,
    settle,
    settle_default,
    skip,
    split,
    start,
    team_answer,
    vote,
)
from tests.conftest import examples

from .synthetic import (
    base_bank_dict,
    context_question,
    generated_banks,
    load,
    question,
    scoring_bank,
    shipped_bank,
)

PROPERTY = settings(max_examples=examples(150), deadline=None)
FIVE = ("U1", "U2", "U3", "U4", "U5")


def options(*indexes: int) -> dict[str, Answer]:
    """Votes by users U1, U2, ... for the options at these (0-based) rungs."""
    return {f"U{n + 1}": OptionChoice(index) for n, index in enumerate(indexes)}


def rule_of(question: AskedQuestion, votes: Mapping[str, Answer]) -> Rule:
    found = settle_default(question, votes)
    assert found is not None
    return found.rule


def practice_in(bank: QuestionBank) -> Question:
    return bank.practices[0]


def levels(found: Report) -> tuple[tuple[int | None, ...], int | None]:
    return tuple(d.level for d in found.dimensions), found.overall_level


# The team's answer: golden cases -----------------------------------------------------------------


def test_five_voters_one_a_rung_lower_settle_on_the_majority_rung_and_every_question_splits(small_bank):
    """Four members vote the top option of every question, one the option below it: the median is the
    top option each time, and every settled question shows the split with the one member below."""
    state = start(small_bank, "U1")
    while (question := next_question(small_bank, state)) is not None:
        top = len(question.options) - 1
        for user in FIVE:
            state = vote(small_bank, state, question.id, user, OptionChoice(top - (user == "U5")))
        state = settle(small_bank, state, question.id)
        assert state.settled[question.id] == OptionChoice(top)
    splits = disagreements(small_bank, state)
    assert [s.question_id for s in splits] == [q.id for q in small_bank.questions if q.id in state.settled]
    for found in splits:
        top = len(small_bank.question(found.question_id).options) - 1
        assert [(p.answer, p.voters) for p in found.positions] == [
            (OptionChoice(top - 1), ("U5",)),
            (OptionChoice(top), ("U1", "U2", "U3", "U4")),
        ]
        assert found.rungs_apart == 1
    # Everything in place: each dimension at its ceiling (ops asks nothing at level 4), overall the weaker.
    assert levels(report(small_bank, state)) == ((4, 3), 3)


def test_an_even_tie_goes_to_the_lower_rung(small_bank):
    question = practice_in(small_bank)
    assert team_answer(question, options(0, 0, 2, 2)) == OptionChoice(0)
    assert team_answer(question, options(1, 2)) == OptionChoice(1)
    # Two middle votes that agree are no tie.
    assert team_answer(question, options(0, 1, 1, 2)) == OptionChoice(1)
    assert describe_default(question, options(0, 0, 2, 2)) == (
        "Take the team's answer: data_1 option 1, the median of 4 votes "
        "(tied with “data_1 option 3”: the lower rung is taken)."
    )


def test_dont_know_with_a_strict_majority_settles_as_dont_know(small_bank):
    question = practice_in(small_bank)
    unsure: dict[str, Answer] = {
        "U1": DontKnow(),
        "U2": DontKnow(),
        "U3": DontKnow(),
        "U4": OptionChoice(2),
        "U5": OptionChoice(2),
    }
    assert team_answer(question, unsure) == DontKnow()
    assert describe_default(question, unsure) == "Take the team's answer: Don't know, 3 of 5 votes."


def test_dont_know_short_of_a_majority_is_left_out_of_the_median(small_bank):
    question = practice_in(small_bank)
    votes: dict[str, Answer] = {
        "U1": DontKnow(),
        "U2": DontKnow(),
        "U3": OptionChoice(0),
        "U4": OptionChoice(2),
        "U5": OptionChoice(2),
    }
    # Half or fewer do not know: the median of the three option votes (0, 2, 2) is option 3.
    assert team_answer(question, votes) == OptionChoice(2)
    assert describe_default(question, votes) == (
        "Take the team's answer: data_1 option 3, the median of 3 votes "
        "(2 Don't know or Not applicable left out)."
    )
    assert team_answer(question, {"U1": DontKnow(), "U2": OptionChoice(1)}) == OptionChoice(1)


def test_not_applicable_settles_by_majority_only_where_the_question_offers_it(small_bank):
    offering = small_bank.practice("ops_2")
    votes: dict[str, Answer] = {"U1": NotApplicable(), "U2": NotApplicable(), "U3": OptionChoice(0)}
    assert team_answer(offering, votes) == NotApplicable()
    assert rule_of(offering, votes) is Rule.MAJORITY
    # As many Not applicable as Don't know, and no option: claiming it does not apply takes a majority.
    assert team_answer(offering, {"U1": NotApplicable(), "U2": DontKnow()}) == DontKnow()
    with pytest.raises(UnofferedAnswer, match="does not offer 'Not applicable'"):
        team_answer(practice_in(small_bank), votes)


def test_no_votes_leave_the_pick_to_the_facilitator(small_bank):
    question = practice_in(small_bank)
    assert team_answer(question, {}) is None
    assert default_button_text(question, {}) is None
    assert describe_default(question, {}) == "No votes yet: pick the team's answer or skip the question."
    state = start(small_bank, "U1")
    opened = state.open_question
    assert opened is not None
    with pytest.raises(NoTeamAnswer, match="pick an answer or skip"):
        settle(small_bank, state, opened)
    # The facilitator may still pick an answer with no votes.
    assert settle(small_bank, state, opened, OptionChoice(1)).settled == {opened: OptionChoice(1)}


def test_a_context_question_takes_the_most_common_vote_ties_to_the_first_option(mlops):
    context = next(q for q in mlops.questions if isinstance(q, ContextQuestion))
    assert team_answer(context, options(4, 4, 0, 1, 1)) == OptionChoice(1)  # tie of 1 and 4: the first
    assert team_answer(context, options(5, 5, 0, 1)) == OptionChoice(5)  # no median: 5 is most common
    assert rule_of(context, options(5, 5, 0, 1)) is Rule.MOST_COMMON
    assert "the first option is taken" in describe_default(context, options(4, 1))


def test_the_default_button_fits_slack_with_an_ellipsis(mlops):
    question = next(q for q in mlops.practices if len(q.options[0].label) > BUTTON_TEXT_LIMIT)
    text = default_button_text(question, options(0, 0, 1))
    assert text is not None and len(text) <= BUTTON_TEXT_LIMIT
    assert text.startswith("Team answer: ") and text.endswith("…")
    assert question.options[0].label.startswith(text.removeprefix("Team answer: ").removesuffix("…"))
    short = default_button_text(practice_in(load(base_bank_dict())), {"U1": DontKnow()})
    assert short == "Team answer: Don't know"


def test_a_split_lists_each_position_by_rung_with_dont_know_as_its_own(small_bank):
    question = small_bank.practice("ops_2")
    votes: dict[str, Answer] = {
        "U3": OptionChoice(2),
        "U1": DontKnow(),
        "U2": OptionChoice(0),
        "U4": OptionChoice(2),
    }
    found = split(question, votes)
    assert found is not None
    assert found.positions == (
        Position(OptionChoice(0), "ops_2 option 1", ("U2",)),
        Position(OptionChoice(2), "ops_2 option 3", ("U3", "U4")),
        Position(DontKnow(), "Don't know", ("U1",)),
    )
    assert found.rungs_apart == 2
    assert split(question, options(1, 1, 1)) is None
    assert split(question, {}) is None


# Transitions -------------------------------------------------------------------------------------


def test_votes_are_taken_on_the_open_question_only_and_a_second_vote_replaces_the_first(small_bank):
    state = start(small_bank, "U1")
    opened = state.open_question
    assert opened is not None
    other = next(q.id for q in small_bank.questions if q.id != opened)
    with pytest.raises(NotTheOpenQuestion):
        vote(small_bank, state, other, "U2", OptionChoice(0))
    state = vote(small_bank, state, opened, "U2", OptionChoice(0))
    state = vote(small_bank, state, opened, "U2", OptionChoice(2))
    assert state.open_votes == {"U2": OptionChoice(2)}
    with pytest.raises(UnofferedAnswer):
        vote(small_bank, state, opened, "U3", OptionChoice(7))


def test_a_question_takes_at_most_max_voters_but_each_may_change_their_vote(small_bank):
    state = start(small_bank, "U1")
    opened = state.open_question
    assert opened is not None
    for n in range(MAX_VOTERS):
        state = vote(small_bank, state, opened, f"V{n}", OptionChoice(0))
    with pytest.raises(TooManyVoters):
        vote(small_bank, state, opened, "late", OptionChoice(0))
    assert vote(small_bank, state, opened, "V0", OptionChoice(1)).open_votes["V0"] == OptionChoice(1)


def test_a_paused_workshop_takes_no_votes_until_resumed_and_may_change_hands(small_bank):
    state = pause(start(small_bank, "U1"))
    opened = state.open_question
    assert opened is not None
    for refused in (
        lambda: vote(small_bank, state, opened, "U2", OptionChoice(0)),
        lambda: settle(small_bank, state, opened, OptionChoice(0)),
        lambda: skip(small_bank, state, opened),
        lambda: pause(state),
    ):
        with pytest.raises(WorkshopPaused):
            refused()
    state = hand_over(state, "U2")
    assert state.facilitator == "U2"
    with pytest.raises(AlreadyFacilitator):
        hand_over(state, "U2")
    state = resume(state)
    with pytest.raises(NotPaused):
        resume(state)
    assert vote(small_bank, state, opened, "U2", OptionChoice(0)).open_votes == {"U2": OptionChoice(0)}


def test_back_reopens_the_previous_question_with_its_votes_and_skip_leaves_it_unanswered(small_bank):
    state = start(small_bank, "U1")
    first = state.open_question
    assert first is not None
    with pytest.raises(NothingToGoBackTo):
        back(small_bank, state)
    state = vote(small_bank, state, first, "U2", OptionChoice(1))
    state = settle(small_bank, state, first)
    second = state.open_question
    assert second is not None and second != first
    state = vote(small_bank, state, second, "U3", OptionChoice(0))
    reopened = back(small_bank, state)
    assert reopened.open_question == first
    assert reopened.open_votes == {"U2": OptionChoice(1)}
    assert reopened.settled == {first: OptionChoice(1)}  # kept until settled again
    skipped = skip(small_bank, reopened, first)
    assert first not in skipped.settled and skipped.skipped == (first,)
    # Going forward again, the second question's votes are still there.
    assert skipped.open_question == second
    assert skipped.open_votes == {"U3": OptionChoice(0)}
    assert score(small_bank, skipped.settled).to_answer  # levels wait on the skipped question


def test_back_passes_over_a_question_a_changed_context_answer_switched_off():
    bank = scoring_bank(
        [
            context_question("serves_llm"),
            question(
                "llm_evals", "llm", level=2, weight=5, applies_if={"question": "serves_llm", "options": [2]}
            ),
            question("data_1", "data", level=2),
            question("data_2", "data", level=3),
        ],
        dimensions=["data", "llm"],
    )
    state = start(bank, "U1")
    assert state.open_question == "serves_llm"
    state = settle(bank, state, "serves_llm", OptionChoice(1))  # Yes
    assert state.open_question == "llm_evals"
    state = settle(bank, state, "llm_evals", OptionChoice(2))
    state = back(bank, back(bank, state))
    assert state.open_question == "serves_llm"
    state = settle(bank, state, "serves_llm", OptionChoice(0))  # No: the LLM practice no longer applies
    assert state.open_question == "data_1" and state.asked == ("serves_llm", "llm_evals", "data_1")
    assert back(bank, state).open_question == "serves_llm"


def test_a_finished_workshop_refuses_votes_and_reports_what_nobody_knew(small_bank):
    state = start(small_bank, "U1")
    while (question := next_question(small_bank, state)) is not None:
        state = vote(small_bank, state, question.id, "U1", DontKnow())
        state = settle(small_bank, state, question.id)
    assert state.finished
    assert nobody_knew(small_bank, state) == tuple(
        q.id for q in small_bank.questions if q.id in state.settled
    )
    assert disagreements(small_bank, state) == ()
    with pytest.raises(WorkshopFinished):
        vote(small_bank, state, small_bank.questions[0].id, "U1", DontKnow())
    with pytest.raises(WorkshopFinished):
        pause(state)
    assert back(small_bank, state).open_question == state.asked[-1]


def test_the_state_survives_json_and_refuses_a_corrupt_or_outdated_one(small_bank):
    state = start(small_bank, "U1")
    opened = state.open_question
    assert opened is not None
    state = vote(small_bank, state, opened, "U2", NotApplicable() if opened == "ops_2" else DontKnow())
    state = vote(small_bank, state, opened, "U3", OptionChoice(2))
    state = pause(settle(small_bank, state, opened, OptionChoice(1)))
    stored = json.loads(json.dumps(state.to_dict()))
    assert WorkshopState.from_dict(stored) == state
    for broken in (
        {**stored, "format": 99},
        {**stored, "paused": "yes"},
        {**stored, "settled": {"x": "maybe"}},
    ):
        with pytest.raises(CorruptWorkshop):
            WorkshopState.from_dict(broken)
    without = dict(stored)
    del without["votes"]
    with pytest.raises(CorruptWorkshop):
        WorkshopState.from_dict(without)
    edited = load({**base_bank_dict(), "version": "2.0"})
    with pytest.raises(WorkshopBankChanged):
        next_question(edited, state)
    wrong = WorkshopState.from_dict({**stored, "settled": {opened: 9}})
    with pytest.raises(CorruptWorkshop, match="does not fit the bank"):
        report(small_bank, wrong)


# Properties --------------------------------------------------------------------------------------


@st.composite
def practice_and_votes(draw: st.DrawFn) -> tuple[Question, dict[str, Answer]]:
    bank = draw(generated_banks())
    question = draw(st.sampled_from(bank.practices))
    offered = [answer for answer, _ in choices(question)]
    voters = draw(st.lists(st.sampled_from(offered), min_size=1, max_size=9))
    return question, {f"U{n}": answer for n, answer in enumerate(voters)}


@PROPERTY
@given(practice_and_votes(), st.data())
def test_raising_one_vote_never_lowers_the_team_answer(case, data):
    question, votes = case
    below_top = [
        u for u, a in votes.items() if isinstance(a, OptionChoice) and a.index < len(question.options) - 1
    ]
    if not below_top:
        return
    user = data.draw(st.sampled_from(below_top))
    was = votes[user]
    assert isinstance(was, OptionChoice)
    raised = {**votes, user: OptionChoice(data.draw(st.integers(was.index + 1, len(question.options) - 1)))}
    before, after = team_answer(question, votes), team_answer(question, raised)
    if isinstance(before, OptionChoice):
        assert isinstance(after, OptionChoice) and after.index >= before.index
    else:
        assert after == before  # a majority that did not know still does not


@PROPERTY
@given(practice_and_votes())
def test_the_team_answer_is_always_a_vote_cast(case):
    question, votes = case
    found = team_answer(question, votes)
    # Don't know without a majority of its own is taken only when as many voted it as Not applicable.
    assert found in votes.values()
    text = default_button_text(question, votes)
    assert text is not None and len(text) <= BUTTON_TEXT_LIMIT


def bank_for(draw: st.DrawFn) -> QuestionBank:
    source = draw(st.sampled_from(["mlops", "pulse", None]))
    return shipped_bank(source) if source else draw(generated_banks())


def ballot(draw: st.DrawFn, question_choices: list[Answer]) -> dict[str, Answer]:
    picked = draw(st.lists(st.sampled_from(question_choices), min_size=1, max_size=5))
    return {f"U{n}": answer for n, answer in enumerate(picked)}


@PROPERTY
@given(st.data())
def test_settling_the_team_answers_gives_the_levels_of_the_whole_bank_on_them(data):
    """Each question has the votes the team would cast on it; settling the default on every question the
    workshop asks gives the levels that scoring the whole bank on every team answer gives, and the report
    is the one those settled answers give a person."""
    bank = bank_for(data.draw)
    ballots = {q.id: ballot(data.draw, [a for a, _ in choices(q)]) for q in bank.questions}
    everyone: dict[str, Answer] = {}
    for q in bank.questions:
        answer = team_answer(q, ballots[q.id])
        assert answer is not None
        everyone[q.id] = answer
    state = start(bank, "U0")
    while (question := next_question(bank, state)) is not None:
        for user, cast in ballots[question.id].items():
            state = vote(bank, state, question.id, user, cast)
        state = settle(bank, state, question.id)
    assert levels(report(bank, state)) == levels(score(bank, everyone))
    assert report(bank, state) == score(bank, state.settled)
    for settled_id in state.settled:
        assert state.votes[settled_id] == ballots[settled_id]


@PROPERTY
@given(st.data())
def test_only_questions_that_can_change_a_level_are_asked_and_back_then_settle_again_changes_nothing(data):
    bank = bank_for(data.draw)
    state = start(bank, "U0")
    while (question := next_question(bank, state)) is not None:
        still = [q.id for q in questions_to_ask(bank, state.settled, AskingMode.ADAPTIVE)]
        assert question.id in still
        assert question.id not in state.skipped
        for user, cast in ballot(data.draw, [a for a, _ in choices(question)]).items():
            state = vote(bank, state, question.id, user, cast)
        if data.draw(st.booleans()):
            state = skip(bank, state, question.id)
        else:
            state = settle(bank, state, question.id)
        if state.finished or not data.draw(st.booleans()):
            continue
        reopened = back(bank, state)
        previous = reopened.open_question
        assert previous is not None
        again = (
            skip(bank, reopened, previous)
            if previous in state.skipped
            else settle(bank, reopened, previous, state.settled[previous])
        )
        assert again == state
    assert len(state.votes) <= len(bank.questions)
