"""A personal assessment over Socket Mode, end to end: `mlops-compass serve --socket` connects to the fake
workspace through apps.connections.open, every command and click arrives as an envelope on the WebSocket,
state lives in a real Redis, and the connection is lost once along the way."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from bot.engine.answers import encode_answer
from bot.engine.catalog import BankCatalog
from bot.slack.assessment import STARTING, started_text
from bot.store import keys
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import AppProcess, app_process
from playground.fakeslack.workspace import SlackUser, SocketModeTransport, buttons_of
from tests.conftest import REAL_REDIS_URL, real_redis
from tests.e2e.conftest import MEASURED, all_best, answer_buttons, best_option, engine_progress, progress_text
from tests.slack.adaptive_runs import take

BANK = BankCatalog.from_directory().get("mlops")
# The best answers: the questions asked are those that can still change a level, and no offer to stop.
ASKED = len(take(BANK, all_best(BANK), stop=False).asked)
APP_TOKEN = "xapp-1-A0001-e2e"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as running:
        yield running


@pytest.fixture(scope="module")
def app(fake: FakeSlack) -> Iterator[AppProcess]:
    real_redis()  # fails the module, with the reason, when no server answers
    env = {
        "SLACK_BOT_TOKEN": "xoxb-e2e-token",
        "SLACK_SIGNING_SECRET": "e2e-signing-secret-0123456789",
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": fake.base_url,
        "REDIS_URL": REAL_REDIS_URL,
        "LOG_LEVEL": "INFO",
    }
    with app_process(env, socket_mode_ready=lambda: fake.socket_mode.connected) as running:
        yield running


@pytest.fixture
def user(fake: FakeSlack, app: AppProcess) -> Iterator[SlackUser]:
    team_id = "T" + uuid.uuid4().hex[:8].upper()
    yield SlackUser(fake, SocketModeTransport(fake.socket_mode), team_id=team_id, channel_id="C0GENERAL")
    client = redis.Redis.from_url(REAL_REDIS_URL)
    stale = list(client.scan_iter(match=keys.workspace_pattern(team_id)))
    if stale:
        client.delete(*stale)


def answer(user: SlackUser, question: dict[str, Any]) -> dict[str, Any]:
    """Click the best option; return the message as the app left it."""
    before = len(user.fake.calls)
    acknowledged = user.click(question, best_option(question))
    assert acknowledged.acked, acknowledged
    assert acknowledged.payload is None  # a click's acknowledgement carries nothing
    reaction = user.wait_for_reaction(before)
    assert reaction.method == "chat.update", reaction
    return user.dm_messages()[-1]


def start(user: SlackUser) -> dict[str, Any]:
    before = len(user.fake.calls)
    acknowledged = user.command("")
    assert acknowledged.acked, acknowledged
    assert acknowledged.text == STARTING
    user.fake.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == user.dm_channel, after=before, timeout=10
    )
    assert user.reply().params["text"] == started_text(BANK)
    question = user.current_question()
    assert question is not None
    return question


def test_a_whole_assessment_survives_a_cut_connection(fake: FakeSlack, user: SlackUser) -> None:
    started = time.monotonic()
    connections_before = len(fake.socket_mode.connections)
    question = start(user)
    for number in range(1, ASKED + 1):
        if number == ASKED // 2:
            cut_at = time.monotonic()
            fake.socket_mode.cut()
            fake.socket_mode.wait_for_connection(connections_before + 1, timeout=15)
            MEASURED.append(f"reconnect after a cut connection: {time.monotonic() - cut_at:.2f} s")
        assert progress_text(question).startswith(f"`Question {number} of at most ")
        question = answer(user, question)

    report = fake.wait_for("chat.postMessage", lambda c: c.params.get("channel") == "C0GENERAL")
    assert "MLOps maturity report" in report.params["text"]
    assert buttons_of(user.dm_messages()[-1]) == []
    client = redis.Redis.from_url(REAL_REDIS_URL)
    result_ids = client.zrange(keys.history(user.team_id, user.user_id), 0, -1)
    assert len(result_ids) == 1 and isinstance(result_ids[0], bytes)
    raw = client.get(keys.result(user.team_id, result_ids[0].decode()))
    assert isinstance(raw, bytes)
    stored = json.loads(raw)
    assert stored["report"]["overall"]["level"] == 4
    MEASURED.append(
        f"whole assessment over Socket Mode ({ASKED + 1} envelopes, one reconnect): "
        f"{time.monotonic() - started:.2f} s"
    )

    mine = fake.socket_mode.envelopes[-(ASKED + 1) :]
    assert all(envelope.acked for envelope in mine)
    assert {envelope.connection for envelope in mine} == {connections_before, connections_before + 1}
    slowest = max(envelope.elapsed or 0 for envelope in mine)
    MEASURED.append(f"slowest Socket Mode ack over that assessment: {slowest * 1000:.0f} ms")
    assert fake.socket_mode.problems == []


def test_the_app_follows_slack_when_it_refreshes_the_connection(fake: FakeSlack, user: SlackUser) -> None:
    question = answer(user, start(user))
    urls_before, connections_before = fake.socket_mode.urls_issued, len(fake.socket_mode.connections)
    refreshed_at = time.monotonic()
    fake.socket_mode.drop()
    fake.socket_mode.wait_for_connection(connections_before + 1, timeout=15)
    MEASURED.append(f"reconnect after Slack's disconnect: {time.monotonic() - refreshed_at:.2f} s")
    assert fake.socket_mode.urls_issued > urls_before  # a fresh URL from apps.connections.open

    question = answer(user, question)
    best = all_best(BANK)
    codes = [encode_answer(best[qid]) for qid in take(BANK, best, stop=False).asked[:2]]
    assert progress_text(question) == engine_progress(BANK, codes)
    assert fake.socket_mode.envelopes[-1].connection > connections_before
    assert fake.socket_mode.problems == []


def test_a_slash_command_is_answered_in_its_acknowledgement(user: SlackUser) -> None:
    acknowledged = user.command("help")
    assert acknowledged.acked
    assert "measures how mature your MLOps practice is" in acknowledged.text
    assert [b for b in answer_buttons(acknowledged.payload or {})] == []


def test_a_form_opens_and_answers_its_submissions_over_socket_mode(fake: FakeSlack, user: SlackUser) -> None:
    assert user.command("team").acked
    form = user.modal(timeout=10)
    refused = user.submit_view(form, {"days": "0"})
    assert refused.acked and (refused.payload or {}).get("response_action") == "errors"
    assert list((refused.payload or {})["errors"]) == ["days"]
    accepted = user.submit_view(form, {"bank": "pulse"})
    assert accepted.acked and accepted.payload is None
    fake.wait_for("chat.postMessage", lambda c: c.params.get("channel") == user.channel_id, timeout=10)
    assert fake.open_modals(user.user_id) == []
