"""How the processes behind the app are doing, from what they leave in Redis: the workers' and clocks'
heartbeats and the reports still to deliver. `/health` on the web process reports it; the web process stays
healthy itself (200) as long as Redis answers, since a load balancer should not take it out of rotation for
a worker that is down, but the body says what is wrong."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import redis

from bot.store.heartbeats import ClockHeartbeats
from bot.store.jobs import JobQueue
from bot.store.outbox import Outbox

# A heartbeat older than this means the process is gone: RQ beats every few seconds while idle, the clock
# on every tick (CLOCK_TICK_SECONDS, a few seconds).
STALE_AFTER_SECONDS = 120
# A report still undelivered after this long is stuck: a healthy worker delivers one in seconds, and the
# retries (DELIVERY_RETRY_SECONDS) end within minutes.
STUCK_AFTER_SECONDS = 600


@dataclass(frozen=True)
class Health:
    workers: int
    worker_heartbeat_age: float | None  # seconds since the freshest worker's heartbeat
    clock_heartbeat_age: float | None  # seconds since any clock's last tick
    undelivered: int
    oldest_undelivered_age: float | None
    problems: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["problems"] = list(self.problems)
        return data


def _age(now: float, then: float | None) -> float | None:
    return None if then is None else round(max(0.0, now - then), 1)


def health(client: redis.Redis, now: float) -> Health:
    workers = JobQueue(client, retry_seconds=()).workers(now)
    ages = [w.heartbeat_age for w in workers if w.heartbeat_age is not None]
    worker_age = round(min(ages), 1) if ages else None
    clock_age = _age(now, ClockHeartbeats(client).latest())
    outbox = Outbox(client)
    oldest = outbox.undelivered(1)
    oldest_age = _age(now, oldest[0][1]) if oldest else None
    problems = []
    if worker_age is None or worker_age > STALE_AFTER_SECONDS:
        problems.append("no worker is running: reports, team reports and the Home tab wait for one")
    if clock_age is None or clock_age > STALE_AFTER_SECONDS:
        problems.append("no clock is running: reminders, unfinished-assessment nudges and run deadlines wait")
    if oldest_age is not None and oldest_age > STUCK_AFTER_SECONDS:
        problems.append(f"the oldest undelivered report was written {round(oldest_age)} s ago")
    return Health(len(workers), worker_age, clock_age, outbox.count(), oldest_age, tuple(problems))
