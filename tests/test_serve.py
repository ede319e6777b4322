"""Starting `mlops-compass serve`: bad settings and an unreachable Redis stop it with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.fakeslack import FakeSlack
from bot.fakeslack.app_process import app_process
from bot.settings import SettingsError, load_settings

VALID = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "0123456789abcdef"}
SETTING_NAMES = (
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "REDIS_URL", "SLACK_API_URL", "PORT",
    "LOG_LEVEL", "DEFAULT_BANK", "BANKS_DIR", "SESSION_TTL_DAYS", "WEB_CONCURRENCY",
)  # fmt: skip


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
    ],
)
def test_a_bad_start_is_one_line_naming_the_problem_and_exit_2(env: dict[str, str], named: str) -> None:
    finished = serve(env)
    assert finished.returncode == 2
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert named in lines[0]
    assert "xoxb-test" not in finished.stderr and "0123456789abcdef" not in finished.stderr


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
        assert "state is lost" in app.log()
