"""A worker process that stops beating mid-job gives its jobs back: a delivery is queued again (its outbox
record says what Slack has), any other job is failed and listed; a job whose worker still beats is left
to it. A scheduler that stopped beating lets go of the queue's scheduler lock."""

from __future__ import annotations

import time

import pytest
import redis
from rq import SimpleWorker
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler

from bot.store.jobs import ABANDONED, JobQueue, beat, delivery_job_id, this_process
from bot.store.outbox import DeliveryRef


@pytest.fixture
def client(own_redis_client: redis.Redis) -> redis.Redis:
    return own_redis_client


def started_by(worker: SimpleWorker, job: Job) -> None:
    """What RQ's worker writes as it starts a job it dequeued."""
    worker.prepare_execution(job)
    worker.prepare_job_execution(job)


def test_the_jobs_of_a_worker_process_that_stopped_beating_are_taken_back_once(client: redis.Redis) -> None:
    queue = JobQueue(client, [5])
    ref = DeliveryRef("T0GONE", "personal", "result-one")
    assert queue.deliver(ref)
    queue.run_later("publish_home", "T0GONE", "U0GONE")
    worker = SimpleWorker([queue.queue], connection=client, name="worker-gone")
    worker.register_birth()
    for job_id in queue.queue.get_job_ids():
        job = queue.queue.fetch_job(job_id)
        assert job is not None
        queue.queue.remove(job)
        started_by(worker, job)

    beat(client, this_process())
    running = queue.in_flight()
    assert len(running) == 2 and all(job.worker_alive and job.worker == "worker-gone" for job in running)
    assert queue.recover_abandoned() == []
    assert not queue.deliver(ref)  # running on a live worker: not queued twice

    # The process's last beat, then none: it lapses.
    beat(client, this_process(), seconds=1)
    deadline = time.monotonic() + 30
    while queue.worker_alive("worker-gone"):
        assert time.monotonic() < deadline, "the last beat never lapsed"
        time.sleep(0.1)
    [task] = [job.job_id for job in queue.in_flight() if job.job_id != delivery_job_id(ref)]
    assert sorted(queue.recover_abandoned()) == sorted([delivery_job_id(ref), task])
    assert queue.recover_abandoned() == []
    assert queue.in_flight() == []
    assert queue.queue.get_job_ids() == [delivery_job_id(ref)]
    delivery = queue.queue.fetch_job(delivery_job_id(ref))
    assert delivery is not None and delivery.get_status() == JobStatus.QUEUED and delivery.retries_left == 1
    [failed] = queue.failed()
    assert failed.job_id == task and failed.error == ABANDONED


def test_a_scheduler_that_stopped_beating_lets_go_of_the_queue_scheduler_lock(client: redis.Redis) -> None:
    queue = JobQueue(client, [])
    stopped = RQScheduler([queue.queue], connection=client, name="scheduler-stopped")
    assert stopped.acquire_locks() == {queue.queue.name}
    stopped.register_birth()
    assert queue.release_silent_scheduler(time.time()) is None

    assert queue.release_silent_scheduler(time.time() + 60) == "scheduler-stopped"
    running = RQScheduler([queue.queue], connection=client, name="scheduler-next")
    assert running.acquire_locks() == {queue.queue.name}
