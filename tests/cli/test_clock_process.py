"""`mlops-compass clock` as the Procfile runs it: real processes, one real Redis, the fake Slack Web API."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.engine.schedule import parse_request
from bot.slack.schedule_blocks import REMINDER_EVENT
from bot.store import keys
from bot.store.schedules import ScheduleRecord, ScheduleStore
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import child_environment
from tests.conftest import REAL_REDIS_URL, real_redis

# The clock started as a process: the slow tier (`-m "not e2e"` leaves it out).
pytestmark = pytest.mark.e2e

DUE_AT_ONCE = 1000


@contextmanager
def clock_process(fake: FakeSlack, **settings: str) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-clock",
        "SLACK_API_URL": fake.base_url,
        "REDIS_URL": REAL_REDIS_URL,
        "CLOCK_TICK_SECONDS": "0.2",
        "LOG_LEVEL": "INFO",
        **settings,
    }
    descriptor, log_name = tempfile.mkstemp(prefix="mlops-compass-clock-", suffix=".log")
    with os.fdopen(descriptor, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "clock"],
            env=child_environment(env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        yield process, Path(log_name)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def wait_for_log(path: Path, text: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = path.read_text(errors="replace")
        if text in log:
            return log
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in the clock's log:\n{path.read_text(errors='replace')}")


def posted_reminders(fake: FakeSlack) -> Counter[tuple[str, int]]:
    found: Counter[tuple[str, int]] = Counter()
    for call in fake.calls_to("chat.postMessage"):
        metadata = call.params.get("metadata") or {}
        if call.ok and metadata.get("event_type") == REMINDER_EVENT:
            payload = metadata["event_payload"]
            found[(payload["schedule"], payload["run"])] += 1
    return found


def nothing_left_to_deliver(team_id: str) -> bool:
    """No schedule of the workspace due and no reminder of it queued or leased."""
    client, now = real_redis(), time.time()
    due = [m for m, run_at in client.zscan_iter(keys.DUE_SCHEDULES, match=f"{team_id}*") if run_at <= now]
    queued = list(client.zscan_iter(keys.DELIVERIES, match=f"{team_id}*"))
    return not due and not queued


def test_two_clocks_post_each_of_a_thousand_due_reminders_exactly_once(fake: FakeSlack, team_id: str) -> None:
    store = ScheduleStore(real_redis())
    rule = parse_request("quarterly").rule("Europe/Berlin")
    due = int(time.time()) - 60
    created = []
    for n in range(DUE_AT_ONCE):
        draft = ScheduleRecord.draft(team_id, f"C{n:05d}", f"U{n:05d}", rule, "pulse")
        created.append(store.create(draft, due).schedule_id)
    with clock_process(fake) as (first, first_log), clock_process(fake) as (second, second_log):
        deadline = time.monotonic() + 90
        # Until every reminder was posted and the clocks' queues hold nothing more for this workspace: from
        # then on no post can follow, doubled or not.
        while not (sum(posted_reminders(fake).values()) >= DUE_AT_ONCE and nothing_left_to_deliver(team_id)):
            assert time.monotonic() < deadline, f"{sum(posted_reminders(fake).values())} posted after 90s"
            time.sleep(0.2)
        for process in (first, second):
            process.send_signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 0 and second.wait(timeout=20) == 0
    posted = posted_reminders(fake)
    assert sorted(schedule for schedule, _ in posted) == sorted(created)
    assert set(posted.values()) == {1}
    assert {run for _, run in posted} == {due}
    shares = [
        sum(int(n) for n in re.findall(r"(\d+) posted", log.read_text())) for log in (first_log, second_log)
    ]
    assert sum(shares) == DUE_AT_ONCE, shares
    print(f"\n{DUE_AT_ONCE} reminders, each posted once; the two clocks posted {shares[0]} and {shares[1]}")


def test_sigterm_stops_the_clock_cleanly(fake: FakeSlack) -> None:
    real_redis()
    with clock_process(fake, CLOCK_TICK_SECONDS="30") as (process, log):
        wait_for_log(log, "clock started")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert "clock stopped" in log.read_text()


def test_a_missing_token_stops_the_clock_with_one_line(fake: FakeSlack) -> None:
    with clock_process(fake, SLACK_BOT_TOKEN="") as (process, log):
        assert process.wait(timeout=30) == 2
    lines = log.read_text().strip().splitlines()
    # Empty is unset: without OAuth the bot token is required.
    assert lines == ["mlops-compass clock: SLACK_BOT_TOKEN is required but not set"]
