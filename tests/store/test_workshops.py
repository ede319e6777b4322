"""The workshop store against fakeredis and a real Redis server alike; the races on the real one.

The store keeps the engine's document as it is given, so these tests write a document of their own: the
question under way, the votes on it, and the answers settled so far.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from bot.store import keys
from bot.store.corrupt import CorruptRecord
from bot.store.history import DAY_SECONDS
from bot.store.team_runs import FORGOTTEN
from bot.store.workshops import (
    IDLE_LOOK_AFTER_SECONDS,
    StaleWorkshop,
    UnknownWorkshop,
    WorkshopAlreadyOpen,
    WorkshopClosed,
    WorkshopLimits,
    WorkshopRecord,
    WorkshopStore,
)
from tests.conftest import real_redis, workspace_state

DEADLINE_IN = 3 * DAY_SECONDS


class AlreadySettled(Exception):
    pass


@pytest.fixture(autouse=True)
def clock_entries_removed(team_id: str) -> Iterator[None]:
    """The suite's clean-up sweeps keys.CLOCK_INDEXES, which the workshops' index joins only later."""
    yield
    client = real_redis()
    members = [m for m, _ in client.zscan_iter(keys.WATCHED_WORKSHOPS, match=f"{team_id}:*")]
    if members:
        client.zrem(keys.WATCHED_WORKSHOPS, *members)


@pytest.fixture
def workshops(redis_client: redis.Redis) -> WorkshopStore:
    return WorkshopStore(redis_client)


@pytest.fixture
def on_real_redis() -> WorkshopStore:
    return WorkshopStore(real_redis())


def new_workshop(team_id: str, channel_id: str = "C1", facilitator_id: str = "U0FAC") -> WorkshopRecord:
    now = time.time()
    return WorkshopRecord(
        team_id=team_id,
        channel_id=channel_id,
        facilitator_id=facilitator_id,
        bank_id="pulse",
        bank_version="1",
        state={"question": "q1", "votes": {}, "settled": {}},
        created_at=now,
        updated_at=now,
        deadline=now + DEADLINE_IN,
    )


def with_state(workshop: WorkshopRecord, **state: Any) -> WorkshopRecord:
    return workshop.model_copy(update={"state": {**workshop.state, **state}})


def vote(user_id: str, value: int) -> Callable[[WorkshopRecord], WorkshopRecord]:
    def cast(workshop: WorkshopRecord) -> WorkshopRecord:
        if workshop.state["question"] in workshop.state["settled"]:
            raise AlreadySettled(user_id)
        return with_state(workshop, votes={**workshop.state["votes"], user_id: value})

    return cast


def settle(workshop: WorkshopRecord) -> WorkshopRecord:
    question = workshop.state["question"]
    if question in workshop.state["settled"]:
        raise AlreadySettled(question)
    votes = workshop.state["votes"]
    return with_state(workshop, settled={question: {"votes": votes}})


def stored(workshops: WorkshopStore, workshop: WorkshopRecord) -> WorkshopRecord:
    found = workshops.get(workshop.team_id, workshop.workshop_id)
    assert found is not None, f"no workshop {workshop.workshop_id}"
    return found


def look_at(client: redis.Redis, workshop: WorkshopRecord) -> float | None:
    return client.zscore(keys.WATCHED_WORKSHOPS, workshop.clock_member)


def run_together(targets: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)


# Opening -------------------------------------------------------------------------------------------


def test_keys_carry_the_workspace_as_a_cluster_hash_tag(team_id: str) -> None:
    assert keys.workshop(team_id, "W1").startswith(f"{keys.PREFIX}:{{{team_id}}}:")
    assert keys.channel_workshop(team_id, "C1").startswith(f"{keys.PREFIX}:{{{team_id}}}:")


def test_a_channel_has_one_open_workshop_and_the_refusal_names_it(
    workshops: WorkshopStore, team_id: str
) -> None:
    first = workshops.open(new_workshop(team_id))
    assert workshops.open_in(team_id, "C1") == first == stored(workshops, first)

    with pytest.raises(WorkshopAlreadyOpen) as refused:
        workshops.open(new_workshop(team_id, facilitator_id="U0TWO"))
    assert refused.value.workshop == first
    assert workshops.open_in(team_id, "C1") == first

    elsewhere = workshops.open(new_workshop(team_id, channel_id="C2"))
    assert workshops.open_in(team_id, "C2") == elsewhere
    assert workshops.open_in(team_id, "C3") is None


def test_two_opens_in_one_channel_at_once_give_one_workshop(
    on_real_redis: WorkshopStore, team_id: str
) -> None:
    outcomes: list[str] = []
    candidates = [new_workshop(team_id, facilitator_id=f"U0{n}") for n in range(6)]

    def start(candidate: WorkshopRecord) -> Callable[[], None]:
        def attempt() -> None:
            try:
                outcomes.append(on_real_redis.open(candidate).workshop_id)
            except WorkshopAlreadyOpen as refused:
                outcomes.append(f"refused for {refused.workshop.workshop_id}")

        return attempt

    run_together([start(candidate) for candidate in candidates])
    opened = on_real_redis.open_in(team_id, "C1")
    assert opened is not None
    assert sorted(outcomes) == [opened.workshop_id] + [f"refused for {opened.workshop_id}"] * 5


def test_an_open_workshop_and_its_pointer_expire_after_its_deadline_plus_retention(
    redis_client: redis.Redis, team_id: str
) -> None:
    limits = WorkshopLimits(retention_seconds=30 * DAY_SECONDS)
    workshop = WorkshopStore(redis_client, limits).open(new_workshop(team_id))
    expected = int(workshop.deadline + limits.retention_seconds) + 1
    assert redis_client.expiretime(workshop.key) == expected
    assert redis_client.expiretime(keys.channel_workshop(team_id, "C1")) == expected
    assert look_at(redis_client, workshop) == workshop.updated_at + IDLE_LOOK_AFTER_SECONDS


# Changing ------------------------------------------------------------------------------------------


def test_each_change_is_one_revision_more_and_moves_the_clocks_look_a_day_after_it(
    redis_client: redis.Redis, workshops: WorkshopStore, team_id: str
) -> None:
    workshop = workshops.open(new_workshop(team_id))
    later = workshop.updated_at + 3600
    changed = workshops.change(team_id, workshop.workshop_id, vote("U1", 2), now=later)
    assert changed.revision == workshop.revision + 1 and changed.updated_at == later
    assert stored(workshops, workshop) == changed and changed.state["votes"] == {"U1": 2}
    assert look_at(redis_client, workshop) == later + IDLE_LOOK_AFTER_SECONDS

    # Within a day of its deadline, the clock's next look is the deadline.
    near_the_end = workshop.deadline - 60
    workshops.change(team_id, workshop.workshop_id, vote("U2", 1), now=near_the_end)
    assert look_at(redis_client, workshop) == workshop.deadline


def test_a_paused_workshop_is_looked_at_only_at_its_deadline(
    redis_client: redis.Redis, workshops: WorkshopStore, team_id: str
) -> None:
    workshop = workshops.open(new_workshop(team_id))
    workshops.change(team_id, workshop.workshop_id, lambda w: w.model_copy(update={"paused": True}))
    assert look_at(redis_client, workshop) == workshop.deadline
    resumed_at = workshop.updated_at + 7200
    workshops.change(
        team_id, workshop.workshop_id, lambda w: w.model_copy(update={"paused": False}), now=resumed_at
    )
    assert look_at(redis_client, workshop) == resumed_at + IDLE_LOOK_AFTER_SECONDS


def test_a_refused_or_empty_change_or_close_writes_nothing(
    redis_client: redis.Redis, workshops: WorkshopStore, team_id: str
) -> None:
    workshop = workshops.open(new_workshop(team_id))
    workshops.change(team_id, workshop.workshop_id, settle)
    before = workspace_state(redis_client, team_id)
    look = look_at(redis_client, workshop)

    with pytest.raises(AlreadySettled):
        workshops.change(team_id, workshop.workshop_id, vote("U1", 3))
    with pytest.raises(StaleWorkshop) as stale:
        workshops.change(team_id, workshop.workshop_id, lambda w: w, expected_revision=0)
    assert stale.value.workshop.revision == 1
    with pytest.raises(ValueError, match="channel_id"):
        workshops.change(team_id, workshop.workshop_id, lambda w: w.model_copy(update={"channel_id": "C9"}))
    with pytest.raises(AlreadySettled):
        workshops.close(team_id, workshop.workshop_id, "U0FAC", finish=settle)
    with pytest.raises(StaleWorkshop):
        workshops.close(team_id, workshop.workshop_id, "U0FAC", expected_revision=0)
    unchanged = workshops.change(team_id, workshop.workshop_id, lambda _: None)

    assert unchanged.revision == 1
    assert workspace_state(redis_client, team_id) == before
    assert look_at(redis_client, workshop) == look


def test_a_change_at_the_stored_revision_applies(workshops: WorkshopStore, team_id: str) -> None:
    workshop = workshops.open(new_workshop(team_id))
    first = workshops.change(team_id, workshop.workshop_id, vote("U1", 1), expected_revision=0)
    second = workshops.change(team_id, workshop.workshop_id, vote("U1", 4), expected_revision=first.revision)
    assert second.revision == 2 and stored(workshops, workshop).state["votes"] == {"U1": 4}


def test_a_missing_or_closed_workshop_takes_no_change(workshops: WorkshopStore, team_id: str) -> None:
    with pytest.raises(UnknownWorkshop):
        workshops.change(team_id, "nosuch", vote("U1", 1))
    workshop = workshops.open(new_workshop(team_id))
    closed = workshops.close(team_id, workshop.workshop_id, "U0FAC")
    with pytest.raises(WorkshopClosed):
        workshops.change(team_id, workshop.workshop_id, vote("U1", 1))
    with pytest.raises(WorkshopClosed):
        workshops.close(team_id, workshop.workshop_id, "U0FAC")
    assert stored(workshops, workshop) == closed


def test_an_unreadable_workshop_is_set_aside(
    redis_client: redis.Redis, workshops: WorkshopStore, team_id: str
) -> None:
    workshop = workshops.open(new_workshop(team_id))
    redis_client.set(workshop.key, '{"workshop_id": 1}')
    with pytest.raises(CorruptRecord):
        workshops.change(team_id, workshop.workshop_id, vote("U1", 1))
    assert redis_client.get(workshop.key) is None
    assert workshops.open_in(team_id, "C1") is None
    assert workshops.open(new_workshop(team_id)).is_open


# Races, on a real server ---------------------------------------------------------------------------


def test_two_settles_of_one_question_at_once_apply_once(on_real_redis: WorkshopStore, team_id: str) -> None:
    workshop = on_real_redis.open(new_workshop(team_id))
    on_real_redis.change(team_id, workshop.workshop_id, vote("U1", 2))
    both_have_read = threading.Barrier(2)
    first_reads: set[int] = set()
    outcomes: list[str] = []
    seen_by_the_refused: list[WorkshopRecord] = []

    def facilitator(name: str) -> Callable[[], None]:
        def settle_once(current: WorkshopRecord) -> WorkshopRecord:
            # Each settle decides only after the other has read the workshop too.
            if threading.get_ident() not in first_reads:
                first_reads.add(threading.get_ident())
                both_have_read.wait(timeout=10)
            else:
                seen_by_the_refused.append(current)
            return settle(current)

        def click() -> None:
            try:
                on_real_redis.change(team_id, workshop.workshop_id, settle_once)
                outcomes.append(f"settled by {name}")
            except AlreadySettled:
                outcomes.append("refused")

        return click

    run_together([facilitator("one"), facilitator("two")])
    assert sorted(outcomes)[0] == "refused" and sorted(outcomes)[1].startswith("settled by")
    final = stored(on_real_redis, workshop)
    assert final.revision == 2 and final.state["settled"] == {"q1": {"votes": {"U1": 2}}}
    assert [seen.revision for seen in seen_by_the_refused] == [2]


def test_votes_racing_a_settle_are_each_counted_or_refused(
    on_real_redis: WorkshopStore, team_id: str
) -> None:
    workshop = on_real_redis.open(new_workshop(team_id))
    voters = [f"U{n:02d}" for n in range(20)]
    start = threading.Barrier(len(voters) + 1)
    applied: list[str] = []
    refused: list[str] = []
    settled: list[WorkshopRecord] = []

    def voter(user_id: str) -> Callable[[], None]:
        def click() -> None:
            start.wait(timeout=10)
            try:
                on_real_redis.change(team_id, workshop.workshop_id, vote(user_id, len(user_id)))
                applied.append(user_id)
            except AlreadySettled:
                refused.append(user_id)

        return click

    def facilitator() -> None:
        start.wait(timeout=10)
        settled.append(on_real_redis.change(team_id, workshop.workshop_id, settle))

    run_together([*(voter(user_id) for user_id in voters), facilitator])
    [result] = settled
    counted = set(result.state["settled"]["q1"]["votes"])
    assert counted == set(applied)
    assert sorted(applied + refused) == voters
    final = stored(on_real_redis, workshop)
    assert set(final.state["votes"]) == counted
    assert final.revision == len(applied) + 1


# Closing -------------------------------------------------------------------------------------------


def test_closing_keeps_the_record_for_the_retention_and_frees_the_channel_and_the_clock(
    redis_client: redis.Redis, team_id: str
) -> None:
    limits = WorkshopLimits(retention_seconds=30 * DAY_SECONDS)
    workshops = WorkshopStore(redis_client, limits)
    workshop = workshops.open(new_workshop(team_id))
    workshops.change(team_id, workshop.workshop_id, vote("U1", 3))
    closed_at = time.time()

    def in_history(pipe: Any, closed: WorkshopRecord) -> None:
        pipe.zadd(keys.channel_history(team_id, closed.channel_id), {closed.workshop_id: closed_at})
        pipe.expireat(keys.channel_history(team_id, closed.channel_id), limits.closed_until(closed_at))

    closed = workshops.close(
        team_id, workshop.workshop_id, "U0FAC", now=closed_at, finish=settle, also=in_history
    )
    assert (closed.status, closed.closed_by, closed.closed_at, closed.revision) == (
        "closed",
        "U0FAC",
        closed_at,
        2,
    )
    assert closed.state["settled"] == {"q1": {"votes": {"U1": 3}}}
    assert stored(workshops, workshop) == closed
    assert redis_client.expiretime(workshop.key) == limits.closed_until(closed_at)
    assert redis_client.zrange(keys.channel_history(team_id, "C1"), 0, -1) == [workshop.workshop_id.encode()]
    assert redis_client.exists(keys.channel_workshop(team_id, "C1")) == 0
    assert look_at(redis_client, workshop) is None
    assert workshops.open_in(team_id, "C1") is None
    assert workshops.open(new_workshop(team_id)).is_open


# The clock -----------------------------------------------------------------------------------------


def test_the_clock_leases_due_workshops_and_a_change_since_the_lease_stands(
    redis_client: redis.Redis, workshops: WorkshopStore, team_id: str
) -> None:
    quiet = workshops.open(new_workshop(team_id))
    busy = workshops.open(new_workshop(team_id, channel_id="C2"))
    paused = workshops.open(new_workshop(team_id, channel_id="C3"))
    workshops.change(team_id, paused.workshop_id, lambda w: w.model_copy(update={"paused": True}))
    a_day_on = quiet.updated_at + IDLE_LOOK_AFTER_SECONDS + 1

    due = [d for d in workshops.due(a_day_on, lease_seconds=300, limit=1000) if d.team_id == team_id]
    assert {d.workshop_id for d in due} == {quiet.workshop_id, busy.workshop_id}
    # Leased, they are no other clock's until the lease runs out.
    assert [d for d in workshops.due(a_day_on, lease_seconds=300, limit=1000) if d.team_id == team_id] == []

    [leased_quiet] = [d for d in due if d.workshop_id == quiet.workshop_id]
    [leased_busy] = [d for d in due if d.workshop_id == busy.workshop_id]
    workshops.change(team_id, busy.workshop_id, vote("U1", 1), now=a_day_on)
    assert workshops.look_again(leased_busy, quiet.deadline) is False
    assert look_at(redis_client, busy) == a_day_on + IDLE_LOOK_AFTER_SECONDS
    assert workshops.look_again(leased_quiet, quiet.deadline) is True
    assert look_at(redis_client, quiet) == quiet.deadline

    at_the_deadline = workshops.due(quiet.deadline, lease_seconds=300, limit=1000)
    [gone] = [d for d in at_the_deadline if d.workshop_id == quiet.workshop_id]
    assert workshops.stop_looking(gone) is True
    assert look_at(redis_client, quiet) is None


# Forgetting ----------------------------------------------------------------------------------------


def without_votes_of(user_id: str) -> Callable[[WorkshopRecord], dict[str, Any] | None]:
    def unnamed(workshop: WorkshopRecord) -> dict[str, Any] | None:
        state = workshop.state
        named = user_id in state["votes"] or any(user_id in s["votes"] for s in state["settled"].values())
        if not named:
            return None
        return {
            **state,
            "votes": {u: v for u, v in state["votes"].items() if u != user_id},
            "settled": {
                q: {"votes": {u: v for u, v in s["votes"].items() if u != user_id}}
                for q, s in state["settled"].items()
            },
        }

    return unnamed


def test_forgetting_a_person_takes_them_out_of_open_and_closed_workshops(
    redis_client: redis.Redis, workshops: WorkshopStore, team_id: str
) -> None:
    done = workshops.open(new_workshop(team_id, facilitator_id="U0GONE"))
    for user_id in ("U0GONE", "U0STAY"):
        workshops.change(team_id, done.workshop_id, vote(user_id, 2))
    workshops.close(team_id, done.workshop_id, "U0GONE", finish=settle)
    running = workshops.open(new_workshop(team_id, channel_id="C2"))
    workshops.change(team_id, running.workshop_id, vote("U0GONE", 4))
    untouched = workshops.open(new_workshop(team_id, channel_id="C3"))
    workshops.change(team_id, untouched.workshop_id, vote("U0STAY", 1))
    expiries = {w.workshop_id: redis_client.expiretime(w.key) for w in (done, running)}
    looks = {w.workshop_id: look_at(redis_client, w) for w in (running, untouched)}
    untouched_before = stored(workshops, untouched)

    assert workshops.forget_person(team_id, "U0GONE", without_votes_of("U0GONE")) == 2

    after_done, after_running = stored(workshops, done), stored(workshops, running)
    assert (after_done.facilitator_id, after_done.closed_by) == (FORGOTTEN, FORGOTTEN)
    assert after_done.state["settled"] == {"q1": {"votes": {"U0STAY": 2}}}
    assert after_done.state["votes"] == {"U0STAY": 2} and after_done.status == "closed"
    assert after_running.state["votes"] == {} and after_running.facilitator_id == "U0FAC"
    assert after_running.revision == 2
    assert stored(workshops, untouched) == untouched_before
    assert {w.workshop_id: redis_client.expiretime(w.key) for w in (done, running)} == expiries
    assert {w.workshop_id: look_at(redis_client, w) for w in (running, untouched)} == looks
    assert workshops.forget_person(team_id, "U0GONE", without_votes_of("U0GONE")) == 0


def test_a_rewrite_changes_only_whom_a_workshop_names(workshops: WorkshopStore, team_id: str) -> None:
    workshop = workshops.open(new_workshop(team_id))

    def overreaching(current: WorkshopRecord) -> WorkshopRecord:
        return current.model_copy(
            update={"facilitator_id": "U0NEW", "status": "closed", "deadline": 0.0, "channel_id": "C9"}
        )

    assert workshops.rewrite_all(team_id, overreaching) == 1
    after = stored(workshops, workshop)
    assert after.facilitator_id == "U0NEW"
    assert (after.status, after.deadline, after.channel_id) == ("open", workshop.deadline, "C1")
    assert workshops.open_in(team_id, "C1") == after
