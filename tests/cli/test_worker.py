"""`mlops-compass worker` and `mlops-compass jobs`: a delivery that fails for good is a failed job, listed
by `jobs` (and by `rq info`), and the worker runs what is queued and exits under --burst."""

from __future__ import annotations

import subprocess
import sys

from bot.engine.answers import OptionChoice
from bot.engine.catalog import BankCatalog
from bot.store.jobs import JobQueue, delivery_job_id
from bot.store.outbox import DeliveryRef
from bot.store.sessions import Respondent, SessionStore
from bot.usecases.personal import answered_but_last, apply
from playground.fakeslack.app_process import child_environment
from tests.conftest import REAL_REDIS_URL, real_redis

CATALOG = BankCatalog.from_directory()
PULSE = CATALOG.by_id("pulse")


def run_command(*args: str) -> subprocess.CompletedProcess[str]:
    env = child_environment(
        {
            "SLACK_BOT_TOKEN": "xoxb-worker-test",
            "REDIS_URL": REAL_REDIS_URL,
            "SLACK_API_URL": "http://127.0.0.1:9/",
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_delivery_the_worker_cannot_make_is_a_failed_job_that_jobs_lists(team_id: str) -> None:
    client = real_redis()
    store = SessionStore(client)
    respondent = Respondent(team_id=team_id, user_id="U0WORKER")
    record, last = answered_but_last(respondent, PULSE, {q.id: OptionChoice(1) for q in PULSE.questions})
    store.start(record, may_replace=lambda _: True)
    applied = apply(store, CATALOG, respondent, record.session_id, last, pending_delivery=True)
    assert applied.record.result_id is not None
    ref = DeliveryRef(team_id, "personal", applied.record.result_id)
    # No retries, and no Slack where SLACK_API_URL points: the delivery fails, for good, at once.
    queue = JobQueue(client, [])
    assert queue.deliver(ref)
    try:
        burst = run_command("worker", "--burst")
        assert burst.returncode == 0, burst.stderr
        listed = run_command("jobs")
        assert listed.returncode == 0, listed.stderr
        assert delivery_job_id(ref) in listed.stdout
    finally:
        queue.queue.failed_job_registry.remove(delivery_job_id(ref), delete_job=True)
    assert delivery_job_id(ref) not in run_command("jobs").stdout
