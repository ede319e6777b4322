"""Builds the Bolt app: settings, store and banks in; a ready-to-serve app out."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.engine.catalog import BankCatalog
from bot.settings import Settings
from bot.slack import errors
from bot.slack.assessment import AssessmentFlow
from bot.slack.history_flow import HistoryFlow
from bot.slack.home import open_team_runs
from bot.slack.listeners import register_listeners
from bot.slack.modals import ModalFlow
from bot.slack.schedule import ScheduleFlow
from bot.slack.team import TeamFlow
from bot.store.history import HistoryStore
from bot.store.schedules import ScheduleStore
from bot.store.sessions import SessionStore
from bot.store.team_runs import RunLimits, TeamRunStore

RATE_LIMIT_RETRIES = 3
CONNECTION_RETRIES = 2


def web_client(settings: Settings) -> WebClient:
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
        ],
    )


class _DropClientTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client's token wins; it is the same token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_DROP_CLIENT_TOKEN_WARNING = _DropClientTokenWarning()


def build_app(settings: Settings, store: SessionStore, catalog: BankCatalog) -> App:
    client = web_client(settings)
    logger = logging.getLogger("bot.slack")
    logger.addFilter(_DROP_CLIENT_TOKEN_WARNING)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret,
        # The process checks the token once before it serves (bot/slack/startup.py), with a one-line
        # message; Bolt's check would run again in every worker and fail with a traceback.
        token_verification_enabled=False,
        logger=logger,
    )
    history_store = HistoryStore(store.redis, store.history_limits)
    team_runs = TeamRunStore(
        store.redis, RunLimits(store.history_limits.retention_seconds, settings.team_runs_per_user)
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
    )
    flow = AssessmentFlow(
        store=store, catalog=catalog, default_bank=settings.default_bank, client=client, companion=history
    )
    history.assessment = flow
    team = TeamFlow(
        team_runs,
        store,
        catalog,
        flow,
        client,
        default_bank=settings.default_bank,
        min_respondents=settings.team_min_respondents,
        history=history_store,
    )
    flow.run_hook = team
    history.team_take_part = team.take_part
    schedules = ScheduleFlow(
        ScheduleStore(store.redis, per_user=settings.schedules_per_user), catalog, flow, client
    )
    register_listeners(app, flow, team, history, schedules, ModalFlow(flow, team, schedules, client))
    errors.register(app)
    return app
