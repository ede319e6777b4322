"""The OAuth settings: off unless the client id and secret are both set; when on, the installation keys
are required and checked, each problem reported in one line naming the setting, never echoing a key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

from bot.settings import MANIFEST_BOT_SCOPES, DistributionSettings, SettingsError, read_settings

ROOT = Path(__file__).resolve().parents[1]
OAUTH_VARIABLES = (
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_SCOPES",
    "SLACK_REDIRECT_URI",
    "SLACK_INSTALLATION_KEYS",
)
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def no_oauth_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OAUTH_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def error_of(monkeypatch: pytest.MonkeyPatch, **environment: str) -> str:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        read_settings(DistributionSettings)
    return str(raised.value)


def test_oauth_is_off_by_default_and_asks_for_the_manifests_bot_scopes() -> None:
    settings = read_settings(DistributionSettings)
    assert settings.oauth_enabled is False
    assert settings.installation_keys == ()
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert settings.slack_scopes == MANIFEST_BOT_SCOPES == tuple(manifest["oauth_config"]["scopes"]["bot"])


def test_oauth_is_on_with_the_client_id_secret_and_keys_the_first_of_which_encrypts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_CLIENT_ID", "1234.5678")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "s3cr3t")
    monkeypatch.setenv("SLACK_INSTALLATION_KEYS", f" {KEY_B} ,{KEY_A}")
    monkeypatch.setenv("SLACK_SCOPES", "commands, chat:write")
    monkeypatch.setenv("SLACK_REDIRECT_URI", "https://compass.example.com/slack/oauth_redirect")
    settings = read_settings(DistributionSettings)
    assert settings.oauth_enabled is True
    assert settings.installation_keys == (KEY_B, KEY_A)
    assert settings.slack_scopes == ("commands", "chat:write")
    # Secrets stay out of the settings' repr, and so out of a log line that prints them.
    assert "s3cr3t" not in repr(settings) and KEY_A not in repr(settings)


def test_oauth_without_installation_keys_stops_with_a_line_naming_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = error_of(monkeypatch, SLACK_CLIENT_ID="1234.5678", SLACK_CLIENT_SECRET="s3cr3t")
    assert message.startswith("SLACK_INSTALLATION_KEYS ")
    assert "required when SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        (
            {"SLACK_CLIENT_ID": "1234.5678"},
            "SLACK_CLIENT_SECRET is invalid: required when SLACK_CLIENT_ID is set",
        ),
        ({"SLACK_CLIENT_SECRET": "s3cr3t"}, "SLACK_CLIENT_SECRET is invalid: set without SLACK_CLIENT_ID"),
        (
            {"SLACK_REDIRECT_URI": "compass.example.com"},
            "SLACK_REDIRECT_URI is invalid: Value error, must be an",
        ),
        ({"SLACK_SCOPES": "commands,Chat Write"}, "SLACK_SCOPES is invalid"),
    ],
)
def test_half_set_or_malformed_oauth_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: str
) -> None:
    assert error_of(monkeypatch, **environment).startswith(expected)


def test_a_malformed_installation_key_is_named_by_position_and_not_repeated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = error_of(
        monkeypatch,
        SLACK_CLIENT_ID="1234.5678",
        SLACK_CLIENT_SECRET="s3cr3t",
        SLACK_INSTALLATION_KEYS=f"{KEY_A},not-a-fernet-key",
    )
    assert message == (
        "SLACK_INSTALLATION_KEYS is invalid: key 2 of 2 is not a Fernet key "
        "(32 url-safe base64-encoded bytes)"
    )
    assert "not-a-fernet-key" not in message


def test_empty_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OAUTH_VARIABLES:
        monkeypatch.setenv(name, "")
    settings = read_settings(DistributionSettings)
    assert settings.oauth_enabled is False
    assert settings.slack_scopes == MANIFEST_BOT_SCOPES
