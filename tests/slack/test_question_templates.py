"""Question messages come from a template made once per bank; each must equal the message slack_sdk's
models build (and check) for the same question and session, whatever the session's values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.startup import with_slack_messages_checked
from bot.engine.answers import Answer, choices
from bot.engine.catalog import BankCatalog, BankFile
from bot.engine.conversation import AskQuestion
from bot.slack import blocks
from bot.slack.blocks import BlockLimitError, check_message

CATALOG = BankCatalog.from_directory()
SESSIONS = [
    ("U0ALICE", "3f2a9c1b7d4e", None),
    ("U0BOB12345", "0123456789ab", "run0abc123"),
    ("W" + "9" * 19, "z" * 12, "r" * 12),
]


@pytest.mark.parametrize("bank_id", ["mlops", "pulse"])
def test_every_templated_question_equals_the_model_built_message(bank_id: str) -> None:
    bank = CATALOG.by_id(bank_id)
    total = len(bank.questions)
    compared = 0
    for index, question in enumerate(bank.questions):
        previous_answers: list[Answer | None] = [None, *(answer for answer, _ in choices(question))]
        for previous in previous_answers:
            for number, note in [
                (1, None),
                (2, "5 questions about <LLM> & co no longer apply"),
                (index + 1, None),
            ]:
                ask = AskQuestion(
                    question=question, number=number, total=total, previous_answer=previous, count_note=note
                )
                # The sessions take turns: a question meets every one of them over its nine or more
                # messages, without building each message three times with slack_sdk's slow models.
                owner, session_id, run_id = SESSIONS[compared % len(SESSIONS)]
                templated = blocks.question_message(bank, ask, owner, session_id, run_id)
                built = blocks.question_message_from_models(bank, ask, owner, session_id, run_id)
                assert templated == built, (question.id, number, previous, run_id)
                check_message(templated)
                compared += 1
    assert compared >= 3 * len(SESSIONS) * len(bank.questions)


def test_a_rendered_message_leaves_its_template_as_it_was() -> None:
    bank = CATALOG.by_id("mlops")
    question = bank.questions[0]
    chosen = choices(question)[1][0]
    first = blocks.question_message(bank, AskQuestion(question, 3, 9, chosen), "U0ALICE", "aaaaaaaaaaaa")
    second = blocks.question_message(bank, AskQuestion(question, 1, 9, None), "U0BOB", "bbbbbbbbbbbb")
    assert "initial_option" in json.dumps(first.blocks)
    assert "initial_option" not in json.dumps(second.blocks)
    assert "aaaaaaaaaaaa" not in json.dumps(second.blocks)
    assert [b["action_id"] for b in second.blocks[-1]["elements"]] == ["cancel"]


def test_a_bank_whose_messages_break_slacks_limits_is_refused_when_prepared() -> None:
    pulse = CATALOG.by_id("pulse")
    first, *rest = pulse.questions
    # Slack shows at most 10 radio options; the bank's own checks do not know Slack's limits.
    crowded = first.model_copy(update={"options": list(first.options) * 4})
    bank = pulse.model_copy(update={"questions": [crowded, *rest]})
    with pytest.raises(BlockLimitError, match=f"question {first.id}"):
        blocks.prepare_question_messages(bank)


def test_serve_leaves_out_a_bank_whose_messages_break_slacks_limits_and_says_why(tmp_path: Path) -> None:
    pulse = CATALOG.by_id("pulse")
    first, *rest = pulse.questions
    crowded = first.model_copy(update={"options": list(first.options) * 4})
    bank = pulse.model_copy(update={"questions": [crowded, *rest]})
    mlops = CATALOG.by_id("mlops")
    files = [BankFile(tmp_path / "pulse.yaml", bank), BankFile(tmp_path / "mlops.yaml", mlops)]

    checked = with_slack_messages_checked(BankCatalog([bank, mlops], files))

    assert [b.id for b in checked.banks] == ["mlops"]
    [broken] = checked.broken
    assert broken.path == tmp_path / "pulse.yaml"
    assert [p.reason for p in broken.problems] == [
        f"its messages break Slack's limits: question {first.id}: 20 radio options; Slack allows 10"
    ]
