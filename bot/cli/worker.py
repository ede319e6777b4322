"""`mlops-compass worker`: delivers reports off the web process, and `mlops-compass jobs`: what failed.

The web process stores a finished assessment (or a closed team run) with its pending delivery and
enqueues the delivery on RQ; this process runs it: the report in the DM and the channel, what changed
since last time, the chart, a team run's member count, report and closed message. It also runs the tasks
the web process hands off after its answer: the Home tab, exports and nudges, WORKER_THREADS jobs at once
(`work_in_threads`: each thread an RQ worker of its own). A delivery Slack does not
accept is retried with back-off (RQ's Retry) and then its author is told. A sweeper enqueues again what
stayed pending with no job (a web process killed between its transaction and the enqueue), and within
seconds takes back the jobs of a worker process that died mid-job (bot/store/jobs.py: each worker
process beats), and lets go of the RQ scheduler lock a dead worker's scheduler held. A Redis outage (a
restart, a Sentinel failover) does not stop it: it waits, takes back the job its run was in, and goes on.
`rq info --url $REDIS_URL` shows the queue too.

Kept apart from the CLI's start: the Slack, Redis and RQ clients are imported only when it runs.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.slack.app import Task
    from bot.slack.delivery.run import ReportDelivery
    from bot.slack.workspace_client import WorkspaceTokens
    from bot.store.jobs import JobQueue, RetryScheduler
    from bot.store.outbox import Outbox

log = logging.getLogger("bot.worker")

WORKER_STARTED = "mlops-compass worker: started, delivering reports"
SWEEP_BATCH = 500


@dataclass(frozen=True)
class Runtime:
    delivery: ReportDelivery
    queue: JobQueue
    outbox: Outbox
    tasks: dict[str, Task]
    workspaces: WorkspaceTokens  # each job's bot token, found by its team id


_runtime: Runtime | None = None


def add_worker_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run the worker: deliver reports, charts and team reports off the web process (the Procfile's "
        "worker)",
        description="Run the worker process. Settings come from the environment; see the README. Any "
        "number may run against one Redis: each report is delivered once.",
    )
    parser.add_argument("--burst", action="store_true", help="deliver what is queued, then exit")
    parser.set_defaults(handler=run_worker_command)
    jobs = subparsers.add_parser(
        "jobs",
        help="list the reports not yet delivered, the jobs running or stuck, the workers and the failed jobs",
        description="List, from REDIS_URL: the reports not yet delivered (oldest first, with what their "
        "job is doing), the jobs running (on which worker, for how long; stuck when that worker is gone), "
        "the workers and their last heartbeat, and the failed jobs (reports Slack never accepted).",
    )
    jobs.set_defaults(handler=run_jobs_command)


def run_worker_command(args: argparse.Namespace, consoles: Any) -> int:
    global _runtime
    from bot.cli.startup import start_slack_process
    from bot.settings import WorkerSettings
    from bot.slack.app import worker_tasks
    from bot.store.jobs import ReportWorker, RetryScheduler
    from bot.store.outbox import Outbox

    started = start_slack_process(WorkerSettings)
    settings, client = started.settings, started.redis
    queue = started.job_queue()
    flows = started.flows()
    outbox = Outbox(client)
    _runtime = Runtime(flows.delivery, queue, outbox, worker_tasks(flows), started.workspaces())
    stop = threading.Event()
    sweeper = threading.Thread(
        target=_sweep_until, args=(_runtime, settings.outbox_sweep_seconds, stop), daemon=True
    )
    retries = RetryScheduler(queue)
    scheduling = threading.Thread(target=schedule_retries_until, args=(retries, stop), daemon=True)
    sweep(_runtime, time.time())
    sweeper.start()
    if args.burst:
        retries.tick()  # the retries due now, once: a burst ends with the queue empty
    else:
        scheduling.start()
    # Said whatever LOG_LEVEL is: whoever starts the worker waits for this line.
    print(WORKER_STARTED, file=sys.stderr, flush=True)
    try:
        work_in_threads(
            lambda: ReportWorker([queue.queue], connection=client, worker_ttl=WORKER_TTL_SECONDS),
            client,
            burst=args.burst,
            log_level=settings.log_level,
            threads=settings.worker_threads,
            take_back=lambda worker_name: queue.take_back_from(worker_name, outbox),
        )
    finally:
        stop.set()
        if scheduling.is_alive():
            scheduling.join(STOP_WAIT_SECONDS)
        elif args.burst:
            retries.stop()
    log.info("worker stopped")
    return 0


def _told_to_stop(worker: Any) -> bool:
    """Whether RQ's loop ended on SIGTERM or SIGINT rather than an error. RQ notes when the signal came
    (`_shutdown_requested_date`) whether or not a job was running; `_stop_requested` only when one was."""
    return bool(
        getattr(worker, "_shutdown_requested_date", None) is not None
        or getattr(worker, "_stop_requested", False)
    )


def schedule_retries_until(scheduler: RetryScheduler, stop: threading.Event) -> None:
    """Run the retry scheduler every SCHEDULER_TICK_SECONDS until `stop`, through Redis outages, then let
    go of its lock."""
    import redis

    while True:
        try:
            scheduler.tick()
        except redis.RedisError as error:
            log.warning("the retry scheduler could not reach Redis (%s); trying again", error)
        except Exception:
            log.exception("the retry scheduler failed; trying again")
        if stop.wait(SCHEDULER_TICK_SECONDS):
            break
    try:
        scheduler.stop()
    except Exception:
        log.warning("could not let go of the retry scheduler's lock; it expires on its own", exc_info=True)


# RQ's record of a worker lapses this long after its last heartbeat, and RQ sets the socket timeout 10 s
# past the worker's blocking read for a job (DEQUEUE_WAIT_SECONDS, bot/store/jobs.py). A Redis that goes
# away mid-read is only noticed when it ends: RQ's default TTL (420) left a worker blind to a restart for
# about seven minutes; this notices within seconds.
WORKER_TTL_SECONDS = 20
# RQ's upkeep between reads (its own registries' cleanup): RQ's default is ten minutes. The retries'
# scheduler is this process's own thread (`schedule_retries_until`), which takes a free lock each second.
MAINTENANCE_SECONDS = 15
# How often the retry scheduler moves due retries onto the queue (RQ's own scheduler: every second).
SCHEDULER_TICK_SECONDS = 1.0
# How long a stopping worker waits for its threads to let go of what they hold.
STOP_WAIT_SECONDS = 5.0
# How often the sweeper looks for jobs whose worker died (the outbox sweep runs at its own period).
RECOVER_SECONDS = 2.0
# How long the worker waits between tries while Redis does not answer: from the first to the most.
REDIS_WAIT_SECONDS = (0.5, 5.0)


class JobThreads:
    """The RQ worker each job thread of this process runs now, so that a stop reaches every one."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.failed = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[int, Any] = {}

    def started(self, slot: int, worker: Any) -> Any:
        """`worker` now runs in thread `slot` (a fresh one after a Redis outage); told at once to stop
        should the process be stopping already."""
        with self._lock:
            self._running[slot] = worker
            stopping = self.stopping.is_set()
        if stopping:
            worker.stop_after_current_job()
        return worker

    def stop(self) -> None:
        """Each thread stops once its job (if it runs one) ends: no delivery is cut short."""
        with self._lock:
            self.stopping.set()
            running = list(self._running.values())
        for worker in running:
            worker.stop_after_current_job()


# How often the main thread looks whether every job thread has ended.
JOIN_WAIT_SECONDS = 0.5


def work_in_threads(
    new_worker: Callable[[], Any],
    client: Any,
    burst: bool,
    log_level: str,
    threads: int,
    take_back: Callable[[str], list[str]] | None = None,
) -> None:
    """Run `threads` RQ work loops at once in this process (WORKER_THREADS), each taking the next job as
    soon as its last one ends: a report's time is mostly waiting for Slack's answers, which the others'
    jobs use. The main thread owns the signals: SIGTERM or SIGINT lets each job running end and then
    stops (RQ's warm shutdown); a second one stops at once, and the jobs cut short are taken back by
    another worker's sweep once this process stops beating (a delivery resumes from its outbox record)."""
    from rq.logutils import setup_loghandlers

    # RQ sets up its log as each loop starts; once here, so that loops starting together add it once.
    for name in ("rq.worker", "rq.job"):
        setup_loghandlers(log_level, name=name)
    running = JobThreads()

    def run(slot: int) -> None:
        try:
            work_through_redis_outages(
                lambda: running.started(slot, new_worker()),
                client,
                burst=burst,
                log_level=log_level,
                take_back=take_back,
                stopping=running.stopping,
            )
        except BaseException:
            log.exception("a job thread stopped on an error; the worker stops, to be restarted")
            running.failed.set()
            running.stop()

    def on_signal(signum: int, frame: Any) -> None:
        if running.stopping.is_set():
            log.warning("stopping at once: the jobs running are taken back by another worker")
            raise SystemExit(1)
        log.info("stopping once the jobs running end (%s)", signal.Signals(signum).name)
        running.stop()

    previous = {number: signal.signal(number, on_signal) for number in (signal.SIGTERM, signal.SIGINT)}
    pool = [
        threading.Thread(target=run, args=(slot,), name=f"jobs-{slot}", daemon=True)
        for slot in range(threads)
    ]
    try:
        for thread in pool:
            thread.start()
        for thread in pool:
            while thread.is_alive():
                thread.join(JOIN_WAIT_SECONDS)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if running.failed.is_set():
        raise RuntimeError("a job thread stopped on an error")


def work_through_redis_outages(
    new_worker: Callable[[], Any],
    client: Any,
    burst: bool,
    log_level: str,
    wait: Callable[[float], Any] = time.sleep,
    take_back: Callable[[str], list[str]] | None = None,
    stopping: threading.Event | None = None,
) -> None:
    """Run RQ's work loop until it is asked to stop (or, in a burst, runs out of jobs). RQ's loop quits on
    a Redis timeout or an error it did not expect, as a Redis restart or failover gives it: then wait until
    Redis answers and start a fresh loop, so the worker stays up through an outage instead of leaving
    reports undelivered until someone restarts it. `take_back` is given the name of the loop that ended
    once Redis answers: the job it was running when Redis went away stays started in Redis, under a
    process that still beats, so no sweep would take it back. `stopping`: set, no fresh loop starts."""
    from bot.store.connection import UNREACHABLE

    def stop_asked() -> bool:
        return stopping is not None and stopping.is_set()

    while not stop_asked():
        worker = None
        try:
            # Made in the loop: RQ names its connection as it makes a worker, which a Redis going away
            # just then refuses like any other command.
            worker = new_worker()
            worker.maintenance_interval = MAINTENANCE_SECONDS
            # The retries are moved by this process's own scheduler thread (`schedule_retries_until`).
            worker.work(burst=burst, with_scheduler=False, logging_level=log_level)
        except UNREACHABLE as error:
            log.warning("Redis stopped answering (%s); the worker goes on once it answers", error)
        else:
            if burst or _told_to_stop(worker):
                return
            log.warning("the worker's loop ended on an error; it goes on once Redis answers")
        pause = REDIS_WAIT_SECONDS[0]
        while not stop_asked():
            try:
                client.ping()
                break
            except UNREACHABLE:
                wait(pause)
                pause = min(pause * 2, REDIS_WAIT_SECONDS[1])
        else:
            return
        log.info("Redis answers again; the worker goes on")
        if take_back is not None and worker is not None:
            try:
                for job_id in take_back(worker.name):
                    log.warning("took back %s: its run ended when Redis went away", job_id)
            except Exception:
                log.warning("could not take back the jobs the ended run left", exc_info=True)


def sweep(runtime: Runtime, older_than: float) -> int:
    """Enqueue the deliveries pending since before `older_than` whose job is not waiting or running
    (on a live worker); how many were enqueued."""
    enqueued = 0
    for ref in runtime.outbox.pending(older_than, SWEEP_BATCH):
        if runtime.queue.deliver(ref):
            log.info("enqueued a pending %s report again", ref.kind)
            enqueued += 1
    return enqueued


def take_back_abandoned(runtime: Runtime, now: float) -> list[str]:
    """Queue again the jobs of worker processes that stopped beating (a delivery resumes from its outbox
    record), and free the scheduler lock of a scheduler that stopped; the jobs taken back."""
    recovered = runtime.queue.recover_abandoned()
    for job_id in recovered:
        log.warning("took back %s: the worker running it stopped", job_id)
    released = runtime.queue.release_silent_scheduler(now)
    if released is not None:
        log.warning("let go of the scheduler lock of stopped scheduler %s", released)
    return recovered


def _sweep_until(runtime: Runtime, every: float, stop: threading.Event) -> None:
    from bot.store.jobs import this_process

    # This process's beat, in a thread of its own: a sweep of many reports does not delay it.
    beating = threading.Thread(
        target=_beat_until, args=(runtime.outbox.redis, this_process(), stop), daemon=True
    )
    beating.start()
    next_sweep = time.monotonic() + every
    while not stop.wait(min(every, RECOVER_SECONDS)):
        try:
            take_back_abandoned(runtime, time.time())
        except Exception:
            log.exception("taking back a stopped worker's jobs failed; the next look tries again")
        if time.monotonic() < next_sweep:
            continue
        next_sweep = time.monotonic() + every
        try:
            sweep(runtime, time.time() - every)
        except Exception:
            log.exception("the outbox sweep failed; the next one tries again")


def _beat_until(client: Any, process: str, stop: threading.Event) -> None:
    from bot.store.jobs import WORKER_BEAT_SECONDS, beat

    while True:
        try:
            beat(client, process)
        except Exception:
            log.warning("could not say this worker runs; trying again", exc_info=True)
        if stop.wait(WORKER_BEAT_SECONDS):
            return


def deliver_report(team_id: str, kind: str, delivery_id: str) -> str:
    """The job the web process enqueues (bot.store.jobs.DELIVER_REPORT), run for the report's workspace.
    In a workspace with no installation (uninstalled since) the delivery is given up, not retried: nobody
    there can be reached."""
    from bot.slack.workspace_client import NotInstalled
    from bot.store.jobs import current_process, last_attempt
    from bot.store.outbox import FAILED, DeliveryRef

    if _runtime is None:
        raise RuntimeError("deliver_report runs in `mlops-compass worker`")
    ref = DeliveryRef.from_member(f"{team_id}:{kind}:{delivery_id}")
    if ref is None:
        return f"unknown kind of report: {kind}"
    try:
        with _runtime.workspaces.serving(team_id):
            return _runtime.delivery.run(ref, last_attempt(), holder=current_process())
    except NotInstalled as not_installed:
        _runtime.outbox.finish(ref, FAILED)
        return f"not delivered: {not_installed}"


def run_task(task: str, *args: str) -> str:
    """The job for what else the web process hands off (bot.store.jobs.RUN_TASK): a Home tab, an export,
    a nudge. Each task's first argument is its workspace's team id."""
    from bot.slack.workspace_client import NotInstalled

    if _runtime is None:
        raise RuntimeError("run_task runs in `mlops-compass worker`")
    run = _runtime.tasks.get(task)
    if run is None:
        return f"unknown task: {task}"
    if not args:
        return f"{task} not done: no workspace given"
    try:
        with _runtime.workspaces.serving(args[0]):
            run(*args)
    except NotInstalled as not_installed:
        return f"{task} not done: {not_installed}"
    return f"{task} done"


def run_jobs_command(args: argparse.Namespace, consoles: Any) -> int:
    from bot.cli.startup import start_redis_command
    from bot.settings import RedisSettings
    from bot.store.jobs import JobQueue
    from bot.store.outbox import Outbox

    _, client = start_redis_command(RedisSettings)
    # Listing retries nothing, so it needs no retry schedule.
    queue = JobQueue(client, retry_seconds=())
    for line in jobs_lines(queue, Outbox(client), time.time()):
        print(line)
    return 0


def jobs_lines(queue: JobQueue, outbox: Outbox, now: float, shown: int = 20) -> list[str]:
    """What `mlops-compass jobs` prints: the reports still to deliver, the jobs running (and those stuck,
    their worker gone), the workers, the failed jobs."""
    lines = []
    waiting = outbox.count()
    if waiting:
        undelivered = outbox.undelivered(shown)
        oldest = ago(now - undelivered[0][1]) if undelivered else "?"
        lines.append(f"Reports not yet delivered: {waiting} (the oldest written {oldest})")
        for ref, since in undelivered:
            lines.append(f"  {ref.member}\twritten {ago(now - since)}\t{queue.delivery_state(ref, now)}")
        if waiting > len(undelivered):
            lines.append(f"  and {waiting - len(undelivered)} more")
    else:
        lines.append("Every report has been delivered.")
    running = queue.in_flight()
    stuck = sum(not started.worker_alive for started in running)
    if running:
        lines.append(f"Jobs running: {len(running)}" + (f", {stuck} of them stuck" if stuck else ""))
    for started in running:
        lines.append(f"  {started.job_id}\t{started.state(now)}")
    workers = queue.workers(now)
    if not workers:
        lines.append("No worker is running: no report is delivered until `mlops-compass worker` starts.")
    else:
        lines.append(f"Workers: {len(workers)}")
        for worker in workers:
            beat = (
                "no heartbeat" if worker.heartbeat_age is None else f"heartbeat {ago(worker.heartbeat_age)}"
            )
            state = worker.state if worker.alive else "gone: its process stopped beating"
            lines.append(f"  {worker.name}\t{state}\t{beat}")
    failed = queue.failed()
    if not failed:
        lines.append("No failed jobs.")
    for job in failed:
        lines.append(f"{job.job_id}\t{job.description}\t{job.error}")
    return lines


def ago(seconds: float) -> str:
    """ "12 s ago", "4 min ago", "3 h ago"."""
    if seconds < 120:
        return f"{round(seconds)} s ago"
    if seconds < 7200:
        return f"{round(seconds / 60)} min ago"
    return f"{round(seconds / 3600)} h ago"
