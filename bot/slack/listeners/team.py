"""The buttons of a team run's message (`/mlops-compass team …` itself is in bot/slack/subcommands.py)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack.payloads import BlockAction
from bot.slack.team import TeamFlow
from bot.slack.team_blocks import CLOSE_ACTION, NUDGE_ACTION, TAKE_PART_ACTION


def register(app: App, team: TeamFlow) -> None:
    @app.action(TAKE_PART_ACTION)
    def handle_take_part(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        team.take_part(BlockAction.of(body, action), respond)

    @app.action(NUDGE_ACTION)
    def handle_nudge(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        team.nudge(BlockAction.of(body, action), respond)

    @app.action(CLOSE_ACTION)
    def handle_close(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        team.close(BlockAction.of(body, action), respond)
