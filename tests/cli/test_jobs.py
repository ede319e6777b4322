"""`mlops-compass jobs` shows what is stuck, not only what failed: every report not yet delivered with
what its job is doing, and the workers with their last heartbeat."""

from __future__ import annotations

import time

import pytest
import redis
from rq import SimpleWorker

from bot.cli.worker import ago, jobs_lines
from bot.engine.answers import OptionChoice
from bot.engine.catalog import BankCatalog
from bot.store.jobs import NO_JOB, JobQueue, beat, this_process
from bot.store.outbox import DeliveryRef, Outbox
from bot.store.sessions import Respondent, SessionStore
from bot.usecases.personal import answered_but_last, apply

PULSE = BankCatalog.from_directory().by_id("pulse")


@pytest.fixture
def client(own_redis_client: redis.Redis) -> redis.Redis:
    return own_redis_client


def finished_assessment(client: redis.Redis) -> DeliveryRef:
    """A person's last answer, as the web process applies it with a worker to deliver the report: the
    pending delivery is written in the answer's transaction."""
    store = SessionStore(client)
    respondent = Respondent(team_id="T0JOBS", user_id="U0JOBS")
    record, last = answered_but_last(respondent, PULSE, {q.id: OptionChoice(1) for q in PULSE.questions})
    store.start(record, may_replace=lambda _: True)
    applied = apply(store, BankCatalog([PULSE]), respondent, record.session_id, last, pending_delivery=True)
    assert applied.record.result_id is not None
    return DeliveryRef("T0JOBS", "personal", applied.record.result_id)


def test_a_report_not_yet_delivered_is_listed_with_its_age_and_its_job(client: redis.Redis) -> None:
    ref = finished_assessment(client)
    queue, outbox = JobQueue(client, []), Outbox(client)
    later = time.time() + 90

    lines = jobs_lines(queue, outbox, later)
    assert lines[0] == "Reports not yet delivered: 1 (the oldest written 90 s ago)"
    assert lines[1] == f"  {ref.member}\twritten 90 s ago\t{NO_JOB}"
    assert lines[2] == "No worker is running: no report is delivered until `mlops-compass worker` starts."
    assert lines[-1] == "No failed jobs."

    assert queue.deliver(ref)
    assert jobs_lines(queue, outbox, later)[1].endswith("\tqueued")


def test_a_running_worker_is_listed_with_its_heartbeat(client: redis.Redis) -> None:
    queue = JobQueue(client, [])
    worker = SimpleWorker([queue.queue], connection=client, name="worker-one")
    worker.register_birth()
    try:
        lines = jobs_lines(queue, Outbox(client), time.time() + 5)
    finally:
        worker.register_death()
    assert lines[:3] == ["Every report has been delivered.", "Workers: 1", lines[2]]
    name, state, beat = lines[2].strip().split("\t")
    assert name == "worker-one" and state and beat in {f"heartbeat {ago(s)}" for s in range(4, 8)}


def test_a_worker_whose_process_does_not_beat_is_listed_as_gone(client: redis.Redis) -> None:
    queue = JobQueue(client, [])
    # Registered from this process, as `mlops-compass worker` registers it: gone until this process beats.
    worker = SimpleWorker([queue.queue], connection=client, name="worker-silent")
    worker.register_birth()
    try:
        silent = jobs_lines(queue, Outbox(client), time.time())[2]
        beat(client, this_process())
        beating = jobs_lines(queue, Outbox(client), time.time())[2]
    finally:
        worker.register_death()
    assert silent.split("\t")[1] == "gone: its process stopped beating"
    assert "gone" not in beating


@pytest.mark.parametrize(
    ("seconds", "said"), [(0, "0 s ago"), (119, "119 s ago"), (150, "2 min ago"), (7300, "2 h ago")]
)
def test_ages_are_said_in_the_unit_that_reads_best(seconds: float, said: str) -> None:
    assert ago(seconds) == said
