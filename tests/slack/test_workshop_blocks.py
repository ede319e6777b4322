"""The workshop's messages: within Slack's limits for every question of every bank with a full room of
voters, every vote shown with its voter's name, and buttons that carry what they say."""

from __future__ import annotations

import pytest

from bot.engine import workshop as rules
from bot.engine.answers import DontKnow, OptionChoice, choices
from bot.engine.catalog import BankCatalog
from bot.slack.workshop_blocks import (
    OPEN_WORKSHOP,
    WorkshopButton,
    agenda_message,
    question_message,
    workshop_message,
)
from bot.store.workshops import WorkshopRecord

CATALOG = BankCatalog.from_directory()
VOTERS = [f"U{index:010d}" for index in range(30)]


def record(bank_id: str, state: rules.WorkshopState) -> WorkshopRecord:
    bank = CATALOG.by_id(bank_id)
    return WorkshopRecord(
        team_id="T1",
        channel_id="C1",
        facilitator_id="U0FACIL",
        bank_id=bank.id,
        bank_version=bank.version,
        state=state.to_dict(),
        deadline=0.0,
    )


@pytest.mark.parametrize("bank_id", [bank.id for bank in CATALOG.banks])
def test_every_question_with_thirty_voters_fits_and_names_each_voter(bank_id: str) -> None:
    bank = CATALOG.by_id(bank_id)
    for question in bank.questions:
        answers = [answer for answer, _ in choices(question)]
        state = rules.WorkshopState(bank.id, bank.version, "U0FACIL", question.id, asked=(question.id,))
        for index, voter in enumerate(VOTERS):
            state = rules.vote(bank, state, question.id, voter, answers[index % len(answers)])
        message = question_message(record(bank_id, state), bank, state, question)  # raises past a limit
        shown = str(message.blocks)
        assert all(f"<@{voter}>" in shown for voter in VOTERS)


def test_the_start_says_it_is_open_not_anonymous() -> None:
    bank = CATALOG.by_id("pulse")
    state = rules.start(bank, "U0FACIL")
    assert OPEN_WORKSHOP in str(workshop_message(record("pulse", state), bank, state).blocks)
    assert "not an anonymous survey" in OPEN_WORKSHOP


@pytest.mark.parametrize("answer", [OptionChoice(0), OptionChoice(4), DontKnow(), None])
def test_a_button_carries_the_workshop_question_and_answer(answer: OptionChoice | DontKnow | None) -> None:
    button = WorkshopButton("abc123", "data_validation", answer)
    assert WorkshopButton.decode(button.encode()) == button


def test_the_agenda_names_the_split_questions_with_who_chose_each_rung() -> None:
    bank = CATALOG.by_id("pulse")
    state = rules.start(bank, "U0FACIL")
    question = state.open_question
    assert question is not None
    state = rules.vote(bank, state, question, "U0ANNA", OptionChoice(1))
    state = rules.vote(bank, state, question, "U0BEN", OptionChoice(3))
    state = rules.settle(bank, state, question)
    message = agenda_message(bank, rules.disagreements(bank, state), rules.nobody_knew(bank, state))
    assert question in message.text
    shown = str(message.blocks)
    assert "<@U0ANNA>" in shown and "<@U0BEN>" in shown and "2 rungs apart" in shown
