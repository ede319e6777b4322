"""Schedules in Redis (fakeredis and a real server): managing them, and the clock's claim, lease and
settle steps, which must hand each run to exactly one clock."""

from __future__ import annotations

import time

import pytest
import redis

from bot.engine.schedule import as_timestamp, from_timestamp, parse_request
from bot.store import keys
from bot.store.schedules import (
    MAX_SCHEDULES_PER_CHANNEL,
    NO_CREATOR,
    ScheduleRecord,
    ScheduleStore,
    TooManySchedules,
    TooManySchedulesOfOne,
    delivery_member,
)
from tests.conftest import workspace_state

NOW = 1_790_000_000.0  # Sat 21 Sep 2026, 12:53 UTC


def draft(team_id: str, channel: str = "C1", creator: str = "U1", text: str = "quarterly") -> ScheduleRecord:
    rule = parse_request(text).rule("Europe/Berlin")
    return ScheduleRecord.draft(team_id, channel, creator, rule, "pulse", created_at=NOW)


def first_run(record: ScheduleRecord, now: float = NOW) -> int:
    return as_timestamp(record.rule.next_run(from_timestamp(now)))


@pytest.fixture
def schedules(redis_client: redis.Redis) -> ScheduleStore:
    return ScheduleStore(redis_client, clock=lambda: NOW)


def claim_all(store: ScheduleStore, now: float) -> list[str]:
    due = store.due(now, 1000)
    records = store.records(due)
    plans = [(item, first_run(record, now)) for item, record in zip(due, records, strict=True) if record]
    return store.claim(now, plans)


def test_a_schedule_is_stored_listed_with_its_next_run_and_cancelled(
    schedules: ScheduleStore, team_id: str
) -> None:
    record = schedules.create(draft(team_id), first_run(draft(team_id)))
    assert len(record.schedule_id) == 6
    assert schedules.get(team_id, record.schedule_id) == record
    [(listed, next_run)] = schedules.in_channel(team_id, "C1")
    assert listed == record
    assert next_run == first_run(record)
    assert from_timestamp(next_run).isoformat() == "2026-10-05T08:00:00+00:00"  # 10:00 CEST
    assert schedules.in_channel(team_id, "C2") == []
    assert schedules.cancel(record)
    assert schedules.get(team_id, record.schedule_id) is None
    assert schedules.in_channel(team_id, "C1") == []
    assert schedules.next_run(team_id, record.schedule_id) is None
    assert not schedules.cancel(record)


def test_a_channel_holds_a_limited_number_of_schedules(schedules: ScheduleStore, team_id: str) -> None:
    for _ in range(MAX_SCHEDULES_PER_CHANNEL):
        schedules.create(draft(team_id), first_run(draft(team_id)))
    with pytest.raises(TooManySchedules):
        schedules.create(draft(team_id), first_run(draft(team_id)))
    assert len(schedules.in_channel(team_id, "C1")) == MAX_SCHEDULES_PER_CHANNEL
    schedules.create(draft(team_id, channel="C2", creator="U2"), first_run(draft(team_id)))


def test_one_person_holds_a_limited_number_of_schedules_across_channels(
    redis_client: redis.Redis, team_id: str
) -> None:
    schedules = ScheduleStore(redis_client, clock=lambda: NOW, per_user=3)
    created = [schedules.create(draft(team_id, channel=f"C{n}"), first_run(draft(team_id))) for n in range(3)]
    before = workspace_state(redis_client, team_id)
    with pytest.raises(TooManySchedulesOfOne):
        schedules.create(draft(team_id, channel="C9"), first_run(draft(team_id)))
    assert workspace_state(redis_client, team_id) == before
    # Someone else may still; and a cancelled schedule makes room again.
    schedules.create(draft(team_id, channel="C9", creator="U2"), first_run(draft(team_id)))
    assert schedules.cancel(created[0])
    schedules.create(draft(team_id, channel="C9"), first_run(draft(team_id)))


def test_a_due_schedule_is_claimed_once_moved_to_its_next_run_and_queued(
    schedules: ScheduleStore, redis_client: redis.Redis, team_id: str
) -> None:
    record = schedules.create(draft(team_id), first_run(draft(team_id)))
    run = first_run(record)
    assert schedules.due(run - 1, 10) == []
    later = run + 30
    [due] = schedules.due(later, 10)
    assert (due.team_id, due.schedule_id, due.run) == (team_id, record.schedule_id, run)
    other_clock = ScheduleStore(redis_client)
    assert other_clock.claim(later, [(due, first_run(record, later))]) == [
        delivery_member(team_id, record.schedule_id, run)
    ]
    # The first clock saw it due too, but it has moved on: nothing to claim.
    assert schedules.claim(later, [(due, first_run(record, later))]) == []
    assert schedules.next_run(team_id, record.schedule_id) == first_run(record, later)
    assert from_timestamp(first_run(record, later)).isoformat() == "2027-01-04T09:00:00+00:00"


def test_a_clock_down_for_two_periods_claims_one_reminder(schedules: ScheduleStore, team_id: str) -> None:
    record = schedules.create(draft(team_id), first_run(draft(team_id)))
    half_a_year_later = first_run(record) + 190 * 24 * 3600
    assert claim_all(schedules, half_a_year_later) == [
        delivery_member(team_id, record.schedule_id, first_run(record))
    ]
    assert claim_all(schedules, half_a_year_later) == []
    assert len(schedules.lease(half_a_year_later, 60, 10)) == 1


def test_a_lease_is_held_by_one_clock_until_it_runs_out(
    schedules: ScheduleStore, redis_client: redis.Redis, team_id: str
) -> None:
    record = schedules.create(draft(team_id), first_run(draft(team_id)))
    now = first_run(record)
    claim_all(schedules, now)
    other_clock = ScheduleStore(redis_client)
    [lease] = schedules.lease(now, 60, 10)
    assert other_clock.lease(now + 59, 60, 10) == []
    # The first clock went quiet; after its lease the delivery is the other clock's.
    [taken] = other_clock.lease(now + 62, 60, 10)
    assert taken.delivery == lease.delivery
    assert not schedules.settle(lease)
    assert other_clock.settle(taken)
    assert schedules.lease(now + 1000, 60, 10) == []
    assert redis_client.hget(keys.PENDING_DELIVERIES, record.member) is None


def test_a_retry_comes_due_again_at_its_time(schedules: ScheduleStore, team_id: str) -> None:
    record = schedules.create(draft(team_id), first_run(draft(team_id)))
    now = first_run(record)
    claim_all(schedules, now)
    [lease] = schedules.lease(now, 60, 10)
    assert schedules.retry(lease, now + 30)
    assert schedules.lease(now + 29, 60, 10) == []
    assert [again.delivery for again in schedules.lease(now + 30, 60, 10)] == [lease.delivery]


def test_a_newer_run_replaces_an_undelivered_older_one(schedules: ScheduleStore, team_id: str) -> None:
    record = schedules.create(draft(team_id), first_run(draft(team_id)))
    january = first_run(record)
    claim_all(schedules, january)
    [lease] = schedules.lease(january, 60, 10)
    schedules.retry(lease, january + 200 * 24 * 3600)  # Slack refused it for months
    april = first_run(record, january)
    claim_all(schedules, april)
    assert [item.run for item in schedules.lease(april, 60, 10)] == [april]


def test_pausing_takes_the_schedule_off_the_clock_once_and_resume_puts_it_back(
    schedules: ScheduleStore, team_id: str
) -> None:
    record = schedules.create(draft(team_id), first_run(draft(team_id)))
    now = first_run(record)
    claim_all(schedules, now)
    assert schedules.pause(team_id, record.schedule_id, "is_archived")
    assert not schedules.pause(team_id, record.schedule_id, "is_archived")
    paused = schedules.get(team_id, record.schedule_id)
    assert paused is not None and paused.paused == "is_archived"
    assert schedules.next_run(team_id, record.schedule_id) is None
    assert schedules.lease(now, 60, 10) == []
    resumed = schedules.resume(team_id, record.schedule_id, now + 3600)
    assert resumed is not None and resumed.paused is None
    assert schedules.next_run(team_id, record.schedule_id) == now + 3600


def test_an_attempt_is_begun_once_per_run_and_a_delivered_run_is_not_wanted_again(
    schedules: ScheduleStore, team_id: str
) -> None:
    record = schedules.create(draft(team_id), first_run(draft(team_id)))
    now = first_run(record)
    claim_all(schedules, now)
    [lease] = schedules.lease(now, 60, 10)
    marked = schedules.begin_attempt(lease)
    assert marked is not None and marked.attempt is not None and marked.attempt.run == lease.run
    delivered = schedules.delivered(lease, "1790000000.000100")
    assert delivered is not None
    assert (delivered.last_run, delivered.last_message_ts, delivered.attempt) == (
        lease.run,
        "1790000000.000100",
        None,
    )
    assert schedules.begin_attempt(lease) is None
    assert schedules.delivered(lease, "again") is None


def test_a_personal_result_in_a_channel_is_the_channels_last_result(
    schedules: ScheduleStore, redis_client: redis.Redis, team_id: str
) -> None:
    from bot.store.sessions import Respondent, ResultRecord, SessionStore

    sessions = SessionStore(redis_client)
    assert schedules.last_channel_result(team_id, "C1") is None
    for finished_at, channel, run_id in (
        (1.0, "C1", None),
        (3.0, "C1", "R1"),
        (2.0, "C1", None),
        (4.0, "D1", None),
    ):
        result = ResultRecord(
            respondent=Respondent(team_id=team_id, user_id="U1", run_id=run_id),
            bank_id="pulse",
            bank_version="2.0.0",
            answers={},
            report={},
            origin_channel=channel,
            # Results are kept for years from when they finished, so they finish now-ish, not in 1970.
            finished_at=time.time() + finished_at,
        )
        sessions.keep_result(result)
    last = schedules.last_channel_result(team_id, "C1")
    # A team member's own result never stands for the channel, and a DM is no channel.
    assert last is not None and last.finished_at - time.time() == pytest.approx(2.0, abs=1.0)


def test_forgetting_a_creator_pauses_their_schedules_and_hands_them_to_no_one(
    schedules: ScheduleStore, redis_client: redis.Redis, team_id: str
) -> None:
    mine = schedules.create(draft(team_id, channel="C1", creator="U1"), first_run(draft(team_id)))
    theirs = schedules.create(draft(team_id, channel="C2", creator="U2"), first_run(draft(team_id)))

    assert schedules.forget_creator(team_id, "U1") == 1

    paused = schedules.get(team_id, mine.schedule_id)
    assert paused is not None and (paused.creator_id, paused.paused) == (NO_CREATOR, "creator_forgotten")
    assert schedules.next_run(team_id, mine.schedule_id) is None  # off the clock
    assert b"U1" not in (redis_client.get(mine.key) or b"")
    untouched = schedules.get(team_id, theirs.schedule_id)
    assert untouched is not None and untouched.creator_id == "U2" and untouched.paused is None
    # Whoever resumes it owns it from then on.
    resumed = schedules.resume(team_id, mine.schedule_id, first_run(draft(team_id)) + 86_400, resumed_by="U3")
    assert resumed is not None and resumed.creator_id == "U3" and resumed.paused is None
