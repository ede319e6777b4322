"""A stored record that fails validation is a message, not silence: end to end, the person is told, the
record is set aside (renamed with a time to live, not deleted), and they can start over."""

from __future__ import annotations

import json

import redis

from bot.store import keys
from bot.store.corrupt import CORRUPT_KEEP_SECONDS
from playground.fakeslack import FakeSlack
from playground.fakeslack.workspace import SlackUser
from tests.conftest import REAL_REDIS_URL
from tests.e2e.conftest import start

WAIT = 30.0
BROKEN = b'{"respondent": {"team_id": "T", "user_id": "U"}, "conversation": 42}'


def test_a_corrupt_assessment_is_set_aside_the_person_told_and_they_can_start_over(
    fake_slack: FakeSlack, user: SlackUser
) -> None:
    client = redis.Redis.from_url(REAL_REDIS_URL)
    session_key = keys.session(user.team_id, user.user_id)
    client.set(session_key, BROKEN)

    before = len(fake_slack.calls)
    assert user.command("").status == 200
    told = fake_slack.wait_for(
        "response_url", lambda c: "set it aside" in json.dumps(c.params), after=before, timeout=WAIT
    )
    assert told.params["response_type"] == "ephemeral" and "start over" in told.params["text"]
    assert not client.exists(session_key)
    [aside] = list(client.scan_iter(match=f"{session_key}:corrupt:*"))
    assert client.get(aside) == BROKEN
    assert 0 < client.ttl(aside) <= CORRUPT_KEEP_SECONDS

    question = start(user)
    assert "Question 1 of" in json.dumps(question)
    assert client.exists(session_key)
