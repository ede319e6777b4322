"""The worker's queue (RQ on the app's Redis): what the web process hands off, and what failed.

A delivery's job id is derived from the report it delivers, so enqueuing it again while it waits, runs or
is scheduled for a retry adds nothing; one that failed or finished is enqueued afresh. Its outbox record
(bot/store/outbox.py) says what Slack already accepted, so a new run resumes rather than posts again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC

import redis
from rq import Queue, Retry, Worker, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from bot.store.outbox import DeliveryRef

QUEUE_NAME = "mlops-compass"
# The job the worker runs for a delivery (bot/cli/worker.py); named, so the web process need not import it.
DELIVER_REPORT = "bot.cli.worker.deliver_report"
# The job for the other work the web process hands off: the task's name, then its arguments.
RUN_TASK = "bot.cli.worker.run_task"
JOB_TIMEOUT_SECONDS = 300
FAILED_KEPT_SECONDS = 30 * 24 * 3600
_LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.CREATED}


def delivery_job_id(ref: DeliveryRef) -> str:
    return f"report-{ref.kind}-{ref.team_id}-{ref.delivery_id}"


@dataclass(frozen=True)
class FailedJob:
    job_id: str
    description: str
    error: str


@dataclass(frozen=True)
class WorkerSeen:
    """A worker as its heartbeat in Redis shows it."""

    name: str
    state: str  # "busy", "idle", ...
    heartbeat_age: float | None  # seconds since its last heartbeat


# What a delivery's job is doing, in the words `mlops-compass jobs` prints.
JOB_STATES = {
    JobStatus.QUEUED: "queued",
    JobStatus.STARTED: "being delivered",
    JobStatus.SCHEDULED: "waiting for a retry",
    JobStatus.DEFERRED: "queued",
    JobStatus.CREATED: "queued",
    JobStatus.FAILED: "failed",
    JobStatus.FINISHED: "finished",
    JobStatus.STOPPED: "stopped",
    JobStatus.CANCELED: "cancelled",
}
NO_JOB = "no job yet: a worker's sweep queues it"


def last_attempt() -> bool:
    """Whether the running job has no retry left (outside a job: it is the only attempt)."""
    job = get_current_job()
    return job is None or not job.retries_left


class JobQueue:
    def __init__(self, client: redis.Redis, retry_seconds: Sequence[int]) -> None:
        """`retry_seconds`: the wait before each retry of a delivery Slack did not accept."""
        self.queue = Queue(QUEUE_NAME, connection=client)
        self.retry_seconds = tuple(retry_seconds)

    def deliver(self, ref: DeliveryRef) -> bool:
        """Enqueue the delivery unless its job is already waiting or running; True when enqueued."""
        job_id = delivery_job_id(ref)
        try:
            status = Job.fetch(job_id, connection=self.queue.connection).get_status()
        except NoSuchJobError:
            status = None
        if status in _LIVE:
            return False
        self.queue.failed_job_registry.remove(job_id)
        self.queue.enqueue(
            DELIVER_REPORT,
            ref.team_id,
            ref.kind,
            ref.delivery_id,
            job_id=job_id,
            job_timeout=JOB_TIMEOUT_SECONDS,
            failure_ttl=FAILED_KEPT_SECONDS,
            result_ttl=3600,
            retry=Retry(max=len(self.retry_seconds), interval=list(self.retry_seconds))
            if self.retry_seconds
            else None,
        )
        return True

    def run_later(self, task: str, *args: str) -> None:
        """Enqueue a task (publish a Home tab, send an export or a nudge): not retried, since each one tells
        the person itself when Slack refuses it; one that raised is kept among the failed jobs."""
        self.queue.enqueue(
            RUN_TASK,
            task,
            *args,
            job_timeout=JOB_TIMEOUT_SECONDS,
            failure_ttl=FAILED_KEPT_SECONDS,
            result_ttl=60,
        )

    def delivery_state(self, ref: DeliveryRef) -> str:
        """What the job of a pending delivery is doing, or that it has none yet."""
        try:
            status = Job.fetch(delivery_job_id(ref), connection=self.queue.connection).get_status()
        except NoSuchJobError:
            return NO_JOB
        return JOB_STATES.get(status, str(status))

    def workers(self, now: float) -> list[WorkerSeen]:
        """The workers registered on this queue with their last heartbeat (RQ drops a worker whose
        heartbeat lapsed)."""
        seen = []
        for worker in Worker.all(queue=self.queue):
            beat = worker.last_heartbeat
            age = None if beat is None else max(0.0, now - beat.replace(tzinfo=UTC).timestamp())
            seen.append(WorkerSeen(worker.name, str(worker.get_state()), age))
        return sorted(seen, key=lambda w: w.name)

    def failed(self) -> list[FailedJob]:
        jobs = []
        registry = self.queue.failed_job_registry
        for job_id in registry.get_job_ids():
            job = self.queue.fetch_job(job_id)
            if job is None:
                continue
            error = (job.exc_info or "").strip().splitlines()
            jobs.append(FailedJob(job_id, job.description or job_id, error[-1] if error else ""))
        return jobs
