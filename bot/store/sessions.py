"""The engine's conversations kept in Redis, one JSON document per respondent.

Every change is one atomic compare-and-set (WATCH the key, read, compute, MULTI/EXEC). A transition that
loses a race is recomputed from the fresh state, never dropped; a refused event raises before EXEC and so
changes nothing. Finishing an assessment writes its result and history entry in the same transaction,
which also trims the history to its bounds (bot/store/history.py), and, for a member of a team run, the
run's aggregate too (``change_with``, ``Change.also``). Every write of a session keeps the clock's watch
over it in the same transaction (``queue_watch``): however a session starts, resumes or ends, the clock
knows when next to look in on it.

A team run's member answers in a session of that run (``session:run:R:user:U``) while the run is open:
every write of one WATCHes the run and is refused once it closed (``RunSessionClosed``), and lists the
member in the run's ``run:R:sessions``, so that the transaction closing the run deletes them all
(bot/store/team_runs.py). The result a member's session finishes with is stored as the person's own: it
names no run.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import redis
from pydantic import BaseModel, Field, ValidationError

from bot.engine.conversation import FINISHED_PHASES
from bot.store import corrupt, keys
from bot.store.connection import UNREACHABLE
from bot.store.corrupt import CorruptRecord, parse_or_set_aside
from bot.store.history import HistoryLimits, TrimPlan, plan_trim, queue_keep
from bot.store.transactions import (
    MAX_RACE_RETRIES,
    TooManyConcurrentChanges,
    optimistic,
    watch_and_read,
)

DEFAULT_SESSION_TTL_SECONDS = 14 * 24 * 3600
# The clock looks in on a session in progress this long after its last change (bot.usecases.clock
# reminds its owner once it has been quiet that long).
FIRST_LOOK_AFTER_SECONDS = 24 * 3600
# The clock's notes on a person's sessions outlive the newest of them by this much, then expire.
NOTES_KEPT_SECONDS = 30 * 24 * 3600

T = TypeVar("T")


class StoreUnavailable(Exception):
    """Redis cannot be reached; nothing was changed."""


# What a read or write of the store may raise when Redis is down or answers with an error.
STORE_ERRORS = (redis.RedisError, StoreUnavailable)


class RunSessionClosed(Exception):
    """A write of a member's session in a team run that is closed (or gone): nothing was changed."""

    def __init__(self, team_id: str, run_id: str):
        self.team_id = team_id
        self.run_id = run_id
        super().__init__(f"team run {run_id} is closed: its sessions take no more writes")


class _RunState(BaseModel):
    """What a session write needs of its team run's record (bot/store/team_runs.py): is it open?"""

    status: str


def _run_is_open(raw: bytes | str | None) -> bool:
    if raw is None:
        return False
    try:
        return _RunState.model_validate_json(raw).status == "open"
    except ValidationError:
        return False


class _Unreadable(Exception):
    """Raised inside a transaction's attempt for a record that fails validation; set aside outside it."""

    def __init__(self, raw: bytes | str, error: ValidationError):
        self.raw = raw
        self.error = error


@contextmanager
def _set_aside_when_unreadable(client: redis.Redis, key: str, kind: str) -> Iterator[None]:
    try:
        yield
    except _Unreadable as unreadable:
        corrupt.set_aside(client, key, unreadable.raw, kind, unreadable.error)
        raise CorruptRecord(key, kind) from None


_FINISHED_PHASE_NAMES = frozenset(phase.value for phase in FINISHED_PHASES)
# The fields of a session's notes hash naming the session the clock watches, and when it started.
WATCHING = "watching"
WATCHING_SINCE = "since"

# The values of the keys `change_with` WATCHes beside a session, as Redis returned them.
Watched = Mapping[str, bytes | str | None]


class Respondent(BaseModel):
    """Whose answers these are: a person on their own, or a member of a team run."""

    team_id: str
    user_id: str
    run_id: str | None = None

    @property
    def session_key(self) -> str:
        return keys.session(self.team_id, self.user_id, self.run_id)

    @property
    def history_key(self) -> str:
        return keys.history(self.team_id, self.user_id, self.run_id)

    @property
    def own(self) -> Respondent:
        """The person on their own: whose a result is, whether or not they answered in a team run."""
        return Respondent(team_id=self.team_id, user_id=self.user_id)


class SessionRecord(BaseModel):
    """One respondent's assessment in progress, with where its messages live in Slack."""

    session_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    respondent: Respondent
    conversation: dict[str, Any]  # engine.Conversation.to_dict()
    origin_channel: str | None = None
    dm_channel: str | None = None
    message_ts: str | None = None
    result_id: str | None = None
    started_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)

    @property
    def in_progress(self) -> bool:
        """Neither completed nor cancelled (the engine's FINISHED_PHASES)."""
        return self.conversation.get("phase") not in _FINISHED_PHASE_NAMES


class ResultRecord(BaseModel):
    """A finished assessment, kept for history with the bank it was answered against."""

    result_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    respondent: Respondent
    bank_id: str
    bank_version: str
    answers: dict[str, int | str]
    report: dict[str, Any]
    origin_channel: str | None = None
    finished_at: float = Field(default_factory=time.time)


@dataclass(frozen=True)
class _ResultPlan:
    """What keeping a result decided from the keys it WATCHed: the history's trim, and when the newest
    result listed in the channel it is reported in (None when it is reported in none) finished."""

    trim: TrimPlan
    channel_newest: float | None


def _reported_in(result: ResultRecord) -> str | None:
    """The channel a personal report is posted in and listed by, if any (a team run member's is not)."""
    channel = result.origin_channel
    if result.respondent.run_id is None and channel and channel.startswith(("C", "G")):
        return channel
    return None


@dataclass(frozen=True)
class Change(Generic[T]):
    """What a mutation decided: the record to store (None leaves it untouched), an optional result to
    keep, and a value handed back to the caller."""

    record: SessionRecord | None
    value: T
    result: ResultRecord | None = None
    # More writes for the same MULTI/EXEC, queued on the pipeline (a team run's aggregate): they apply
    # together with the session's change or not at all.
    also: Callable[[Any], None] | None = None


class SessionStore:
    def __init__(
        self,
        client: redis.Redis,
        session_ttl_seconds: int = DEFAULT_SESSION_TTL_SECONDS,
        history_limits: HistoryLimits | None = None,
    ):
        self.redis = client
        self.session_ttl_seconds = session_ttl_seconds
        self.history_limits = history_limits or HistoryLimits()

    def ping(self) -> None:
        """Raises StoreUnavailable, saying why in one line, unless Redis answers and accepts the
        connection as configured (the right protocol, an existing database, the right password)."""
        try:
            self.redis.ping()
        except UNREACHABLE as error:
            raise StoreUnavailable(f"is unreachable ({_one_line(error)})") from error
        except redis.InvalidResponse as error:
            raise StoreUnavailable(f"does not answer as Redis does ({_one_line(error)})") from error
        except redis.RedisError as error:
            raise StoreUnavailable(f"refused the connection ({_one_line(error)})") from error

    def get(self, respondent: Respondent) -> SessionRecord | None:
        """Raises CorruptRecord (the record set aside) for one that fails validation."""
        with _unavailable_on_connection_error():
            raw = self.redis.get(respondent.session_key)
            return parse_or_set_aside(self.redis, respondent.session_key, raw, SessionRecord, "assessment")

    def start(
        self, record: SessionRecord, may_replace: Callable[[SessionRecord], bool]
    ) -> SessionRecord | None:
        """Make `record` the respondent's session in one atomic step, unless they already have a session
        that `may_replace` says must stay. Returns None when `record` was stored, else the session that
        stayed. Of two starts racing to replace the same finished session, one wins and the other sees
        the winner's session (and `may_replace` decides again). The clock watches the new session from
        the same step (``queue_watch``)."""

        def mutate(current: SessionRecord | None) -> Change[SessionRecord | None]:
            if current is not None and not may_replace(current):
                return Change(None, current)
            return Change(record, None)

        return self.change(record.respondent, mutate)

    def change(self, respondent: Respondent, mutate: Callable[[SessionRecord | None], Change[T]]) -> T:
        """Apply `mutate` to the current record atomically. `mutate` may run more than once when
        another writer wins a race; it must only compute, and raise to refuse (nothing is written)."""
        return self.change_with(respondent, (), lambda record, _watched: mutate(record))

    def change_with(
        self,
        respondent: Respondent,
        watched: Sequence[str],
        mutate: Callable[[SessionRecord | None, Watched], Change[T]],
    ) -> T:
        """`change`, with more keys WATCHed beside the session's: their values, read in the same round
        trip as the session, go to `mutate`, and a write to any of them before EXEC recomputes. A member's
        session in a team run also WATCHes the run: writing it once the run closed raises
        RunSessionClosed."""
        key = respondent.session_key
        run_key = keys.run(respondent.team_id, respondent.run_id) if respondent.run_id else None

        def attempt(pipe: Any) -> T:
            raw, *others = watch_and_read(pipe, [key, *watched, *([run_key] if run_key else [])])
            try:
                current = corrupt.read(SessionRecord, raw) if raw is not None else None
            except ValidationError as error:
                raise _Unreadable(raw, error) from None
            change = mutate(current, dict(zip(watched, others, strict=False)))
            if change.record is None and change.result is None and change.also is None:
                return change.value
            if run_key is not None and change.record is not None and not _run_is_open(others[-1]):
                raise RunSessionClosed(respondent.team_id, str(respondent.run_id))
            # The history is trimmed in the transaction that adds the result (WATCHed from here).
            plan = self._plan_result(pipe, change.result) if change.result is not None else None
            pipe.multi()
            if change.record is not None:
                change.record.updated_at = time.time()
                pipe.set(key, change.record.model_dump_json(), ex=self.session_ttl_seconds)
                queue_watch(pipe, change.record)
                if respondent.run_id is not None:
                    # The run's close finds every session in it here; each write outlives it no longer.
                    in_run = keys.run_sessions(respondent.team_id, respondent.run_id)
                    pipe.sadd(in_run, respondent.user_id)
                    pipe.expire(in_run, self.session_ttl_seconds)
            if change.result is not None and plan is not None:
                self._keep_result(pipe, change.result, plan)
            if change.also is not None:
                change.also(pipe)
            return change.value

        with _unavailable_on_connection_error(), _set_aside_when_unreadable(self.redis, key, "assessment"):
            return optimistic(
                self.redis,
                attempt,
                gave_up=lambda: TooManyConcurrentChanges(
                    f"gave up after {MAX_RACE_RETRIES} concurrent updates of {key}"
                ),
            )

    def _plan_result(self, pipe: Any, result: ResultRecord) -> _ResultPlan:
        """A result is always the person's own (a team run member's too): their history is the bounded one.
        The channel a personal report is posted in lists it too, and expires with the newest it lists."""
        personal = keys.history(result.respondent.team_id, result.respondent.user_id)
        trim = plan_trim(pipe, personal, self.history_limits, result.finished_at)
        channel = _reported_in(result)
        if channel is None:
            return _ResultPlan(trim, None)
        channel_results = keys.channel_results(result.respondent.team_id, channel)
        pipe.watch(channel_results)
        newest = pipe.zrevrange(channel_results, 0, 0, withscores=True)
        return _ResultPlan(trim, max([result.finished_at, *(float(score) for _, score in newest)]))

    def keep_result(self, result: ResultRecord) -> None:
        """Keep a finished result on its own, trimmed as when a session finishes (for tools and tests)."""

        def attempt(pipe: Any) -> None:
            plan = self._plan_result(pipe, result)
            pipe.multi()
            self._keep_result(pipe, result, plan)

        with _unavailable_on_connection_error():
            optimistic(
                self.redis,
                attempt,
                gave_up=lambda: TooManyConcurrentChanges(f"gave up keeping result {result.result_id}"),
            )

    def _keep_result(self, pipe: Any, result: ResultRecord, plan: _ResultPlan) -> None:
        respondent = result.respondent
        # A team run member's result is theirs alone: stored, it names no run (the run's report is built
        # from its aggregate, and what a retake replaces is the run's own record, gone on close).
        kept = result.model_copy(update={"respondent": respondent.own}) if respondent.run_id else result
        queue_keep(
            pipe,
            respondent.team_id,
            keys.history(respondent.team_id, respondent.user_id),
            result.result_id,
            result.finished_at,
            kept.model_dump_json(),
            plan.trim,
            self.history_limits,
        )
        channel = _reported_in(result)
        if channel is not None and plan.channel_newest is not None:
            # A personal report is posted in its channel, so the channel's reminders may name it. Only the
            # newest are ever read; a trimmed, expired or forgotten result is skipped by whoever reads the
            # list, and the list expires with the newest result it names.
            channel_results = keys.channel_results(respondent.team_id, channel)
            pipe.zadd(channel_results, {result.result_id: result.finished_at})
            pipe.zremrangebyrank(channel_results, 0, -(self.history_limits.keep + 1))
            newest = plan.channel_newest
            pipe.expireat(channel_results, int(newest + self.history_limits.retention_seconds) + 1)

    def result(self, team_id: str, result_id: str) -> ResultRecord | None:
        with _unavailable_on_connection_error():
            raw = self.redis.get(keys.result(team_id, result_id))
        return ResultRecord.model_validate_json(raw) if raw is not None else None

    def history(self, respondent: Respondent, limit: int = 20) -> list[ResultRecord]:
        """Finished results, newest first."""
        with _unavailable_on_connection_error():
            ids = self.redis.zrevrange(respondent.history_key, 0, limit - 1)
            if not ids:
                return []
            raws = self.redis.mget([keys.result(respondent.team_id, _text(i)) for i in ids])
        return [ResultRecord.model_validate_json(raw) for raw in raws if raw is not None]

    def ttl(self, respondent: Respondent) -> int:
        with _unavailable_on_connection_error():
            return int(self.redis.ttl(respondent.session_key))


def queue_watch(pipe: Any, record: SessionRecord) -> None:
    """Keep the clock's watch over `record` (bot/store/nudges.py) in the transaction that writes it: a
    session in progress is looked in on a day after this change, and the notes say which session that is;
    a finished one is no longer watched."""
    respondent = record.respondent
    member = keys.watched_session(respondent.team_id, respondent.user_id, respondent.run_id)
    notes = keys.session_notes(respondent.team_id, respondent.user_id, respondent.run_id)
    if not record.in_progress:
        pipe.zrem(keys.WATCHED_SESSIONS, member)
        pipe.hdel(notes, WATCHING, WATCHING_SINCE)
        return
    pipe.zadd(keys.WATCHED_SESSIONS, {member: record.updated_at + FIRST_LOOK_AFTER_SECONDS})
    pipe.hset(notes, mapping={WATCHING: record.session_id, WATCHING_SINCE: repr(record.started_at)})
    pipe.expire(notes, NOTES_KEPT_SECONDS)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@contextmanager
def _unavailable_on_connection_error() -> Iterator[None]:
    """Turns Redis connection failures (a failover's included: bot/store/connection.py) into
    StoreUnavailable, the one error front ends handle."""
    try:
        yield
    except UNREACHABLE as error:
        raise StoreUnavailable(str(error)) from error


def in_process_redis() -> redis.Redis:
    """A Redis that lives only in this process, for trying the app; everything is lost on exit."""
    import fakeredis

    return fakeredis.FakeRedis()
