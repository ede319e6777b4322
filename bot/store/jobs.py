"""The worker's queue (RQ on the app's Redis): what the web process hands off, and what failed.

A delivery's job id is derived from the report it delivers, so enqueuing it again while it waits, runs or
is scheduled for a retry adds nothing; one that failed or finished is enqueued afresh. Its outbox record
(bot/store/outbox.py) says what Slack already accepted, so a new run resumes rather than posts again.

A worker process that dies mid-job (SIGKILL, the OOM killer, a lost machine) leaves RQ's record of that
job "started", and RQ itself gives up on it only after the job's time limit and its own ten-minute
maintenance. Each worker process therefore beats every WORKER_BEAT_SECONDS (`beat`, in a thread of its
own, so a long job does not hold it up): the jobs of a worker whose process stopped beating are taken
back at the next sweep (`recover_abandoned`), and the RQ scheduler lock its scheduler held is let go
(`release_silent_scheduler`), so retries do not wait for the lock to expire.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from rq import Queue, Retry, SimpleWorker, Worker, get_current_job
from rq.exceptions import NoSuchJobError, SchedulerNotFound
from rq.job import Dependency, Job, JobStatus
from rq.job_lifecycle import record_job_failure
from rq.scheduler import RQScheduler
from rq.scripts import release_lock
from rq.timeouts import TimerDeathPenalty
from rq.utils import now

from bot.store import keys
from bot.store.connection import UNREACHABLE
from bot.store.outbox import DeliveryRef, Outbox
from bot.store.transactions import TooManyConcurrentChanges, optimistic

QUEUE_NAME = "mlops-compass"
# The job the worker runs for a delivery (bot/cli/worker.py); named, so the web process need not import it.
DELIVER_REPORT = "bot.cli.worker.deliver_report"
# The job for the other work the web process hands off: the task's name, then its arguments.
RUN_TASK = "bot.cli.worker.run_task"
JOB_TIMEOUT_SECONDS = 300
FAILED_KEPT_SECONDS = 30 * 24 * 3600
_LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.CREATED}
# A worker process beats this often, and counts as gone once it has not for WORKER_ALIVE_SECONDS: several
# beats missed, so a busy machine does not have a live worker's jobs taken from it.
WORKER_BEAT_SECONDS = 2.0
WORKER_ALIVE_SECONDS = 10
# RQ's scheduler beats every second; one silent this long is gone, and the lock it held is let go.
SCHEDULER_SILENT_SECONDS = 10
ABANDONED = "its worker stopped while running it"
# The job that deletes jobs that were running when their workspace or person was deleted, once they end.
DELETE_JOBS = "bot.store.jobs.delete_jobs"
FETCH_BATCH = 200


def delivery_job_id(ref: DeliveryRef) -> str:
    return f"report-{ref.kind}-{ref.team_id}-{ref.delivery_id}"


@dataclass(frozen=True)
class Naming:
    """Which jobs name a workspace, or one person in it: a job's arguments name its workspace (a
    delivery's first, a task's after the task's name), and a task's later arguments the people it is
    for. `deliveries`: the job ids of the person's report deliveries, which name their report only."""

    team_id: str
    user_id: str | None = None
    deliveries: frozenset[str] = frozenset()

    def matches(self, job: Job) -> bool:
        if job.id in self.deliveries:
            return True
        try:
            args = [str(arg) for arg in job.args]
        except Exception:  # a job whose arguments no longer load names nobody we can tell
            return False
        if job.func_name == DELIVER_REPORT and args:
            team_id, rest = args[0], args[1:]
        elif job.func_name == RUN_TASK and len(args) > 1:
            team_id, rest = args[1], args[2:]
        else:
            return False
        return team_id == self.team_id and (self.user_id is None or self.user_id in rest)


def delete_jobs(*job_ids: str) -> str:
    """The job DELETE_JOBS: delete jobs that were running when what they name was deleted, now that they
    have ended (it runs once they have, as a dependent of theirs)."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("delete_jobs runs as a worker's job")
    gone = 0
    for found in Job.fetch_many(job_ids, connection=job.connection):
        if found is not None and found.get_status(refresh=False) != JobStatus.STARTED:
            found.delete()
            gone += 1
    return f"deleted {gone} job(s)"


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
    alive: bool  # its process still beats (bot/store/jobs.py `beat`)


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


@dataclass(frozen=True)
class InFlight:
    """A job a worker has started: which worker, since when, and whether that worker is still there."""

    job_id: str
    description: str
    worker: str  # RQ's name of the worker running it
    started_at: float | None  # a timestamp
    worker_alive: bool

    def state(self, now: float) -> str:
        """ "running on W for 12 s", or that it is stuck, its worker gone."""
        running = "" if self.started_at is None else f" for {round(max(0.0, now - self.started_at))} s"
        if self.worker_alive:
            return f"running on {self.worker}{running}"
        return f"stuck{running}: its worker {self.worker} is gone; a worker's sweep takes it back"


def delivery_of(job: Job | None) -> DeliveryRef | None:
    """The report a delivery job delivers (None for any other job)."""
    if job is None or job.func_name != DELIVER_REPORT or len(job.args) != 3:
        return None
    return DeliveryRef.from_member(":".join(str(arg) for arg in job.args))


def this_process() -> str:
    """This worker process, as its beat and the deliveries it holds name it: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(client: redis.Redis, process: str, seconds: int = WORKER_ALIVE_SECONDS) -> None:
    """Say that the worker process `process` still runs (for `seconds`, unless it beats again)."""
    client.set(keys.worker_alive(process), "1", ex=seconds)


def current_process() -> str | None:
    """The worker process running the current job (None outside a worker's job)."""
    return this_process() if get_current_job() is not None else None


def current_job_id() -> str | None:
    """The job being run (None outside a worker's job)."""
    job = get_current_job()
    return None if job is None else job.id


def _timestamp(moment: datetime | None) -> float | None:
    return None if moment is None else moment.replace(tzinfo=UTC).timestamp()


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
        if (
            status in _LIVE
            and self._in_its_place(job_id, status)
            and not (status == JobStatus.STARTED and self._abandoned(job_id))
        ):
            return False
        self.queue.connection.lrem(self.queue.intermediate_queue_key, 0, job_id)
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

    def _in_its_place(self, job_id: str, status: JobStatus | None) -> bool:
        """Whether a job whose record says it waits or runs is where that puts it: on the queue, or among
        the started jobs. A failover's new primary may hold the record without the move that went with it
        (taken off the queue, started), which leaves the job waiting for nobody; it is enqueued afresh, and
        should it run twice after all, the second run finds the report held or delivered."""
        queue = self.queue
        if status == JobStatus.QUEUED:
            return queue.connection.lpos(queue.key, job_id) is not None
        if status == JobStatus.STARTED:
            return job_id in queue.started_job_registry
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

    def delivery_state(self, ref: DeliveryRef, now: float) -> str:
        """What the job of a pending delivery is doing (which worker delivers it, for how long, or that
        its worker is gone), or that it has none yet."""
        try:
            job = Job.fetch(delivery_job_id(ref), connection=self.queue.connection)
        except NoSuchJobError:
            return NO_JOB
        status = job.get_status()
        if status != JobStatus.STARTED:
            return JOB_STATES.get(status, str(status))
        return self._in_flight(job).state(now)

    def in_flight(self) -> list[InFlight]:
        """The jobs workers have started and not finished, oldest first."""
        registry = self.queue.started_job_registry
        running = []
        for job_id in dict.fromkeys(registry.get_job_ids(cleanup=False)):
            job = self.queue.fetch_job(job_id)
            if job is not None and job.get_status(refresh=False) == JobStatus.STARTED:
                running.append(self._in_flight(job))
        return sorted(running, key=lambda job: job.started_at or 0.0)

    def _in_flight(self, job: Job) -> InFlight:
        worker = job.worker_name or ""
        alive = self.worker_alive(worker)
        return InFlight(job.id, job.description or job.id, worker, _timestamp(job.started_at), alive)

    def worker_alive(self, worker_name: str) -> bool:
        """Whether RQ's worker `worker_name` runs in a worker process that still beats."""
        if not worker_name:
            return False
        worker = Worker.find_by_key(
            Worker.redis_worker_namespace_prefix + worker_name, connection=self.queue.connection
        )
        if worker is None or not worker.hostname or worker.pid is None:
            return False
        return self._beats(worker.hostname, worker.pid)

    def _beats(self, hostname: str, pid: int) -> bool:
        return bool(self.queue.connection.exists(keys.worker_alive(f"{hostname}:{pid}")))

    def _abandoned(self, job_id: str) -> bool:
        job = self.queue.fetch_job(job_id)
        return job is not None and not self.worker_alive(job.worker_name or "")

    def recover_abandoned(self) -> list[str]:
        """Take back the jobs whose worker process is gone: a delivery is queued again (its outbox
        record says what Slack has already), any other job is failed, listed by `jobs`, since it may
        have told someone something already. The ids taken back; each by one sweeper only."""
        return self._take_back_all(job for job in self.in_flight() if not job.worker_alive)

    def take_back_from(self, worker_name: str, outbox: Outbox) -> list[str]:
        """Take back, as `recover_abandoned` does, the jobs RQ's worker `worker_name` had started when its
        loop ended on a Redis error (a restart, a failover): none of them runs any more, though the process
        that ran them still beats. A delivery among them lets go of its hold first, which this process
        still names and which the ended job could not release while Redis was away. Then the deliveries
        taken off the queue and never started (`_requeue_unstarted`). The ids taken back."""
        left = [job for job in self.in_flight() if job.worker == worker_name]
        for job in left:
            ref = delivery_of(self.queue.fetch_job(job.job_id))
            if ref is not None and outbox.holder(ref) == this_process():
                outbox.release(ref)
        return self._take_back_all(left) + self._requeue_unstarted()

    def _requeue_unstarted(self) -> list[str]:
        """Queue again the deliveries on RQ's intermediate list that never started: a loop takes a job off
        the queue onto that list, then starts it; Redis going away in between (and a failover's new
        primary, which may have the one step without the other) leaves it there, queued for nobody, until
        RQ's own cleanup fails it minutes later. Should one be starting right now after all, its second
        run finds it held or delivered: each post is made once. Each taken back by one caller only."""
        queue = self.queue
        started = set(queue.started_job_registry.get_job_ids(cleanup=False))
        waiting = [job_id for job_id in queue.intermediate_queue.get_job_ids() if job_id not in started]
        requeued = []
        for job in Job.fetch_many(waiting, connection=queue.connection):
            if job is None or delivery_of(job) is None:
                continue
            if queue.connection.lrem(queue.intermediate_queue_key, 0, job.id):
                queue.enqueue_job(job)
                requeued.append(job.id)
        return requeued

    def _take_back_all(self, jobs: Iterable[InFlight]) -> list[str]:
        recovered = []
        for job in jobs:
            fetched = self.queue.fetch_job(job.job_id)
            if fetched is None or not self._take_back(fetched):
                continue
            if fetched.func_name == DELIVER_REPORT:
                self.queue.enqueue_job(fetched)
            else:
                # RQ's own path for a job whose worker died (as its ten-minute cleanup takes).
                with self.queue.connection.pipeline() as pipe:
                    record_job_failure(fetched, ABANDONED, pipe)
                    pipe.execute()
            recovered.append(job.job_id)
        return recovered

    def _take_back(self, job: Job) -> bool:
        """Out of the started jobs, atomically: False when another sweeper took it first."""
        registry = self.queue.started_job_registry
        executions = job.get_executions()

        def attempt(pipe: Any) -> bool:
            entries = [e for e in pipe.zrange(registry.key, 0, -1) if registry.parse_job_id(e) == job.id]
            if not entries:
                return False
            pipe.multi()
            for execution in executions:
                execution.delete(job=job, pipeline=pipe)
            pipe.zrem(registry.key, *entries)
            return True

        return optimistic(
            self.queue.connection, attempt, gave_up=TooManyConcurrentChanges, watched=[registry.key]
        )

    def release_silent_scheduler(self, now: float) -> str | None:
        """Let go of the queue's RQ scheduler lock when the scheduler holding it has stopped beating, so
        a running worker's scheduler takes it; the scheduler let go of, if one was."""
        lock = RQScheduler.get_locking_key(self.queue.name)
        held = self.queue.connection.get(lock)
        if held is None:
            return None
        holder = held.decode() if isinstance(held, bytes) else str(held)
        try:
            last_beat = _timestamp(RQScheduler.fetch(holder, self.queue.connection).last_heartbeat)
        except (SchedulerNotFound, KeyError, ValueError):
            last_beat = None  # no record of it, or not one a scheduler wrote: nobody beats for it
        if last_beat is not None and now - last_beat < SCHEDULER_SILENT_SECONDS:
            return None
        return holder if release_lock(self.queue.connection, lock, holder) else None

    def workers(self, now: float) -> list[WorkerSeen]:
        """The workers registered on this queue with their last heartbeat (RQ drops a worker whose
        heartbeat lapsed)."""
        seen = []
        for worker in Worker.all(queue=self.queue):
            beat = worker.last_heartbeat
            age = None if beat is None else max(0.0, now - beat.replace(tzinfo=UTC).timestamp())
            alive = bool(
                worker.hostname and worker.pid is not None and self._beats(worker.hostname, worker.pid)
            )
            seen.append(WorkerSeen(worker.name, str(worker.get_state()), age, alive))
        return sorted(seen, key=lambda w: w.name)

    def forget(self, naming: Naming, sparing: str | None = None) -> int:
        """Delete every job `naming` matches, whatever its state, with its results: a job running now is
        deleted by a job that runs once it ends (RQ writes a job's record back when it ends). `sparing`:
        the job running this, left to end. How many were deleted, or will be."""
        now: list[Job] = []
        running: list[Job] = []
        for job in self._every_job():
            if job.id == sparing or not naming.matches(job):
                continue
            (running if job.get_status(refresh=False) == JobStatus.STARTED else now).append(job)
        for job in now:
            job.delete()
        if running:
            self.queue.enqueue(
                DELETE_JOBS,
                *(job.id for job in running),
                depends_on=Dependency(jobs=running, allow_failure=True),
                job_timeout=JOB_TIMEOUT_SECONDS,
                failure_ttl=FAILED_KEPT_SECONDS,
                result_ttl=0,
            )
        return len(now) + len(running)

    def _every_job(self) -> list[Job]:
        """Every job of the queue: waiting, scheduled, deferred, running, finished, failed or cancelled."""
        queue = self.queue
        registries = (
            queue.scheduled_job_registry,
            queue.deferred_job_registry,
            queue.started_job_registry,
            queue.finished_job_registry,
            queue.failed_job_registry,
            queue.canceled_job_registry,
        )
        ids = dict.fromkeys(queue.get_job_ids())
        for registry in registries:
            ids.update(dict.fromkeys(registry.get_job_ids(cleanup=False)))
        found: list[Job] = []
        listed = list(ids)
        for start in range(0, len(listed), FETCH_BATCH):
            batch = Job.fetch_many(listed[start : start + FETCH_BATCH], connection=queue.connection)
            found += [job for job in batch if job is not None]
        return found

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


class RetryScheduler:
    """RQ's scheduler, which moves the retries that are due back onto the queue, run by a thread of the
    worker's own process (`tick`) instead of the process RQ forks for it: a fork taken while another of
    the worker's threads holds a lock (its Redis pool's, its log's) can leave the child waiting on that
    lock forever, and the worker's stop waiting for the child. One scheduler at a time holds the queue's
    lock; a worker's takes it once it is free (`release_silent_scheduler` frees a dead one's)."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue_name = queue.queue.name
        # Any: RQ's scheduler methods carry no annotations.
        self.scheduler: Any = _SchedulerOnClient([queue.queue], connection=queue.queue.connection)

    def tick(self) -> bool:
        """Take or keep the queue's scheduler lock, say this scheduler is alive, and, holding the lock,
        move the due retries onto the queue; whether it holds the lock."""
        # Its whole record, not only the beat: a Redis restarted empty has lost it.
        self.scheduler.register_birth()
        self.scheduler.acquire_locks()  # takes the lock when free, refreshes it when held
        if not self.scheduler.acquired_locks:
            return False
        self.scheduler.enqueue_scheduled_jobs()
        return True

    def stop(self) -> None:
        """Let go of the lock (another worker's scheduler takes it at once) and of this scheduler's record."""
        self.scheduler.release_locks()
        self.scheduler.register_death()


class _SchedulerOnClient(RQScheduler):
    """RQ's scheduler on the client it is given. RQ's own builds a plain connection pool from that
    client's settings, for the process it forks; through Sentinel (bot/store/connection.py) that pool
    would not drop its connections to a demoted master, and this scheduler runs in the worker's process
    anyway."""

    def __init__(self, queues: list[Queue], connection: redis.Redis) -> None:
        super().__init__(queues, connection=connection)
        self._client = connection

    @property
    def connection(self) -> redis.Redis:
        return self._client


# How long the listener for RQ's commands (suspend, kill a job) waits for one before looking again.
COMMAND_WAIT_SECONDS = 1.0
# How long a worker thread waits for a job in one read before it looks whether it is to stop.
DEQUEUE_WAIT_SECONDS = 1


class ReportWorker(SimpleWorker):
    """RQ's worker running each job in the thread that took it (the flows and clients are built once per
    process, not per job), one of several threads of a worker process (bot/cli/worker.py): the process's
    main thread owns the signals, and asks each of its workers to stop (`stop_after_current_job`).

    A job's time limit is kept by a timer, since a thread cannot set the alarm signal RQ's default uses.
    It waits for a job DEQUEUE_WAIT_SECONDS at a time, instead of RQ's WORKER_TTL - 15, so that it sees a
    request to stop within that, and the listener for RQ's commands COMMAND_WAIT_SECONDS at a time instead
    of RQ's 60: a stopping worker waits for that listener, and after a Redis restart it could keep the
    worker from stopping for most of a minute."""

    death_penalty_class = TimerDeathPenalty
    # RQ waits between tries to reach a Redis that went away, doubling from 1 s up to this (RQ's own: 60 s,
    # which left a report waiting up to a minute after Redis came back).
    max_connection_wait_time = 5.0

    @property
    def dequeue_timeout(self) -> int:
        return DEQUEUE_WAIT_SECONDS

    def _install_signal_handlers(self) -> None:
        """None: only a process's main thread may, and it owns them."""

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """RQ's heartbeat, of which a lost one changes nothing (its record lasts WORKER_TTL + 60 s): one
        that fails as Redis goes away, right after a job was taken off the queue, would end the loop
        before the job is known to be taken, and the job would wait unstarted on RQ's intermediate list."""
        try:
            super().heartbeat(timeout, pipeline)
        except UNREACHABLE as error:
            self.log.warning("Worker %s: no heartbeat, Redis does not answer (%s)", self.name, error)

    def stop_after_current_job(self) -> None:
        """Stop once the job running now (if any) ends: RQ's warm shutdown, asked from another thread."""
        self._shutdown_requested_date = now()
        self._stop_requested = True

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[Job, Queue] | None:
        """RQ's wait for a job, one read at a time, until there is one or this worker is to stop (RQ's own
        waits until a job comes, however long: only a signal, in the main thread, ends it)."""
        if timeout is None or max_idle_time is not None:
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        while True:
            # Idle for one read's wait, RQ's read returns None: the moment to look.
            taken = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time=timeout)
            if taken is not None or self._stop_requested:
                return taken

    def subscribe(self) -> None:
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        # RQ annotates the attribute as None, the value it starts with.
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=COMMAND_WAIT_SECONDS, daemon=True, exception_handler=self._pubsub_exception_handler
        )
