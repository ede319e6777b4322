"""Each post of a report is made once: it is recorded as attempted before it is sent and as accepted once
Slack answers, so a retry after a try that died between the two looks for the message in Slack (by its
metadata) instead of posting it again, and posts it only when it is not there."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from slack_sdk import WebClient

from bot.engine.answers import OptionChoice
from bot.engine.catalog import BankCatalog
from bot.slack.delivery.run import REPORT_EVENT, Steps
from bot.slack.replies import SLACK_FAILURES
from bot.store.outbox import Delivery, DeliveryRef, Outbox
from bot.store.sessions import Respondent, SessionStore
from bot.usecases.personal import answered_but_last, apply
from playground.fakeslack import FakeSlack

PULSE = BankCatalog.from_directory().by_id("pulse")
CHANNEL = "C0STEPS"
SUMMARY = {"text": "the report's summary"}


def client_of(fake: FakeSlack) -> WebClient:
    # Gives up on an answer after a second, as a worker killed while it waits never gets one.
    return WebClient(token="xoxb-steps", base_url=fake.base_url, timeout=1, retry_handlers=[])


def pending_delivery(client: redis.Redis, team_id: str) -> Delivery:
    respondent = Respondent(team_id=team_id, user_id="U0STEPS")
    store = SessionStore(client)
    record, last = answered_but_last(respondent, PULSE, {q.id: OptionChoice(1) for q in PULSE.questions})
    store.start(record, may_replace=lambda _: True)
    applied = apply(store, BankCatalog([PULSE]), respondent, record.session_id, last, pending_delivery=True)
    assert applied.record.result_id is not None
    delivery = Outbox(client).get(DeliveryRef(team_id, "personal", applied.record.result_id))
    assert delivery is not None
    return delivery


def first_post_fails(
    fake: FakeSlack, client: redis.Redis, team_id: str, fault: Callable[[FakeSlack], None]
) -> tuple[Outbox, Delivery]:
    """A report's delivery whose first post of its summary meets `fault`, set on the fake Slack."""
    outbox, delivery = Outbox(client), pending_delivery(client, team_id)
    fault(fake)
    with pytest.raises(SLACK_FAILURES):
        Steps(outbox, delivery).post_once(client_of(fake), "channel", CHANNEL, SUMMARY)
    return outbox, delivery


def steps_of_a_new_try(outbox: Outbox, delivery: Delivery) -> Steps:
    """What the next try reads back from the outbox."""
    stored = outbox.get(delivery.ref)
    assert stored is not None
    return Steps(outbox, stored)


def test_a_post_slack_took_whose_answer_never_came_is_found_not_posted_again(
    fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    outbox, delivery = first_post_fails(
        fake, redis_client, team_id, lambda fake: fake.delay_next("chat.postMessage", 3.0)
    )
    [landed] = fake.messages(CHANNEL)

    retry = steps_of_a_new_try(outbox, delivery)
    assert "channel" in retry.attempts and retry.get("channel") is None
    assert retry.post_once(client_of(fake), "channel", CHANNEL, SUMMARY) == landed["ts"]

    assert fake.messages(CHANNEL) == [landed]
    assert landed["metadata"] == {
        "event_type": REPORT_EVENT,
        "event_payload": {"delivery": delivery.ref.member, "step": "channel"},
    }
    assert steps_of_a_new_try(outbox, delivery).get("channel") == landed["ts"]
    assert steps_of_a_new_try(outbox, delivery).attempts == {}


def test_a_reply_in_a_thread_whose_answer_never_came_is_found_in_the_thread(
    fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    outbox, delivery = Outbox(redis_client), pending_delivery(redis_client, team_id)
    parent = Steps(outbox, delivery).post_once(client_of(fake), "channel", CHANNEL, SUMMARY)
    fake.delay_next("chat.postMessage", 3.0)
    details = {"text": "the report's details"}
    with pytest.raises(SLACK_FAILURES):
        steps_of_a_new_try(outbox, delivery).post_once(client_of(fake), "details", CHANNEL, details, parent)
    reply = fake.messages(CHANNEL)[-1]
    assert reply.get("thread_ts") == parent

    retry = steps_of_a_new_try(outbox, delivery)
    assert retry.post_once(client_of(fake), "details", CHANNEL, details, parent) == reply["ts"]
    assert len(fake.messages(CHANNEL)) == 2
    assert fake.calls_to("conversations.replies")


def test_a_post_that_never_reached_slack_is_looked_for_then_posted_once(
    fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    # An HTTP 500: Slack may or may not have taken it, so the next try looks first.
    outbox, delivery = first_post_fails(
        fake, redis_client, team_id, lambda fake: fake.fail_http_next("chat.postMessage", 500)
    )
    assert fake.messages(CHANNEL) == []

    ts = steps_of_a_new_try(outbox, delivery).post_once(client_of(fake), "channel", CHANNEL, SUMMARY)
    assert [m["ts"] for m in fake.messages(CHANNEL)] == [ts]
    assert len(fake.calls_to("conversations.history")) == 1
    # Recorded: a further try posts nothing and asks nothing.
    assert steps_of_a_new_try(outbox, delivery).post_once(client_of(fake), "channel", CHANNEL, SUMMARY) == ts
    assert len(fake.calls_to("chat.postMessage")) == 2
    assert len(fake.calls_to("conversations.history")) == 1


def test_a_post_slack_refused_is_posted_again_without_looking(
    fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    outbox, delivery = first_post_fails(
        fake, redis_client, team_id, lambda fake: fake.fail_next("chat.postMessage", "ratelimited")
    )
    retry = steps_of_a_new_try(outbox, delivery)
    assert retry.attempts == {}

    retry.post_once(client_of(fake), "channel", CHANNEL, SUMMARY)
    assert len(fake.messages(CHANNEL)) == 1
    assert fake.calls_to("conversations.history") == []


def test_a_step_slack_cannot_be_asked_about_is_not_repeated_after_a_try_died_in_it(
    redis_client: redis.Redis, team_id: str
) -> None:
    outbox, delivery = Outbox(redis_client), pending_delivery(redis_client, team_id)
    runs: list[str] = []

    def dying_upload() -> None:
        runs.append("upload")
        raise KeyboardInterrupt  # the try ends here, as a killed worker's does

    with pytest.raises(KeyboardInterrupt):
        Steps(outbox, delivery).once("chart", dying_upload)
    steps_of_a_new_try(outbox, delivery).once("chart", lambda: runs.append("again"))
    assert runs == ["upload"]
    assert steps_of_a_new_try(outbox, delivery).get("chart") == "done"

    other = pending_delivery(redis_client, team_id)
    Steps(outbox, other).once("chart", lambda: runs.append("other"))
    steps_of_a_new_try(outbox, other).once("chart", lambda: runs.append("twice"))
    assert runs == ["upload", "other"]
