"""`/mlops-compass …`: one listener; the payload is parsed once and routed by bot/slack/subcommands.py."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack import blocks
from bot.slack.payloads import SlashCommand
from bot.slack.subcommands import Flows, dispatch


def register(app: App, flows: Flows) -> None:
    @app.command(blocks.COMMAND)
    def handle_command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        dispatch(flows, SlashCommand.model_validate(command), ack, respond)
