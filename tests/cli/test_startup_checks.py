"""Before serving anyone, `serve` (HTTP and Socket Mode), `worker` and `clock` ask Slack whether it accepts
the bot token (`auth.test`), and `serve` whether its port is free: a token Slack refuses, a Slack that
cannot be reached and a busy port each stop the real command with one line on stderr and exit code 2.

Every process checks in one order (bot/cli/startup.py, docs/operations.md#settings): each setting it reads,
present and well formed, in the order of the settings table; then the banks, Redis, Slack and the port.
The first problem is the one reported, and nothing after it is tried."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cli.main import main
from bot.engine.catalog import DEFAULT_BANKS_DIR
from bot.settings import COMMAND_SETTINGS, SETTINGS_ORDER
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import app_process, child_environment, free_port
from tests.cli.test_serve import VALID, assert_one_line_and_exit_2, serve
from tests.conftest import REAL_REDIS_URL, real_redis

REVOKED = "xoxb-revoked-token"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
PROCESSES = ["serve", "worker", "clock", "jobs", "export"]
SLACK_PROCESSES = ["serve", "worker", "clock"]
# A value each setting's own check refuses. BANKS_DIR is any path: it is refused when the banks are loaded.
MALFORMED = {
    "BANKS_DIR": "/no/such/banks",
    "DEFAULT_BANK": "No Such Bank!",
    "REDIS_URL": "localhost:6379",
    "REDIS_SENTINELS": "sentinel-1",
    "REDIS_SENTINEL_MASTER": "two words",
    "REDIS_SENTINEL_PASSWORD": "a-password-for-no-sentinels",
    "REDIS_PASSWORD": "pasted with a newline\n",
    "SLACK_BOT_TOKEN": "not-a-token",
    "SLACK_SIGNING_SECRET": "short",
    "SLACK_APP_TOKEN": "xoxb-not-an-app-token",
    "SLACK_API_URL": "slack.internal",
    "SLACK_CLIENT_ID": "not-a-client-id",
    "SLACK_CLIENT_SECRET": "a-secret-without-its-client-id",
    "SLACK_INSTALLATION_KEYS": "not-a-fernet-key",
    "SLACK_SCOPES": "Chat Write",
    "SLACK_REDIRECT_URI": "compass.example.com",
    "PORT": "eighty",
    "LOG_LEVEL": "chatty",
    "SESSION_TTL_DAYS": "0",
    "HISTORY_KEEP": "0",
    "HISTORY_RETENTION_DAYS": "0",
    "TEAM_RUNS_PER_USER": "0",
    "SCHEDULES_PER_USER": "0",
    "WEB_CONCURRENCY": "zero",
    "TEAM_MIN_RESPONDENTS": "2",
    "CLOCK_TICK_SECONDS": "0",
    "CLOCK_BATCH": "0",
    "DELIVERY_RETRY_SECONDS": "soon",
    "OUTBOX_SWEEP_SECONDS": "0",
    "WORKER_THREADS": "0",
}
# What a process needs to get past its settings; Redis is unreachable, so nothing starts.
WELL_FORMED = {
    "SLACK_BOT_TOKEN": "xoxb-test",
    "SLACK_SIGNING_SECRET": "0123456789abcdef",
    "REDIS_URL": UNREACHABLE_REDIS,
}


@pytest.fixture(autouse=True)
def redis_answers() -> None:
    real_redis()


@pytest.fixture(scope="module")
def pulse_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    banks = tmp_path_factory.mktemp("banks")
    shutil.copy(DEFAULT_BANKS_DIR / "pulse.yaml", banks)
    return banks


@pytest.fixture
def start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], pulse_only: Path
) -> Callable[..., tuple[int, str]]:
    """Runs a command in this process on the settings given and no others (unless given, the banks are
    the pulse alone, quick to load); its exit code and its stderr."""

    def run(command: str, env: dict[str, str], *args: str) -> tuple[int, str]:
        for name in MALFORMED:
            monkeypatch.delenv(name, raising=False)
        for name, value in ({"BANKS_DIR": str(pulse_only), "DEFAULT_BANK": "pulse"} | env).items():
            monkeypatch.setenv(name, value)
        code = main([command, *args])
        return code, capsys.readouterr().err

    return run


def read_by(command: str) -> list[str]:
    """The settings `command` reads, in the order of the settings table."""
    return [name.upper() for name in SETTINGS_ORDER if name in COMMAND_SETTINGS[command].model_fields]


def test_every_setting_has_a_malformed_value_here() -> None:
    assert list(MALFORMED) == [name.upper() for name in SETTINGS_ORDER]


@pytest.mark.parametrize("command", PROCESSES)
def test_a_process_reads_no_setting_but_its_own(command: str, start: Callable[..., tuple[int, str]]) -> None:
    unread = {name: value for name, value in MALFORMED.items() if name not in read_by(command)}
    code, err = start(command, unread | {k: v for k, v in WELL_FORMED.items() if k in read_by(command)})
    assert code == 2
    # Past every setting it reads, to the first thing it connects to.
    assert err.startswith(f"mlops-compass {command}: Redis at REDIS_URL={UNREACHABLE_REDIS} is unreachable")


@pytest.mark.parametrize("command", PROCESSES)
def test_the_first_bad_setting_in_the_tables_order_is_the_one_reported(
    command: str, start: Callable[..., tuple[int, str]]
) -> None:
    checked = [name for name in read_by(command) if name != "BANKS_DIR"]
    for position, name in enumerate(checked):
        # This setting and every one after it are bad; those before it are good.
        code, err = start(command, WELL_FORMED | {later: MALFORMED[later] for later in checked[position:]})
        assert code == 2
        assert err.startswith(f"mlops-compass {command}: {name} is "), (name, err)
        assert err.count("\n") == 1


def test_a_malformed_signing_secret_is_reported_before_slack_is_asked_about_the_token(
    fake: FakeSlack, start: Callable[..., tuple[int, str]]
) -> None:
    fake.revoke_token(REVOKED)
    env = WELL_FORMED | {
        "SLACK_BOT_TOKEN": REVOKED,
        "SLACK_SIGNING_SECRET": "short",
        "SLACK_API_URL": fake.base_url,
        "REDIS_URL": REAL_REDIS_URL,
    }
    code, err = start("serve", env)
    assert (code, err.split(": ")[1]) == (2, "SLACK_SIGNING_SECRET is invalid")
    assert fake.calls == []


@pytest.mark.parametrize("command", SLACK_PROCESSES)
def test_the_banks_are_checked_before_redis(command: str, start: Callable[..., tuple[int, str]]) -> None:
    code, err = start(command, WELL_FORMED | {"DEFAULT_BANK": "nosuchbank"})
    assert code == 2
    assert err.startswith(f"mlops-compass {command}: DEFAULT_BANK is invalid: no question bank 'nosuchbank'")


@pytest.mark.parametrize("command", SLACK_PROCESSES)
def test_redis_is_checked_before_slack(
    command: str, fake: FakeSlack, start: Callable[..., tuple[int, str]]
) -> None:
    fake.revoke_token(REVOKED)
    code, err = start(command, WELL_FORMED | {"SLACK_BOT_TOKEN": REVOKED, "SLACK_API_URL": fake.base_url})
    assert code == 2
    assert err.startswith(f"mlops-compass {command}: Redis at REDIS_URL={UNREACHABLE_REDIS} is unreachable")
    assert fake.calls == []


def test_the_port_is_checked_before_slack(fake: FakeSlack, start: Callable[..., tuple[int, str]]) -> None:
    fake.revoke_token(REVOKED)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = WELL_FORMED | {
            "SLACK_BOT_TOKEN": REVOKED,
            "SLACK_API_URL": fake.base_url,
            "REDIS_URL": REAL_REDIS_URL,
            "PORT": str(port),
        }
        code, err = start("serve", env, "--host", "127.0.0.1")
    assert code == 2
    assert err.startswith(f"mlops-compass serve: cannot listen on 127.0.0.1:{port} (Address already in use)")
    assert fake.calls == []


def test_the_fake_slack_answers_auth_test_for_a_good_token_and_refuses_a_revoked_one(fake: FakeSlack) -> None:
    answer = WebClient(token="xoxb-good", base_url=fake.base_url).auth_test()
    assert (answer["ok"], answer["team_id"], answer["user_id"]) == (True, fake.team_id, fake.bot_user_id)
    fake.revoke_token(REVOKED)
    fake.revoke_token("xoxb-never-slacks", error="invalid_auth")
    for token, error in ((REVOKED, "token_revoked"), ("xoxb-never-slacks", "invalid_auth")):
        with pytest.raises(SlackApiError) as refused:
            WebClient(token=token, base_url=fake.base_url).auth_test()
        assert refused.value.response["error"] == error


@pytest.mark.e2e
@pytest.mark.parametrize("mode", [[], ["--socket"]])
@pytest.mark.parametrize("error", ["token_revoked", "invalid_auth"])
def test_serve_stops_when_slack_refuses_the_bot_token(fake: FakeSlack, mode: list[str], error: str) -> None:
    fake.revoke_token(REVOKED, error=error)
    env = VALID | {
        "SLACK_BOT_TOKEN": REVOKED,
        "SLACK_APP_TOKEN": "xapp-1-test",
        "SLACK_API_URL": fake.base_url,
        "REDIS_URL": REAL_REDIS_URL,
        "PORT": str(free_port()),
    }
    finished = serve(env, "--host", "127.0.0.1", *mode)
    assert_one_line_and_exit_2(
        finished, f"Slack at SLACK_API_URL={fake.base_url} refused SLACK_BOT_TOKEN ({error})"
    )
    assert REVOKED not in finished.stderr
    assert [call.method for call in fake.calls] == ["auth.test"], "nothing else is tried with a refused token"


@pytest.mark.e2e
def test_serve_stops_when_slack_cannot_be_reached_after_a_few_tries() -> None:
    closed = f"http://127.0.0.1:{free_port()}/api/"
    env = VALID | {"SLACK_API_URL": closed, "REDIS_URL": REAL_REDIS_URL, "PORT": str(free_port())}
    finished = serve(env, "--host", "127.0.0.1")
    assert_one_line_and_exit_2(finished, f"Slack at SLACK_API_URL={closed} could not be reached (")
    assert "3 tries); check SLACK_API_URL and the network" in finished.stderr


@pytest.mark.e2e
def test_serve_stops_when_its_port_is_taken(fake: FakeSlack) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = VALID | {"SLACK_API_URL": fake.base_url, "REDIS_URL": REAL_REDIS_URL, "PORT": str(port)}
        finished = serve(env, "--host", "127.0.0.1")
    assert_one_line_and_exit_2(finished, f"cannot listen on 127.0.0.1:{port} (Address already in use)")


@pytest.mark.e2e
def test_serve_and_its_worker_with_a_good_token_ask_slack_once_each_and_serve(fake: FakeSlack) -> None:
    env = VALID | {"SLACK_API_URL": fake.base_url, "REDIS_URL": REAL_REDIS_URL}
    with app_process(env) as app:
        assert app.health() == 200
        assert app.worker is not None
        # Once by the web process, once by its worker.
        assert len(fake.calls_to("auth.test")) == 2
        for log in (app.log(), app.worker.log()):
            assert f"workspace {fake.team_id}, bot user {fake.bot_user_id}" in log


@pytest.mark.e2e
@pytest.mark.parametrize("command", ["clock", "worker"])
def test_the_clock_and_the_worker_stop_when_slack_refuses_the_bot_token(
    fake: FakeSlack, command: str
) -> None:
    fake.revoke_token(REVOKED)
    env = {"SLACK_BOT_TOKEN": REVOKED, "SLACK_API_URL": fake.base_url, "REDIS_URL": REAL_REDIS_URL}
    finished = subprocess.run(
        [sys.executable, "-m", "bot", command],
        env=child_environment(env),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert finished.returncode == 2, finished.stderr
    assert finished.stderr.strip().splitlines() == [
        f"mlops-compass {command}: Slack at SLACK_API_URL={fake.base_url} refused SLACK_BOT_TOKEN "
        "(token_revoked); the app may have been uninstalled or the token revoked: install the app again and "
        "set its current bot token"
    ]
    assert [call.method for call in fake.calls] == ["auth.test"]


@pytest.mark.parametrize("command", ["jobs", "worker"])
def test_sentinels_that_name_no_master_stop_the_process_in_one_line(
    command: str, start: Callable[..., tuple[int, str]]
) -> None:
    sentinels = {"REDIS_SENTINELS": "127.0.0.1:1", "REDIS_SENTINEL_MASTER": "compass"}
    code, err = start(command, WELL_FORMED | sentinels)
    assert code == 2
    # REDIS_URL, left unreachable, is not what is tried.
    assert err.startswith(
        f"mlops-compass {command}: Redis at REDIS_SENTINELS=127.0.0.1:1 (master compass) is unreachable "
        "(No master found for 'compass'"
    ), err
    assert err.endswith("; check REDIS_SENTINELS, REDIS_SENTINEL_MASTER and the sentinels\n")
    assert err.count("\n") == 1
