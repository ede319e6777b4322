"""Button values: what the app puts in a button comes back intact, and anything else is refused."""

from __future__ import annotations

import json

import pytest

from bot.slack.values import (
    ANSWER_ACTION_PATTERN,
    InvalidButton,
    QuestionButton,
    SessionButton,
)


@pytest.mark.parametrize(
    "button",
    [
        QuestionButton(u="U0ALICE", s="3f2a9c1b7d4e", q="data_validation", a=0),
        QuestionButton(u="U0ALICE", s="3f2a9c1b7d4e", q="data_validation", a=9),
        QuestionButton(u="W0ENTERPRISE", s="3f2a9c1b7d4e", q="canary_rollout", a="na"),
        QuestionButton(u="U0ALICE", s="3f2a9c1b7d4e", q="data_validation", a="dk"),
        QuestionButton(u="U0ALICE", s="3f2a9c1b7d4e", q="data_validation"),
    ],
    ids=["first-option", "tenth-option", "not-applicable", "dont-know", "navigation"],
)
def test_a_question_button_decodes_to_what_was_encoded(button: QuestionButton) -> None:
    decoded = QuestionButton.decode(button.encode())
    assert decoded == button
    # An option index must stay an int and a code a str, or "0" and 0 would read as different answers.
    assert type(decoded.a) is type(button.a)


@pytest.mark.parametrize("bank", [None, "mlops", "pulse"])
def test_a_session_button_decodes_to_what_was_encoded(bank: str | None) -> None:
    button = SessionButton(u="U0ALICE", b=bank)
    assert SessionButton.decode(button.encode()) == button


def test_an_encoded_value_leaves_out_what_is_unset() -> None:
    # Values travel in every button of every message; absent fields must cost nothing.
    assert json.loads(QuestionButton(u="U0ALICE", s="abc", q="q1").encode()) == {
        "u": "U0ALICE",
        "s": "abc",
        "q": "q1",
    }
    assert json.loads(SessionButton(u="U0ALICE").encode()) == {"u": "U0ALICE"}


VALID = {"u": "U0ALICE", "s": "3f2a9c1b7d4e", "q": "data_validation", "a": 2}


def tampered(**changes: object) -> str:
    value = {**VALID, **changes}
    return json.dumps({k: v for k, v in value.items() if v is not ...})


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("not json at all", id="not-json"),
        pytest.param("", id="empty"),
        pytest.param(None, id="missing"),
        pytest.param("[1, 2]", id="json-list"),
        pytest.param(tampered(extra="x"), id="extra-field"),
        pytest.param(tampered(u="alice"), id="lower-case-user"),
        pytest.param(tampered(u="U"), id="user-too-short"),
        pytest.param(tampered(u="U" + "A" * 32), id="user-too-long"),
        pytest.param(tampered(u="<@U0ALICE>"), id="user-mention"),
        pytest.param(tampered(u=...), id="no-user"),
        pytest.param(tampered(s=...), id="no-session"),
        pytest.param(tampered(s="a" * 41), id="session-too-long"),
        pytest.param(tampered(s="ABC"), id="session-upper-case"),
        pytest.param(tampered(q="q" * 41), id="question-too-long"),
        pytest.param(tampered(q="data validation"), id="question-with-space"),
        pytest.param(tampered(a="maybe"), id="answer-maybe"),
        pytest.param(tampered(a="DK"), id="answer-upper-case-code"),
        pytest.param(tampered(a=1.5), id="answer-fraction"),
        pytest.param(tampered(a=[1]), id="answer-list"),
    ],
)
def test_a_tampered_question_value_is_refused(raw: str | None) -> None:
    with pytest.raises(InvalidButton):
        QuestionButton.decode(raw)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"u": "U0ALICE", "b": "../../etc/passwd"}', id="bank-path"),
        pytest.param('{"u": "U0ALICE", "b": "MLOPS"}', id="bank-upper-case"),
        pytest.param('{"b": "mlops"}', id="no-user"),
        # A question button's value must not pass for a session button's.
        pytest.param(QuestionButton(u="U0ALICE", s="abc", q="q1").encode(), id="question-value"),
    ],
)
def test_a_tampered_session_value_is_refused(raw: str) -> None:
    with pytest.raises(InvalidButton):
        SessionButton.decode(raw)


def test_a_refusal_does_not_echo_the_value() -> None:
    # Refusals end up in logs; the raw value is the clicker's input, not ours to repeat.
    with pytest.raises(InvalidButton) as refused:
        QuestionButton.decode(tampered(u="<!channel>"))
    assert "<!channel>" not in str(refused.value)


@pytest.mark.parametrize("action_id", ["answer", "answer:other"])
def test_answer_action_pattern_matches_both_answer_groups(action_id: str) -> None:
    assert ANSWER_ACTION_PATTERN.match(action_id)


@pytest.mark.parametrize(
    "action_id", ["answers", "answer:", "answer:x", "answer:0", "answer:other:1", "back", "xanswer:other"]
)
def test_answer_action_pattern_ignores_other_actions(action_id: str) -> None:
    assert not ANSWER_ACTION_PATTERN.match(action_id)
