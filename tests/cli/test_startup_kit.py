"""The start-up kit (bot/cli/startup.py's `Started`): `serve`, `worker` and `clock` each build their
stores, their queue and their flows from it, so each keeps a session for SESSION_TTL_DAYS and a history
within HISTORY_KEEP, whatever process writes it."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from bot.cli.startup import DAY_SECONDS, Started
from bot.engine.catalog import BankCatalog
from bot.settings import ClockSettings, Settings, SlackProcessSettings, WorkerSettings, read_settings
from bot.store import keys
from bot.store.jobs import JobQueue
from playground.fakeslack import FakeSlack

CATALOG = BankCatalog.from_directory()
USER = "U0KIT"
PROCESS_SETTINGS = [Settings, WorkerSettings, ClockSettings]


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, fake: FakeSlack) -> None:
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-kit",
        "SLACK_SIGNING_SECRET": "0123456789abcdef",
        "SLACK_API_URL": fake.base_url,
        "SESSION_TTL_DAYS": "3",
        "HISTORY_KEEP": "7",
        "HISTORY_RETENTION_DAYS": "30",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("kind", PROCESS_SETTINGS, ids=lambda kind: kind.__name__)
def test_every_process_keeps_a_session_for_session_ttl_days(
    kind: type[SlackProcessSettings], redis_client: redis.Redis, fake: FakeSlack, team_id: str
) -> None:
    kit = Started(read_settings(kind), CATALOG, redis_client)
    flows = kit.flows()
    assert flows.assessment.store.history_limits.keep == 7

    replies: list[dict[str, Any]] = []
    flows.assessment.start(team_id, USER, "C0KIT", "pulse", lambda **reply: replies.append(reply))

    assert "I've sent the first question to our DM" in str(replies)

    ttl = redis_client.ttl(keys.session(team_id, USER))
    assert 3 * DAY_SECONDS - 60 < ttl <= 3 * DAY_SECONDS


def test_a_gunicorn_workers_own_client_gets_the_same_limits(redis_client: redis.Redis) -> None:
    kit = Started(read_settings(Settings), CATALOG, redis.Redis.from_url("redis://127.0.0.1:1/0"))
    store = kit.sessions(redis_client)
    assert store.redis is redis_client
    assert (store.session_ttl_seconds, store.history_limits.keep) == (3 * DAY_SECONDS, 7)


def test_a_process_with_no_worker_hands_its_reports_to_none(redis_client: redis.Redis) -> None:
    settings = read_settings(Settings)
    assert isinstance(Started(settings, CATALOG, redis_client).worker(), JobQueue)
    assert Started(settings, CATALOG, redis_client, memory=True).worker() is None
