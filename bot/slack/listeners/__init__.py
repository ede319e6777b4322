"""Bolt listeners, one module per kind, each with ``register(app, flow)``."""

from slack_bolt import App

from bot.slack.assessment import AssessmentFlow
from bot.slack.listeners import actions, commands, schedule
from bot.slack.schedule import ScheduleFlow


def register_listeners(app: App, flow: AssessmentFlow, schedule_flow: ScheduleFlow | None = None) -> None:
    if schedule_flow is not None:
        schedule.register(app, schedule_flow)  # first: it takes `/mlops-compass schedule …`
    commands.register(app, flow)
    actions.register(app, flow)
