"""Slack's 429 on a method in a workspace pauses that method there for every process: the others wait out
the Retry-After instead of each meeting a 429 of its own, and nothing is lost or sent twice. The web
process's calls read no pause in Redis: a click gains no round trip per Slack call."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from slack_sdk.errors import SlackApiError

from bot.slack.app import web_client_for
from bot.slack.rate_limits import MethodPauses
from bot.slack.reminders import clock_client, outcome_of
from bot.slack.workspace_client import Workspace, serving
from bot.store import keys
from bot.store.slack_limits import SlackMethodPauses
from bot.usecases.posting import RateLimited
from playground.fakeslack import FakeSlack
from tests.conftest import REAL_REDIS_URL, real_redis
from tests.slack.test_click_round_trips import CountingConnection

CHANNEL = "C0PAUSED"
WAIT_SECONDS = 10


def worker_side(redis_client: redis.Redis) -> MethodPauses:
    """A worker process's pauses: its own and every other process's, read in Redis."""
    return MethodPauses(SlackMethodPauses(redis_client), read_shared=True)


def clock_side(redis_client: redis.Redis) -> MethodPauses:
    return MethodPauses(SlackMethodPauses(redis_client), read_shared=True, refuse_while_paused=True)


def post(client_pauses: MethodPauses, fake: FakeSlack, team_id: str, text: str) -> None:
    client = web_client_for(None, fake.base_url, client_pauses)
    with serving(Workspace(team_id, None, f"xoxb-{team_id}")):
        client.chat_postMessage(channel=CHANNEL, text=text)


def wait_until_paused(redis_client: redis.Redis, team_id: str, method: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not redis_client.exists(keys.slack_method_paused(team_id, method)):
        assert time.monotonic() < deadline, f"{method} was never paused in Redis"
        time.sleep(0.01)


def test_a_second_process_waits_out_the_first_ones_429_without_calling_slack(
    fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    fake.rate_limit_next("chat.postMessage", retry_after=1)
    first_process, second_process = worker_side(redis_client), worker_side(redis_client)

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(post, first_process, fake, team_id, "from the first")
        wait_until_paused(redis_client, team_id, "chat.postMessage")
        post(second_process, fake, team_id, "from the second")
        first.result(timeout=WAIT_SECONDS)

    refused, *accepted = fake.calls_to("chat.postMessage")
    assert refused.status == 429
    assert [call.status for call in accepted] == [200, 200]
    # Neither went back to Slack before the Retry-After was over, the second process included.
    assert all(call.received_at >= refused.received_at + 1.0 for call in accepted)
    assert sorted(message["text"] for message in fake.messages(CHANNEL)) == [
        "from the first",
        "from the second",
    ]


def test_a_pause_is_the_workspaces_and_the_methods_alone(
    fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    pauses = worker_side(redis_client)
    pauses.record(team_id, "chat.postMessage", 30)

    client = web_client_for(None, fake.base_url, pauses)
    with serving(Workspace(team_id, None, f"xoxb-{team_id}")):
        client.conversations_history(channel=CHANNEL)
    with serving(Workspace(f"{team_id}X", None, f"xoxb-{team_id}X")):
        client.chat_postMessage(channel=CHANNEL, text="another workspace's post")

    assert [call.method for call in fake.calls] == ["conversations.history", "chat.postMessage"]
    assert 29_000 < redis_client.pttl(keys.slack_method_paused(team_id, "chat.postMessage")) <= 30_000


def test_a_shorter_retry_after_does_not_cut_a_longer_pause_short(
    redis_client: redis.Redis, team_id: str
) -> None:
    shared = SlackMethodPauses(redis_client)
    shared.pause(team_id, "chat.update", 30_000)
    shared.pause(team_id, "chat.update", 1_000)

    assert shared.left_ms(team_id, "chat.update") > 29_000
    assert shared.left_ms(team_id, "conversations.history") == 0


def test_the_clock_is_answered_429_without_a_call_while_paused_and_shares_its_own_429s(
    fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    # The clock backs off on a 429 itself (bot/slack/reminders.py): it is not kept waiting.
    worker_side(redis_client).record(team_id, "chat.postMessage", 30)
    clock = clock_client(None, fake.base_url, pauses=clock_side(redis_client))
    with serving(Workspace(team_id, None, f"xoxb-{team_id}")), pytest.raises(SlackApiError) as paused:
        clock.chat_postMessage(channel=CHANNEL, text="a reminder")
    outcome = outcome_of(paused.value)
    assert isinstance(outcome, RateLimited) and 29 <= outcome.retry_after <= 30
    assert fake.calls == []

    other_team = f"{team_id}X"
    fake.rate_limit_next("chat.postMessage", retry_after=20)
    with serving(Workspace(other_team, None, f"xoxb-{other_team}")), pytest.raises(SlackApiError):
        clock.chat_postMessage(channel=CHANNEL, text="another workspace's reminder")
    assert [call.status for call in fake.calls_to("chat.postMessage")] == [429]
    assert worker_side(redis_client).left_seconds(other_team, "chat.postMessage") > 19


@pytest.fixture
def counting_redis() -> Iterator[redis.Redis]:
    real_redis()  # fails, saying why, when no Redis answers
    pool = redis.ConnectionPool.from_url(REAL_REDIS_URL, connection_class=CountingConnection)
    client = redis.Redis(connection_pool=pool)
    client.ping()  # connected, so that only the commands of the test's calls are counted
    CountingConnection.sends = 0
    CountingConnection.commands.clear()
    yield client
    pool.disconnect()


def test_the_web_process_reads_no_pause_in_redis_but_shares_the_ones_it_meets(
    fake: FakeSlack, counting_redis: redis.Redis, team_id: str
) -> None:
    # As bot/slack/app.py's build_app wires the web process's client.
    web_side = MethodPauses(SlackMethodPauses(counting_redis), read_shared=False)
    for n in range(5):
        post(web_side, fake, team_id, f"click {n}")
    assert CountingConnection.sends == 0

    fake.rate_limit_next("chat.postMessage", retry_after=1)
    with ThreadPoolExecutor(1) as pool:
        click = pool.submit(post, web_side, fake, team_id, "a click meeting a 429")
        wait_until_paused(real_redis(), team_id, "chat.postMessage")  # the worker would see it
        # Another click in this process waits out the pause it knows of, without asking Redis.
        post(web_side, fake, team_id, "a click during the pause")
        click.result(timeout=WAIT_SECONDS)
    assert CountingConnection.commands == ["EVAL"]
    refused, *after = fake.calls_to("chat.postMessage")[5:]
    assert refused.status == 429 and [call.status for call in after] == [200, 200]
    assert all(call.received_at >= refused.received_at + 1.0 for call in after)


def test_the_worker_reads_one_pause_per_call(
    fake: FakeSlack, counting_redis: redis.Redis, team_id: str
) -> None:
    for n in range(5):
        post(worker_side(counting_redis), fake, team_id, f"report {n}")
    assert CountingConnection.commands == ["PTTL"] * 5


def test_a_redis_that_does_not_answer_pauses_nothing(fake: FakeSlack, team_id: str) -> None:
    gone = redis.Redis(port=1, socket_connect_timeout=0.2)
    fake.rate_limit_next("chat.postMessage", retry_after=0)
    post(worker_side(gone), fake, team_id, "despite Redis")

    assert [call.status for call in fake.calls_to("chat.postMessage")] == [429, 200]
