"""Bolt listeners, one module per kind, each with ``register(app, …)``. Each listens for its own command,
action ids, views or events, so the order they are registered in does not matter."""

from slack_bolt import App

from bot.slack.assessment import AssessmentFlow
from bot.slack.history_flow import HistoryFlow
from bot.slack.listeners import actions, commands, events, history, modals, schedule, team, workshop
from bot.slack.modals import ModalFlow
from bot.slack.schedule import ScheduleFlow
from bot.slack.subcommands import Flows
from bot.slack.team import TeamFlow
from bot.slack.workshop import WorkshopFlow


def register_listeners(
    app: App,
    flow: AssessmentFlow,
    team_flow: TeamFlow | None = None,
    history_flow: HistoryFlow | None = None,
    schedule_flow: ScheduleFlow | None = None,
    modal_flow: ModalFlow | None = None,
    workshop_flow: WorkshopFlow | None = None,
) -> None:
    commands.register(app, Flows(flow, team_flow, history_flow, schedule_flow, modal_flow, workshop_flow))
    actions.register(app, flow)
    if modal_flow is not None:
        modals.register(app, modal_flow)
    if team_flow is not None:
        team.register(app, team_flow)
    if workshop_flow is not None:
        workshop.register(app, workshop_flow)
    if schedule_flow is not None:
        schedule.register(app, schedule_flow)
    if history_flow is not None:
        events.register(app, history_flow)
        history.register(app, history_flow)
