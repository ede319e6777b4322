"""`/mlops-compass schedule …` and the Start button on a reminder."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack import blocks
from bot.slack.schedule import ScheduleFlow
from bot.slack.schedule_blocks import START_FROM_REMINDER_ACTION

SUBCOMMAND = "schedule"


def is_schedule_command(command: dict[str, Any]) -> bool:
    words = (command.get("text") or "").split(maxsplit=1)
    return bool(words) and words[0].lower() == SUBCOMMAND


def register(app: App, flow: ScheduleFlow) -> None:
    """Register before the general command listener: Bolt runs the first listener that matches."""

    @app.command(blocks.COMMAND, matchers=[is_schedule_command])
    def handle_schedule(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()
        rest = (command.get("text") or "").strip()[len(SUBCOMMAND) :].strip()
        flow.command(command["team_id"], command["user_id"], command["channel_id"], rest, respond)

    @app.action(START_FROM_REMINDER_ACTION)
    def handle_start(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        flow.start_from_reminder(body, action, respond)
