"""Bolt listeners, one module per kind, each with ``register(app, flow)``."""

from slack_bolt import App

from bot.slack.assessment import AssessmentFlow
from bot.slack.history_flow import HistoryFlow
from bot.slack.listeners import actions, commands, events, history


def register_listeners(app: App, flow: AssessmentFlow, history_flow: HistoryFlow | None = None) -> None:
    commands.register(app, flow, history_flow)
    actions.register(app, flow)
    if history_flow is not None:
        events.register(app, history_flow)
        history.register(app, history_flow)
