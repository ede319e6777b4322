"""The Start button on a reminder (`/mlops-compass schedule …` itself is in bot/slack/subcommands.py)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack.payloads import BlockAction
from bot.slack.schedule import ScheduleFlow
from bot.slack.schedule_blocks import START_FROM_REMINDER_ACTION


def register(app: App, flow: ScheduleFlow) -> None:
    @app.action(START_FROM_REMINDER_ACTION)
    def handle_start(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        flow.start_from_reminder(BlockAction.of(body, action), respond)
