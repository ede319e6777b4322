from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.adaptive import AskingMode
from bot.engine.answers import DontKnow, NotApplicable, OptionChoice, choices
from bot.engine.bank import QuestionBank
from bot.engine.conversation import (
    AnswerQuestion,
    AskQuestion,
    Back,
    Cancel,
    Conversation,
    Expire,
    InvalidEvent,
    Phase,
    Start,
    advance,
    prompt_for,
)
from bot.engine.scoring import applicable_questions
from tests.conftest import examples

from .synthetic import base_bank_dict, load, shipped_bank

BANKS = [
    pytest.param(load(base_bank_dict()), id="synthetic"),
    pytest.param(shipped_bank("mlops"), id="mlops"),
]

# Answers dominate so that runs get far into the bank; the rest are the ways a person or a
# front end can interrupt, go back, or send something outdated or wrong.
MOVE_KINDS = (
    ["answer"] * 30 + ["back"] * 4 + ["bad_answer", "stale", "stale_back", "start", "cancel", "expire"]
)
MOVES = st.lists(st.tuples(st.sampled_from(MOVE_KINDS), st.integers(0, 20)), max_size=60)


def event_for(move: str, pick: int, state: Conversation, bank: QuestionBank):
    question = state.current_question(bank) or bank.questions[0]
    other = bank.questions[(state.position + 1 + pick % (len(bank.questions) - 1)) % len(bank.questions)]
    if move == "answer":
        offered = [answer for answer, _ in choices(question)]
        return AnswerQuestion(question.id, offered[pick % len(offered)])
    if move == "bad_answer":
        if question.not_applicable is None and pick % 2:
            return AnswerQuestion(question.id, NotApplicable())
        return AnswerQuestion(question.id, OptionChoice(len(question.options) + pick))
    if move == "stale":
        return AnswerQuestion(other.id, DontKnow())
    if move == "back":
        return Back(question.id)
    if move == "stale_back":
        return Back(other.id)
    return {"start": Start(), "cancel": Cancel(), "expire": Expire()}[move]


class Run:
    """Applies events as a front end would, checking after each one what must always hold."""

    def __init__(self, bank: QuestionBank):
        self.bank = bank
        self.state = Conversation.new(bank, AskingMode.FULL)
        self.applied = 0
        self.furthest = 0

    def apply(self, event) -> None:
        state, bank = self.state, self.bank
        before = state.to_dict()
        try:
            transition = advance(state, event, bank)
        except InvalidEvent:
            assert state.to_dict() == before
            return
        self.applied += 1
        total_before = len(applicable_questions(bank, state.answers))
        self.state = state = transition.state

        assert state.revision == self.applied
        if state.phase == Phase.ASK_Q:
            asked = transition.prompt
            assert isinstance(asked, AskQuestion)
            # Showing the question again is the same question, without the note on why the count changed.
            assert replace(asked, count_note=None) == prompt_for(state, bank)
            # The count never changes unsaid: a note exactly when it changed, ending with the new count.
            if asked.total == total_before:
                assert asked.count_note is None
            else:
                assert str(asked.count_note).endswith(f": {asked.total} in all.")
            assert asked.previous_answer == state.answers.get(asked.question.id)
            self.furthest = max(self.furthest, state.position)
            # Back keeps later answers, but nothing is ever recorded for a question not yet reached
            assert set(state.answers) <= {q.id for q in bank.questions[: self.furthest]}
        else:
            assert state.phase in (Phase.COMPLETE, Phase.CANCELLED, Phase.EXPIRED)

        stored = json.loads(json.dumps(state.to_dict()))
        restored = Conversation.from_dict(stored)
        assert restored == state
        assert restored.to_dict() == state.to_dict()


@pytest.mark.parametrize("bank", BANKS)
@settings(max_examples=examples(200), deadline=None)
@given(moves=MOVES, finish=st.booleans(), after=st.sampled_from(MOVE_KINDS))
def test_random_runs_keep_the_state_consistent_and_serialisable(bank, moves, finish, after):
    run = Run(bank)
    run.apply(Start())
    for move, pick in moves:
        run.apply(event_for(move, pick, run.state, bank))
    if finish:
        while run.state.phase == Phase.ASK_Q:
            run.apply(event_for("answer", run.state.position, run.state, bank))
        assert run.state.finished
        finished = run.state
        run.apply(event_for(after, 0, run.state, bank))
        assert run.state is finished

    if run.state.phase == Phase.COMPLETE:
        # Every question that applies was answered; one switched off after Back may keep its old answer.
        assert {q.id for q in applicable_questions(bank, run.state.answers)} <= set(run.state.answers)
