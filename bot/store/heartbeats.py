"""The clock processes' heartbeats: each writes the time of its last tick, so /health can tell whether any
clock is running (the workers' heartbeats are RQ's own, read through bot/store/jobs.py)."""

from __future__ import annotations

import os
import socket

import redis

from bot.store import keys

# A clock that has not ticked for this long is forgotten; one still running writes itself back.
HEARTBEATS_KEPT_SECONDS = 24 * 3600


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ClockHeartbeats:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def beat(self, name: str, now: float) -> None:
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.CLOCK_HEARTBEATS, {name: now})
            pipe.zremrangebyscore(keys.CLOCK_HEARTBEATS, "-inf", now - HEARTBEATS_KEPT_SECONDS)
            pipe.execute()

    def latest(self) -> float | None:
        """When any clock last ticked; None when none has in the last day."""
        newest = self.redis.zrevrange(keys.CLOCK_HEARTBEATS, 0, 0, withscores=True)
        return float(newest[0][1]) if newest else None
