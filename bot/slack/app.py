"""Builds the Bolt app: settings, store and banks in; a ready-to-serve app out."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.context.respond import Respond as BoltRespond
from slack_bolt.oauth.oauth_flow import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.engine.catalog import BankCatalog
from bot.settings import Settings, SlackProcessSettings
from bot.slack import errors
from bot.slack.assessment import AssessmentFlow
from bot.slack.delivery.personal import PersonalReports
from bot.slack.delivery.run import InProcessReports, ReportDelivery, ReportQueue, WorkerQueue
from bot.slack.history_flow import EXPORT, PUBLISH_HOME, HistoryFlow
from bot.slack.home import open_team_runs
from bot.slack.listeners import register_listeners
from bot.slack.listeners.repost import register as register_repost
from bot.slack.listeners.uninstall import FORGET_WORKSPACE, WorkspaceRemoval
from bot.slack.listeners.uninstall import register as register_uninstall
from bot.slack.modals import ModalFlow
from bot.slack.rate_limits import MethodPauses, SharedRateLimitRetryHandler
from bot.slack.schedule import ScheduleFlow
from bot.slack.team import NUDGE, TeamFlow
from bot.slack.workshop import WorkshopFlow
from bot.slack.workspace_client import (
    WorkspaceClient,
    WorkspaceExecutor,
    remembering_org_workspaces,
    serve_authorized_workspace,
    served_team,
)
from bot.store.history import HistoryStore
from bot.store.installations import RedisInstallationStore, RedisOAuthStateStore
from bot.store.outbox import Outbox
from bot.store.schedules import ScheduleStore
from bot.store.sessions import SessionStore
from bot.store.slack_limits import SlackMethodPauses
from bot.store.team_runs import RunLimits, TeamRunStore
from bot.store.workshops import WorkshopLimits, WorkshopStore
from bot.usecases.workspaces import Installations

RATE_LIMIT_RETRIES = 3
CONNECTION_RETRIES = 2
# Bolt sends a click's acknowledgement from the listener, which runs on this pool: with Bolt's default of
# 5 threads, five clicks waiting on Slack's answer to `chat.update` hold back every other click's ack.
# Listeners mostly wait on the network, so many threads cost little.
LISTENER_THREADS = 32


def web_client(settings: SlackProcessSettings, pauses: MethodPauses | None = None) -> WorkspaceClient:
    """The flows' client: the served workspace's token, or SLACK_BOT_TOKEN with a single workspace.
    `pauses`: the rate-limit pauses it honours and records (by default, this process's own only)."""
    return web_client_for(
        None if settings.oauth_enabled else settings.slack_bot_token, settings.slack_api_url, pauses
    )


def web_client_for(token: str | None, base_url: str, pauses: MethodPauses | None = None) -> WorkspaceClient:
    """A Web API client that retries a dropped connection, and waits out a 429's Retry-After, first
    recording it in `pauses` so that the calls of the same method in the same workspace wait too."""
    pauses = pauses if pauses is not None else MethodPauses(None, read_shared=False)
    return WorkspaceClient(
        token=token,
        base_url=base_url,
        pauses=pauses,
        retry_handlers=[
            SharedRateLimitRetryHandler(pauses, served_team, max_retry_count=RATE_LIMIT_RETRIES),
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
        ],
    )


class _DropClientTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client's token wins; it is the same token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_DROP_CLIENT_TOKEN_WARNING = _DropClientTokenWarning()


@dataclass(frozen=True)
class Flows:
    """Every flow of the app, wired to each other: what the web process serves, the clock drives and the
    worker delivers with."""

    assessment: AssessmentFlow
    team: TeamFlow
    history: HistoryFlow
    schedules: ScheduleFlow
    modals: ModalFlow
    delivery: ReportDelivery  # what delivers each report (in the worker, or here), and the re-post button
    reports: ReportQueue  # where each stored report is handed: the worker's queue, or InProcessReports
    removal: WorkspaceRemoval  # what deletes a workspace's data when the app leaves it
    workshops: WorkshopFlow


def build_flows(
    *,
    store: SessionStore,
    catalog: BankCatalog,
    client: WebClient,
    default_bank: str,
    min_respondents: int,
    team_runs_per_user: int,
    schedules_per_user: int,
    worker: WorkerQueue | None,
    installations: Installations | None = None,
) -> Flows:
    """The one place the flows are built: every process (web, clock, worker, playground) gets the same
        wiring, the channel's history store and the report deliveries included. `worker` is the worker's
        queue; None (`serve --memory`) delivers each report in the process that stored it, by the same
        `ReportDelivery`, and does the worker's tasks there too. `installations`: the workspaces'
    installations when the app is distributed by OAuth (None with a single workspace)."""
    history_store = HistoryStore(store.redis, store.history_limits)
    team_runs = TeamRunStore(
        store.redis, RunLimits(store.history_limits.retention_seconds, team_runs_per_user)
    )
    history = HistoryFlow(
        history_store,
        store,
        catalog,
        client,
        open_runs=open_team_runs(team_runs, catalog),
        # `forget me` pauses the schedules the person created and hands them to no one.
        erase_schedules=lambda client, team_id, user_id: ScheduleStore(client).forget_creator(
            team_id, user_id
        ),
        worker=worker,
    )
    reports: ReportQueue = worker if worker is not None else InProcessReports()
    flow = AssessmentFlow(
        store=store, catalog=catalog, default_bank=default_bank, client=client, reports=reports
    )
    history.assessment = flow
    team = TeamFlow(
        team_runs,
        store,
        catalog,
        flow,
        client,
        default_bank=default_bank,
        min_respondents=min_respondents,
        history=history_store,
        reports=reports,
        worker=worker,
    )
    history.team_take_part = team.take_part
    personal = PersonalReports(store, catalog, client, companion=history)
    workshops = WorkshopFlow(
        WorkshopStore(store.redis, WorkshopLimits(retention_seconds=store.history_limits.retention_seconds)),
        catalog,
        client,
        default_bank,
        history_store,
        reports=reports,
    )
    delivery = bind_reports(flow, team, personal, workshops)
    schedules = ScheduleFlow(ScheduleStore(store.redis, per_user=schedules_per_user), catalog, flow, client)
    modals = ModalFlow(flow, team, schedules, client)
    removal = WorkspaceRemoval(store, worker, installations)
    return Flows(flow, team, history, schedules, modals, delivery, reports, removal, workshops)


def bind_reports(
    flow: AssessmentFlow, team: TeamFlow, personal: PersonalReports, workshops: WorkshopFlow
) -> ReportDelivery:
    """Bind the team run to its members' assessments and reports; the delivery of both kinds of report,
    which the flows' queue runs at once when it is in this process."""
    flow.run_hook = team
    personal.run_follow_up = team
    delivery = ReportDelivery(
        Outbox(flow.store.redis),
        flow.client,
        personal=personal.deliver,
        team=team.deliver_run_report,
        workshop=workshops.deliver_report,
    )
    if isinstance(flow.reports, InProcessReports):
        flow.reports.bind(delivery)
    return delivery


# A task the worker runs: its arguments are the strings the web process enqueued.
Task = Callable[..., None]


def worker_tasks(flows: Flows) -> dict[str, Task]:
    """What the worker runs for each task the flows hand off (WorkerQueue.run_later): the work that follows
    a click or an event and would hold the web process (many Web API calls, a file)."""

    def publish_home(team_id: str, user_id: str, event_id: str) -> None:
        flows.history.publish_home(team_id, user_id, event_id or None)

    def export(team_id: str, user_id: str, channel_id: str, response_url: str) -> None:
        flows.history.export(team_id, user_id, channel_id, BoltRespond(response_url=response_url))

    def nudge(team_id: str, run_id: str, starter_id: str, response_url: str) -> None:
        flows.team.send_nudge(team_id, run_id, starter_id, BoltRespond(response_url=response_url))

    return {PUBLISH_HOME: publish_home, EXPORT: export, NUDGE: nudge, FORGET_WORKSPACE: flows.removal.forget}


def flows_for(
    settings: SlackProcessSettings,
    *,
    store: SessionStore,
    catalog: BankCatalog,
    client: WebClient,
    worker: WorkerQueue | None,
) -> Flows:
    """`build_flows` with what every process reads from its settings: the default bank and the caps."""
    return build_flows(
        store=store,
        catalog=catalog,
        client=client,
        default_bank=settings.default_bank,
        min_respondents=settings.team_min_respondents,
        team_runs_per_user=settings.team_runs_per_user,
        schedules_per_user=settings.schedules_per_user,
        worker=worker,
        installations=installation_store(settings, store),
    )


class _WorkspaceApp(App):
    def dispatch(self, req: BoltRequest) -> BoltResponse:
        # Each request in a context of its own: the workspace its middleware sets goes with its listeners
        # (WorkspaceExecutor) and ends with it, whichever thread serves the next request.
        return contextvars.copy_context().run(super().dispatch, req)


def oauth_flow(settings: SlackProcessSettings, installations: RedisInstallationStore) -> OAuthFlow:
    """Bolt's OAuth flow (`GET /slack/install`, `GET /slack/oauth_redirect`), storing installations in
    Redis. It exchanges the code (oauth.v2.access) with a client of its own at SLACK_API_URL: the flows'
    client carries no token outside a workspace."""
    client_secret = settings.slack_client_secret
    assert settings.slack_client_id is not None and client_secret is not None
    return OAuthFlow(
        client=WebClient(base_url=settings.slack_api_url),
        settings=OAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=client_secret.get_secret_value(),
            scopes=list(settings.slack_scopes),
            redirect_uri=settings.slack_redirect_uri,
            installation_store=installations,
            state_store=RedisOAuthStateStore(installations.redis),
        ),
    )


def installation_store(settings: SlackProcessSettings, store: SessionStore) -> RedisInstallationStore | None:
    """The installations, in OAuth mode; None with a single workspace."""
    if not settings.oauth_enabled:
        return None
    return RedisInstallationStore(store.redis, settings.installation_keys)


def build_app(
    settings: Settings, store: SessionStore, catalog: BankCatalog, worker: WorkerQueue | None
) -> App:
    """`worker`: the worker's queue, or None when no worker runs (`serve --memory`). With OAuth on, Bolt
    serves the install pages and authorizes each request from the workspace's installation."""
    # A click's calls read only the pauses this process met; its 429s are shared with the worker.
    client = web_client(settings, MethodPauses(SlackMethodPauses(store.redis), read_shared=False))
    logger = logging.getLogger("bot.slack")
    logger.addFilter(_DROP_CLIENT_TOKEN_WARNING)
    installations = installation_store(settings, store)
    app = _WorkspaceApp(
        client=client,
        signing_secret=settings.slack_signing_secret,
        oauth_flow=oauth_flow(settings, installations) if installations is not None else None,
        # The process checks the token once before it serves (bot/slack/startup.py), with a one-line
        # message; Bolt's check would run again in every worker and fail with a traceback.
        token_verification_enabled=False,
        logger=logger,
        listener_executor=WorkspaceExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener"),
    )
    app.use(serve_authorized_workspace)
    if installations is not None:
        app.use(remembering_org_workspaces(installations))
    flows = flows_for(settings, store=store, catalog=catalog, client=client, worker=worker)
    register_listeners(
        app, flows.assessment, flows.team, flows.history, flows.schedules, flows.modals, flows.workshops
    )
    register_repost(app, flows.delivery, flows.reports)
    register_uninstall(app, flows.removal)
    errors.register(app)
    return app
