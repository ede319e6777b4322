"""Before serving anyone, `serve` (HTTP and Socket Mode) and `clock` ask Slack whether it accepts the bot
token (`auth.test`), and `serve` whether its port is free: a token Slack refuses, a Slack that cannot be
reached and a busy port each stop the real command with one line on stderr and exit code 2."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import app_process, child_environment, free_port
from tests.cli.test_serve import VALID, assert_one_line_and_exit_2, serve
from tests.conftest import REAL_REDIS_URL, real_redis

REVOKED = "xoxb-revoked-token"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as running:
        yield running


@pytest.fixture(autouse=True)
def redis_answers() -> None:
    real_redis()


def test_the_fake_slack_answers_auth_test_for_a_good_token_and_refuses_a_revoked_one(fake: FakeSlack) -> None:
    answer = WebClient(token="xoxb-good", base_url=fake.base_url).auth_test()
    assert (answer["ok"], answer["team_id"], answer["user_id"]) == (True, fake.team_id, fake.bot_user_id)
    fake.revoke_token(REVOKED)
    fake.revoke_token("xoxb-never-slacks", error="invalid_auth")
    for token, error in ((REVOKED, "token_revoked"), ("xoxb-never-slacks", "invalid_auth")):
        with pytest.raises(SlackApiError) as refused:
            WebClient(token=token, base_url=fake.base_url).auth_test()
        assert refused.value.response["error"] == error


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


def test_serve_stops_when_slack_cannot_be_reached_after_a_few_tries() -> None:
    closed = f"http://127.0.0.1:{free_port()}/api/"
    env = VALID | {"SLACK_API_URL": closed, "REDIS_URL": REAL_REDIS_URL, "PORT": str(free_port())}
    finished = serve(env, "--host", "127.0.0.1")
    assert_one_line_and_exit_2(finished, f"Slack at SLACK_API_URL={closed} could not be reached (")
    assert "3 tries); check SLACK_API_URL and the network" in finished.stderr


def test_serve_stops_when_its_port_is_taken(fake: FakeSlack) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = VALID | {"SLACK_API_URL": fake.base_url, "REDIS_URL": REAL_REDIS_URL, "PORT": str(port)}
        finished = serve(env, "--host", "127.0.0.1")
    assert_one_line_and_exit_2(finished, f"cannot listen on 127.0.0.1:{port} (Address already in use)")


def test_serve_with_a_good_token_asks_slack_once_and_serves(fake: FakeSlack) -> None:
    env = VALID | {"SLACK_API_URL": fake.base_url, "REDIS_URL": REAL_REDIS_URL}
    with app_process(env) as app:
        assert app.health() == 200
        assert len(fake.calls_to("auth.test")) == 1
        assert f"workspace {fake.team_id}, bot user {fake.bot_user_id}" in app.log()


def test_the_clock_stops_when_slack_refuses_the_bot_token(fake: FakeSlack) -> None:
    fake.revoke_token(REVOKED)
    env = {"SLACK_BOT_TOKEN": REVOKED, "SLACK_API_URL": fake.base_url, "REDIS_URL": REAL_REDIS_URL}
    finished = subprocess.run(
        [sys.executable, "-m", "bot", "clock"],
        env=child_environment(env),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert finished.returncode == 2, finished.stderr
    assert finished.stderr.strip().splitlines() == [
        f"mlops-compass clock: Slack at SLACK_API_URL={fake.base_url} refused SLACK_BOT_TOKEN "
        "(token_revoked); the app may have been uninstalled or the token revoked: install the app again and "
        "set its current bot token"
    ]
