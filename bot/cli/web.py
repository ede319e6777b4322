"""The `web` process: the Bolt app behind gunicorn, plus `GET /health`.

Each gunicorn worker builds its own app and Redis connection pool after the fork; all state lives in
Redis, so workers (and machines) share nothing else. `--memory` keeps state in the process instead,
which only makes sense with a single worker.

With OAuth on (SLACK_CLIENT_ID), Bolt's handler also answers `GET /slack/install` (the install page) and
`GET /slack/oauth_redirect` (Slack's redirect back with the code): it sends those two paths to the app's
OAuth flow before its own dispatch, which serves only `POST /slack/events`.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
from gunicorn.app.base import BaseApplication
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.cli.startup import Started, StartupError, silenced
from bot.settings import Settings, SocketModeSettings
from bot.slack.app import build_app
from bot.slack.request_parsing import SlackFormRequestHandler
from bot.store.connection import UNREACHABLE, connect
from bot.store.sessions import StoreUnavailable
from bot.usecases.health import health

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/health"
THREADS_PER_WORKER = 8
# Slack's requests are a few kilobytes (a click echoes its message's blocks: at most 50 of them); a body
# past this is refused with 413 before it is read whole.
MAX_BODY_BYTES = 1024 * 1024
READ_CHUNK_BYTES = 64 * 1024
# How often Socket Mode pings Slack. slack_sdk's built-in client (3.48) notices a dead connection only when
# pongs have been missing for four intervals, so this bounds how long the app stays deaf after the network
# drops its socket: about 10 s here, against about a minute at Bolt's default of 10 s. (slack_sdk's
# websocket-client flavour was tried too: it never noticed a connection that went silent.)
SOCKET_MODE_PING_SECONDS = 2.0
# What answers 503: the store's ping says Redis is down, or the health figures' reads meet it down.
HEALTH_DOWN: tuple[type[Exception], ...] = (StoreUnavailable, *UNREACHABLE)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wsgi_app(started: Started[Settings], client: redis.Redis | None = None) -> WsgiApp:
    """The app on `client` (a gunicorn worker's own Redis connection) or on the start's."""
    settings, store, memory = started.settings, started.sessions(client), started.memory
    app = build_app(settings, store, started.catalog, started.worker(client))
    slack_handler = SlackFormRequestHandler(app, settings.slack_signing_secret, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            try:
                store.ping()
                status, body = "200 OK", {"status": "ok", "redis": "ok"}
                if not memory:
                    body |= health(store.redis, time.time()).to_dict()
            except HEALTH_DOWN:
                status, body = "503 Service Unavailable", {"status": "unavailable", "redis": "unreachable"}
            payload = json.dumps(body).encode()
            start_response(
                status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
            )
            return [payload]
        if environ.get("PATH_INFO") == EVENTS_PATH and environ.get("REQUEST_METHOD") == "POST":
            try:
                raw = read_body(environ, MAX_BODY_BYTES)
            except BodyRefused as refused:
                log.warning("refused a request to %s (%s): %s", EVENTS_PATH, refused.status, refused.reason)
                return _plain(start_response, refused.status, refused.reason)
            environ = environ | {"wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw))}
        return slack_handler(environ, start_response)

    return application


class BodyRefused(Exception):
    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The request body, read in chunks and never more than `limit` + 1 bytes of it: a declared length over
    the limit is refused before a byte is read, and a body of no declared length (chunked) as soon as it
    passes the limit. Raises BodyRefused."""
    declared = environ.get("CONTENT_LENGTH") or None
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise BodyRefused("400 Bad Request", "a Content-Length that is not a number") from None
        if length > limit:
            raise BodyRefused("413 Content Too Large", f"a body of {length} bytes; the limit is {limit}")
    stream = environ["wsgi.input"]
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= limit:
            wanted = min(READ_CHUNK_BYTES, limit + 1 - size)
            if declared is not None:
                wanted = min(wanted, length - size)
            chunk = stream.read(wanted) if wanted > 0 else b""
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (OSError, ValueError) as error:
        raise BodyRefused("400 Bad Request", f"the body could not be read ({_one_line(error)})") from None
    if size > limit:
        raise BodyRefused("413 Content Too Large", f"a body of more than {limit} bytes")
    return b"".join(chunks)


def _plain(start_response: Callable[..., Any], status: str, text: str) -> list[bytes]:
    payload = f"{text}\n".encode()
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, build: Callable[[], WsgiApp], options: dict[str, Any]):
        self._build = build
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        # The control socket lives at one path per user; several instances on one machine would share it.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self) -> WsgiApp:
        return self._build()


def serve_http(started: Started[Settings], memory: bool, host: str = "0.0.0.0") -> None:
    """gunicorn on the port `started` found free; each worker builds the app after the fork."""
    settings = started.settings

    def build() -> WsgiApp:
        # Each worker connects after the fork; with --memory the one worker keeps the process's own store.
        return wsgi_app(started, None if memory else connect(settings.redis_target))

    options = {
        "bind": f"{host}:{settings.port}",
        "workers": 1 if memory else settings.web_concurrency,
        "worker_class": "gthread",
        "threads": THREADS_PER_WORKER,
        "loglevel": settings.log_level.lower(),
        "accesslog": "-" if settings.log_level == "DEBUG" else None,
        "errorlog": "-",
        "timeout": 30,
        "graceful_timeout": 10,
        "proc_name": "mlops-compass-web",
    }
    _Gunicorn(build, options).run()


def serve_socket_mode(started: Started[SocketModeSettings], memory: bool) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    settings = started.settings
    app = build_app(settings, started.sessions(), started.catalog, started.worker())
    handler = SocketModeHandler(app, settings.slack_app_token, ping_interval=SOCKET_MODE_PING_SECONDS)
    try:
        # The client logs each failed try and its retries; a start that fails is told in one line below.
        with silenced(logging.getLogger("slack_sdk"), app.logger):
            handler.client.connect()
    except (SlackApiError, SlackClientError, OSError) as error:
        raise StartupError(
            f"Slack at SLACK_API_URL={settings.slack_api_url} did not open a Socket Mode connection "
            f"({_one_line(error)}); check SLACK_APP_TOKEN, SLACK_API_URL and the network"
        ) from None
    log.info("connected to Slack in Socket Mode")
    threading.Event().wait()
