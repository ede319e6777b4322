from __future__ import annotations

import json
from dataclasses import replace
from typing import TypeVar

import pytest

from bot.engine.adaptive import AskingMode
from bot.engine.answers import DontKnow, NotApplicable, OptionChoice
from bot.engine.bank import QuestionBank
from bot.engine.conversation import (
    FINISHED_PHASES,
    AlreadyStarted,
    AnswerQuestion,
    AskQuestion,
    Back,
    BankChanged,
    Cancel,
    Conversation,
    ConversationFinished,
    CorruptState,
    Event,
    Expire,
    InvalidEvent,
    NothingToGoBackTo,
    NotStarted,
    Phase,
    ShowCancelled,
    ShowExpired,
    ShowReport,
    StaleQuestion,
    Start,
    Transition,
    UnknownOption,
    advance,
    prompt_for,
)
from bot.engine.progress import count_change_note
from bot.engine.scoring import applicable_questions, score

# The state names of the original design; ``_N`` marks the question number, kept as the position.
DESIGN_STATES = "INIT -> LOAD_Q -> ASK_Q_N -> GET_ANSWER_N -> SCORE_ANSWER_N -> GEN_REPORT -> COMPLETE"

Refusal = TypeVar("Refusal", bound=InvalidEvent)
Prompt = TypeVar("Prompt", AskQuestion, ShowReport, ShowCancelled, ShowExpired)


def started(bank: QuestionBank) -> Conversation:
    return advance(Conversation.new(bank, AskingMode.FULL), Start(), bank).state


def answer_current(state: Conversation, bank: QuestionBank, answer=None):
    question = state.current_question(bank)
    assert question is not None
    return advance(state, AnswerQuestion(question.id, answer or OptionChoice(0)), bank)


def at_position(bank: QuestionBank, position: int) -> Conversation:
    state = started(bank)
    for _ in range(position):
        state = answer_current(state, bank).state
    return state


def completed(bank: QuestionBank, answer=None) -> Conversation:
    state = started(bank)
    while state.phase == Phase.ASK_Q:
        state = answer_current(state, bank, answer).state
    return state


def refused(state: Conversation, event, bank: QuestionBank, error: type[Refusal]) -> Refusal:
    """Assert the event is refused with `error` and leaves `state` exactly as it was."""
    before = state.to_dict()
    with pytest.raises(error) as caught:
        advance(state, event, bank)
    assert state.to_dict() == before
    return caught.value


def shown(prompt: object, kind: type[Prompt]) -> Prompt:
    assert isinstance(prompt, kind), prompt
    return prompt


def test_the_design_state_names_all_exist():
    names = [name.removesuffix("_N") for name in DESIGN_STATES.split(" -> ")]

    assert all(name in Phase.__members__ for name in names)
    assert {"CANCELLED", "EXPIRED"} <= set(Phase.__members__)


def test_a_new_conversation_rests_in_init_pinned_to_its_bank(small_bank):
    state = Conversation.new(small_bank, AskingMode.FULL)

    assert (state.phase, state.position, dict(state.answers), state.revision) == (Phase.INIT, 0, {}, 0)
    assert (state.bank_id, state.bank_version) == ("test", "1.0")
    assert state.current_question(small_bank) is None


def test_start_loads_the_bank_and_asks_the_first_question(small_bank):
    transition = advance(Conversation.new(small_bank, AskingMode.FULL), Start(), small_bank)

    assert transition.steps == (Phase.LOAD_Q, Phase.ASK_Q)
    assert transition.state.phase == Phase.ASK_Q
    assert transition.state.position == 0
    assert transition.prompt == AskQuestion(small_bank.questions[0], 1, 7, None)


def test_a_full_walk_passes_through_every_design_state(small_bank):
    state = started(small_bank)
    total = len(small_bank.questions)

    for position in range(total):
        question = small_bank.questions[position]
        assert state.current_question(small_bank) == question
        transition = advance(state, AnswerQuestion(question.id, OptionChoice(position % 3)), small_bank)
        state = transition.state
        if position < total - 1:
            assert transition.steps == (Phase.GET_ANSWER, Phase.SCORE_ANSWER, Phase.ASK_Q)
            assert shown(transition.prompt, AskQuestion).number == position + 2
            assert shown(transition.prompt, AskQuestion).total == total
            assert state.phase == Phase.ASK_Q
        else:
            assert transition.steps == (
                Phase.GET_ANSWER,
                Phase.SCORE_ANSWER,
                Phase.GEN_REPORT,
                Phase.COMPLETE,
            )
            assert state.phase == Phase.COMPLETE
            assert isinstance(transition.prompt, ShowReport)
            assert transition.prompt.report == score(small_bank, state.answers)

    assert state.finished
    assert {qid: a.index for qid, a in state.answers.items() if isinstance(a, OptionChoice)} == {
        q.id: i % 3 for i, q in enumerate(small_bank.questions)
    }


def test_the_report_reflects_the_answers_given(small_bank):
    state = completed(small_bank, OptionChoice(2))

    report = shown(prompt_for(state, small_bank), ShowReport).report

    assert report.overall_score == 100.0
    assert report.overall_level == 3  # ops tags no level-4 practice, so its ceiling is 3


def test_dont_know_and_not_applicable_are_accepted_where_offered(small_bank):
    state = at_position(small_bank, 5)
    assert state.current_question(small_bank) == small_bank.question("ops_2")

    after_na = answer_current(state, small_bank, NotApplicable()).state
    after_dk = answer_current(state, small_bank, DontKnow()).state

    assert after_na.answers["ops_2"] == NotApplicable()
    assert after_dk.answers["ops_2"] == DontKnow()


def test_back_returns_to_the_previous_question_with_its_answer(small_bank):
    state = started(small_bank)
    state = answer_current(state, small_bank, OptionChoice(2)).state
    state = answer_current(state, small_bank, OptionChoice(1)).state

    transition = advance(state, Back("data_3"), small_bank)

    assert transition.state.position == 1
    assert transition.steps == (Phase.ASK_Q,)
    assert transition.prompt == AskQuestion(small_bank.question("data_2"), 2, 7, OptionChoice(1))
    # going back keeps later answers; answering again replaces the earlier one
    again = answer_current(transition.state, small_bank, OptionChoice(0))
    assert again.state.answers == {"data_1": OptionChoice(2), "data_2": OptionChoice(0)}
    assert again.prompt.previous_answer is None


def test_back_twice_then_an_answer_goes_on_where_the_person_left_off(small_bank):
    state = at_position(small_bank, 3)
    state = advance(state, Back("data_4"), small_bank).state
    state = advance(state, Back("data_3"), small_bank).state

    forward = answer_current(state, small_bank, OptionChoice(1))

    assert (forward.prompt.question.id, forward.prompt.number) == ("data_4", 4)
    assert forward.prompt.previous_answer is None
    back = shown(advance(forward.state, Back("data_4"), small_bank).prompt, AskQuestion)
    assert (back.question.id, back.previous_answer) == ("data_3", OptionChoice(0))


def test_back_on_the_first_question_is_refused(small_bank):
    refused(started(small_bank), Back("data_1"), small_bank, NothingToGoBackTo)


def test_back_from_a_question_no_longer_on_screen_is_refused(small_bank):
    error = refused(at_position(small_bank, 2), Back("data_2"), small_bank, StaleQuestion)

    assert (error.expected, error.received) == ("data_3", "data_2")


@pytest.mark.parametrize("question_id", ["data_1", "ops_3", "no_such_question"])
def test_an_answer_to_another_question_is_stale(small_bank, question_id):
    event = AnswerQuestion(question_id, OptionChoice(0))

    error = refused(at_position(small_bank, 1), event, small_bank, StaleQuestion)

    assert (error.expected, error.received) == ("data_2", question_id)


@pytest.mark.parametrize("answer", [OptionChoice(3), OptionChoice(-1), NotApplicable()])
def test_an_option_the_question_does_not_offer_is_refused(small_bank, answer):
    state = started(small_bank)

    refused(state, AnswerQuestion("data_1", answer), small_bank, UnknownOption)


def test_not_applicable_is_refused_on_a_question_without_it_even_mid_way(small_bank):
    state = at_position(small_bank, 4)

    refused(state, AnswerQuestion("ops_1", NotApplicable()), small_bank, UnknownOption)


def test_an_answer_after_completion_is_refused(small_bank):
    state = completed(small_bank)

    error = refused(state, AnswerQuestion("ops_3", OptionChoice(0)), small_bank, ConversationFinished)

    assert error.phase == Phase.COMPLETE


@pytest.mark.parametrize(
    "event", [Start(), AnswerQuestion("data_1", OptionChoice(0)), Back("data_1"), Cancel(), Expire()]
)
def test_a_finished_conversation_refuses_every_event(small_bank, event):
    finished_states = [
        completed(small_bank),
        advance(at_position(small_bank, 2), Cancel(), small_bank).state,
        advance(at_position(small_bank, 2), Expire(), small_bank).state,
    ]
    for finished in finished_states:
        assert finished.phase in FINISHED_PHASES
        refused(finished, event, small_bank, ConversationFinished)


def test_cancel_ends_the_conversation_keeping_its_answers(small_bank):
    state = at_position(small_bank, 3)

    transition = advance(state, Cancel(), small_bank)

    assert transition.state.phase == Phase.CANCELLED
    assert transition.steps == (Phase.CANCELLED,)
    applicable = len(applicable_questions(small_bank, state.answers))
    assert transition.prompt == ShowCancelled(3, applicable)
    assert transition.state.answers == state.answers
    assert prompt_for(transition.state, small_bank) == ShowCancelled(3, applicable)
    assert transition.prompt.answered_text == f"answered 3 of the {applicable} questions that apply"


def test_expire_ends_the_conversation(small_bank):
    transition = advance(at_position(small_bank, 1), Expire(), small_bank)

    assert transition.state.phase == Phase.EXPIRED
    assert transition.prompt == ShowExpired(1, len(small_bank.questions))
    assert transition.state.finished


def test_a_conversation_can_be_cancelled_before_it_starts(small_bank):
    assert (
        advance(Conversation.new(small_bank, AskingMode.FULL), Cancel(), small_bank).state.phase
        == Phase.CANCELLED
    )


def test_start_twice_is_refused(small_bank):
    refused(at_position(small_bank, 2), Start(), small_bank, AlreadyStarted)


@pytest.mark.parametrize("event", [AnswerQuestion("data_1", OptionChoice(0)), Back("data_1")])
def test_answers_before_start_are_refused(small_bank, event):
    refused(Conversation.new(small_bank, AskingMode.FULL), event, small_bank, NotStarted)


@pytest.mark.parametrize(("field", "value"), [("version", "2.0"), ("id", "other")])
def test_a_changed_bank_is_refused(small_bank, field, value):
    state = at_position(small_bank, 2)
    changed = small_bank.model_copy(update={field: value})

    error = refused(state, AnswerQuestion("data_3", OptionChoice(0)), changed, BankChanged)

    assert "1.0" in error.started_with
    assert value in error.current
    with pytest.raises(BankChanged):
        prompt_for(state, changed)


def test_prompt_for_resends_the_current_question(small_bank):
    state = answer_current(at_position(small_bank, 2), small_bank, OptionChoice(1)).state
    state = advance(state, Back("data_4"), small_bank).state

    assert prompt_for(state, small_bank) == AskQuestion(small_bank.question("data_3"), 3, 7, OptionChoice(1))
    assert (
        shown(prompt_for(Conversation.new(small_bank, AskingMode.FULL), small_bank), AskQuestion).question.id
        == "data_1"
    )


def test_revision_counts_applied_events_only(small_bank):
    state = Conversation.new(small_bank, AskingMode.FULL)
    applied = 0
    events: list[Event] = [
        Start(),
        AnswerQuestion("data_1", OptionChoice(0)),
        Back("data_1"),  # stale: data_2 is on screen
        Back("data_2"),
        AnswerQuestion("data_1", OptionChoice(1)),
        AnswerQuestion("data_1", OptionChoice(1)),  # a double click
        AnswerQuestion("data_2", OptionChoice(5)),  # not an option
        AnswerQuestion("data_2", DontKnow()),
        Cancel(),
        Cancel(),  # already cancelled
    ]
    for event in events:
        try:
            state = advance(state, event, small_bank).state
        except InvalidEvent:
            continue
        applied += 1
        assert state.revision == applied

    assert applied == 6
    assert state.phase == Phase.CANCELLED


def test_revision_of_a_complete_run(small_bank):
    assert completed(small_bank).revision == 1 + len(small_bank.questions)


# Serialised form ---------------------------------------------------------------------------------


def test_state_round_trips_through_json(small_bank):
    state = advance(at_position(small_bank, 5), AnswerQuestion("ops_2", NotApplicable()), small_bank).state
    state = answer_current(advance(state, Back("ops_3"), small_bank).state, small_bank, DontKnow()).state

    stored = json.loads(json.dumps(state.to_dict()))

    assert Conversation.from_dict(stored) == state
    assert stored["answers"]["ops_2"] == "dk"
    assert stored["answers"]["data_1"] == 0


def test_state_records_bank_id_and_version(small_bank):
    stored = completed(small_bank).to_dict()

    assert (stored["bank"], stored["bank_version"]) == ("test", "1.0")
    assert stored["phase"] == "COMPLETE"


def test_a_restored_state_is_still_bound_to_its_bank_version(small_bank):
    stored = at_position(small_bank, 1).to_dict()
    restored = Conversation.from_dict(stored | {"bank_version": "0.9"})

    refused(restored, AnswerQuestion("data_2", OptionChoice(0)), small_bank, BankChanged)


def compact_json(state: Conversation) -> str:
    # the session store writes the state inside a JSON document without spaces
    return json.dumps(state.to_dict(), separators=(",", ":"))


@pytest.mark.parametrize(("dont_know", "bound"), [(False, 1750), (True, 1950)])
def test_a_complete_mlops_state_stays_small(mlops, dont_know, bound):
    state = started(mlops)
    while state.phase == Phase.ASK_Q:
        question = state.current_question(mlops)
        assert question is not None
        # The last option of the context question switches the whole LLM set on: all 60 questions are asked.
        answer = (
            DontKnow()
            if dont_know and question.kind != "context"
            else OptionChoice(len(question.options) - 1)
        )
        state = advance(state, AnswerQuestion(question.id, answer), mlops).state

    size = len(compact_json(state))

    # 60 answers keyed by question id and the 60 positions in the order shown (bank 3.1.0, a full run);
    # measured at 1660 bytes with option numbers and 1837 with "dk"
    assert len(state.answers) == 60
    assert size <= bound
    # with a space after each of the 120 separators
    assert len(json.dumps(state.to_dict())) <= bound + 130
    assert Conversation.from_dict(json.loads(compact_json(state))) == state


GOOD = {
    "format": 2,
    "bank": "test",
    "bank_version": "1.0",
    "phase": "ASK_Q",
    "position": 1,
    "answers": {"data_1": 0},
    "revision": 2,
    "mode": "full",
    "asked": [0, 1],
    "offer_stop": False,
}
# Stored before adaptive runs: a full run, with no record of the order questions were shown in.
FORMAT_1 = {key: value for key, value in GOOD.items() if key not in ("mode", "asked", "offer_stop")} | {
    "format": 1
}


def test_the_reference_state_reads(small_bank):
    state = Conversation.from_dict(GOOD)

    assert state == at_position(small_bank, 1)


def test_a_state_stored_before_adaptive_runs_reads_as_a_full_run_and_back_still_works(small_bank):
    state = Conversation.from_dict(FORMAT_1)

    assert state == replace(at_position(small_bank, 1), asked=())
    back = shown(advance(state, Back("data_2"), small_bank).prompt, AskQuestion)
    assert (back.question.id, back.previous_answer) == ("data_1", OptionChoice(0))


@pytest.mark.parametrize(
    "data",
    [
        None,
        "garbage",
        42,
        [],
        {},
        {key: value for key, value in GOOD.items() if key != "answers"},
        GOOD | {"format": 3},
        GOOD | {"mode": "sometimes"},
        GOOD | {"asked": ["data_1"]},
        GOOD | {"asked": "0,1"},
        GOOD | {"phase": "DANCING"},
        GOOD | {"phase": "GEN_REPORT"},
        GOOD | {"phase": "SCORE_ANSWER"},
        GOOD | {"position": "first"},
        GOOD | {"position": None},
        GOOD | {"revision": "many"},
        GOOD | {"answers": "0,1,2"},
        GOOD | {"answers": None},
        GOOD | {"answers": {"data_1": "maybe"}},
        GOOD | {"answers": {"data_1": 0.5}},
        GOOD | {"answers": {"data_1": True}},
    ],
)
def test_garbage_is_a_corrupt_state(data):
    with pytest.raises(CorruptState):
        Conversation.from_dict(data)


@pytest.mark.parametrize(
    "answers",
    [{"data_1": -1}, {"data_1": 3}, {"data_1": 0, "data_2": "na"}, {"data_1": 0, "retired_question": 1}],
)
@pytest.mark.parametrize("phase", ["ASK_Q", "COMPLETE"])
def test_stored_answers_the_bank_does_not_offer_are_corrupt(small_bank, answers, phase):
    state = Conversation.from_dict(GOOD | {"answers": answers, "phase": phase})

    with pytest.raises(CorruptState):
        prompt_for(state, small_bank)
    if phase == "ASK_Q":
        refused(state, AnswerQuestion("data_2", OptionChoice(0)), small_bank, CorruptState)


def test_a_position_outside_the_bank_is_corrupt(small_bank):
    state = Conversation.from_dict(GOOD | {"position": 99})

    refused(state, AnswerQuestion("data_1", OptionChoice(0)), small_bank, CorruptState)
    with pytest.raises(CorruptState):
        prompt_for(state, small_bank)


# Skip logic --------------------------------------------------------------------------------------


def skipping_bank() -> QuestionBank:
    from .synthetic import context_question, question, scoring_bank

    llm = {"question": "ships_llm", "options": [2]}
    return scoring_bank(
        [
            question("first", "data", level=2),
            context_question("ships_llm", ("No", "Yes")),
            question("llm_a", "data", level=2, applies_if=llm),
            question("llm_b", "data", level=3, applies_if=llm),
            question("last", "data", level=3),
        ]
    )


def test_a_no_to_a_context_question_skips_what_depends_on_it_and_the_progress_counts_what_applies():
    bank = skipping_bank()
    state = answer_current(started(bank), bank).state  # first
    asked = advance(state, AnswerQuestion("ships_llm", OptionChoice(0)), bank)
    assert isinstance(asked.prompt, AskQuestion)
    assert asked.prompt.question.id == "last"
    assert (asked.prompt.number, asked.prompt.total) == (3, 3)
    done = answer_current(asked.state, bank)
    assert done.state.phase == Phase.COMPLETE
    assert set(done.state.answers) == {"first", "ships_llm", "last"}


def test_a_yes_asks_the_dependent_questions_and_counts_them():
    bank = skipping_bank()
    state = answer_current(started(bank), bank).state
    asked = advance(state, AnswerQuestion("ships_llm", OptionChoice(1)), bank)
    assert isinstance(asked.prompt, AskQuestion)
    assert asked.prompt.question.id == "llm_a"
    assert (asked.prompt.number, asked.prompt.total) == (3, 5)


def test_back_crosses_a_skip_and_a_changed_context_answer_changes_what_follows():
    bank = skipping_bank()
    state = answer_current(started(bank), bank).state
    at_last = advance(state, AnswerQuestion("ships_llm", OptionChoice(0)), bank).state
    back = advance(at_last, Back("last"), bank)
    assert isinstance(back.prompt, AskQuestion)
    assert back.prompt.question.id == "ships_llm"
    assert back.prompt.previous_answer == OptionChoice(0)
    changed = advance(back.state, AnswerQuestion("ships_llm", OptionChoice(1)), bank)
    assert isinstance(changed.prompt, AskQuestion)
    assert changed.prompt.question.id == "llm_a"


def test_an_answer_a_later_context_answer_switched_off_no_longer_counts(mlops):
    llm_question = next(q for q in mlops.questions if q.applies_if is not None)
    answers = {"llm_features": OptionChoice(0), llm_question.id: OptionChoice(1)}
    state = replace(Conversation.new(mlops, AskingMode.FULL), phase=Phase.ASK_Q, position=1, answers=answers)

    ended = advance(state, Cancel(), mlops).prompt

    applicable = len(applicable_questions(mlops, answers))
    assert applicable < len(mlops.questions)
    assert ended == ShowCancelled(1, applicable)
    assert ended.answered_text == f"answered 1 of the {applicable} questions that apply"


LLM_NOTE = "10 questions about LLM features no longer apply after your answer: 50 in all."


def asking(transition: Transition) -> AskQuestion:
    assert isinstance(transition.prompt, AskQuestion)
    return transition.prompt


def test_a_context_answer_that_shortens_the_assessment_says_why_the_count_changed(mlops):
    started = advance(Conversation.new(mlops, AskingMode.FULL), Start(), mlops)
    first = asking(started)
    assert (first.number, first.total, first.count_note) == (1, 60, None)

    shortened = advance(started.state, AnswerQuestion("llm_features", OptionChoice(0)), mlops)
    no_llm = asking(shortened)
    assert (no_llm.number, no_llm.total, no_llm.count_note) == (2, 50, LLM_NOTE)
    # The next question says nothing more: the count did not change again.
    after = asking(advance(shortened.state, AnswerQuestion(no_llm.question.id, OptionChoice(0)), mlops))
    assert after.count_note is None and after.total == 50

    everything = asking(advance(started.state, AnswerQuestion("llm_features", OptionChoice(5)), mlops))
    assert (everything.total, everything.count_note) == (60, None)


def test_changing_the_context_answer_back_says_the_questions_apply_again(mlops):
    started = advance(Conversation.new(mlops, AskingMode.FULL), Start(), mlops).state
    shortened = advance(started, AnswerQuestion("llm_features", OptionChoice(0)), mlops)
    back = advance(shortened.state, Back(asking(shortened).question.id), mlops)
    assert asking(back).count_note is None
    again = asking(advance(back.state, AnswerQuestion("llm_features", OptionChoice(5)), mlops))
    assert again.total == 60
    assert again.count_note == "10 questions about LLM features now apply after your answer: 60 in all."


def test_the_count_note_names_no_topic_when_the_bank_gives_none() -> None:
    assert count_change_note(8, 7, [], 7, True) == "1 question no longer applies after your answer: 7 in all."
    assert (
        count_change_note(7, 8, ["a", "b"], 6, False)
        == "1 question about a and b now applies after your answer: at most 6 in all."
    )
    assert count_change_note(8, 8, ["a"], 8, True) is None
