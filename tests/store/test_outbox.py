"""The outbox of reports to deliver and the worker's queue: a pending delivery is written in the
transaction that stores the result, found by the sweep until it is delivered or given up on, held by one
worker at a time, and enqueued once however often it is handed over."""

from __future__ import annotations

import time

import redis

from bot.engine.answers import OptionChoice
from bot.engine.catalog import BankCatalog
from bot.store.jobs import JobQueue, beat, delivery_job_id
from bot.store.outbox import DELIVERED, FAILED, PENDING, TOLD, Delivery, DeliveryRef, Outbox
from bot.store.sessions import Respondent, SessionStore
from bot.usecases.personal import answered_but_last, apply, finish
from tests.conftest import real_redis

CATALOG = BankCatalog.from_directory()
PULSE = CATALOG.by_id("pulse")


def every_answer(option: int) -> dict[str, OptionChoice]:
    return {
        q.id: OptionChoice(min(option, len(q.options) - 1)) for q in PULSE.questions if q.applies_if is None
    }


def finished_with_delivery(client: redis.Redis, team_id: str) -> DeliveryRef:
    """Finish an assessment the way a click does with a worker: its result and its pending delivery."""
    respondent = Respondent(team_id=team_id, user_id="U0OUT")
    store = SessionStore(client)
    record, last = answered_but_last(respondent, PULSE, every_answer(2))
    store.start(record, may_replace=lambda _: True)
    applied = apply(store, CATALOG, respondent, record.session_id, last, pending_delivery=True)
    assert applied.record.result_id is not None
    return DeliveryRef(team_id, "personal", applied.record.result_id)


def delivery_of(outbox: Outbox, ref: DeliveryRef) -> Delivery:
    found = outbox.get(ref)
    assert found is not None
    return found


def test_the_finishing_transaction_writes_the_pending_delivery_the_sweep_finds_until_it_is_delivered(
    redis_client: redis.Redis, team_id: str
) -> None:
    ref = finished_with_delivery(redis_client, team_id)
    outbox = Outbox(redis_client)
    delivery = outbox.get(ref)
    assert delivery is not None and delivery.state == PENDING and delivery.author == "U0OUT"
    assert SessionStore(redis_client).result(team_id, ref.delivery_id) is not None
    assert ref in outbox.pending(time.time() + 1)
    # Written just now: a sweep looking only at older ones leaves it to the job the click enqueued.
    assert ref not in outbox.pending(time.time() - 60)

    outbox.record_step(ref, "channel", "1700000000.000100")
    assert delivery_of(outbox, ref).steps == {"channel": "1700000000.000100"}
    outbox.finish(ref, DELIVERED)
    assert ref not in outbox.pending(time.time() + 1)
    assert delivery_of(outbox, ref).state == DELIVERED


def test_an_assessment_finished_without_a_worker_leaves_nothing_pending(
    redis_client: redis.Redis, team_id: str
) -> None:
    respondent = Respondent(team_id=team_id, user_id="U0OUT")
    applied = finish(SessionStore(redis_client), CATALOG, respondent, PULSE, every_answer(1))
    assert applied.record.result_id is not None
    assert Outbox(redis_client).get(DeliveryRef(team_id, "personal", applied.record.result_id)) is None


def test_a_given_up_delivery_is_pending_again_on_a_repost_and_one_worker_holds_it_at_a_time(
    redis_client: redis.Redis, team_id: str
) -> None:
    ref = finished_with_delivery(redis_client, team_id)
    outbox = Outbox(redis_client)
    outbox.finish(ref, FAILED, told=True)
    assert ref not in outbox.pending(time.time() + 1)
    assert outbox.reopen(ref)
    again = outbox.get(ref)
    assert again is not None and again.state == PENDING and again.told
    assert ref in outbox.pending(time.time() + 1)
    assert not outbox.reopen(DeliveryRef(team_id, "personal", "no-such-result"))

    assert outbox.claim(ref, 60)
    assert not outbox.claim(ref, 60)
    outbox.release(ref)
    assert outbox.claim(ref, 60)
    outbox.release(ref)


def test_a_delivery_handed_over_twice_is_enqueued_once_with_its_own_id(team_id: str) -> None:
    client = real_redis()
    queue = JobQueue(client, [1, 2])
    ref = DeliveryRef(team_id, "team", "run-one")
    try:
        assert queue.deliver(ref)
        assert not queue.deliver(ref)  # waiting: the sweep, a retry or a second click adds nothing
        job = queue.queue.fetch_job(delivery_job_id(ref))
        assert job is not None and job.args == (team_id, "team", "run-one") and job.retries_left == 2
        assert queue.queue.job_ids.count(delivery_job_id(ref)) == 1
    finally:
        queue.queue.remove(delivery_job_id(ref))
        client.delete(f"rq:job:{delivery_job_id(ref)}")


def test_a_delivery_held_by_a_worker_process_is_free_once_that_process_stops_beating(
    redis_client: redis.Redis, team_id: str
) -> None:
    ref = finished_with_delivery(redis_client, team_id)
    outbox = Outbox(redis_client)
    beat(redis_client, "host-one:101", seconds=1)
    assert outbox.claim(ref, 300, "host-one:101")
    assert outbox.holder(ref) == "host-one:101"
    assert not outbox.claim(ref, 300, "host-two:202")

    # Its 300 s lease notwithstanding, the hold ends with the process's beat.
    deadline = time.monotonic() + 30
    while not outbox.claim(ref, 300, "host-two:202"):
        assert time.monotonic() < deadline, "the hold of a process that stopped beating never ended"
        time.sleep(0.1)
    assert outbox.holder(ref) == "host-two:202"
    outbox.release(ref)

    # A hold that no worker process backs (a web process delivering in place) lasts its lease.
    assert outbox.claim(ref, 300)
    assert outbox.holder(ref) is None
    assert not outbox.claim(ref, 300, "host-two:202")
    outbox.release(ref)


def test_a_repost_that_fails_again_tells_its_author_again(redis_client: redis.Redis, team_id: str) -> None:
    ref = finished_with_delivery(redis_client, team_id)
    outbox = Outbox(redis_client)
    outbox.record_attempt(ref, "channel", 1700000000.0)
    outbox.record_step(ref, TOLD, "1700000001.000100")
    outbox.finish(ref, FAILED, told=True)
    assert delivery_of(outbox, ref).attempts == {"channel": 1700000000.0}

    assert outbox.reopen(ref)
    again = delivery_of(outbox, ref)
    assert TOLD not in again.steps and again.attempts == {"channel": 1700000000.0}
