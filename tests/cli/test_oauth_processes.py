"""The worker and the clock in OAuth mode: each job and each clock item calls Slack with the bot token of
its own workspace's installation, and a workspace with no installation is skipped, once, with no call.
On a Redis server of the test's own: the clock claims every due schedule in its database."""

from __future__ import annotations

import logging
import time

import pytest
import redis
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation

from bot.cli import worker
from bot.cli.clock_command import build_clock
from bot.cli.startup import Started
from bot.engine.catalog import BankCatalog
from bot.engine.schedule import parse_request
from bot.settings import ClockSettings, WorkerSettings, read_settings
from bot.slack.workspace_client import NoWorkspace, current_workspace
from bot.store.installations import RedisInstallationStore
from bot.store.outbox import DeliveryRef, Outbox
from bot.store.schedules import ScheduleRecord, ScheduleStore
from playground.fakeslack import FakeSlack
from tests.conftest import new_team_id

CATALOG = BankCatalog.from_directory()
KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def oauth_environment(monkeypatch: pytest.MonkeyPatch, fake: FakeSlack) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    for name, value in {
        "SLACK_CLIENT_ID": "1234.5678",
        "SLACK_CLIENT_SECRET": "client-secret",
        "SLACK_INSTALLATION_KEYS": KEY,
        "SLACK_API_URL": fake.base_url,
    }.items():
        monkeypatch.setenv(name, value)


def install(client: redis.Redis, team_id: str) -> str:
    """The workspace's installation as Bolt's OAuth flow stores it; its bot token."""
    token = f"xoxb-{team_id}-bot"
    installation = Installation(
        app_id="A1", team_id=team_id, bot_token=token, bot_id="B1", bot_user_id="UBOT", user_id="UINSTALLER"
    )
    RedisInstallationStore(client, [KEY]).save(installation)
    return token


def test_the_clock_posts_each_workspaces_reminder_with_its_own_token_and_skips_one_not_installed(
    fake: FakeSlack, own_redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    first, second, stranger = new_team_id(), new_team_id(), new_team_id()
    tokens = {team: install(own_redis_client, team) for team in (first, second)}
    schedules = ScheduleStore(own_redis_client)
    rule = parse_request("quarterly").rule("Europe/Berlin")
    channels = {team: f"C{team[-8:]}" for team in (first, second, stranger)}
    for team, channel in channels.items():
        schedules.create(
            ScheduleRecord.draft(team, channel, "UCREATOR", rule, "pulse"), int(time.time()) - 60
        )
    clock = build_clock(Started(read_settings(ClockSettings), CATALOG, own_redis_client))

    with caplog.at_level(logging.WARNING):
        report = clock.tick()

    assert (report.claimed, report.posted, report.retried) == (3, 2, 1)
    for team in (first, second):
        (posted,) = [c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == channels[team]]
        assert posted.headers["authorization"] == f"Bearer {tokens[team]}"
    assert not [call for call in fake.calls if call.params.get("channel") == channels[stranger]]
    skipped = [r.getMessage() for r in caplog.records if stranger in r.getMessage()]
    assert skipped[0] == f"the app is not installed in workspace {stranger}: skipped"


def test_a_worker_job_runs_with_its_workspaces_token_and_one_not_installed_finishes_saying_so(
    fake: FakeSlack, own_redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed, stranger = new_team_id(), new_team_id()
    token = install(own_redis_client, installed)
    started = Started(read_settings(WorkerSettings), CATALOG, own_redis_client)
    seen: list[str | None] = []

    def probe(team_id: str) -> None:
        workspace = current_workspace()
        seen.append(workspace.bot_token if workspace is not None else None)

    flows = started.flows()
    runtime = worker.Runtime(
        flows.delivery, started.job_queue(), Outbox(own_redis_client), {"probe": probe}, started.workspaces()
    )
    monkeypatch.setattr(worker, "_runtime", runtime)

    assert worker.run_task("probe", installed) == "probe done"
    assert seen == [token]
    assert worker.run_task("probe", stranger) == (
        f"probe not done: the app is not installed in workspace {stranger}"
    )
    assert seen == [token]

    # A report for a workspace uninstalled since it was written is given up, not retried.
    ref = DeliveryRef(stranger, "personal", "R1")
    with own_redis_client.pipeline(transaction=True) as pipe:
        Outbox.queue_pending(pipe, ref, "UAUTHOR")
        pipe.execute()
    assert worker.deliver_report(stranger, "personal", "R1") == (
        f"not delivered: the app is not installed in workspace {stranger}"
    )
    assert runtime.outbox.count() == 0
    assert fake.calls == []


def test_outside_any_workspace_the_oauth_client_sends_nothing(
    fake: FakeSlack, own_redis_client: redis.Redis
) -> None:
    client = Started(read_settings(WorkerSettings), CATALOG, own_redis_client).flows().assessment.client
    with pytest.raises(NoWorkspace):
        client.chat_postMessage(channel="C1", text="for nobody")
    assert fake.calls == []
