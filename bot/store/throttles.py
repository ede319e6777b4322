"""Throttled message updates, in Redis: the two claims that let many processes update one Slack message
at most once a window, and schedule one follow-up after it (the rule is bot/usecases/team_count.py's).

Each claim is one key that expires on its own (SET NX PX): the window's while the window runs, the
follow-up's a little longer than the follow-up waits, so that a process that dies holding it only delays
the next update, never stops it. Both are tried in one script, so that the decision costs one round trip
on its own (``claim``), or none more inside a transaction that has to run anyway (``queue_claim``: a
workshop's vote decides its update in the vote's own EXEC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from bot.store.sessions import _unavailable_on_connection_error

# KEYS: the window's claim, the follow-up's. ARGV: the window (ms), the follow-up claim's life (ms).
# -1: the window is this caller's; n >= 0: the follow-up is, the window ending in n ms; -2: neither.
_CLAIM = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return -1 end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then
  local left = redis.call('PTTL', KEYS[1])
  if left < 0 then left = 0 end
  return left
end
return -2
"""
_WINDOW = -1
_NEITHER = -2


@dataclass(frozen=True)
class Claimed:
    """What one caller won: the window (update now), or the follow-up (update once the window ends, in
    ``follow_up_in_ms``), or neither."""

    window: bool = False
    follow_up_in_ms: int | None = None

    @classmethod
    def of_reply(cls, reply: Any) -> Claimed:
        value = int(reply)
        if value == _WINDOW:
            return cls(window=True)
        if value == _NEITHER:
            return cls()
        return cls(follow_up_in_ms=value)


@dataclass(frozen=True)
class UpdateClaims:
    """The claims throttling the updates of one message: `window_key` held while the message was just
    updated, `due_key` while a follow-up update is scheduled."""

    redis: redis.Redis
    window_key: str
    due_key: str

    def claim(self, window_ms: int, follow_up_ttl_ms: int) -> Claimed:
        """The window if it is free; else the follow-up if no one holds it; else neither."""
        with _unavailable_on_connection_error():
            return Claimed.of_reply(
                self.redis.eval(_CLAIM, 2, *self._claim_args(window_ms, follow_up_ttl_ms))
            )

    def queue_claim(self, pipe: Any, window_ms: int, follow_up_ttl_ms: int) -> None:
        """Queue ``claim`` in a transaction's MULTI; its reply, read with ``Claimed.of_reply``, is what
        ``claim`` would have returned at EXEC."""
        pipe.eval(_CLAIM, 2, *self._claim_args(window_ms, follow_up_ttl_ms))

    def window_left_ms(self) -> int:
        """How long the window still runs (0 when no one holds it): an update claimed that long ago or
        less may still be on its way to Slack."""
        with _unavailable_on_connection_error():
            return max(0, int(self.redis.pttl(self.window_key)))

    def release_follow_up(self) -> None:
        with _unavailable_on_connection_error():
            self.redis.delete(self.due_key)

    def _claim_args(self, window_ms: int, follow_up_ttl_ms: int) -> tuple[str, str, int, int]:
        return (self.window_key, self.due_key, window_ms, follow_up_ttl_ms)


@dataclass(frozen=True)
class UpdateClaim:
    """A claim to try with a write: which claims, and how long each is held."""

    claims: UpdateClaims
    window_ms: int
    follow_up_ttl_ms: int
