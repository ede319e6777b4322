"""The answer to what a listener did not expect: honest, ephemeral, and logged once."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.slack.errors import SOMETHING_WENT_WRONG, answer_unexpected
from bot.store.corrupt import CorruptRecord
from playground.fakeslack import FakeSlack


class Replies:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


def test_an_unexpected_error_is_logged_once_and_answered_ephemerally(
    caplog: pytest.LogCaptureFixture,
) -> None:
    replies = Replies()
    with caplog.at_level(logging.ERROR):
        answer_unexpected(
            RuntimeError("boom"),
            {"response_url": "https://x", "user_id": "U1"},
            replies,
            WebClient(token="x"),
        )
    assert replies.sent == [
        {"response_type": "ephemeral", "replace_original": False, "text": SOMETHING_WENT_WRONG}
    ]
    assert len([r for r in caplog.records if r.exc_info]) == 1


def test_a_corrupt_record_is_answered_with_start_over_by_dm_where_there_is_no_response_url() -> None:
    with FakeSlack() as fake:
        client = WebClient(token="xoxb-t", base_url=fake.base_url)
        answer_unexpected(CorruptRecord("k", "assessment"), {"user": {"id": "U1"}}, None, client)
        [told] = fake.messages(fake.dm_channel_id("U1"))
    assert "couldn't read your stored assessment" in told["text"] and "start over" in told["text"]
    assert "Nothing you answered before was lost" not in told["text"]
