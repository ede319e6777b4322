"""Starting `mlops-compass serve`: bad settings and an unreachable Redis stop it with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from bot.settings import SettingsError, load_settings
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import app_process, free_port
from tests.conftest import REAL_REDIS_URL

# `mlops-compass serve` started as a process: the slow tier (`-m "not e2e"` leaves it out).
pytestmark = pytest.mark.e2e

VALID = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "0123456789abcdef"}
SETTING_NAMES = (
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "REDIS_URL", "SLACK_API_URL", "PORT",
    "LOG_LEVEL", "DEFAULT_BANK", "BANKS_DIR", "SESSION_TTL_DAYS", "WEB_CONCURRENCY",
)  # fmt: skip
# The test server's host and port, with a database index Redis does not have (16 by default).
REDIS_DB_OUT_OF_RANGE = urlsplit(REAL_REDIS_URL)._replace(path="/99").geturl()


def serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve", *args],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SLACK_SIGNING_SECRET": "0123456789abcdef"}, "SLACK_BOT_TOKEN is required but not set"),
        ({**VALID, "SLACK_BOT_TOKEN": "not-a-token"}, "SLACK_BOT_TOKEN is invalid"),
        ({**VALID, "PORT": "eighty"}, "PORT is invalid"),
        ({**VALID, "PORT": "70000"}, "PORT is invalid"),
        ({**VALID, "REDIS_URL": "localhost:6379"}, "REDIS_URL is invalid"),
        ({**VALID, "LOG_LEVEL": "chatty"}, "LOG_LEVEL is invalid"),
        ({**VALID, "SLACK_API_URL": "slack.internal"}, "SLACK_API_URL is invalid"),
        ({**VALID, "DEFAULT_BANK": "nosuchbank"}, "DEFAULT_BANK is invalid"),
        ({**VALID, "REDIS_URL": "redis://127.0.0.1:1/0"}, "is unreachable"),
        (
            {**VALID, "REDIS_URL": REDIS_DB_OUT_OF_RANGE},
            f"Redis at REDIS_URL={REDIS_DB_OUT_OF_RANGE} refused the connection (DB index is out of range)",
        ),
        ({**VALID, "WEB_CONCURRENCY": "zero"}, "WEB_CONCURRENCY is invalid"),
        ({**VALID, "BANKS_DIR": "/no/such/banks"}, "BANKS_DIR is invalid: /no/such/banks: <root>: no such"),
    ],
)
def test_a_bad_start_is_one_line_naming_the_problem_and_exit_2(env: dict[str, str], named: str) -> None:
    assert_one_line_and_exit_2(serve(env), named)


def assert_one_line_and_exit_2(finished: subprocess.CompletedProcess[str], named: str) -> None:
    assert finished.returncode == 2, finished.stderr
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("mlops-compass serve: ")
    assert named in lines[0]
    assert "Traceback" not in finished.stderr + finished.stdout
    assert "xoxb-test" not in finished.stderr and "0123456789abcdef" not in finished.stderr


class _NotRedis(BaseHTTPRequestHandler):
    """A plain HTTP server, answering whatever it is sent as a web server would."""

    default_request_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotRedis)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{server.server_address[1]}/0"
    finally:
        server.shutdown()
        server.server_close()


def test_a_redis_url_pointing_at_a_server_that_is_not_redis(http_server_url: str) -> None:
    finished = serve({**VALID, "REDIS_URL": http_server_url})
    assert_one_line_and_exit_2(
        finished, f"Redis at REDIS_URL={http_server_url} does not answer as Redis does (Protocol Error: "
    )


def test_socket_mode_when_slack_cannot_be_reached() -> None:
    closed = f"http://127.0.0.1:{free_port()}/api/"
    env = {**VALID, "SLACK_APP_TOKEN": "xapp-1-test", "SLACK_API_URL": closed, "REDIS_URL": REAL_REDIS_URL}
    finished = serve(env, "--socket")
    assert_one_line_and_exit_2(
        finished, f"Slack at SLACK_API_URL={closed} could not be reached (<urlopen error"
    )
    assert "xapp-1-test" not in finished.stderr


def test_socket_mode_needs_the_app_token() -> None:
    finished = serve(VALID, "--socket")
    assert finished.returncode == 2
    assert "SLACK_APP_TOKEN is required" in finished.stderr


def test_settings_have_documented_defaults() -> None:
    settings = load_settings(**{k.lower(): v for k, v in VALID.items()})
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert (settings.port, settings.default_bank, settings.session_ttl_days) == (3000, "mlops", 14)
    with pytest.raises(SettingsError, match="SESSION_TTL_DAYS"):
        load_settings(**{k.lower(): v for k, v in VALID.items()}, session_ttl_days=0)


def test_memory_mode_warns_and_serves_health_without_redis() -> None:
    with FakeSlack() as fake:
        env = VALID | {"SLACK_API_URL": fake.base_url, "REDIS_URL": "redis://127.0.0.1:1/0"}
        with app_process(env, memory=True) as app:
            assert app.health() == 200
        assert [line for line in app.log().splitlines() if "--memory" in line] == [
            "warning: --memory keeps every assessment in this process; all state is lost when it exits"
        ]
