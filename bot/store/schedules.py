"""Reminder schedules in Redis, and the clock's work queue.

A schedule's definition and what has been delivered for it live in its workspace (``{T}:schedule:S``,
JSON, changed by WATCH/MULTI like every other record). When it runs next lives in one global sorted set,
``{clock}:due``, so finding due schedules is one range query however many exist.

Firing a schedule takes two steps, each atomic (a Lua script on the ``{clock}`` slot):

1. **Claim**: for a schedule due at RUN, move it to its next run and add the reminder "T:S:RUN" to
   ``{clock}:deliveries`` in the same step. Two clocks that both saw it due cannot both claim it: the
   script claims only while the schedule is still at RUN. A missed run is claimed once, whatever the
   number of periods missed, because the next run is computed from now.
2. **Deliver**: a clock leases due deliveries (moves them a few minutes ahead, so no other clock takes
   them meanwhile), posts, and then settles the delivery (removes it) or retries it later. A clock that
   dies holding a lease leaves the delivery to be leased again when the lease ends.

Whether a reminder was posted is recorded in the schedule before its delivery is settled, and a delivery
whose post may or may not have reached Slack is marked (``attempt``) before the post, so the next try can
look for the message instead of posting it again (``bot.usecases.clock``).
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import redis
from pydantic import BaseModel, Field, ValidationError

from bot.engine.schedule import Kind, Rule
from bot.store import corrupt, keys
from bot.store.sessions import (
    ResultRecord,
    StoreUnavailable,
    _unavailable_on_connection_error,
)
from bot.store.transactions import MAX_RACE_RETRIES, TryAgain, optimistic

T = TypeVar("T")
MAX_SCHEDULES_PER_CHANNEL = 10
DEFAULT_SCHEDULES_PER_USER = 10
SCHEDULE_ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
SCHEDULE_ID_LENGTH = 6
PauseReason = Literal["is_archived", "channel_not_found", "not_in_channel", "creator_forgotten"]
# The creator of a schedule whose creator asked to be forgotten: nobody, until someone resumes it.
NO_CREATOR = "nobody"


class Attempt(BaseModel):
    """A post of this run's reminder began and its outcome is not known yet."""

    run: int
    started_at: float


class ScheduleRecord(BaseModel):
    schedule_id: str
    team_id: str
    channel_id: str
    creator_id: str
    kind: Kind
    cron: str
    time_zone: str
    bank_id: str
    team_run: bool = False
    created_at: float = Field(default_factory=time.time)
    # Delivery: the newest run whose reminder is in the channel, and the post in flight, if any.
    last_run: int | None = None
    last_posted_at: float | None = None
    last_message_ts: str | None = None
    attempt: Attempt | None = None
    failures: int = 0
    # Paused because the bot cannot post in the channel; its creator is told once.
    paused: PauseReason | None = None
    paused_at: float | None = None

    @classmethod
    def draft(
        cls,
        team_id: str,
        channel_id: str,
        creator_id: str,
        rule: Rule,
        bank_id: str,
        team_run: bool = False,
        created_at: float | None = None,
    ) -> ScheduleRecord:
        """A schedule to store; `ScheduleStore.create` gives it its id."""
        return cls(
            schedule_id="new",
            team_id=team_id,
            channel_id=channel_id,
            creator_id=creator_id,
            kind=rule.kind,
            cron=rule.cron,
            time_zone=rule.time_zone,
            bank_id=bank_id,
            team_run=team_run,
            created_at=time.time() if created_at is None else created_at,
        )

    @property
    def rule(self) -> Rule:
        return Rule(self.kind, self.cron, self.time_zone)

    @property
    def key(self) -> str:
        return keys.schedule(self.team_id, self.schedule_id)

    @property
    def member(self) -> str:
        return keys.clock_member(self.team_id, self.schedule_id)


class TooManySchedules(Exception):
    pass


class TooManySchedulesOfOne(TooManySchedules):
    """The person has created as many schedules (still in place) as one person may."""

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"one person may have at most {limit} schedules")


@dataclass(frozen=True)
class DueSchedule:
    member: str
    team_id: str
    schedule_id: str
    run: int  # the run it is due at, as stored


@dataclass(frozen=True)
class Lease:
    """A delivery this clock holds until `token` (its score in ``{clock}:deliveries``)."""

    delivery: str
    team_id: str
    schedule_id: str
    run: int
    token: float

    @property
    def member(self) -> str:
        return keys.clock_member(self.team_id, self.schedule_id)


def delivery_member(team_id: str, schedule_id: str, run: int) -> str:
    return f"{keys.clock_member(team_id, schedule_id)}:{run}"


def parse_delivery(delivery: str) -> tuple[str, str, int]:
    team_id, schedule_id, run = delivery.split(":")
    return team_id, schedule_id, int(run)


# KEYS: due, deliveries, pending. ARGV: now, then (member, run it was seen due at, next run) triples.
_CLAIM = """
local claimed = {}
for i = 2, #ARGV, 3 do
  local member, seen, following = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local score = redis.call('ZSCORE', KEYS[1], member)
  if score and tonumber(score) == tonumber(seen) then
    redis.call('ZADD', KEYS[1], following, member)
    local delivery = member .. ':' .. seen
    local older = redis.call('HGET', KEYS[3], member)
    if older and older ~= delivery then
      redis.call('ZREM', KEYS[2], older)
    end
    redis.call('HSET', KEYS[3], member, delivery)
    redis.call('ZADD', KEYS[2], 'NX', ARGV[1], delivery)
    claimed[#claimed + 1] = delivery
  end
end
return claimed
"""

# KEYS: the queue. ARGV: now, lease end, how many.
_LEASE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, delivery in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], delivery)
end
return due
"""

# KEYS: the queue, and optionally a hash that points at its items. ARGV: item, lease token, retry at
# ('' to settle: remove the item, and its pointer if the hash has one under the field ARGV[4]).
_SETTLE_OR_RETRY = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then
  return 0
end
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
redis.call('ZREM', KEYS[1], ARGV[1])
if KEYS[2] and redis.call('HGET', KEYS[2], ARGV[4]) == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[4])
end
return 1
"""


class LeaseQueue:
    """A sorted set of items scored by when they are due. A clock leases due items (moves them to the
    lease's end, which is also its token), then settles or retries each while it still holds it; an item
    whose lease ran out is due again, for any clock."""

    def __init__(self, client: redis.Redis, key: str, pointers: str | None = None):
        self.redis = client
        self.key = key
        self.pointers = pointers
        self._lease = client.register_script(_LEASE)
        self._settle_or_retry = client.register_script(_SETTLE_OR_RETRY)

    def lease(self, now: float, lease_seconds: float, limit: int) -> tuple[list[str], float]:
        # A little noise makes each lease's token its own, so two clocks never hold equal tokens.
        token = round(now + lease_seconds + random.random(), 6)
        with _unavailable():
            leased = self._lease(keys=[self.key], args=[now, repr(token), limit])
        return [_text(item) for item in leased], token

    def settle(self, item: str, token: float, pointer_field: str = "") -> bool:
        """Done with the item; False when the lease had been lost (another clock holds it now)."""
        return self._run(item, token, "", pointer_field)

    def retry(self, item: str, token: float, at: float) -> bool:
        return self._run(item, token, repr(float(at)), "")

    def _run(self, item: str, token: float, retry_at: str, pointer_field: str) -> bool:
        queue_keys = [self.key] if self.pointers is None else [self.key, self.pointers]
        with _unavailable():
            return bool(
                self._settle_or_retry(keys=queue_keys, args=[item, repr(token), retry_at, pointer_field])
            )


# KEYS: due, deliveries, pending. ARGV: member, run it was seen at ('' for any).
_UNSCHEDULE = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if ARGV[2] ~= '' and (not score or tonumber(score) ~= tonumber(ARGV[2])) then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
local pending = redis.call('HGET', KEYS[3], ARGV[1])
if pending then
  redis.call('ZREM', KEYS[2], pending)
  redis.call('HDEL', KEYS[3], ARGV[1])
end
return 1
"""


# KEYS: the channel's pace key. ARGV: now, seconds between posts.
_PACE = """
local last = redis.call('GET', KEYS[1])
if last and tonumber(last) > tonumber(ARGV[1]) - tonumber(ARGV[2]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', math.ceil(tonumber(ARGV[2]) * 1000) + 1000)
return 1
"""


class ScheduleStore:
    def __init__(
        self,
        client: redis.Redis,
        clock: Callable[[], float] = time.time,
        per_user: int = DEFAULT_SCHEDULES_PER_USER,
    ):
        self.redis = client
        self.clock = clock
        self.per_user = per_user
        self._claim = client.register_script(_CLAIM)
        self._unschedule = client.register_script(_UNSCHEDULE)
        self._pace = client.register_script(_PACE)
        self.deliveries = LeaseQueue(client, keys.DELIVERIES, keys.PENDING_DELIVERIES)

    # Schedules, as people manage them -----------------------------------------------------------------

    def create(self, draft: ScheduleRecord, first_run: int) -> ScheduleRecord:
        """Store a new schedule under a fresh short id and put it on the clock. Raises TooManySchedules
        when its channel has MAX_SCHEDULES_PER_CHANNEL already, TooManySchedulesOfOne when its creator
        has `per_user`."""
        index = keys.channel_schedules(draft.team_id, draft.channel_id)
        mine = keys.user_schedules(draft.team_id, draft.creator_id)

        def attempt(pipe: Any) -> ScheduleRecord:
            record = draft.model_copy(update={"schedule_id": new_schedule_id()})
            pipe.watch(index, record.key, mine)
            if not self._create_in(pipe, record, index, mine, self.per_user):
                raise TryAgain(f"schedule id {record.schedule_id} is taken")
            return record

        with _unavailable():
            record = optimistic(
                self.redis, attempt, gave_up=lambda: StoreUnavailable("could not find a free schedule id")
            )
            # The clock's index lives in another slot; a schedule stored without it shows as
            # "not on the clock" in `schedule list`, and `schedule resume` puts it back.
            self.redis.zadd(keys.DUE_SCHEDULES, {record.member: first_run})
        return record

    @staticmethod
    def _create_in(pipe: Any, record: ScheduleRecord, index: str, mine: str, per_user: int) -> bool:
        if pipe.zcard(index) >= MAX_SCHEDULES_PER_CHANNEL:
            raise TooManySchedules(record.channel_id)
        listed = [_text(i) for i in pipe.zrange(mine, 0, -1)]
        gone = [i for i in listed if not pipe.exists(keys.schedule(record.team_id, i))]
        if len(listed) - len(gone) >= per_user:
            raise TooManySchedulesOfOne(per_user)
        if pipe.exists(record.key):
            return False
        pipe.multi()
        pipe.set(record.key, record.model_dump_json())
        pipe.zadd(index, {record.schedule_id: record.created_at})
        pipe.zadd(mine, {record.schedule_id: record.created_at})
        if gone:
            pipe.zrem(mine, *gone)
        return True

    def get(self, team_id: str, schedule_id: str) -> ScheduleRecord | None:
        key = keys.schedule(team_id, schedule_id)
        with _unavailable():
            raw = self.redis.get(key)
        return self._readable(key, raw)

    def in_channel(self, team_id: str, channel_id: str) -> list[tuple[ScheduleRecord, int | None]]:
        """The channel's schedules, oldest first, each with its next run (None while off the clock)."""
        with _unavailable():
            ids = [_text(i) for i in self.redis.zrange(keys.channel_schedules(team_id, channel_id), 0, -1)]
            if not ids:
                return []
            with self.redis.pipeline(transaction=False) as pipe:
                for schedule_id in ids:
                    pipe.get(keys.schedule(team_id, schedule_id))
                for schedule_id in ids:
                    pipe.zscore(keys.DUE_SCHEDULES, keys.clock_member(team_id, schedule_id))
                found = pipe.execute()
        raws, scores = found[: len(ids)], found[len(ids) :]
        listed = []
        for schedule_id, raw, score in zip(ids, raws, scores, strict=True):
            record = self._readable(keys.schedule(team_id, schedule_id), raw)
            if record is not None:
                listed.append((record, None if score is None else int(score)))
        return listed

    def _readable(self, key: str, raw: bytes | str | None) -> ScheduleRecord | None:
        """The record; None when there is none, or when it fails validation (set aside, so that one bad
        record neither stops the clock nor hides a channel's other schedules)."""
        if raw is None:
            return None
        try:
            return corrupt.read(ScheduleRecord, raw)
        except ValidationError as error:
            with _unavailable():
                corrupt.set_aside(self.redis, key, raw, "schedule", error)
            return None

    def next_run(self, team_id: str, schedule_id: str) -> int | None:
        with _unavailable():
            score = self.redis.zscore(keys.DUE_SCHEDULES, keys.clock_member(team_id, schedule_id))
        return None if score is None else int(score)

    def cancel(self, record: ScheduleRecord) -> bool:
        """Take the schedule off the clock, then delete it; False when it was already gone."""
        with _unavailable():
            self._unschedule(keys=self._clock_keys(), args=[record.member, ""])
            with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(record.key)
                pipe.zrem(keys.channel_schedules(record.team_id, record.channel_id), record.schedule_id)
                pipe.zrem(keys.user_schedules(record.team_id, record.creator_id), record.schedule_id)
                deleted, _, _ = pipe.execute()
        return bool(deleted)

    def pause(self, team_id: str, schedule_id: str, reason: PauseReason) -> bool:
        """Pause the schedule and take it off the clock. True only for the call that paused it, which
        is the one to tell its creator."""

        def mutate(record: ScheduleRecord) -> ScheduleRecord | None:
            if record.paused is not None:
                return None
            return record.model_copy(update={"paused": reason, "paused_at": self.clock(), "attempt": None})

        paused = self._update(team_id, schedule_id, mutate)
        with _unavailable():
            self._unschedule(keys=self._clock_keys(), args=[keys.clock_member(team_id, schedule_id), ""])
        return paused is not None

    def forget_creator(self, team_id: str, user_id: str) -> int:
        """`forget me` for schedules: each one `user_id` created is paused and handed to no one (the
        person's id leaves it), since the channel may still want it; the number paused."""
        forgotten = 0
        with _unavailable():
            found = list(self.redis.scan_iter(match=keys.schedule(team_id, "*"), count=500))
        for key in found:
            schedule_id = (key.decode() if isinstance(key, bytes) else str(key)).rsplit(":", 1)[-1]
            record = self.get(team_id, schedule_id)
            if record is None or record.creator_id != user_id:
                continue
            self.pause(team_id, schedule_id, "creator_forgotten")

            def anonymise(current: ScheduleRecord, owner: str = user_id) -> ScheduleRecord | None:
                if current.creator_id != owner:
                    return None
                return current.model_copy(update={"creator_id": NO_CREATOR, "paused": "creator_forgotten"})

            self._update(team_id, schedule_id, anonymise)
            forgotten += 1
        return forgotten

    def resume(
        self, team_id: str, schedule_id: str, next_run: int, resumed_by: str | None = None
    ) -> ScheduleRecord | None:
        """Unpause and put back on the clock at `next_run`; None when the schedule is gone. A schedule
        handed to no one becomes the schedule of whoever resumes it."""

        def mutate(record: ScheduleRecord) -> ScheduleRecord | None:
            if record.paused is None:
                return None
            update: dict[str, Any] = {"paused": None, "paused_at": None, "failures": 0}
            if record.creator_id == NO_CREATOR and resumed_by is not None:
                update["creator_id"] = resumed_by
            return record.model_copy(update=update)

        self._update(team_id, schedule_id, mutate)
        record = self.get(team_id, schedule_id)
        if record is None:
            return None
        with _unavailable():
            self.redis.zadd(keys.DUE_SCHEDULES, {record.member: next_run})
            if record.creator_id != NO_CREATOR:
                # A schedule handed on counts as its new creator's from now on.
                mine = keys.user_schedules(team_id, record.creator_id)
                self.redis.zadd(mine, {schedule_id: record.created_at})
        return record

    def last_channel_result(self, team_id: str, channel_id: str) -> ResultRecord | None:
        """The newest personal result reported in the channel."""
        with _unavailable():
            newest = self.redis.zrevrange(keys.channel_results(team_id, channel_id), 0, 0)
            if not newest:
                return None
            raw = self.redis.get(keys.result(team_id, _text(newest[0])))
        return ResultRecord.model_validate_json(raw) if raw is not None else None

    # The clock ---------------------------------------------------------------------------------------

    def due(self, now: float, limit: int) -> list[DueSchedule]:
        with _unavailable():
            found = self.redis.zrangebyscore(
                keys.DUE_SCHEDULES, "-inf", now, start=0, num=limit, withscores=True
            )
        schedules = []
        pairs: list[Any] = list(found)
        for raw_member, score in pairs:
            member = _text(raw_member)
            team_id, schedule_id = keys.split_clock_member(member)
            schedules.append(DueSchedule(member, team_id, schedule_id, int(score)))
        return schedules

    def records(self, refs: Sequence[DueSchedule | Lease]) -> list[ScheduleRecord | None]:
        if not refs:
            return []
        with _unavailable(), self.redis.pipeline(transaction=False) as pipe:
            for ref in refs:
                pipe.get(keys.schedule(ref.team_id, ref.schedule_id))
            raws = pipe.execute()
        return [
            self._readable(keys.schedule(ref.team_id, ref.schedule_id), raw)
            for ref, raw in zip(refs, raws, strict=True)
        ]

    def claim(self, now: float, plans: Sequence[tuple[DueSchedule, int]]) -> list[str]:
        """Move each due schedule to its planned next run and queue its reminder, unless another clock
        did first. Returns the deliveries this call queued."""
        if not plans:
            return []
        args: list[str | float] = [now]
        for due, following in plans:
            args += [due.member, str(due.run), str(following)]
        with _unavailable():
            claimed = self._claim(keys=self._clock_keys(), args=args)
        return [_text(d) for d in claimed]

    def forget(self, due: DueSchedule) -> None:
        """Take a schedule whose record is gone (cancelled) off the clock."""
        with _unavailable():
            self._unschedule(keys=self._clock_keys(), args=[due.member, str(due.run)])

    def lease(self, now: float, lease_seconds: float, limit: int) -> list[Lease]:
        leased, token = self.deliveries.lease(now, lease_seconds, limit)
        leases = []
        for delivery in leased:
            team_id, schedule_id, run = parse_delivery(delivery)
            leases.append(Lease(delivery, team_id, schedule_id, run, token))
        return leases

    def settle(self, lease: Lease) -> bool:
        """The delivery is done (posted, or no longer wanted); False if the lease had been lost."""
        return self.deliveries.settle(lease.delivery, lease.token, pointer_field=lease.member)

    def retry(self, lease: Lease, at: float) -> bool:
        return self.deliveries.retry(lease.delivery, lease.token, at)

    def pace(self, team_id: str, channel_id: str, now: float, seconds: float) -> bool:
        """True, and the channel held from `now`, unless a clock posted there less than `seconds` ago.
        Judged by the clocks' time, so every clock keeps the same pace."""
        paced = keys.channel_paced(team_id, channel_id)
        with _unavailable():
            return bool(self._pace(keys=[paced], args=[repr(now), repr(seconds)]))

    def begin_attempt(self, lease: Lease) -> ScheduleRecord | None:
        """Mark the post of this run as begun. None when it must not be posted: the schedule is gone or
        paused, or this run (or a later one) is already in the channel."""

        def mutate(record: ScheduleRecord) -> ScheduleRecord | None:
            if not reminder_wanted(record, lease.run):
                return None
            return record.model_copy(update={"attempt": Attempt(run=lease.run, started_at=self.clock())})

        return self._update(lease.team_id, lease.schedule_id, mutate)

    def delivered(self, lease: Lease, message_ts: str | None) -> ScheduleRecord | None:
        def mutate(record: ScheduleRecord) -> ScheduleRecord | None:
            if record.last_run is not None and record.last_run >= lease.run:
                return None
            return record.model_copy(
                update={
                    "last_run": lease.run,
                    "last_posted_at": self.clock(),
                    "last_message_ts": message_ts,
                    "attempt": None,
                    "failures": 0,
                }
            )

        return self._update(lease.team_id, lease.schedule_id, mutate)

    def not_posted(self, lease: Lease) -> int:
        """Slack refused the post (so it is not in the channel): clear the attempt, count the failure,
        and return the failures in a row."""

        def mutate(record: ScheduleRecord) -> ScheduleRecord | None:
            return record.model_copy(update={"attempt": None, "failures": record.failures + 1})

        updated = self._update(lease.team_id, lease.schedule_id, mutate)
        return updated.failures if updated is not None else 0

    def may_be_posted(self, lease: Lease) -> int:
        """The post's outcome is unknown: keep the attempt, to look for the message before trying again."""

        def mutate(record: ScheduleRecord) -> ScheduleRecord | None:
            return record.model_copy(update={"failures": record.failures + 1})

        updated = self._update(lease.team_id, lease.schedule_id, mutate)
        return updated.failures if updated is not None else 0

    def _clock_keys(self) -> list[str]:
        return [keys.DUE_SCHEDULES, keys.DELIVERIES, keys.PENDING_DELIVERIES]

    def _update(
        self, team_id: str, schedule_id: str, mutate: Callable[[ScheduleRecord], ScheduleRecord | None]
    ) -> ScheduleRecord | None:
        """Apply `mutate` atomically; None (and nothing written) when the record is gone or `mutate`
        returns None."""
        key = keys.schedule(team_id, schedule_id)

        def attempt(pipe: Any) -> ScheduleRecord | None:
            raw = pipe.get(key)
            if raw is None:
                return None
            try:
                current = corrupt.read(ScheduleRecord, raw)
            except ValidationError:
                return None  # set aside by whoever reads it next (the clock, a listing)
            updated = mutate(current)
            if updated is None:
                return None
            pipe.multi()
            pipe.set(key, updated.model_dump_json())
            return updated

        with _unavailable():
            return optimistic(
                self.redis,
                attempt,
                watched=[key],
                gave_up=lambda: StoreUnavailable(
                    f"gave up after {MAX_RACE_RETRIES} concurrent updates of {key}"
                ),
            )


def reminder_wanted(record: ScheduleRecord, run: int) -> bool:
    """Whether the reminder of `run` is still to be posted: the schedule is not paused, and neither that
    run nor a later one was posted."""
    return record.paused is None and (record.last_run is None or record.last_run < run)


def new_schedule_id() -> str:
    return "".join(secrets.choice(SCHEDULE_ID_ALPHABET) for _ in range(SCHEDULE_ID_LENGTH))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


_unavailable = _unavailable_on_connection_error
