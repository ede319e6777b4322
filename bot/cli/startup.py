"""How a process starts: it checks what it uses in one fixed order and stops at the first problem, with one
line naming the setting (`bot.cli.main` prints it and exits with 2).

First every setting the process reads, present and well formed, in the order of the settings table
(`bot.settings.SETTINGS_ORDER`); then what those settings name: the question banks (BANKS_DIR,
DEFAULT_BANK), Redis (REDIS_URL, or the master REDIS_SENTINELS name), the port (PORT, for `serve` over
HTTP), and last Slack (SLACK_BOT_TOKEN), the one check that goes over the network and is tried more than
once; with OAuth on there is no one token to check, each workspace's coming from its installation.
`serve --socket` then opens its connection (SLACK_APP_TOKEN). docs/operations.md#settings tells
operators the same.

What started is the process's kit (`Started`): `serve`, `worker` and `clock` build their session store,
the worker's queue and their flows from it, so each applies the same settings (SESSION_TTL_DAYS, the
history limits, the retry schedule).

Imported only by the commands that start this way, so that the CLI starts without the Slack client.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

import redis
from redis import Redis
from slack_sdk import WebClient

from bot.engine.bank import BankError, BankProblem
from bot.engine.catalog import BankCatalog, BankFile, UnknownBank
from bot.settings import (
    BankSettings,
    RedisSettings,
    SettingsError,
    SlackProcessSettings,
    StoreSettings,
    read_settings,
)
from bot.slack import blocks
from bot.slack.app import Flows, flows_for, installation_store, web_client
from bot.slack.rate_limits import MethodPauses
from bot.slack.startup import SlackUnusable, check_bot_token
from bot.slack.workspace_client import WorkspaceTokens
from bot.store.connection import RedisTarget, connect
from bot.store.history import HistoryLimits
from bot.store.installations import RedisInstallationStore
from bot.store.jobs import JobQueue
from bot.store.sessions import SessionStore, StoreUnavailable, in_process_redis
from bot.store.slack_limits import SlackMethodPauses

log = logging.getLogger(__name__)

REDIS_ADVICE = "start Redis or set REDIS_URL"

ProcessSettingsT = TypeVar("ProcessSettingsT", bound=SlackProcessSettings)
RedisSettingsT = TypeVar("RedisSettingsT", bound=RedisSettings)


class StartupError(SettingsError):
    """What a setting names does not work: the banks do not load, Redis does not answer, Slack refuses the
    token, the port is taken."""


DAY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Started(Generic[ProcessSettingsT]):
    """A started process's kit: what `serve`, `worker` and `clock` build their state and flows from, each
    the same way (the session TTL and the history limits from the settings, the one worker queue)."""

    settings: ProcessSettingsT
    catalog: BankCatalog
    redis: redis.Redis
    memory: bool = False  # state lives in this process: no worker can share it

    def sessions(self, client: Redis | None = None) -> SessionStore:
        """The session store on `client` (a gunicorn worker's own, connected after the fork) or on the
        start's Redis."""
        return session_store(self.settings, client or self.redis)

    def job_queue(self, client: Redis | None = None) -> JobQueue:
        return JobQueue(client or self.redis, self.settings.delivery_retry_seconds)

    def worker(self, client: Redis | None = None) -> JobQueue | None:
        """The worker's queue; None with `--memory`, where reports are delivered in this process."""
        return None if self.memory else self.job_queue(client)

    def installations(self, client: Redis | None = None) -> RedisInstallationStore | None:
        """The installation store in OAuth mode; None with a single workspace (SLACK_BOT_TOKEN)."""
        return installation_store(self.settings, self.sessions(client))

    def workspaces(self, client: Redis | None = None) -> WorkspaceTokens:
        """Where a job or a clock item finds its workspace's bot token."""
        installations = self.installations(client)
        # In OAuth mode a SLACK_BOT_TOKEN left set is nobody's fallback.
        return WorkspaceTokens(
            installations, self.settings.slack_bot_token if installations is None else None
        )

    def slack_pauses(self, refuse_while_paused: bool = False) -> MethodPauses:
        """The rate-limit pauses of the worker's and the clock's Slack calls: every process's, read in
        Redis before each call (the web process reads only its own: bot/slack/app.py's build_app). The
        clock, with its own back-off, is refused a paused call rather than kept waiting."""
        return MethodPauses(
            SlackMethodPauses(self.redis), read_shared=True, refuse_while_paused=refuse_while_paused
        )

    def flows(self, slack: WebClient | None = None) -> Flows:
        """Every flow, on this kit's stores and `slack` (by default, the process's Web API client)."""
        return flows_for(
            self.settings,
            store=self.sessions(),
            catalog=self.catalog,
            client=slack or web_client(self.settings, self.slack_pauses()),
            worker=self.worker(),
        )


def session_store(settings: SlackProcessSettings, client: redis.Redis) -> SessionStore:
    return SessionStore(
        client,
        session_ttl_seconds=round(settings.session_ttl_days * DAY_SECONDS),
        history_limits=history_limits(settings),
    )


def history_limits(settings: StoreSettings) -> HistoryLimits:
    return HistoryLimits.of(settings.history_keep, settings.history_retention_days)


def start_slack_process(
    kind: type[ProcessSettingsT],
    memory: bool = False,
    redis_advice: str = REDIS_ADVICE,
    check_port: Callable[[ProcessSettingsT], None] | None = None,
) -> Started[ProcessSettingsT]:
    """`serve`, `worker` and `clock`: the settings, then the banks, Redis, the port (`check_port`, for
    `serve` over HTTP) and Slack. With `memory`, state stays in this process and REDIS_URL is not used."""
    settings = read_settings(kind)
    configure_logging(settings.log_level)
    catalog = load_catalog(settings)
    client = in_process_redis() if memory else open_redis(settings.redis_target, redis_advice)
    if check_port is not None:
        check_port(settings)
    if settings.oauth_enabled:
        log.info("OAuth is on: each workspace's bot token comes from its installation")
    else:
        assert settings.slack_bot_token is not None  # required without OAuth
        check_slack(settings.slack_bot_token, settings.slack_api_url)
    return Started(settings, catalog, client, memory)


def start_redis_command(kind: type[RedisSettingsT]) -> tuple[RedisSettingsT, redis.Redis]:
    """`jobs` and `export`: the settings, then Redis."""
    settings = read_settings(kind)
    return settings, open_redis(settings.redis_target)


def load_catalog(settings: BankSettings) -> BankCatalog:
    """The banks to offer. A broken bank file is logged and left out; the process starts as long as the
    default bank loads."""
    directory = settings.banks_directory
    try:
        catalog = BankCatalog.from_directory(directory)
    except BankError as error:
        raise StartupError(f"BANKS_DIR is invalid: {error}") from None
    catalog = with_slack_messages_checked(catalog)
    for broken in catalog.broken:
        log.error(
            "question bank file %s is not offered: %s",
            broken.path,
            "; ".join(f"{p.path or '<root>'}: {p.reason}" for p in broken.problems),
        )
    try:
        catalog.by_id(settings.default_bank)
    except UnknownBank as error:
        unloaded = f"; {len(catalog.broken)} file(s) in {directory} did not load" if catalog.broken else ""
        raise StartupError(f"DEFAULT_BANK is invalid: {error}{unloaded}") from None
    return catalog


def with_slack_messages_checked(catalog: BankCatalog) -> BankCatalog:
    """The catalog less the banks whose question messages Slack would refuse (kept in `broken`, with why).
    The others' message templates are made here, once, rather than on a person's first click."""
    refused: dict[str, str] = {}
    for bank in catalog.banks:
        try:
            blocks.prepare_question_messages(bank)
        except blocks.BlockLimitError as error:
            refused[bank.id] = f"its messages break Slack's limits: {error}"
    if not refused:
        return catalog
    files = [
        BankFile(f.path, f.bank, (BankProblem(str(f.path), "", refused[f.bank.id]),))
        if f.bank is not None and f.bank.id in refused
        else f
        for f in catalog.files
    ]
    return BankCatalog([b for b in catalog.banks if b.id not in refused], files)


def open_redis(target: RedisTarget, advice: str = REDIS_ADVICE) -> redis.Redis:
    """A client of the Redis at `target` (REDIS_URL, or the master REDIS_SENTINELS name), once it answers
    as configured (the database, the password)."""
    client = connect(target)
    try:
        SessionStore(client).ping()
    except StoreUnavailable as error:
        if target.through_sentinel:
            advice = "check REDIS_SENTINELS, REDIS_SENTINEL_MASTER and the sentinels"
        raise StartupError(f"Redis at {target.describe()} {error}; {advice}") from None
    if target.through_sentinel:
        log.info("Redis through Sentinel: %s", target.describe())
    return client


def check_slack(token: str, api_url: str) -> None:
    """Stop the start, in one line, unless Slack accepts the bot token (bot/slack/startup.py)."""
    try:
        # slack_sdk logs each failed try; the outcome is told once, below.
        with silenced(logging.getLogger("slack_sdk")):
            identity = check_bot_token(token, api_url)
    except SlackUnusable as error:
        raise StartupError(str(error)) from None
    log.info("Slack accepts the bot token: workspace %s, bot user %s", identity.team_id, identity.user_id)


def check_port_free(host: str, port: int) -> None:
    """A port another process listens on stops the start in one line, before any worker is forked."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As gunicorn binds: a port left in TIME_WAIT by an earlier run is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise StartupError(
                f"cannot listen on {host}:{port} ({error.strerror or error}); another process is using "
                "PORT, or set PORT to a free one"
            ) from None


@contextmanager
def silenced(*loggers: logging.Logger) -> Iterator[None]:
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
