"""Throttled message updates, in Redis: the two claims that let many processes update one Slack message
at most once a window, and schedule one follow-up after it (the rule is bot/usecases/team_count.py's).

Each claim is one key that expires on its own (SET NX PX): the window's while the window runs, the
follow-up's a little longer than the follow-up waits, so that a process that dies holding it only delays
the next update, never stops it.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from bot.store.sessions import _unavailable_on_connection_error


@dataclass(frozen=True)
class UpdateClaims:
    """The claims throttling the updates of one message: `window_key` held while the message was just
    updated, `due_key` while a follow-up update is scheduled."""

    redis: redis.Redis
    window_key: str
    due_key: str

    def claim_window(self, window_ms: int) -> bool:
        """True for the one caller per window that may update the message now."""
        with _unavailable_on_connection_error():
            return bool(self.redis.set(self.window_key, 1, nx=True, px=window_ms))

    def claim_follow_up(self, ttl_ms: int) -> int | None:
        """For the one caller that schedules the update after the window: how long until the window ends
        (ms; 0 when it has), read in the same round trip as the claim. None for the others."""
        with _unavailable_on_connection_error():
            pipe = self.redis.pipeline(transaction=False)
            pipe.set(self.due_key, 1, nx=True, px=ttl_ms)
            pipe.pttl(self.window_key)
            claimed, window_left_ms = pipe.execute()
        return max(0, int(window_left_ms)) if claimed else None

    def release_follow_up(self) -> None:
        with _unavailable_on_connection_error():
            self.redis.delete(self.due_key)
