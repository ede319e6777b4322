"""The forms' submissions and the global shortcut (the forms open from bot/slack/subcommands.py)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.slack.modal_views import SCHEDULE_SETUP_CALLBACK, TEAM_SETUP_CALLBACK
from bot.slack.modals import START_SHORTCUT, ModalFlow
from bot.slack.payloads import Shortcut, ViewSubmission


def register(app: App, modals: ModalFlow) -> None:
    @app.view(TEAM_SETUP_CALLBACK)
    def handle_team_setup(ack: Ack, body: dict[str, Any]) -> None:
        modals.team_submitted(ack, ViewSubmission.of(body))

    @app.view(SCHEDULE_SETUP_CALLBACK)
    def handle_schedule_setup(ack: Ack, body: dict[str, Any]) -> None:
        modals.schedule_submitted(ack, ViewSubmission.of(body))

    @app.shortcut(START_SHORTCUT)
    def handle_start_shortcut(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        modals.start_from_shortcut(Shortcut.of(body))
