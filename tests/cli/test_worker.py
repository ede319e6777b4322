"""`mlops-compass worker` and `mlops-compass jobs`: a delivery that fails for good is a failed job, listed
by `jobs` (and by `rq info`), and the worker runs what is queued and exits under --burst. `jobs` reads
REDIS_URL and nothing else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from bot.cli.worker import WORKER_STARTED, jobs_lines
from bot.engine.answers import OptionChoice
from bot.engine.catalog import BankCatalog
from bot.store.jobs import JobQueue, delivery_job_id
from bot.store.outbox import DeliveryRef, Outbox
from bot.store.sessions import Respondent, SessionStore
from bot.usecases.personal import answered_but_last, apply
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import child_environment
from tests.conftest import REAL_REDIS_URL
from tests.e2e.conftest import DedicatedRedis

# The worker and `jobs` started as processes: the slow tier (`-m "not e2e"` leaves it out).
pytestmark = pytest.mark.e2e

CATALOG = BankCatalog.from_directory()
PULSE = CATALOG.by_id("pulse")


# Seconds a command may take: a burst takes about 6 s on a loaded machine, but once took over 60 s in a
# full suite on two cores; what it printed by then is kept in the failure, to tell slowness from a hang.
COMMAND_TIMEOUT_SECONDS = 180


def run_command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            env=child_environment(env),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as stuck:
        raise AssertionError(
            f"`mlops-compass {' '.join(args)}` ran past {COMMAND_TIMEOUT_SECONDS} s; it printed:\n"
            f"{stuck.stdout!r}\n{stuck.stderr!r}"
        ) from stuck


def jobs(redis_url: str) -> subprocess.CompletedProcess[str]:
    return run_command("jobs", env={"REDIS_URL": redis_url})


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis server of the test's own: `worker --burst` runs every job queued in its database, and the
    run's shared database may hold jobs other tests' apps left queued when they stopped."""
    server = DedicatedRedis(tmp_path)
    server.start()
    yield server.url
    server.stop()


def test_a_delivery_the_worker_cannot_make_is_a_failed_job_that_jobs_lists(
    own_redis: str, team_id: str
) -> None:
    client = redis.Redis.from_url(own_redis)
    store = SessionStore(client)
    respondent = Respondent(team_id=team_id, user_id="U0WORKER")
    record, last = answered_but_last(respondent, PULSE, {q.id: OptionChoice(1) for q in PULSE.questions})
    store.start(record, may_replace=lambda _: True)
    applied = apply(store, CATALOG, respondent, record.session_id, last, pending_delivery=True)
    assert applied.record.result_id is not None
    ref = DeliveryRef(team_id, "personal", applied.record.result_id)
    # No retries, and a Slack that accepts the token but no post: the delivery fails, for good, at once.
    queue = JobQueue(client, [])
    assert queue.deliver(ref)
    try:
        with FakeSlack() as fake:
            for method in ("chat.postMessage", "conversations.open"):
                fake.fail_http_next(method, times=10)
            env = {
                "SLACK_BOT_TOKEN": "xoxb-worker-test",
                "REDIS_URL": own_redis,
                "SLACK_API_URL": fake.base_url,
                # The burst ends with the queue empty; the sweep must not queue the failed delivery again
                # first, however slowly a busy machine runs it.
                "OUTBOX_SWEEP_SECONDS": "3600",
            }
            burst = run_command("worker", "--burst", env=env)
        assert burst.returncode == 0, burst.stderr
        listed = jobs(own_redis)
        assert listed.returncode == 0, listed.stderr
        assert delivery_job_id(ref) in listed.stdout
    finally:
        queue.queue.failed_job_registry.remove(delivery_job_id(ref), delete_job=True)
    assert delivery_job_id(ref) not in jobs(own_redis).stdout


def test_jobs_reads_only_redis_url() -> None:
    # Each setting here would stop a command that read it: jobs reads none of them.
    unread = {"DEFAULT_BANK": "No Such Bank!", "WEB_CONCURRENCY": "zero", "SLACK_SIGNING_SECRET": "x"}
    listed = run_command("jobs", env={"REDIS_URL": REAL_REDIS_URL} | unread)
    assert (listed.returncode, listed.stderr) == (0, "")


def wait_for_line(path: Path, markers: tuple[str, ...], timeout: float = 90.0) -> str:
    """The first of `markers` the process has written to `path`, waiting for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        written = path.read_text(errors="replace") if path.exists() else ""
        found = next((marker for marker in markers if marker in written), None)
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError(f"none of {markers} within {timeout} s:\n{path.read_text(errors='replace')}")


def stopped(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The process's exit code, or None when it is still running after `timeout` seconds."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


# What the worker logs once it notices Redis is gone: RQ's own lines, or the worker's.
REDIS_GONE = (
    "connection timeout",
    "could not connect to Redis",
    "Redis stopped answering",
    "ended on an error",
)


def test_the_worker_stays_up_through_a_redis_restart_and_delivers_after_it(
    tmp_path: Path, team_id: str
) -> None:
    dedicated_redis = DedicatedRedis(tmp_path)
    dedicated_redis.start()
    log_path = tmp_path / "worker.log"
    with FakeSlack() as fake, log_path.open("w") as log_file:
        env = {
            "SLACK_BOT_TOKEN": "xoxb-worker-test",
            "REDIS_URL": dedicated_redis.url,
            "SLACK_API_URL": fake.base_url,
            "LOG_LEVEL": "INFO",
            "OUTBOX_SWEEP_SECONDS": "3600",
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"],
            env=child_environment(env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_line(log_path, (WORKER_STARTED,))
            dedicated_redis.stop()
            wait_for_line(log_path, REDIS_GONE)
            dedicated_redis.start()
            wait_for_line(log_path, ("Redis answers again", "Listening on"), timeout=60)
            client = redis.Redis.from_url(dedicated_redis.url)
            store = SessionStore(client)
            respondent = Respondent(team_id=team_id, user_id="U0RESTART")
            record, last = answered_but_last(
                respondent, PULSE, {q.id: OptionChoice(1) for q in PULSE.questions}
            )
            store.start(record, may_replace=lambda _: True)
            applied = apply(store, CATALOG, respondent, record.session_id, last, pending_delivery=True)
            assert applied.record.result_id is not None
            assert JobQueue(client, []).deliver(DeliveryRef(team_id, "personal", applied.record.result_id))
            try:
                posted = fake.wait_for(
                    "chat.postMessage", lambda c: "MLOps maturity report" in str(c.params), timeout=60
                )
            except AssertionError as missing:
                raise AssertionError(f"{missing}\nthe worker's log:\n{log_path.read_text()}") from None
            assert posted.ok and worker.poll() is None, log_path.read_text()
            # And it still stops cleanly when told to.
            worker.terminate()
            assert stopped(worker, timeout=30) == 0, log_path.read_text()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            dedicated_redis.stop()


REPORTS = 20
# Slack answers every post this late; the first report's two first posts (its DM copy and its channel
# summary, which go out at once, in either order) later still, and the worker is killed while it waits for
# those answers, the summary already in the channel.
SLOW_SECONDS = 0.1
KILLED_WHILE_WAITING_SECONDS = 5.0
# A deadline, not a benchmark: about 10 s on an idle machine (the 20 reports' posts, each answered in
# SLOW_SECONDS), against the 300 s of a delivery's hold and the 600 s of RQ's own upkeep that a dead
# worker's report waited out.
DELIVERED_WITHIN_SECONDS = 30


def report_to_deliver(client: redis.Redis, team_id: str, user_id: str, channel_id: str) -> DeliveryRef:
    """An assessment started in `channel_id` and finished the way a click does with a worker: the result
    and its pending delivery in one transaction, then the hand-off to the queue."""
    store = SessionStore(client)
    respondent = Respondent(team_id=team_id, user_id=user_id)
    record, last = answered_but_last(respondent, PULSE, {q.id: OptionChoice(1) for q in PULSE.questions})
    store.start(record.model_copy(update={"origin_channel": channel_id}), may_replace=lambda _: True)
    applied = apply(store, CATALOG, respondent, record.session_id, last, pending_delivery=True)
    assert applied.record.result_id is not None
    ref = DeliveryRef(team_id, "personal", applied.record.result_id)
    JobQueue(client, [5, 10]).deliver(ref)
    return ref


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """A worker in a process group of its own, as a container or a systemd unit runs it."""
    with log_path.open("w") as log_file:
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"],
            env=child_environment(env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for_line(log_path, (WORKER_STARTED,))
    return worker


def wait_until(done: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.2)


def test_a_worker_killed_mid_delivery_leaves_every_report_posted_once_by_the_next_one(
    tmp_path: Path, team_id: str
) -> None:
    dedicated_redis = DedicatedRedis(tmp_path)
    dedicated_redis.start()
    client = redis.Redis.from_url(dedicated_redis.url)
    queue, outbox = JobQueue(client, []), Outbox(client)
    workers: list[subprocess.Popen[bytes]] = []
    channels = [f"C0KILL{n:02d}" for n in range(REPORTS)]
    users = [f"U0KILL{n:02d}" for n in range(REPORTS)]
    with FakeSlack() as fake:
        env = {
            "SLACK_BOT_TOKEN": "xoxb-worker-test",
            "REDIS_URL": dedicated_redis.url,
            "SLACK_API_URL": fake.base_url,
            "LOG_LEVEL": "INFO",
            "OUTBOX_SWEEP_SECONDS": "2",
            # One job at a time, so that the post answered late is the first report's summary; the
            # second worker runs several at once.
            "WORKER_THREADS": "1",
        }
        # The first report's DM copy and its summary, then every other post.
        fake.delay_next("chat.postMessage", KILLED_WHILE_WAITING_SECONDS, times=2)
        fake.delay_next("chat.postMessage", SLOW_SECONDS, times=10 * REPORTS)
        refs = [report_to_deliver(client, team_id, u, c) for u, c in zip(users, channels, strict=True)]
        try:
            workers.append(start_worker(env, tmp_path / "first-worker.log"))
            fake.wait_for("chat.postMessage", lambda c: c.params.get("channel") in channels, timeout=60)
            in_flight = jobs_lines(queue, outbox, time.time())
            os.killpg(workers[0].pid, signal.SIGKILL)
            workers[0].wait(timeout=30)
            assert any("\trunning on " in line for line in in_flight), in_flight

            # Slack has the summary; the outbox has only that it was attempted.
            summarised = [d for d in map(outbox.get, refs) if d is not None and "channel" in d.attempts]
            assert len(summarised) == 1 and "channel" not in summarised[0].steps
            # Until another worker runs, `jobs` shows the delivery stuck, its worker gone.
            wait_until(lambda: "stuck" in jobs(dedicated_redis.url).stdout, "`jobs` says it is stuck", 60)

            second_log = tmp_path / "second-worker.log"
            workers.append(start_worker(env | {"WORKER_THREADS": "4"}, second_log))
            started = time.monotonic()
            wait_until(lambda: outbox.count() == 0, "every report delivered", DELIVERED_WITHIN_SECONDS)
            print(
                f"{REPORTS} reports delivered {time.monotonic() - started:.1f} s after the new worker started"
            )

            for user, channel in zip(users, channels, strict=True):
                in_channel = fake.messages(channel)
                summaries = [m for m in in_channel if "thread_ts" not in m]
                assert len(summaries) == 1, (channel, in_channel)
                details = [m for m in in_channel if m.get("thread_ts") == summaries[0]["ts"] and m["text"]]
                assert len(details) == 1, (channel, in_channel)
                assert len(fake.messages(fake.dm_channel_id(user))) == 1, user
            # The dead worker's scheduler lock is let go and the new worker's scheduler takes it.
            wait_for_line(second_log, ("Acquired scheduler lock",), timeout=60)
            assert "stuck" not in jobs(dedicated_redis.url).stdout
        finally:
            for worker in workers:
                if worker.poll() is None:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait()
            dedicated_redis.stop()


# Slack answers every call this late in the next test: long enough for a stop to come mid-delivery.
SLOW_SLACK_SECONDS = 0.5


def test_a_worker_runs_its_threads_jobs_at_once_and_a_stop_lets_each_one_end(
    tmp_path: Path, team_id: str
) -> None:
    dedicated_redis = DedicatedRedis(tmp_path)
    dedicated_redis.start()
    client = redis.Redis.from_url(dedicated_redis.url)
    outbox = Outbox(client)
    channels = [f"C0STOP{n:02d}" for n in range(4)]
    log_path = tmp_path / "worker.log"
    worker: subprocess.Popen[bytes] | None = None
    with FakeSlack(latency=SLOW_SLACK_SECONDS) as fake:
        env = {
            "SLACK_BOT_TOKEN": "xoxb-worker-test",
            "REDIS_URL": dedicated_redis.url,
            "SLACK_API_URL": fake.base_url,
            "LOG_LEVEL": "INFO",
            "OUTBOX_SWEEP_SECONDS": "3600",
            "WORKER_THREADS": str(len(channels)),
        }
        refs = [report_to_deliver(client, team_id, f"U0STOP{n:02d}", c) for n, c in enumerate(channels)]
        dms = {fake.dm_channel_id(f"U0STOP{n:02d}") for n in range(len(channels))}
        try:
            worker = start_worker(env, log_path)

            def reports_in_dms() -> int:
                return sum(c.params.get("channel") in dms for c in fake.calls_to("chat.postMessage"))

            # Every report's DM copy is sent before any report's details are in its channel's thread (the
            # step after the DM and the summary), as a worker running one job at a time would have sent all
            # but the last: they run at once.
            wait_until(lambda: reports_in_dms() == len(channels), "a report in each DM", 60)
            posts = fake.calls_to("chat.postMessage")
            details = [c for c in posts if c.params.get("channel") in channels and c.params.get("thread_ts")]
            assert details == [], details
            os.killpg(worker.pid, signal.SIGTERM)
            assert stopped(worker, timeout=60) == 0, log_path.read_text()

            for ref, channel in zip(refs, channels, strict=True):
                delivery = outbox.get(ref)
                assert delivery is not None and delivery.state == "delivered", (ref, delivery)
                assert len([m for m in fake.messages(channel) if "thread_ts" not in m]) == 1, channel
            assert "stopping once the jobs running end" in log_path.read_text()
        finally:
            if worker is not None and worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
            dedicated_redis.stop()
