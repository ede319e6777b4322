"""Message updates scheduled for later in this process: a throttled message's follow-up (a team run's
live count, a workshop question's votes), each on a timer thread of its own that calls Slack for the
workspace that scheduled it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from bot.slack.workspace_client import carrying_workspace


class FollowUps:
    def __init__(self) -> None:
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()

    def schedule(self, delay_seconds: float, update: Callable[[], None]) -> None:
        """Run `update` in `delay_seconds`; what it raises is its own to log."""

        def run() -> None:
            try:
                update()
            finally:
                with self._lock:
                    self._timers.discard(timer)

        timer = threading.Timer(delay_seconds, carrying_workspace(run))
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()

    def stop(self) -> None:
        """Cancel the scheduled updates and wait for any that are running (a test's clean-up; a process
        that stops without this leaves the update to the next change that shows it)."""
        with self._lock:
            timers = list(self._timers)
            self._timers.clear()
        for timer in timers:
            timer.cancel()
            if timer is not threading.current_thread():
                timer.join(timeout=5)
