"""What /health says of the processes behind the app: workers and clocks by their heartbeats, and the
reports still to deliver, each written by the process that owns it."""

from __future__ import annotations

import time

import pytest
import redis
from rq import SimpleWorker

from bot.store.heartbeats import HEARTBEATS_KEPT_SECONDS, ClockHeartbeats
from bot.store.jobs import JobQueue
from bot.usecases.health import STALE_AFTER_SECONDS, STUCK_AFTER_SECONDS, health
from tests.cli.test_jobs import finished_assessment


@pytest.fixture
def client(own_redis_client: redis.Redis) -> redis.Redis:
    return own_redis_client


def test_nothing_running_is_said_as_the_two_processes_missing(client: redis.Redis) -> None:
    seen = health(client, time.time())
    assert (seen.workers, seen.worker_heartbeat_age, seen.clock_heartbeat_age) == (0, None, None)
    assert (seen.undelivered, seen.oldest_undelivered_age) == (0, None)
    assert [problem.split(":")[0] for problem in seen.problems] == [
        "no worker is running",
        "no clock is running",
    ]


def test_a_worker_a_clock_and_a_report_stuck_for_long(client: redis.Redis) -> None:
    worker = SimpleWorker([JobQueue(client, []).queue], connection=client, name="worker-one")
    worker.register_birth()
    now = time.time()
    ClockHeartbeats(client).beat("host:1", now - 5)
    finished_assessment(client)
    try:
        fresh = health(client, now + 1)
        stuck = health(client, now + STUCK_AFTER_SECONDS + 60)
    finally:
        worker.register_death()
    assert fresh.workers == 1 and fresh.worker_heartbeat_age is not None and fresh.worker_heartbeat_age < 60
    assert fresh.clock_heartbeat_age is not None and 5 <= fresh.clock_heartbeat_age < 60
    assert fresh.undelivered == 1 and fresh.problems == ()
    # Ten minutes on, nobody beat again and the report is still there.
    assert stuck.problems[:2] == (
        "no worker is running: reports, team reports and the Home tab wait for one",
        "no clock is running: reminders, unfinished-assessment nudges and run deadlines wait",
    )
    assert stuck.problems[2].startswith("the oldest undelivered report was written ")
    assert STALE_AFTER_SECONDS < STUCK_AFTER_SECONDS


def test_a_clock_gone_for_a_day_is_forgotten(client: redis.Redis) -> None:
    heartbeats, now = ClockHeartbeats(client), time.time()
    heartbeats.beat("host:1", now - HEARTBEATS_KEPT_SECONDS - 1)
    heartbeats.beat("host:2", now)
    assert client.zrange("mlops-compass:clock-heartbeats", 0, -1) == [b"host:2"]
    assert heartbeats.latest() == pytest.approx(now)
