"""`/mlops-compass team` and `/mlops-compass schedule` typed alone (their forms), the forms' submissions,
and the global shortcut."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack import blocks
from bot.slack.modal_views import SCHEDULE_SETUP_CALLBACK, TEAM_SETUP_CALLBACK
from bot.slack.modals import START_SHORTCUT, ModalFlow

SETUP_SUBCOMMANDS = ("team", "schedule")


def is_setup_without_arguments(command: dict[str, Any]) -> bool:
    words = (command.get("text") or "").split()
    return len(words) == 1 and words[0].lower() in SETUP_SUBCOMMANDS


def register(app: App, modals: ModalFlow) -> None:
    """Register before the team and schedule listeners: Bolt runs the first listener that matches."""

    @app.command(blocks.COMMAND, matchers=[is_setup_without_arguments])
    def handle_setup(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        # Acknowledges and opens the form at once: the trigger id is good for 3 seconds.
        modals.open_for_command(command, ack, respond)

    @app.view(TEAM_SETUP_CALLBACK)
    def handle_team_setup(ack: Ack, body: dict[str, Any]) -> None:
        modals.team_submitted(ack, body)

    @app.view(SCHEDULE_SETUP_CALLBACK)
    def handle_schedule_setup(ack: Ack, body: dict[str, Any]) -> None:
        modals.schedule_submitted(ack, body)

    @app.shortcut(START_SHORTCUT)
    def handle_start_shortcut(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        modals.start_from_shortcut(body)
