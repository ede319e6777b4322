"""Bolt listeners, one module per kind, each with ``register(app, flow)``."""

from slack_bolt import App

from bot.slack.assessment import AssessmentFlow
from bot.slack.listeners import actions, commands


def register_listeners(app: App, flow: AssessmentFlow) -> None:
    commands.register(app, flow)
    actions.register(app, flow)
