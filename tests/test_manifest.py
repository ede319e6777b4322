"""manifest.yml against Slack's published manifest schema, and against what the app actually uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

from bot.slack.modals import SHORTCUT_NAME, START_SHORTCUT

ROOT = Path(__file__).resolve().parents[1]
# Vendored with its license, so these checks run on any clone, offline.
SCHEMA = Path(__file__).parent / "vendor" / "slack_manifest_schema" / "manifest.schema.1.0.0.json"


def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_is_valid_against_slacks_schema() -> None:
    validator = Draft7Validator(json.loads(SCHEMA.read_text()))
    errors = sorted(validator.iter_errors(manifest()), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]


def test_schema_check_catches_a_broken_manifest() -> None:
    broken = manifest()
    broken["features"]["slash_commands"][0]["command"] = "mlops-compass"  # no leading slash
    assert list(Draft7Validator(json.loads(SCHEMA.read_text())).iter_errors(broken))


def test_manifest_matches_the_app() -> None:
    data = manifest()
    assert [c["command"] for c in data["features"]["slash_commands"]] == ["/mlops-compass"]
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    # Least privilege: posting in channels needs an invitation, not chat:write.public. Team runs and
    # schedules read a channel's members and state and a person's profile; the clock reads history only
    # to find its own reminder; the Home tab lists your channels; the chart and the export are files.
    assert sorted(data["oauth_config"]["scopes"]["bot"]) == [
        "channels:history",
        "channels:read",
        "chat:write",
        "commands",
        "files:write",
        "groups:history",
        "groups:read",
        "im:write",
        "users:read",
    ]
    # The Home tab: the event that publishes it, delivered where the app listens.
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert data["settings"]["event_subscriptions"]["bot_events"] == [
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
    ]
    # OAuth mode: Slack sends the installer back to Bolt's redirect path on the same host.
    host = data["settings"]["event_subscriptions"]["request_url"].removesuffix("/slack/events")
    assert data["oauth_config"]["redirect_urls"] == [f"{host}/slack/oauth_redirect"]
    assert data["settings"]["event_subscriptions"]["request_url"].endswith("/slack/events")
    # `history #channel` needs the channel's id, which Slack sends only for escaped commands.
    assert data["features"]["slash_commands"][0]["should_escape"] is True


def test_the_global_shortcut_is_the_one_the_app_listens_for() -> None:
    [shortcut] = manifest()["features"]["shortcuts"]
    assert shortcut["type"] == "global"
    assert (shortcut["callback_id"], shortcut["name"]) == (START_SHORTCUT, SHORTCUT_NAME)


def test_schema_check_catches_a_shortcut_name_slack_would_cut() -> None:
    broken = manifest()
    broken["features"]["shortcuts"][0]["name"] = "Start an MLOps assessment"  # 25 characters
    assert list(Draft7Validator(json.loads(SCHEMA.read_text())).iter_errors(broken))


def test_procfile_runs_the_web_process() -> None:
    lines = (ROOT / "Procfile").read_text().splitlines()
    assert "web: mlops-compass serve" in lines


def test_procfile_runs_the_clock() -> None:
    lines = (ROOT / "Procfile").read_text().splitlines()
    assert "clock: mlops-compass clock" in lines
