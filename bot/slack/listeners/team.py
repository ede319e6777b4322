"""`/mlops-compass team [bank] [closes in N days]` and the buttons of a team run's message."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack import blocks
from bot.slack.team import TeamFlow
from bot.slack.team_blocks import CLOSE_ACTION, NUDGE_ACTION, TAKE_PART_ACTION
from bot.usecases.team_runs import BadRunRequest, parse_run_request

TEAM_SUBCOMMAND = "team"
STARTING_RUN = ":busts_in_silhouette: One moment: starting a team run in this channel…"


def is_team_command(body: dict[str, Any]) -> bool:
    words = (body.get("text") or "").split()
    return bool(words) and words[0].lower() == TEAM_SUBCOMMAND


def register(app: App, team: TeamFlow) -> None:
    """Register before the other command listener: Bolt runs the first listener that matches."""

    @app.command(blocks.COMMAND, matchers=[is_team_command])
    def handle_team_command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        try:
            request = parse_run_request((command.get("text") or "").split()[1:])
        except BadRunRequest as error:
            ack(text=blocks.escape(str(error)))
            return
        # What happens needs Redis and Slack, so the acknowledgement promises nothing; the outcome follows.
        ack(text=STARTING_RUN)
        team.start(command["team_id"], command["user_id"], command["channel_id"], request, respond)

    @app.action(TAKE_PART_ACTION)
    def handle_take_part(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        team.take_part(body, action, respond)

    @app.action(NUDGE_ACTION)
    def handle_nudge(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        team.nudge(body, action, respond)

    @app.action(CLOSE_ACTION)
    def handle_close(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        team.close(body, action, respond)
