"""The flows as `build_flows` wires them in a process with no worker, less the history's companion
unless a test gives one: each report goes through the outbox and `ReportDelivery`, run in this process."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.engine.catalog import BankCatalog
from bot.slack.app import bind_reports
from bot.slack.assessment import AssessmentFlow
from bot.slack.delivery.personal import PersonalReports, ReportCompanion
from bot.slack.delivery.run import InProcessReports, ReportDelivery
from bot.slack.team import TeamFlow
from bot.slack.workshop import WorkshopFlow
from bot.store.history import HistoryStore
from bot.store.sessions import SessionStore
from bot.store.team_runs import TeamRunStore
from bot.store.workshops import WorkshopStore


def wired_flows(
    store: SessionStore,
    catalog: BankCatalog,
    default_bank: str,
    client: WebClient,
    companion: ReportCompanion | None = None,
    **team_options: Any,
) -> tuple[AssessmentFlow, TeamFlow, ReportDelivery]:
    """The assessment flow, the team flow bound to it (`team_options` go to TeamFlow) and the delivery of
    their reports, which also answers *Post it again*."""
    reports = InProcessReports()
    assessments = AssessmentFlow(
        store=store, catalog=catalog, default_bank=default_bank, client=client, reports=reports
    )
    team = TeamFlow(
        TeamRunStore(store.redis),
        store,
        catalog,
        assessments,
        client,
        default_bank,
        reports=reports,
        **team_options,
    )
    workshops = WorkshopFlow(
        WorkshopStore(store.redis), catalog, client, default_bank, HistoryStore(store.redis), reports=reports
    )
    delivery = bind_reports(assessments, team, PersonalReports(store, catalog, client, companion), workshops)
    return assessments, team, delivery


def assessment_flow(
    store: SessionStore,
    catalog: BankCatalog,
    default_bank: str,
    client: WebClient,
    companion: ReportCompanion | None = None,
) -> AssessmentFlow:
    return wired_flows(store, catalog, default_bank, client, companion)[0]
