"""Slack's per-method rate limits, honoured by every process together rather than found by each one's 429.

When Slack answers a Web API call with 429, ``SharedRateLimitRetryHandler`` (one of the client's
slack_sdk retry handlers) records the pause for that workspace and method, in this process and in Redis
(bot/store/slack_limits.py), then waits it out and retries, as slack_sdk's own handler does. Before each
call the client asks ``MethodPauses.wait_out`` whether the method is paused in the served workspace and
waits if so: the worker's sixteen threads, and the other workers, then wait for the one 429 instead of
each sending its own.

Where the pause is read differs by process. The worker and the clock read Redis before each call (one
PTTL): they make many calls, off anyone's click. The clock does not wait: it has its own back-off on a
429 (bot/slack/reminders.py), so a paused method is answered as Slack would, with a 429 and the
Retry-After left (``refuse_while_paused``), without a call; and its own 429s are recorded
(``RecordingRateLimitHandler``) though it retries none itself. The web process reads only the pauses it
learned itself, kept in memory, so that a click gains no Redis round trip per Slack call; it still
records its 429s in Redis for the others.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.store.sessions import STORE_ERRORS
from bot.store.slack_limits import SlackMethodPauses

log = logging.getLogger(__name__)

# Slack's Retry-After is whole seconds; a little spread keeps the threads that waited together from all
# calling again in the same instant.
JITTER_SECONDS = 0.25


class MethodPauses:
    """The pauses this process knows of, by workspace and method: learned from its own 429s (in memory),
    and, with `read_shared`, from every process's (in Redis). A Redis that does not answer pauses nothing:
    the call goes to Slack, whose 429 then paces it."""

    def __init__(
        self,
        shared: SlackMethodPauses | None,
        *,
        read_shared: bool,
        refuse_while_paused: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.shared = shared
        self.read_shared = read_shared and shared is not None
        self.refuse_while_paused = refuse_while_paused
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._ends: dict[tuple[str | None, str], float] = {}

    def record(self, team_id: str | None, method: str, seconds: float) -> None:
        """Slack asked for `seconds` without `method` in `team_id`."""
        with self._lock:
            ends = self._clock() + seconds
            key = (team_id, method)
            self._ends[key] = max(ends, self._ends.get(key, 0.0))
        if self.shared is not None and team_id is not None:
            try:
                self.shared.pause(team_id, method, round(seconds * 1000))
            except STORE_ERRORS as error:
                log.warning("could not share Slack's pause of %s in %s: %s", method, team_id, error)

    def left_seconds(self, team_id: str | None, method: str) -> float:
        with self._lock:
            now = self._clock()
            ends = self._ends.get((team_id, method))
            if ends is not None and ends <= now:
                del self._ends[(team_id, method)]
            local = max(0.0, ends - now) if ends is not None else 0.0
        if not self.read_shared or team_id is None:
            return local
        assert self.shared is not None
        try:
            shared = self.shared.left_ms(team_id, method) / 1000
        except STORE_ERRORS as error:
            log.warning("could not read Slack's pauses of %s in %s: %s", method, team_id, error)
            return local
        return max(local, shared)

    def before_call(self, team_id: str | None, method: str) -> None:
        """Wait until `method` is not paused in `team_id`; or, with `refuse_while_paused`, raise
        MethodPaused if it is."""
        if not self.refuse_while_paused:
            self.wait_out(team_id, method)
        elif (left := self.left_seconds(team_id, method)) > 0:
            raise MethodPaused(method, left)

    def wait_out(self, team_id: str | None, method: str) -> float:
        """Wait until `method` is not paused in `team_id`; the seconds waited."""
        waited = 0.0
        while (left := self.left_seconds(team_id, method)) > 0:
            log.info("waiting %.1fs: Slack paused %s in %s", left, method, team_id)
            pause = left + random.uniform(0, JITTER_SECONDS)
            self._sleep(pause)
            waited += pause
        return waited


class MethodPaused(Exception):
    def __init__(self, method: str, left_seconds: float):
        super().__init__(f"Slack paused {method} for {left_seconds:.1f}s more")
        self.method = method
        self.left_seconds = left_seconds


class RecordingRateLimitHandler(RetryHandler):
    """Records a 429's pause for every thread and process, and retries nothing: for a client whose
    caller has its own back-off (the clock's)."""

    def __init__(self, pauses: MethodPauses, served_team: Callable[[], str | None]):
        super().__init__(max_retry_count=0)
        self.pauses = pauses
        self.served_team = served_team

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            self.pauses.record(self.served_team(), method_of(request.url), retry_after_seconds(response))
        return False


class SharedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's rate-limit retry, with the pause recorded for every thread and process first.
    `served_team` names the workspace of the call being made (the client's context)."""

    def __init__(self, pauses: MethodPauses, served_team: Callable[[], str | None], max_retry_count: int):
        super().__init__(max_retry_count=max_retry_count)
        self.pauses = pauses
        self.served_team = served_team

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            return super().prepare_for_next_attempt(
                state=state, request=request, response=response, error=error
            )
        method = method_of(request.url)
        self.pauses.record(self.served_team(), method, retry_after_seconds(response))
        state.next_attempt_requested = True
        self.pauses.wait_out(self.served_team(), method)
        state.increment_current_attempt()


def method_of(url: str) -> str:
    """The Web API method a request's URL calls (…/api/chat.postMessage → chat.postMessage)."""
    return urlsplit(url).path.rsplit("/", 1)[-1]


def retry_after_seconds(response: HttpResponse) -> float:
    """Slack's Retry-After, in seconds; 1 when it is missing or unreadable (slack_sdk's own default)."""
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return max(0.0, float(values[0]))
            except ValueError:
                break
    return 1.0
