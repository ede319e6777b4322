"""The Web API client every flow holds, calling Slack with the bot token of the workspace being served.

The flows are built once per process with one client, and serve every workspace the app is installed in.
Which workspace a call is for is set around each piece of work: per request in the web process (Bolt has
authorized it, so its bot token is known), per job in the worker and per item in the clock (looked up in
the installation store by the job's or item's team id). Each piece of work runs in a context of its own
(``contextvars``), so a thread serving one workspace never sees another's token.

With a single workspace (SLACK_BOT_TOKEN, no OAuth) the client falls back to that token. In OAuth mode
there is no fallback: a call made outside any workspace raises NoWorkspace before it leaves the process,
rather than go out with no token or someone else's.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import math
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.oauth.installation_store import InstallationStore
from slack_sdk.web import SlackResponse

from bot.slack.rate_limits import MethodPaused, MethodPauses
from bot.store.installations import RedisInstallationStore
from bot.store.sessions import STORE_ERRORS

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Workspace:
    """The workspace a piece of work is for, and the bot token its Web API calls carry."""

    team_id: str | None
    enterprise_id: str | None
    bot_token: str


_serving: contextvars.ContextVar[Workspace | None] = contextvars.ContextVar("serving", default=None)


def current_workspace() -> Workspace | None:
    return _serving.get()


@contextmanager
def serving(workspace: Workspace) -> Iterator[Workspace]:
    """Calls made inside are `workspace`'s (and those of threads started with `carrying_workspace`)."""
    reset = _serving.set(workspace)
    try:
        yield workspace
    finally:
        _serving.reset(reset)


class NoWorkspace(SlackClientError):
    """A Web API call with no workspace set, in OAuth mode: a wiring fault, reported as a failed call."""

    def __init__(self, method: str):
        super().__init__(f"{method} was called for no workspace; no token is sent outside one")


class WorkspaceClient(WebClient):
    """A WebClient whose token is the served workspace's bot token, or `token` (single-workspace mode)
    when none is set; None in OAuth mode. With `pauses`, each call first waits out any pause Slack asked
    for of its method in the served workspace (bot/slack/rate_limits.py)."""

    def __init__(self, *args: Any, pauses: MethodPauses | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pauses = pauses

    @property
    def token(self) -> str | None:
        workspace = _serving.get()
        return workspace.bot_token if workspace is not None else self._own_token

    @token.setter
    def token(self, value: str | None) -> None:
        self._own_token = value

    def _paused_answer(self, method: str, paused: MethodPaused) -> SlackResponse:
        return _paused_answer_of(self, method, paused)

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        if self.token is None and not _names_a_token(kwargs):
            raise NoWorkspace(api_method)
        if self.pauses is not None:
            try:
                self.pauses.before_call(served_team(), api_method)
            except MethodPaused as paused:
                raise SlackApiError(str(paused), self._paused_answer(api_method, paused)) from None
        return super().api_call(api_method, **kwargs)


def _paused_answer_of(client: WebClient, method: str, paused: MethodPaused) -> SlackResponse:
    """The answer Slack would give a call it paused, without the call: 429, with the Retry-After left."""
    return SlackResponse(
        client=client,
        http_verb="POST",
        api_url=f"{client.base_url}{method}",
        req_args={},
        data={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": str(max(1, math.ceil(paused.left_seconds)))},
        status_code=429,
    )


def served_team() -> str | None:
    """The team id of the workspace served here and now, if any."""
    workspace = _serving.get()
    return workspace.team_id if workspace is not None else None


def _names_a_token(kwargs: dict[str, Any]) -> bool:
    """A call given its token explicitly (`auth_test(token=…)`) needs no workspace."""
    return any(isinstance(kwargs.get(part), dict) and "token" in kwargs[part] for part in ("params", "json"))


def carrying_workspace(function: Callable[P, R]) -> Callable[P, R]:
    """`function`, to run in another thread (a timer) for the workspace served here and now."""
    context = contextvars.copy_context()

    @functools.wraps(function)
    def in_context(*args: P.args, **kwargs: P.kwargs) -> R:
        return context.run(function, *args, **kwargs)

    return in_context


class WorkspaceExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, and any pool calling Slack: each function runs in the context of the code
    that submitted it, so it calls Slack for that code's workspace."""

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


def serve_authorized_workspace(context: BoltContext, next_: Callable[[], None]) -> None:
    """Bolt middleware, after its authorization: the request's listeners call Slack with the bot token
    Bolt found for its workspace (the installation's, in OAuth mode)."""
    if context.bot_token:
        _serving.set(Workspace(context.team_id, context.enterprise_id, context.bot_token))
    next_()


def remembering_org_workspaces(installations: RedisInstallationStore) -> Middleware:
    """Bolt middleware in OAuth mode: a request served by an org-wide (Enterprise Grid) installation shows
    which org its workspace belongs to; noted once per process and workspace, so that the worker's and
    the clock's work for that workspace, which carries only its team id, finds the org's installation."""
    noted: set[tuple[str, str]] = set()

    def remember(context: BoltContext, next_: Callable[[], None]) -> None:
        enterprise_id, team_id = context.enterprise_id, context.team_id
        if (
            context.is_enterprise_install
            and enterprise_id
            and team_id
            and (enterprise_id, team_id) not in noted
        ):
            try:
                installations.note_org_workspace(enterprise_id, team_id)
                noted.add((enterprise_id, team_id))
            except STORE_ERRORS as error:
                log.warning(
                    "could not note the org of workspace %s (next request tries again): %s", team_id, error
                )
        next_()

    return remember


Middleware = Callable[[BoltContext, Callable[[], None]], None]


class NotInstalled(Exception):
    def __init__(self, team_id: str):
        self.team_id = team_id
        super().__init__(f"the app is not installed in workspace {team_id}")


class WorkspaceTokens:
    """Where the worker's jobs and the clock's items find their workspace's bot token, by team id: the
    installation store in OAuth mode, or else the one SLACK_BOT_TOKEN."""

    def __init__(self, installations: InstallationStore | None, single_token: str | None = None):
        if installations is None and single_token is None:
            raise ValueError("either an installation store or a bot token")
        self.installations = installations
        self.single_token = single_token

    def workspace(self, team_id: str) -> Workspace:
        """The workspace with its bot token. Raises NotInstalled (logged, one line) when it has no
        installation; InstallationUndecryptable (logged by the store) when its tokens cannot be read."""
        if self.installations is None:
            assert self.single_token is not None
            return Workspace(team_id, None, self.single_token)
        bot = self.installations.find_bot(enterprise_id=None, team_id=team_id, is_enterprise_install=False)
        if bot is None or not bot.bot_token:
            not_installed = NotInstalled(team_id)
            log.warning("%s: skipped", not_installed)
            raise not_installed
        return Workspace(team_id, bot.enterprise_id, bot.bot_token)

    @contextmanager
    def serving(self, team_id: str) -> Iterator[Workspace]:
        """Web API calls inside are `team_id`'s. Raises NotInstalled."""
        with serving(self.workspace(team_id)) as workspace:
            yield workspace
