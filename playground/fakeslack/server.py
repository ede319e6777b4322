"""A fake Slack Web API served over real HTTP on localhost.

The app under test talks to it through slack_sdk's own ``WebClient`` and ``WebhookClient``, so the
real request encoding, retry handlers and error handling run exactly as they would against Slack.
The terminal playground uses the same server to show a newcomer what the bot posts.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import hashlib
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypedDict
from urllib.parse import parse_qsl, urlsplit

from playground.fakeslack.signing import DEFAULT_APP_ID
from playground.fakeslack.socket_mode import SocketModeEndpoint
from playground.fakeslack.views import TriggerBook, check_modal, opened_view

logger = logging.getLogger(__name__)

TEAM_NAME = "MLOps Compass Playground"
TEAM_DOMAIN = "mlops-compass-playground"
BOT_NAME = "mlops-compass"

# Slack rejects messages above these sizes; enforcing them here surfaces oversized output in tests
# instead of in a real workspace.
MAX_MESSAGE_BLOCKS = 50
MAX_HOME_VIEW_BLOCKS = 100
MAX_TEXT_LENGTH = 40_000
MAX_DM_USERS = 8
# conversations.members pages: Slack's default and its largest page.
DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 1000
HISTORY_PAGE_LIMIT = 999

# Form-encoded requests carry these as JSON strings; Slack decodes them server-side.
_JSON_ENCODED_FIELDS = ("blocks", "attachments", "view", "metadata")

# Methods called with the app-level token (xapp-) rather than the bot token (xoxb-).
_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
# Methods called with the app's client id and secret (HTTP Basic, or as form fields) rather than a token.
_CLIENT_CREDENTIAL_METHODS = frozenset({"oauth.v2.access"})

# Methods that need the bot to be a member of the target channel.
_MEMBERSHIP_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral"})

# The arguments that name a channel, person or trigger, with what Slack answers when the thing is unknown:
# a call naming one that belonged to an earlier test (before `reset`) gets that answer.
_NAMING_FIELDS = {
    "channel": "channel_not_found",
    "channel_id": "channel_not_found",
    "user": "user_not_found",
    "user_id": "user_not_found",
    "users": "user_not_found",
    "trigger_id": "invalid_trigger_id",
    "files": "file_not_found",
}


# The method of a call moved to `late_calls` once a late call showed it was an earlier test's; it keeps
# its place in `calls` under this name.
MOVED_LATE = "moved late: "


@dataclass(frozen=True)
class RecordedCall:
    """One request the fake received, with the answer it gave.

    ``headers`` keys are lower-cased: HTTP clients disagree on header capitalisation.
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    received_at: float
    response: dict[str, Any]
    status: int
    # The test (the `FakeSlack.generation`) the call belongs to: a late one names an earlier test's ids.
    generation: int = 0

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        error = self.response.get("error")
        return error if isinstance(error, str) else None


@dataclass(frozen=True)
class Installed:
    """A workspace's installation of the app, as Slack's oauth.v2.access hands it over."""

    team_id: str
    installer_id: str
    bot_token: str
    enterprise_id: str | None = None
    redirect_uri: str | None = None


@dataclass
class UploadedFile:
    """A file announced with files.getUploadURLExternal; `data` arrives at its upload URL and `shared_to`
    is set by files.completeUploadExternal."""

    id: str
    filename: str
    length: int
    alt_txt: str | None
    data: bytes | None = None
    title: str | None = None
    shared_to: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None


class MessageEvent(TypedDict):
    """What ``FakeSlack.on_message`` receives whenever the bot's output reaches a user."""

    method: str
    channel: str | None
    ts: str | None
    text: str | None
    blocks: list[dict[str, Any]] | None
    user: str
    # Set when only one user can see the message (ephemeral posts and responses).
    visible_to: str | None
    thread_ts: str | None
    # The three below only apply to response_url posts.
    response_type: str | None
    replace_original: bool
    delete_original: bool


MessageHook = Callable[[MessageEvent], None]


@dataclass(frozen=True)
class _Fault:
    error: str
    retry_after: int | None = None
    # Close the connection without answering, as a network failure or a crashed proxy does.
    drop_connection: bool = False
    # Answer with this HTTP status (a 5xx), as Slack does when it fails inside.
    http_status: int | None = None


@dataclass
class Hold:
    """A call held on arrival: `reached` is set once it arrived, and it is carried out after `release()`
    (or after `timeout` seconds)."""

    timeout: float
    matching: Callable[[dict[str, Any]], bool] | None = None
    reached: threading.Event = dataclass_field(default_factory=threading.Event)
    released: threading.Event = dataclass_field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


# The status recorded for a call whose connection was dropped; no HTTP status was ever sent.
DROPPED = 0


@dataclass(frozen=True)
class _ResponseTarget:
    channel: str | None
    user: str | None
    message_ts: str | None


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str]

    @classmethod
    def json(cls, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> _Reply:
        body = json.dumps(payload).encode("utf-8")
        return cls(status, body, "application/json; charset=utf-8", headers or {})

    @classmethod
    def text(cls, status: int, text: str) -> _Reply:
        return cls(status, text.encode("utf-8"), "text/plain; charset=utf-8", {})


class _ApiError(Exception):
    def __init__(self, error: str, detail: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.detail = detail

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"ok": False, "error": self.error}
        if self.detail:
            payload["response_metadata"] = {"messages": [f"[ERROR] {self.detail}"]}
        return payload


def _missing(field: str) -> _ApiError:
    return _ApiError("invalid_arguments", f"missing required field: {field}")


def _stable_suffix(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:10].upper()


def _is_user_id(value: str) -> bool:
    return len(value) > 1 and value[0] in "UW"


def _parse_params(query: str, content_type: str, body: bytes) -> tuple[dict[str, Any], str | None]:
    """Merge query string and body the way Slack does; the body wins on conflicts."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    media_type = content_type.partition(";")[0].strip().lower()
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return params, "invalid_form_data"
        if media_type == "application/json":
            try:
                decoded = json.loads(text)
            except ValueError:
                return params, "invalid_json"
            if not isinstance(decoded, dict):
                return params, "invalid_json"
            params.update(decoded)
        elif media_type in ("application/x-www-form-urlencoded", ""):
            params.update(parse_qsl(text, keep_blank_values=True))
        else:
            return params, "invalid_form_data"
    for name in _JSON_ENCODED_FIELDS:
        value = params.get(name)
        if isinstance(value, str):
            # Undecodable values stay strings so the method handler reports Slack's own error.
            with contextlib.suppress(ValueError):
                params[name] = json.loads(value)
    return params, None


def _check_blocks(value: Any, limit: int) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _ApiError("invalid_blocks_format")
    if len(value) > limit or not all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in value):
        raise _ApiError("invalid_blocks")
    return value


def _optional_blocks(params: dict[str, Any], limit: int = MAX_MESSAGE_BLOCKS) -> list[dict[str, Any]] | None:
    if "blocks" not in params:
        return None
    return _check_blocks(params["blocks"], limit)


def _optional_text(params: dict[str, Any]) -> str | None:
    text = params.get("text")
    if text is None:
        return None
    text = str(text)
    if len(text) > MAX_TEXT_LENGTH:
        raise _ApiError("msg_too_long")
    return text


def _cursor_for(offset: int) -> str:
    # Opaque to clients, as Slack's cursors are.
    return base64.b64encode(f"member:{offset}".encode()).decode()


def _cursor_offset(cursor: str, size: int) -> int:
    if not cursor:
        return 0
    try:
        kind, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
        position = int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _ApiError("invalid_cursor") from None
    if kind != "member" or not 0 <= position <= size:
        raise _ApiError("invalid_cursor")
    return position


def _summarise(params: dict[str, Any], limit: int = 160) -> str:
    rendered = json.dumps(params, default=str, sort_keys=True)
    return rendered if len(rendered) <= limit else rendered[: limit - 3] + "..."


class FakeSlack:
    """A Slack Web API stand-in on ``http://host:port/api/``, recording every call it answers.

    State is guarded by one lock because slack_sdk clients may call from many threads at once
    (Bolt runs listeners in a thread pool).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_user_id: str = "UBOT",
        team_id: str = "T0001",
        latency: float = 0.0,
    ) -> None:
        """`latency`: seconds every Web API call and upload waits before it is answered (`set_latency`)."""
        self.host = host
        self.port = port
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id[1:]
        self.team_id = team_id
        self.on_message: MessageHook | None = None
        # Socket Mode: apps.connections.open hands out URLs of this WebSocket endpoint.
        self.socket_mode = SocketModeEndpoint(host=host)

        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition(threading.RLock())
        self._latency = 0.0
        self.set_latency(latency)
        self._last_ts_micros = 0
        # Each reset starts a generation; the ids an earlier one used stay refused (see `reset`).
        self._generation = 0
        self._retired: dict[str, int] = {}
        self._late_calls: list[RecordedCall] = []
        # OAuth: codes not yet exchanged, and the workspace each issued bot token belongs to. Kept across
        # `reset`, as installations outlive a test in the app's store.
        self._install_codes: dict[str, Installed] = {}
        self._installed_by_token: dict[str, Installed] = {}
        self._calling_token = ""
        self._methods: dict[str, Callable[[dict[str, Any], list[MessageEvent]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "users.info": self._users_info,
            "users.conversations": self._users_conversations,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "conversations.members": self._conversations_members,
            "apps.connections.open": self._apps_connections_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "oauth.v2.access": self._oauth_v2_access,
        }
        self._init_state()

    def _init_state(self) -> None:
        self._calls: list[RecordedCall] = []
        # Channel, DM, user, trigger, file and response ids this generation has named.
        self._current_ids: set[str] = set()
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._dm_users: dict[str, list[str]] = {}
        self._home_views: dict[str, dict[str, Any]] = {}
        self._not_in_channel: set[str] = set()
        self._missing_channels: set[str] = set()
        self._faults: dict[str, deque[_Fault]] = {}
        self._response_targets: dict[str, _ResponseTarget] = {}
        self._channel_members: dict[str, list[str]] = {}
        self._uploads: dict[str, UploadedFile] = {}
        self._upload_faults: deque[int] = deque()
        self._members_page_cap = MAX_PAGE_LIMIT
        self._users: dict[str, dict[str, Any]] = {}
        self._archived: set[str] = set()
        self._channel_names: dict[str, str] = {}
        self._delays: dict[str, deque[float]] = {}
        self._holds: dict[str, deque[Hold]] = {}
        self._triggers = TriggerBook()
        self._modals: dict[str, tuple[str, dict[str, Any]]] = {}  # view id: (user id, view)
        self._closed_modals: set[str] = set()
        self._revoked_tokens: dict[str, str] = {}  # token: the error every call with it gets

    def start(self) -> FakeSlack:
        if self._server is not None:
            raise RuntimeError("FakeSlack is already running")
        server = _Server((self.host, self.port), _Handler)
        server.fake = self
        # A short poll interval keeps stop() fast; tests start and stop a server per test.
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fakeslack", daemon=True
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        self.socket_mode.stop()
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSlack is not running; call start() first")
        return f"http://{self.host}:{self._server.server_port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def set_not_in_channel(self, channel_id: str) -> None:
        with self._cond:
            self._claim((channel_id,))
            self._not_in_channel.add(channel_id)

    def set_in_channel(self, channel_id: str) -> None:
        """Undo ``set_not_in_channel``, as if someone invited the bot."""
        with self._cond:
            self._claim((channel_id,))
            self._not_in_channel.discard(channel_id)

    def set_channel_members(self, channel_id: str, user_ids: Sequence[str]) -> None:
        """Who is in the channel, in this order: what `conversations.members` lists, and what
        `users.conversations` lists a user's channels from."""
        with self._cond:
            self._claim(
                (
                    channel_id,
                    *user_ids,
                )
            )
            self._channel_members[channel_id] = list(user_ids)

    def set_members_page_cap(self, size: int) -> None:
        """Answer `conversations.members` with at most `size` members a page, whatever limit is asked
        (Slack may return fewer than the limit), so that a client's pagination is exercised."""
        if size < 1:
            raise ValueError("size must be >= 1")
        with self._cond:
            self._members_page_cap = size

    def set_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        tz: str = "UTC",
        tz_offset: int = 0,
    ) -> None:
        """What `users.info` says about a user; users never set are ordinary members in UTC."""
        if not _is_user_id(user_id):
            raise ValueError(f"not a user id: {user_id!r}")
        with self._cond:
            self._claim((user_id,))
            self._users[user_id] = {
                "name": name,
                "is_admin": is_admin or is_owner,
                "is_owner": is_owner,
                "is_bot": is_bot,
                "deleted": deleted,
                "tz": tz,
                "tz_offset": tz_offset,
            }

    def set_channel_name(self, channel_id: str, name: str) -> None:
        """What `conversations.info` calls the channel; a channel never named is `channel-<its id>`."""
        with self._cond:
            self._claim((channel_id,))
            self._channel_names[channel_id] = name

    def user_name(self, user_id: str) -> str:
        """The name `users.info` gives the user, as a Slack client shows a mention of them."""
        with self._cond:
            named = self._users.get(user_id, {}).get("name")
        return str(named or (BOT_NAME if user_id == self.bot_user_id else f"user-{user_id.lower()}"))

    def channel_name(self, channel_id: str) -> str | None:
        """The name `conversations.info` gives the channel (a DM has none)."""
        if channel_id.startswith("D"):
            return None
        with self._cond:
            return self._channel_names.get(channel_id, f"channel-{channel_id.lower()}")

    def set_archived(self, channel_id: str, archived: bool = True) -> None:
        """Archive the channel (or unarchive it): posts there fail with `is_archived`."""
        with self._cond:
            self._claim((channel_id,))
            if archived:
                self._archived.add(channel_id)
            else:
                self._archived.discard(channel_id)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Carry out the next ``times`` calls to ``method`` but answer each only after ``seconds``, as a
        slow network does: a client that gives up first cannot know that the call took effect."""
        if seconds < 0 or times < 1:
            raise ValueError("seconds must be >= 0 and times >= 1")
        with self._cond:
            self._delays.setdefault(method, deque()).extend([seconds] * times)

    def set_latency(self, seconds: float) -> None:
        """Answer every later Web API call and upload `seconds` after it arrives (on top of any
        `delay_next`), as Slack across a network does: calls made concurrently wait at the same time."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        with self._cond:
            self._latency = seconds

    def set_channel_not_found(self, channel_id: str) -> None:
        with self._cond:
            self._claim((channel_id,))
            self._missing_channels.add(channel_id)

    def fail_next_upload(self, status: int = 500, times: int = 1) -> None:
        """Answer the next `times` uploads to an upload URL with HTTP `status`, as a failing store would."""
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._cond:
            self._upload_faults.extend([status] * times)

    def uploaded_files(self) -> list[UploadedFile]:
        """Files whose bytes reached an upload URL, oldest first (shared or not)."""
        with self._cond:
            return [f for f in self._uploads.values() if f.data is not None]

    def revoke_token(self, token: str, error: str = "token_revoked") -> None:
        """Every call made with `token` fails as Slack fails it once the app is uninstalled
        (`token_revoked`) or the token was never Slack's (`invalid_auth`)."""
        with self._cond:
            self._revoked_tokens[token] = error

    def approve_install(
        self,
        team_id: str,
        installer_id: str,
        enterprise_id: str | None = None,
        redirect_uri: str | None = None,
    ) -> str:
        """What Slack's authorize page does when `installer_id` clicks Allow for `team_id`: a one-time code
        for the app's redirect, which oauth.v2.access exchanges for a bot token of that workspace's own."""
        code = f"{team_id}.{uuid.uuid4().hex}"
        token = f"xoxb-{team_id}-{uuid.uuid4().hex[:12]}"
        with self._cond:
            self._install_codes[code] = Installed(team_id, installer_id, token, enterprise_id, redirect_uri)
        return code

    def bot_token_of(self, team_id: str) -> str | None:
        """The bot token issued last to `team_id`'s installation, if any."""
        with self._cond:
            issued = [one.bot_token for one in self._installed_by_token.values() if one.team_id == team_id]
        return issued[-1] if issued else None

    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``method`` with ``{"ok": false, "error": error}``."""
        self._queue_fault(method, _Fault(error=error), times)

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``method`` with HTTP 429 and ``Retry-After``."""
        if retry_after < 0:
            raise ValueError("retry_after must be >= 0")
        self._queue_fault(method, _Fault(error="ratelimited", retry_after=retry_after), times)

    def fail_http_next(self, method: str, status: int = 500, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``method`` with HTTP ``status`` (a server error)."""
        if not 500 <= status <= 599:
            raise ValueError("status must be a 5xx")
        self._queue_fault(method, _Fault(error="internal_error", http_status=status), times)

    def hold_next(
        self, method: str, matching: Callable[[dict[str, Any]], bool] | None = None, timeout: float = 60.0
    ) -> Hold:
        """Hold the next call to ``method`` (whose params are ``matching``) on arrival, before it is
        carried out, until released: the caller is mid-call for as long as the test wants (to kill it
        there, say)."""
        hold = Hold(timeout, matching)
        with self._cond:
            self._holds.setdefault(method, deque()).append(hold)
        return hold

    def drop_connection_next(self, method: str, times: int = 1) -> None:
        """Close the connection of the next ``times`` calls to ``method`` without answering them."""
        self._queue_fault(method, _Fault(error="connection_dropped", drop_connection=True), times)

    def _queue_fault(self, method: str, fault: _Fault, times: int) -> None:
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._cond:
            self._faults.setdefault(method, deque()).extend([fault] * times)

    def new_response_url(
        self,
        channel_id: str | None = None,
        user_id: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        """Mint a response_url; the context lets ``replace_original`` edit the right message."""
        response_id = uuid.uuid4().hex
        with self._cond:
            self._claim((response_id, channel_id, user_id))
            self._response_targets[response_id] = _ResponseTarget(channel_id, user_id, message_ts)
        return f"{self.url}/response/{response_id}"

    def reset(self) -> int:
        """Forget calls, messages, views, faults, channel overrides and response URLs, and start a new
        generation (one per test); returns its number.

        The server keeps running on the same port and the same DM ids come back for the same users. Every
        channel, DM, user, trigger, file and response URL the ended generation named is retired: an app
        still working for the earlier test calls with them late, and such a call is answered as Slack
        answers an unknown id (`channel_not_found`, `user_not_found`, ...), changes nothing, uses none of
        the new test's faults and is kept apart in `late_calls`, attributed to its generation, instead of
        in `calls`. A chart upload whose first steps name nothing is moved there once its last step names
        the earlier test's channel. Setting up a retired id raises: each test needs ids of its own.
        """
        with self._cond:
            for named in self._current_ids:
                self._retired[named] = self._generation
            self._generation += 1
            self._init_state()
            self._cond.notify_all()
            return self._generation

    @property
    def generation(self) -> int:
        with self._cond:
            return self._generation

    @property
    def late_calls(self) -> list[RecordedCall]:
        """Calls that named an earlier generation's ids, each with that generation, oldest first."""
        with self._cond:
            return list(self._late_calls)

    def claim(self, *ids: str) -> None:
        """Make channel, DM or user ids this generation's, as a test's people are: a late call naming one
        of them after the next reset is refused even if the app never used it before. Raises ValueError
        for an id an earlier generation used."""
        with self._cond:
            self._claim(ids)

    def _claim(self, ids: Sequence[str | None]) -> None:
        for named in ids:
            if named is None or named in (self.bot_user_id, self.bot_id):
                continue
            earlier = self._retired.get(named)
            if earlier is not None:
                raise ValueError(
                    f"{named} belonged to generation {earlier}, before a reset; its late calls would "
                    "mix with this test's, so give each test ids of its own"
                )
            self._current_ids.add(named)

    @property
    def calls(self) -> list[RecordedCall]:
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        with self._cond:
            return [call for call in self._calls if call.method == method]

    def wait_for(
        self,
        method: str,
        predicate: Callable[[RecordedCall], bool] | None = None,
        timeout: float = 5.0,
        after: int = 0,
    ) -> RecordedCall:
        """Block until a call to ``method`` at index >= ``after`` matches ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self._calls[after:]:
                    if call.method == method and (predicate is None or predicate(call)):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._describe_miss(method, predicate, timeout, after))
                self._cond.wait(remaining)

    def _describe_miss(
        self,
        method: str,
        predicate: Callable[[RecordedCall], bool] | None,
        timeout: float,
        after: int,
    ) -> str:
        wanted = f"{method} call" + (" matching the predicate" if predicate else "")
        lines = [f"FakeSlack received no {wanted} at index >= {after} within {timeout}s."]
        if not self._calls:
            lines.append("No calls were received at all.")
        else:
            lines.append(f"Received {len(self._calls)} call(s):")
            for index, call in enumerate(self._calls):
                outcome = "ok" if call.ok else f"error={call.error} status={call.status}"
                lines.append(f"  [{index}] {call.method} -> {outcome} {_summarise(call.params)}")
        late = [c for c in self._late_calls if c.method == method]
        if late:
            lines.append(f"({len(late)} late {method} call(s) of earlier generations were kept apart.)")
        return "\n".join(lines)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The channel's current messages, oldest first, with updates applied."""
        with self._cond:
            return copy.deepcopy(self._messages.get(channel, []))

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        with self._cond:
            view = self._home_views.get(user_id)
            return copy.deepcopy(view) if view is not None else None

    # Modals ------------------------------------------------------------------------------------------

    def issue_trigger(self, user_id: str, age: float = 0.0) -> str:
        """A trigger id as Slack sends one with a slash command, shortcut or click by `user_id`, as if sent
        `age` seconds ago: views.open takes it within 3 seconds, once."""
        with self._cond:
            self._claim((user_id,))
            trigger_id = self._triggers.issue(user_id, age)
            self._current_ids.add(trigger_id)
            return trigger_id

    def trigger_age_when_exchanged(self, trigger_id: str) -> float | None:
        """How old the trigger was when a view was opened with it; None if none was."""
        with self._cond:
            return self._triggers.age_when_exchanged(trigger_id)

    def open_modals(self, user_id: str) -> list[dict[str, Any]]:
        """The modals open in front of `user_id`, oldest first, as views.open answered them."""
        with self._cond:
            return [
                copy.deepcopy(view)
                for view_id, (owner, view) in self._modals.items()
                if owner == user_id and view_id not in self._closed_modals
            ]

    def close_modal(self, view_id: str) -> None:
        """The person submitted the modal and the app accepted it (or they closed it): Slack closes it."""
        with self._cond:
            self._closed_modals.add(view_id)

    def dm_channel_id(self, user_id: str) -> str:
        """The DM id ``conversations.open`` returns for this user, without opening it."""
        return self._dm_id([user_id])

    def _handle_api(self, method: str, query: str, headers: dict[str, str], body: bytes) -> _Reply:
        received_at = time.time()
        params, parse_error = _parse_params(query, headers.get("content-type", ""), body)
        events: list[MessageEvent] = []
        with self._cond:
            named = self._named_ids(params)
            late = self._late_generation(named)
            if late is not None:
                self._auth_error(method, params, headers)  # takes the token out of what is recorded
                refusal = {"ok": False, "error": _NAMING_FIELDS[late[1]]}
                self._move_upload_late(named, late[0])
                self._record(method, params, headers, received_at, refusal, 200, late=late[0])
                return _Reply.json(200, refusal)
            holds = self._holds.get(method)
            hold = next((h for h in holds or () if h.matching is None or h.matching(params)), None)
            if hold is not None and holds is not None:
                holds.remove(hold)
        if hold is not None:
            hold.reached.set()
            hold.released.wait(hold.timeout)
        with self._cond:
            status, payload, extra_headers = self._dispatch(method, params, headers, parse_error, events)
            self._record(method, params, headers, received_at, payload, status)
            if payload.get("ok"):
                self._current_ids.update(named.values())
                self._current_ids.update(self._ids_answered(payload))
            delays = self._delays.get(method)
            delay = (delays.popleft() if delays else 0.0) + self._latency
        self._notify(events)
        if delay:
            time.sleep(delay)
        return _Reply.json(status, payload, extra_headers)

    def _named_ids(self, params: dict[str, Any]) -> dict[str, str]:
        """The ids a call names, each with the argument naming it (the bot's own are nobody's)."""
        named: dict[str, str] = {}
        for field in _NAMING_FIELDS:
            value = params.get(field)
            if field == "users":
                listed = value if isinstance(value, list) else str(value or "").split(",")
                found = [str(user).strip() for user in listed]
            elif field == "files":
                with contextlib.suppress(ValueError):
                    value = json.loads(value) if isinstance(value, str) else value
                items = value if isinstance(value, list) else []
                found = [str(item.get("id")) for item in items if isinstance(item, dict) and item.get("id")]
            else:
                found = [str(value)] if value else []
            for one in found:
                if one and one not in (self.bot_user_id, self.bot_id):
                    named[one] = field
        return named

    def _late_generation(self, named: dict[str, str]) -> tuple[int, str] | None:
        """The latest earlier generation whose ids the call names, with the argument naming one."""
        earlier = [(self._retired[one], field) for one, field in named.items() if one in self._retired]
        return max(earlier) if earlier else None

    @staticmethod
    def _ids_answered(payload: dict[str, Any]) -> list[str]:
        """Ids the answer hands out (an opened DM, a posted-to channel, an announced file)."""
        channel = payload.get("channel")
        found = [channel.get("id") if isinstance(channel, dict) else channel, payload.get("file_id")]
        return [str(one) for one in found if isinstance(one, str) and one]

    def _move_upload_late(self, named: dict[str, str], generation: int) -> None:
        """A late call completing an upload takes the upload's earlier steps (which name nothing) with it."""
        files = {one for one, field in named.items() if field == "files"}
        if not files:
            return
        for position, call in enumerate(self._calls):
            announced = call.response.get("file_id") in files
            if (call.method == "files.getUploadURLExternal" and announced) or (
                call.method == "upload" and call.params.get("file_id") in files
            ):
                self._late_calls.append(replace(call, generation=generation))
                # Left in its place under another name: a test marks where it is by a count of calls
                # (`after=len(fake.calls)`), which would point past the app's next call if the list shrank.
                self._calls[position] = replace(call, method=MOVED_LATE + call.method, generation=generation)
        for file_id in files:
            self._uploads.pop(file_id, None)
            self._current_ids.discard(file_id)
            self._retired[file_id] = generation

    def _dispatch(
        self,
        method: str,
        params: dict[str, Any],
        headers: dict[str, str],
        parse_error: str | None,
        events: list[MessageEvent],
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        # Which workspace a call is for follows from its token (auth.test answers with it); under the lock.
        self._calling_token = self._token_of(params, headers)
        auth_error = self._auth_error(method, params, headers)
        if auth_error:
            return 200, {"ok": False, "error": auth_error}, {}
        faults = self._faults.get(method)
        if faults:
            fault = faults.popleft()
            if fault.drop_connection:
                return DROPPED, {"ok": False, "error": fault.error}, {}
            if fault.retry_after is not None:
                return 429, {"ok": False, "error": fault.error}, {"Retry-After": str(fault.retry_after)}
            if fault.http_status is not None:
                return fault.http_status, {"ok": False, "error": fault.error}, {}
            return 200, {"ok": False, "error": fault.error}, {}
        if parse_error:
            return 200, {"ok": False, "error": parse_error}, {}
        handler = self._methods.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        try:
            result = handler(params, events)
        except _ApiError as exc:
            events.clear()
            return 200, exc.payload(), {}
        return 200, {"ok": True, **result}, {}

    def _auth_error(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> str | None:
        if method in _CLIENT_CREDENTIAL_METHODS:
            return self._client_credentials_error(params, headers)
        # Slack also accepts the token as a form field; it never belongs in the recorded arguments.
        token = params.pop("token", None)
        in_header = False
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            in_header = True
            if scheme.lower() != "bearer":
                return "invalid_auth"
        if not token:
            return "not_authed"
        token = str(token).strip()
        if not token.startswith(("xoxb-", "xapp-")):
            return "invalid_auth"
        if token in self._revoked_tokens:
            return self._revoked_tokens[token]
        wants_app_token = method in _APP_TOKEN_METHODS
        if token.startswith("xapp-") != wants_app_token:
            return "not_allowed_token_type"
        if wants_app_token and not in_header:
            # Slack takes the app-level token only in the Authorization header.
            return "invalid_auth"
        return None

    @staticmethod
    def _token_of(params: dict[str, Any], headers: dict[str, str]) -> str:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else str(params.get("token") or "").strip()

    @staticmethod
    def _client_credentials_error(params: dict[str, Any], headers: dict[str, str]) -> str | None:
        """The app's client id and secret, in HTTP Basic or as form fields (the secret never recorded)."""
        secret = params.pop("client_secret", None)
        client_id = params.get("client_id")
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return "invalid_client_id"
        if not client_id:
            return "invalid_client_id"
        return None if secret else "bad_client_secret"

    def _handle_upload(self, file_id: str, headers: dict[str, str], body: bytes) -> _Reply:
        """The upload URL step of files_upload_v2: the bytes of an announced file, of its announced length."""
        received_at = time.time()
        with self._cond:
            params = {"file_id": file_id, "bytes": len(body)}
            if file_id in self._retired:
                refusal = {"ok": False, "error": "file_not_found"}
                generation = self._retired[file_id]
                self._record("upload", params, headers, received_at, refusal, 404, late=generation)
                return _Reply.text(404, "file_not_found")
            upload = self._uploads.get(file_id)
            if self._upload_faults:
                status, error = self._upload_faults.popleft(), "upload_failed"
            elif upload is None:
                status, error = 404, "file_not_found"
            elif len(body) != upload.length:
                status, error = 400, "length_mismatch"
            else:
                upload.data = bytes(body)
                status, error = 200, None
            response = {"ok": True} if error is None else {"ok": False, "error": error}
            self._record("upload", params, headers, received_at, response, status)
            latency = self._latency
        if latency:
            time.sleep(latency)
        return _Reply.text(status, f"OK - {len(body)}" if error is None else error)

    def _handle_response_url(self, response_id: str, headers: dict[str, str], body: bytes) -> _Reply:
        received_at = time.time()
        events: list[MessageEvent] = []
        params: dict[str, Any] = {}
        try:
            decoded = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            decoded = None
        if isinstance(decoded, dict):
            params.update(decoded)
        params["_id"] = response_id
        with self._cond:
            if response_id in self._retired:
                refusal = {"ok": False, "error": "no_service"}
                generation = self._retired[response_id]
                self._record("response_url", params, headers, received_at, refusal, 404, late=generation)
                return _Reply.text(404, "no_service")
            target = self._response_targets.get(response_id)
            if target is None:
                status, error = 404, "no_service"
            elif not isinstance(decoded, dict):
                status, error = 400, "invalid_payload"
            else:
                try:
                    events.append(self._apply_response(target, decoded))
                    status, error = 200, None
                except _ApiError as exc:
                    status, error = 400, exc.error
            response = {"ok": True} if error is None else {"ok": False, "error": error}
            self._record("response_url", params, headers, received_at, response, status)
        self._notify(events)
        return _Reply.text(status, error or "ok")

    def _apply_response(self, target: _ResponseTarget, body: dict[str, Any]) -> MessageEvent:
        replace = bool(body.get("replace_original"))
        delete = bool(body.get("delete_original"))
        response_type = str(body.get("response_type") or "ephemeral")
        text = _optional_text(body)
        blocks = _optional_blocks(body)
        original = self._find_message(target.channel, target.message_ts)
        # Only the user who triggered the response sees it, unless it lands in the channel.
        visible_to: str | None = None
        if delete:
            if target.channel is not None and original is not None:
                self._messages[target.channel].remove(original)
            ts: str | None = target.message_ts
        elif text is None and blocks is None:
            raise _ApiError("no_text")
        elif replace and original is not None:
            # Unlike chat.update, replace_original swaps the whole message.
            self._apply_edit(original, text or "", blocks or [])
            ts = target.message_ts
        elif response_type == "in_channel" and target.channel is not None:
            ts = self._store_message(target.channel, text, blocks, None)["ts"]
        else:
            ts, visible_to = None, target.user
        return self._event(
            "response_url",
            target.channel,
            ts,
            text,
            blocks,
            visible_to=visible_to,
            response_type=response_type,
            replace_original=replace,
            delete_original=delete,
        )

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        headers: dict[str, str],
        received_at: float,
        response: dict[str, Any],
        status: int,
        late: int | None = None,
    ) -> None:
        """Record a call; one that is `late` (naming that earlier generation's ids) is kept apart."""
        call = RecordedCall(
            method=method,
            params=copy.deepcopy(params),
            headers=dict(headers),
            received_at=received_at,
            response=copy.deepcopy(response),
            status=status,
            generation=self._generation if late is None else late,
        )
        (self._calls if late is None else self._late_calls).append(call)
        self._cond.notify_all()

    def _notify(self, events: list[MessageEvent]) -> None:
        hook = self.on_message
        if hook is None:
            return
        for event in events:
            try:
                hook(event)
            except Exception:
                # A broken renderer must not turn into a failed Slack call for the bot.
                logger.exception("FakeSlack on_message hook failed")

    # Everything from here down runs with the lock held by _handle_api / _handle_response_url.

    def _next_ts(self) -> str:
        micros = max(self._last_ts_micros + 1, time.time_ns() // 1000)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _dm_id(self, users: Sequence[str]) -> str:
        return "D" + _stable_suffix(*sorted(set(users)))

    def _resolve_channel(self, params: dict[str, Any], method: str, *, allow_user_id: bool = False) -> str:
        channel = str(params.get("channel") or "")
        if not channel:
            raise _ApiError("channel_not_found")
        if allow_user_id and _is_user_id(channel):
            # Posting to a user id delivers to the DM with that user, as Slack does.
            return self._open_dm([channel])
        if channel in self._missing_channels or channel.startswith("G"):
            raise _ApiError("channel_not_found")
        if channel.startswith("D") and channel not in self._dm_users:
            raise _ApiError("channel_not_found")
        if not channel.startswith(("C", "D")):
            raise _ApiError("channel_not_found")
        if method in _MEMBERSHIP_METHODS and channel in self._not_in_channel:
            raise _ApiError("not_in_channel")
        return channel

    def _open_dm(self, users: Sequence[str]) -> str:
        channel = self._dm_id(users)
        self._dm_users.setdefault(channel, sorted(set(users)))
        return channel

    def _find_message(self, channel: str | None, ts: str | None) -> dict[str, Any] | None:
        if channel is None or ts is None:
            return None
        return next((m for m in self._messages.get(channel, []) if m["ts"] == ts), None)

    def _store_message(
        self,
        channel: str,
        text: str | None,
        blocks: list[dict[str, Any]] | None,
        thread_ts: str | None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "ts": self._next_ts(),
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "text": text or "",
            "blocks": copy.deepcopy(blocks) if blocks is not None else [],
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        self._messages.setdefault(channel, []).append(message)
        return message

    def _apply_edit(
        self, message: dict[str, Any], text: str | None, blocks: list[dict[str, Any]] | None
    ) -> None:
        # chat.update keeps whichever of text/blocks the edit leaves out.
        if text is not None:
            message["text"] = text
        if blocks is not None:
            message["blocks"] = copy.deepcopy(blocks)
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}

    def _event(
        self,
        method: str,
        channel: str | None,
        ts: str | None,
        text: str | None,
        blocks: list[dict[str, Any]] | None,
        *,
        visible_to: str | None = None,
        thread_ts: str | None = None,
        response_type: str | None = None,
        replace_original: bool = False,
        delete_original: bool = False,
    ) -> MessageEvent:
        return MessageEvent(
            method=method,
            channel=channel,
            ts=ts,
            text=text,
            blocks=copy.deepcopy(blocks),
            user=self.bot_user_id,
            visible_to=visible_to,
            thread_ts=thread_ts,
            response_type=response_type,
            replace_original=replace_original,
            delete_original=delete_original,
        )

    def _calling_team_id(self) -> str:
        """The workspace the call is made for: its installation's, for a token an install issued."""
        installed = self._installed_by_token.get(self._calling_token)
        return installed.team_id if installed is not None else self.team_id

    def _auth_test(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        installed = self._installed_by_token.get(self._calling_token)
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": BOT_NAME,
            "team_id": self._calling_team_id(),
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "enterprise_id": installed.enterprise_id if installed is not None else None,
            "is_enterprise_install": False,
        }

    def _oauth_v2_access(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        """A code from `approve_install`, once, for the workspace's bot token (Slack's answer's shape)."""
        code = params.get("code")
        if not code:
            raise _missing("code")
        installed = self._install_codes.pop(str(code), None)
        if installed is None:
            raise _ApiError("invalid_code")
        if installed.redirect_uri is not None and params.get("redirect_uri") != installed.redirect_uri:
            raise _ApiError("bad_redirect_uri")
        self._installed_by_token[installed.bot_token] = installed
        enterprise = {"id": installed.enterprise_id, "name": "Grid"} if installed.enterprise_id else None
        return {
            "app_id": DEFAULT_APP_ID,
            "authed_user": {"id": installed.installer_id},
            "scope": ",".join(("commands", "chat:write", "im:write")),
            "token_type": "bot",
            "access_token": installed.bot_token,
            "bot_user_id": self.bot_user_id,
            "team": {"id": installed.team_id, "name": f"Workspace {installed.team_id}"},
            "enterprise": enterprise,
            "is_enterprise_install": False,
        }

    def _conversations_open(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        raw_users = params.get("users")
        if not raw_users and params.get("channel"):
            channel = str(params["channel"])
            if channel not in self._dm_users:
                raise _ApiError("channel_not_found")
            return {"no_op": True, "already_open": True, "channel": {"id": channel}}
        candidates = raw_users if isinstance(raw_users, list) else str(raw_users or "").split(",")
        users = [str(u).strip() for u in candidates if str(u).strip()]
        if not users:
            raise _ApiError("users_list_not_supplied")
        if len(users) > MAX_DM_USERS:
            raise _ApiError("too_many_users")
        if not all(_is_user_id(u) for u in users):
            raise _ApiError("user_not_found")
        already_open = self._dm_id(users) in self._dm_users
        channel = self._open_dm(users)
        return {"no_op": already_open, "already_open": already_open, "channel": {"id": channel}}

    def _conversations_info(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        channel = self._resolve_channel(params, "conversations.info")
        is_im = channel.startswith("D")
        info: dict[str, Any] = {
            "id": channel,
            "name": self.channel_name(channel),
            "is_channel": not is_im,
            "is_im": is_im,
            "is_private": is_im,
            "is_member": channel not in self._not_in_channel,
            "is_archived": channel in self._archived,
        }
        if is_im:
            info["user"] = self._dm_users[channel][0]
        return {"channel": info}

    def _chat_post_message(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        channel = self._resolve_channel(params, "chat.postMessage", allow_user_id=True)
        text, blocks = _optional_text(params), _optional_blocks(params)
        if text is None and blocks is None and not params.get("attachments"):
            raise _ApiError("no_text")
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        if channel in self._archived:
            raise _ApiError("is_archived")
        message = self._store_message(channel, text, blocks, thread_ts)
        metadata = params.get("metadata")
        if isinstance(metadata, dict):
            message["metadata"] = copy.deepcopy(metadata)
        events.append(
            self._event("chat.postMessage", channel, message["ts"], text, blocks, thread_ts=thread_ts)
        )
        return {"channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _chat_update(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        channel = self._resolve_channel(params, "chat.update")
        ts = params.get("ts")
        if not ts:
            raise _missing("ts")
        message = self._find_message(channel, str(ts))
        if message is None:
            raise _ApiError("message_not_found")
        text, blocks = _optional_text(params), _optional_blocks(params)
        if text is None and blocks is None and not params.get("attachments"):
            raise _ApiError("no_text")
        self._apply_edit(message, text, blocks)
        events.append(
            self._event(
                "chat.update",
                channel,
                message["ts"],
                message["text"],
                message["blocks"],
                thread_ts=message.get("thread_ts"),
            )
        )
        return {
            "channel": channel,
            "ts": message["ts"],
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def _chat_post_ephemeral(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        channel = self._resolve_channel(params, "chat.postEphemeral")
        user = str(params.get("user") or "")
        if not user:
            raise _missing("user")
        if not _is_user_id(user):
            raise _ApiError("user_not_found")
        text, blocks = _optional_text(params), _optional_blocks(params)
        if text is None and blocks is None and not params.get("attachments"):
            raise _ApiError("no_text")
        ts = self._next_ts()
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        events.append(
            self._event("chat.postEphemeral", channel, ts, text, blocks, visible_to=user, thread_ts=thread_ts)
        )
        return {"message_ts": ts}

    def _chat_get_permalink(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        channel = self._resolve_channel(params, "chat.getPermalink")
        ts = params.get("message_ts")
        if not ts:
            raise _missing("message_ts")
        if self._find_message(channel, str(ts)) is None:
            raise _ApiError("message_not_found")
        permalink = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{str(ts).replace('.', '')}"
        return {"channel": channel, "permalink": permalink}

    def _views_publish(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        user_id = str(params.get("user_id") or "")
        if not user_id:
            raise _missing("user_id")
        if not _is_user_id(user_id):
            raise _ApiError("user_not_found")
        view = params.get("view")
        if view is None:
            raise _missing("view")
        if not isinstance(view, dict) or view.get("type") != "home":
            raise _ApiError("invalid_arguments", 'view must be an object with type "home"')
        blocks = _check_blocks(view.get("blocks", []), MAX_HOME_VIEW_BLOCKS)
        published = {
            "id": "V" + _stable_suffix(self._calling_team_id(), user_id),
            "team_id": self._calling_team_id(),
            "type": "home",
            "blocks": copy.deepcopy(blocks),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": self._next_ts(),
            "bot_id": self.bot_id,
        }
        self._home_views[user_id] = published
        return {"view": copy.deepcopy(published)}

    def _views_open(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        view = params.get("view")
        if view is None:
            raise _missing("view")
        trigger_id = str(params.get("trigger_id") or "")
        if not trigger_id:
            raise _ApiError("invalid_arguments", "missing required field: trigger_id")
        problems = check_modal(view)
        if problems:
            raise _ApiError("invalid_arguments", "; ".join(problems))
        user_id, refused = self._triggers.exchange(trigger_id)
        if refused is not None or user_id is None:
            raise _ApiError(refused or "invalid_trigger_id")
        view_id = "V" + uuid.uuid4().hex[:10].upper()
        opened = opened_view(view, view_id, self._calling_team_id(), DEFAULT_APP_ID, self.bot_id)
        self._modals[view_id] = (user_id, opened)
        return {"view": copy.deepcopy(opened)}

    def _apps_connections_open(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        return {"url": self.socket_mode.open_url()}

    def _users_info(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        user_id = str(params.get("user") or "")
        if not _is_user_id(user_id):
            raise _ApiError("user_not_found")
        is_app = user_id == self.bot_user_id
        settings = self._users.get(user_id, {})
        name = self.user_name(user_id)
        return {
            "user": {
                "id": user_id,
                "team_id": self._calling_team_id(),
                "name": name,
                "real_name": name,
                "deleted": settings.get("deleted", False),
                "is_bot": is_app or settings.get("is_bot", False),
                "is_app_user": is_app,
                "is_admin": settings.get("is_admin", False),
                "is_owner": settings.get("is_owner", False),
                "is_primary_owner": settings.get("is_owner", False),
                "tz": settings.get("tz", "UTC"),
                "tz_label": settings.get("tz", "UTC"),
                "tz_offset": settings.get("tz_offset", 0),
                "profile": {"display_name": name, "real_name": name},
            }
        }

    def _users_conversations(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        user_id = str(params.get("user") or self.bot_user_id)
        if not _is_user_id(user_id):
            raise _ApiError("user_not_found")
        channels = [
            {"id": channel, "name": f"channel-{channel.lower()}", "is_channel": True, "is_archived": False}
            for channel, members in self._channel_members.items()
            if user_id in members and channel not in self._missing_channels
        ]
        return {"channels": channels, "response_metadata": {"next_cursor": ""}}

    def _files_get_upload_url_external(
        self, params: dict[str, Any], events: list[MessageEvent]
    ) -> dict[str, Any]:
        filename = str(params.get("filename") or "")
        if not filename:
            raise _missing("filename")
        try:
            length = int(params.get("length") or 0)
        except (TypeError, ValueError):
            raise _ApiError("invalid_arguments", "length must be an integer") from None
        if length < 1:
            raise _ApiError("invalid_arguments", "length must be at least 1")
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        alt_txt = str(params["alt_txt"]) if params.get("alt_txt") else None
        self._uploads[file_id] = UploadedFile(file_id, filename, length, alt_txt)
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(
        self, params: dict[str, Any], events: list[MessageEvent]
    ) -> dict[str, Any]:
        raw_files = params.get("files")
        try:
            listed = json.loads(raw_files) if isinstance(raw_files, str) else raw_files
        except ValueError:
            raise _ApiError("invalid_arguments", "files must be a JSON array") from None
        if not isinstance(listed, list) or not listed or not all(isinstance(f, dict) for f in listed):
            raise _ApiError("invalid_arguments", "files must be a non-empty JSON array of objects")
        uploads = []
        for item in listed:
            upload = self._uploads.get(str(item.get("id")))
            if upload is None or upload.data is None:
                raise _ApiError("file_not_found")
            uploads.append((upload, item.get("title")))
        channel = None
        if params.get("channel_id"):
            channel = self._resolve_channel({"channel": params["channel_id"]}, "files.completeUploadExternal")
            if channel in self._not_in_channel:
                raise _ApiError("not_in_channel")
        comment = str(params["initial_comment"]) if params.get("initial_comment") else None
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        shared = []
        for upload, title in uploads:
            upload.title = str(title) if title else upload.filename
            upload.shared_to, upload.thread_ts, upload.initial_comment = channel, thread_ts, comment
            shared.append(
                {"id": upload.id, "name": upload.filename, "title": upload.title, "size": upload.length}
            )
        if channel is not None:
            message = self._store_message(channel, comment, None, thread_ts)
            message["files"] = copy.deepcopy(shared)
            events.append(self._event("files.completeUploadExternal", channel, message["ts"], comment, None))
        return {"files": shared}

    def _conversations_members(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        channel = self._resolve_channel(params, "conversations.members")
        members = self._channel_members.get(channel, [])
        try:
            limit = int(params.get("limit") or DEFAULT_PAGE_LIMIT)
        except ValueError:
            raise _ApiError("invalid_limit") from None
        if limit < 1:
            raise _ApiError("invalid_limit")
        limit = min(limit, MAX_PAGE_LIMIT, self._members_page_cap)
        start = _cursor_offset(str(params.get("cursor") or ""), len(members))
        page = members[start : start + limit]
        following = start + limit
        next_cursor = _cursor_for(following) if following < len(members) else ""
        return {"members": list(page), "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_history(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        channel = self._resolve_channel(params, "conversations.history")
        # A channel's history lists its messages and thread parents, not the replies in threads.
        top_level = [m for m in self._messages.get(channel, []) if m.get("thread_ts") in (None, m["ts"])]
        return self._history_page(top_level, params)

    def _conversations_replies(self, params: dict[str, Any], events: list[MessageEvent]) -> dict[str, Any]:
        channel = self._resolve_channel(params, "conversations.replies")
        parent = str(params.get("ts") or "")
        if not parent:
            raise _missing("ts")
        if self._find_message(channel, parent) is None:
            raise _ApiError("thread_not_found")
        # The parent first, then its replies, oldest first, as Slack lists a thread.
        thread = [m for m in self._messages.get(channel, []) if parent in (m["ts"], m.get("thread_ts"))]
        return self._history_page(thread, params, oldest_first=True)

    def _history_page(
        self, messages: list[dict[str, Any]], params: dict[str, Any], oldest_first: bool = False
    ) -> dict[str, Any]:
        try:
            oldest = float(params.get("oldest") or 0)
            limit = max(1, min(int(params.get("limit") or HISTORY_PAGE_LIMIT), HISTORY_PAGE_LIMIT))
            start = int(str(params.get("cursor") or "0").removeprefix("offset:") or 0)
        except ValueError:
            raise _ApiError("invalid_arguments") from None
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        # Newest first, as Slack lists a history; `oldest` is exclusive.
        listed = [m for m in reversed(messages) if float(m["ts"]) > oldest]
        if oldest_first:
            listed.reverse()
        page = []
        for message in listed[start : start + limit]:
            shown = copy.deepcopy(message)
            if not with_metadata:
                shown.pop("metadata", None)
            page.append(shown)
        more = start + limit < len(listed)
        return {
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": f"offset:{start + limit}" if more else ""},
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Bolt's listener pool can open many connections at once; the default backlog of 5 makes the
    # kernel drop SYNs and clients stall for a second on retransmit.
    request_queue_size = 128
    fake: FakeSlack


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        body = self._read_body()
        fake = self.server.fake
        if parts.path == "/health" and self.command == "GET":
            self._send(_Reply.text(200, "ok"))
        elif parts.path.startswith("/api/") and len(parts.path) > len("/api/"):
            reply = fake._handle_api(parts.path[len("/api/") :], parts.query, headers, body)
            if reply.status == DROPPED:
                self.close_connection = True
            else:
                self._send(reply)
        elif parts.path.startswith("/upload/") and self.command == "POST":
            self._send(fake._handle_upload(parts.path[len("/upload/") :], headers, body))
        elif parts.path.startswith("/response/") and self.command == "POST":
            self._send(fake._handle_response_url(parts.path[len("/response/") :], headers, body))
        else:
            self._send(_Reply.text(404, "not_found"))

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("fakeslack: the client left before its answer (%s)", self.path)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fakeslack %s - " + format, self.address_string(), *args)
