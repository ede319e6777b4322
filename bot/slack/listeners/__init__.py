"""Bolt listeners, one module per kind, each with ``register(app, flow)``."""

from slack_bolt import App

from bot.slack.assessment import AssessmentFlow
from bot.slack.history_flow import HistoryFlow
from bot.slack.listeners import actions, commands, events, history, team
from bot.slack.team import TeamFlow


def register_listeners(
    app: App,
    flow: AssessmentFlow,
    team_flow: TeamFlow | None = None,
    history_flow: HistoryFlow | None = None,
) -> None:
    if team_flow is not None:
        team.register(app, team_flow)  # first: it takes `/mlops-compass team …` before the general command
    commands.register(app, flow, history_flow)
    actions.register(app, flow)
    if history_flow is not None:
        events.register(app, history_flow)
        history.register(app, history_flow)
