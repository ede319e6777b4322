"""A worker process that stops beating mid-job gives its jobs back: a delivery is queued again (its outbox
record says what Slack has), any other job is failed and listed; a job whose worker still beats is left
to it, unless its run ended when Redis went away (a restart, a failover): then the process takes back
what that run left started, and lets go of the delivery it held. A scheduler that stopped beating lets go
of the queue's scheduler lock; the retry scheduler works on the queue's own client."""

from __future__ import annotations

import time

import pytest
import redis
from rq import SimpleWorker
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler

from bot.store.jobs import ABANDONED, JobQueue, RetryScheduler, beat, delivery_job_id, this_process
from bot.store.outbox import DeliveryRef, Outbox


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


def test_the_jobs_a_run_left_when_redis_went_away_are_taken_back_from_a_process_that_still_beats(
    client: redis.Redis,
) -> None:
    queue, outbox = JobQueue(client, [5]), Outbox(client)
    ref = DeliveryRef("T0ENDED", "personal", "result-one")
    assert queue.deliver(ref)
    ended = SimpleWorker([queue.queue], connection=client, name="run-ended")
    ended.register_birth()
    [job_id] = queue.queue.get_job_ids()
    job = queue.queue.fetch_job(job_id)
    assert job is not None
    queue.queue.remove(job)
    started_by(ended, job)
    # The ended run's delivery held the report and could not let go of it while Redis was away.
    assert outbox.claim(ref, 600, this_process())
    # Another run of this process, still going, is left alone.
    other = SimpleWorker([queue.queue], connection=client, name="run-going")
    other.register_birth()
    queue.run_later("publish_home", "T0ENDED", "U0ENDED")
    [task_id] = [i for i in queue.queue.get_job_ids() if i != job_id]
    task = queue.queue.fetch_job(task_id)
    assert task is not None
    queue.queue.remove(task)
    started_by(other, task)
    beat(client, this_process())
    assert queue.recover_abandoned() == []  # the process beats: nothing looks abandoned

    assert queue.take_back_from("run-ended", outbox) == [delivery_job_id(ref)]
    assert outbox.holder(ref) is None
    assert queue.queue.get_job_ids() == [delivery_job_id(ref)]
    assert [running.job_id for running in queue.in_flight()] == [task_id]
    assert queue.take_back_from("run-ended", outbox) == []


def test_the_retry_scheduler_works_on_the_queue_s_own_client(client: redis.Redis) -> None:
    """RQ's scheduler would build a connection pool of its own from the client's settings; through
    Sentinel that pool would not follow a failover."""
    queue = JobQueue(client, [])
    scheduler = RetryScheduler(queue)
    assert scheduler.scheduler.connection is client
    assert scheduler.tick()
    scheduler.stop()


def test_a_delivery_whose_record_says_queued_but_is_on_no_queue_is_queued_afresh(client: redis.Redis) -> None:
    queue = JobQueue(client, [5])
    ref = DeliveryRef("T0LOST", "personal", "result-lost")
    assert queue.deliver(ref)
    assert not queue.deliver(ref)  # waiting on the queue: not queued twice
    # What a failover's new primary may hold: the job's record, without its place on the queue.
    client.lrem(queue.queue.key, 0, delivery_job_id(ref))
    assert queue.deliver(ref)
    assert queue.queue.get_job_ids() == [delivery_job_id(ref)]


def test_a_delivery_taken_off_the_queue_and_never_started_is_queued_again_once(client: redis.Redis) -> None:
    queue = JobQueue(client, [5])
    ref = DeliveryRef("T0TAKEN", "personal", "result-taken")
    assert queue.deliver(ref)
    queue.run_later("publish_home", "T0TAKEN", "U0TAKEN")
    # A loop took both off the queue onto RQ's intermediate list, and Redis went away before it started them.
    for job_id in queue.queue.get_job_ids():
        client.lrem(queue.queue.key, 0, job_id)
        client.rpush(queue.queue.intermediate_queue_key, job_id)
    beat(client, this_process())
    outbox = Outbox(client)
    assert queue.take_back_from("worker-ended", outbox) == [delivery_job_id(ref)]
    assert queue.take_back_from("worker-ended", outbox) == []
    # The delivery waits on the queue again; the task, which may have told someone already, is left.
    assert queue.queue.get_job_ids() == [delivery_job_id(ref)]
