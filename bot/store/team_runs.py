"""Team runs in Redis: the run, its members' counted responses and the aggregate they add up to.

- One open run per channel: opening is a WATCH/MULTI on the channel's pointer, so two starts at once
  give one run and one refusal.
- A member's response is added to the aggregate with HINCRBY in the transaction that finishes their
  session (``queue_response``, run by ``SessionStore.change_with``), which WATCHes the run and the
  member's earlier response: a retake subtracts the earlier counts in the same transaction, and a
  response racing the close either lands before it or sees the run closed. The work is O(questions).
- Closing sets the status and reads the aggregate in one transaction: the report counts exactly the
  responses that were in, and never reads them one by one.
- Nothing links the run to its members once it closed: the transaction that closes it deletes who
  answered, their counted responses, their sessions in the run (with the clock's watch and notes on them)
  and the run's list of their results, and takes the run out of those results' report deliveries. What
  stays is the run with its report and the aggregate, counts that name nobody; each member's result stays
  in their own history, naming no run.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import redis
from pydantic import BaseModel, Field

from bot.engine.team import TeamAggregate
from bot.store import keys
from bot.store.history import DAY_SECONDS, DEFAULT_RETENTION_DAYS
from bot.store.outbox import DeliveryRef
from bot.store.scanning import scan_batches
from bot.store.sessions import (
    _text,
    _unavailable_on_connection_error,
)
from bot.store.throttles import UpdateClaims
from bot.store.transactions import MAX_RACE_RETRIES, TooManyConcurrentChanges, optimistic

CLOSED_BY_DEADLINE = "deadline"
# The field of a member's report delivery (bot/store/outbox.py) that names the run, for the follow-up
# once the report is delivered: taken out when the run closes.
DELIVERY_RUN_NOTE = "prepared"
DEFAULT_OPEN_RUNS_PER_USER = 5
R = TypeVar("R")


@dataclass(frozen=True)
class RunLimits:
    """How long a run's keys outlive it, and how many open runs one person may have started."""

    retention_seconds: int = DEFAULT_RETENTION_DAYS * DAY_SECONDS
    open_per_user: int = DEFAULT_OPEN_RUNS_PER_USER

    def open_until(self, run: RunRecord) -> int:
        """When an open run's keys expire if it is never closed (abandoned, and no clock running)."""
        return int(run.deadline + self.retention_seconds) + 1

    def closed_until(self, closed_at: float) -> int:
        return int(closed_at + self.retention_seconds) + 1


# Who started or closed a run, once that person asked to be forgotten.
FORGOTTEN = "forgotten"


class RunRecord(BaseModel):
    run_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    team_id: str
    channel_id: str
    starter_id: str
    bank_id: str
    bank_version: str
    created_at: float = Field(default_factory=time.time)
    deadline: float
    status: Literal["open", "closed"] = "open"
    message_ts: str | None = None
    closed_at: float | None = None
    closed_by: str | None = None  # who closed it, or "deadline"
    invited: int | None = None
    report: dict[str, Any] | None = None  # the team report view, kept with the run

    @property
    def key(self) -> str:
        return keys.run(self.team_id, self.run_id)

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def overdue(self, now: float) -> bool:
        return self.is_open and now >= self.deadline


class ResponseRecord(BaseModel):
    """A member's counted response: the counts it added, so that a retake can take them out again."""

    counts: dict[str, int]
    result_id: str
    recorded_at: float = Field(default_factory=time.time)


class RunAlreadyOpen(Exception):
    def __init__(self, run: RunRecord):
        self.run = run
        super().__init__(f"team run {run.run_id} is already open in {run.channel_id}")


class TooManyOpenRuns(Exception):
    def __init__(self, limit: int, run_ids: list[str]):
        self.limit = limit
        self.run_ids = run_ids
        super().__init__(f"{len(run_ids)} open team runs started by one person; at most {limit}")


class RunClosed(Exception):
    def __init__(self, run: RunRecord):
        self.run = run
        super().__init__(f"team run {run.run_id} is closed")


class UnknownRun(LookupError):
    pass


def _queue_forget_members(
    pipe: Any, team_id: str, run_id: str, answering: Iterable[str], result_ids: Iterable[str]
) -> None:
    """The close's deletions of what links the run to its members: each member's session in the run with
    the clock's watch and notes on it, the run's lists of them and of their results, and the run named in
    those results' report deliveries (a report still pending is then delivered as the person's own)."""
    sessions, watched = [], []
    for user_id in answering:
        sessions += [keys.session(team_id, user_id, run_id), keys.session_notes(team_id, user_id, run_id)]
        watched.append(keys.watched_session(team_id, user_id, run_id))
    pipe.delete(keys.run_sessions(team_id, run_id), keys.run_results(team_id, run_id), *sessions)
    if watched:
        pipe.zrem(keys.WATCHED_SESSIONS, *watched)
    for result_id in result_ids:
        pipe.hdel(DeliveryRef(team_id, "personal", result_id).key, DELIVERY_RUN_NOTE)


def parse_run(raw: bytes | str | None) -> RunRecord | None:
    return RunRecord.model_validate_json(raw) if raw is not None else None


def parse_response(raw: bytes | str | None) -> ResponseRecord | None:
    return ResponseRecord.model_validate_json(raw) if raw is not None else None


class TeamRunStore:
    def __init__(self, client: redis.Redis, limits: RunLimits | None = None):
        self.redis = client
        self.limits = limits if limits is not None else RunLimits()

    # Runs ------------------------------------------------------------------------------------------

    def open(self, run: RunRecord) -> RunRecord:
        """Store `run` as its channel's open run; raises RunAlreadyOpen with the run already there, and
        TooManyOpenRuns when its starter has as many open runs as one person may."""
        pointer = keys.channel_run(run.team_id, run.channel_id)
        mine = keys.user_runs(run.team_id, run.starter_id)
        open_runs = keys.open_runs(run.team_id)
        now = run.created_at
        expire_at = self.limits.open_until(run)

        def attempt(pipe: Any) -> RunRecord:
            pipe.watch(open_runs)
            existing_id = pipe.get(pointer)
            if existing_id is not None:
                existing = parse_run(pipe.get(keys.run(run.team_id, _text(existing_id))))
                if existing is not None and existing.is_open:
                    raise RunAlreadyOpen(existing)
            pipe.watch(mine)
            # A run past its deadline is as good as closed: the next interaction or the clock closes it.
            started = [_text(r) for r in pipe.zrangebyscore(mine, f"({now}", "+inf")]
            if len(started) >= self.limits.open_per_user:
                raise TooManyOpenRuns(self.limits.open_per_user, started)
            latest = max([run.deadline, *(float(d) for _, d in pipe.zrange(mine, -1, -1, withscores=True))])
            latest_anywhere = max(
                [run.deadline, *(float(d) for _, d in pipe.zrange(open_runs, -1, -1, withscores=True))]
            )
            pipe.multi()
            pipe.set(pointer, run.run_id, exat=expire_at)
            pipe.set(run.key, run.model_dump_json(), exat=expire_at)
            pipe.zadd(open_runs, {run.run_id: run.deadline})
            # Runs that expired without ever being closed leave the workspace's index here.
            pipe.zremrangebyscore(open_runs, "-inf", f"({now - self.limits.retention_seconds}")
            pipe.expireat(open_runs, int(latest_anywhere + self.limits.retention_seconds) + 1)
            pipe.zadd(mine, {run.run_id: run.deadline})
            pipe.zremrangebyscore(mine, "-inf", now)
            pipe.expireat(mine, int(latest) + 1)
            # The clock closes runs past their deadline across workspaces from this one index.
            pipe.zadd(keys.RUN_DEADLINES, {keys.clock_member(run.team_id, run.run_id): run.deadline})
            pipe.execute()
            return run

        return self._transaction([pointer], attempt)

    def get(self, team_id: str, run_id: str) -> RunRecord | None:
        with _unavailable_on_connection_error():
            return parse_run(self.redis.get(keys.run(team_id, run_id)))

    def open_in(self, team_id: str, channel_id: str) -> RunRecord | None:
        with _unavailable_on_connection_error():
            run_id = self.redis.get(keys.channel_run(team_id, channel_id))
        run = self.get(team_id, _text(run_id)) if run_id is not None else None
        return run if run is not None and run.is_open else None

    def update(self, team_id: str, run_id: str, mutate: Callable[[RunRecord], RunRecord | None]) -> RunRecord:
        """Apply `mutate` to the stored run atomically (None from it leaves the run as it is)."""
        key = keys.run(team_id, run_id)

        def attempt(pipe: Any) -> RunRecord:
            current = parse_run(pipe.get(key))
            if current is None:
                raise UnknownRun(run_id)
            changed = mutate(current)
            if changed is None:
                pipe.unwatch()
                return current
            pipe.multi()
            pipe.set(key, changed.model_dump_json(), keepttl=True)
            pipe.execute()
            return changed

        return self._transaction([key], attempt)

    def forget_person(self, team_id: str, user_id: str) -> int:
        """`forget me`: the runs that name the person as who started or closed them name FORGOTTEN
        instead (the run, its counts and its report stay for the channel); how many runs changed."""
        run_key = re.compile(re.escape(keys.run(team_id, "")) + r"[^:]+$")
        # A set, not a count: SCAN may name a key twice, and a transaction may run its mutation twice.
        changed: set[str] = set()

        def unnamed(run: RunRecord) -> RunRecord | None:
            update: dict[str, str] = {}
            if run.starter_id == user_id:
                update["starter_id"] = FORGOTTEN
            if run.closed_by == user_id:
                update["closed_by"] = FORGOTTEN
            if not update:
                return None
            changed.add(run.run_id)
            return run.model_copy(update=update)

        with _unavailable_on_connection_error():
            for batch in scan_batches(self.redis, keys.run(team_id, "*")):
                for key in batch:
                    if not run_key.match(key):
                        continue  # a run's counts, responses, sessions…
                    try:
                        self.update(team_id, key.rsplit(":", 1)[1], unnamed)
                    except UnknownRun:
                        continue  # gone since the scan
        return len(changed)

    def set_message(self, team_id: str, run_id: str, message_ts: str) -> RunRecord:
        return self.update(team_id, run_id, lambda run: run.model_copy(update={"message_ts": message_ts}))

    def discard(self, run: RunRecord) -> None:
        """Remove a run nobody could see (its message was never posted)."""
        pointer = keys.channel_run(run.team_id, run.channel_id)

        def attempt(pipe: Any) -> None:
            points_here = _text(pipe.get(pointer) or b"") == run.run_id
            pipe.multi()
            if points_here:
                pipe.delete(pointer)
            pipe.delete(run.key)
            pipe.zrem(keys.open_runs(run.team_id), run.run_id)
            pipe.zrem(keys.user_runs(run.team_id, run.starter_id), run.run_id)
            pipe.zrem(keys.RUN_DEADLINES, keys.clock_member(run.team_id, run.run_id))
            pipe.execute()

        self._transaction([pointer, run.key], attempt)

    def close(
        self,
        team_id: str,
        run_id: str,
        closed_by: str,
        now: float,
        also: Callable[[Any, RunRecord], None] | None = None,
    ) -> RunRecord:
        """Close the run; raises RunClosed if it already was. The same transaction deletes what named the
        members (their counted responses, who answered, their sessions in the run, the clock's watch and
        notes on those, the run's list of their results) and takes the run out of their reports'
        deliveries: the report needs only the aggregate, final from here on (`aggregate`), and the run's
        keys expire with the history's retention. A session write racing the close either lands before it
        (and is deleted with it) or finds the run closed. `also` adds its own writes to the transaction
        (the report's pending delivery)."""
        key = keys.run(team_id, run_id)
        respondents = keys.run_respondents(team_id, run_id)
        in_sessions = keys.run_sessions(team_id, run_id)
        results = keys.run_results(team_id, run_id)
        aggregate = keys.run_aggregate(team_id, run_id)
        expire_at = self.limits.closed_until(now)

        def attempt(pipe: Any) -> RunRecord:
            current = parse_run(pipe.get(key))
            if current is None:
                raise UnknownRun(run_id)
            if not current.is_open:
                raise RunClosed(current)
            pointer = keys.channel_run(team_id, current.channel_id)
            pipe.watch(pointer, respondents, in_sessions, results)
            points_here = _text(pipe.get(pointer) or b"") == run_id
            members = [_text(m) for m in pipe.smembers(respondents)]
            answering = [_text(m) for m in pipe.smembers(in_sessions)]
            result_ids = [_text(r) for r in pipe.zrange(results, 0, -1)]
            closed = current.model_copy(update={"status": "closed", "closed_at": now, "closed_by": closed_by})
            pipe.multi()
            pipe.set(key, closed.model_dump_json(), exat=expire_at)
            pipe.expireat(aggregate, expire_at)
            pipe.delete(respondents, *(keys.run_response(team_id, run_id, member) for member in members))
            _queue_forget_members(pipe, team_id, run_id, answering, result_ids)
            pipe.zrem(keys.open_runs(team_id), run_id)
            pipe.zrem(keys.user_runs(team_id, current.starter_id), run_id)
            pipe.zrem(keys.RUN_DEADLINES, keys.clock_member(team_id, run_id))
            if points_here:
                pipe.delete(pointer)
            if also is not None:
                also(pipe, closed)
            pipe.execute()
            return closed

        return self._transaction([key], attempt)

    @staticmethod
    def queue_member_result(
        pipe: Any, team_id: str, run_id: str, result: str, at: float, expire_at: int
    ) -> None:
        """Queue, inside the caller's MULTI, `result` on the run's list of its members' results: whose
        report deliveries name the run until it closes. `expire_at` (the run's own expiry) bounds the list
        if the run is never closed."""
        results = keys.run_results(team_id, run_id)
        pipe.zadd(results, {result: at})
        pipe.expireat(results, expire_at)

    def overdue_everywhere(self, now: float, limit: int) -> list[tuple[str, str]]:
        """(workspace, run) of open runs past their deadline in every workspace: one range query."""
        with _unavailable_on_connection_error():
            members = self.redis.zrangebyscore(keys.RUN_DEADLINES, "-inf", now, start=0, num=limit)
        return [keys.split_clock_member(_text(member)) for member in members]

    def forget_deadline(self, team_id: str, run_id: str) -> None:
        """Take a run that expired without being closed off the clock's deadlines."""
        with _unavailable_on_connection_error():
            self.redis.zrem(keys.RUN_DEADLINES, keys.clock_member(team_id, run_id))

    def overdue_runs(self, team_id: str, now: float) -> list[str]:
        """Open runs past their deadline, for whatever closes them (an interaction, or a clock)."""
        with _unavailable_on_connection_error():
            return [_text(r) for r in self.redis.zrangebyscore(keys.open_runs(team_id), "-inf", now)]

    def save_report(
        self, team_id: str, run_id: str, report: dict[str, Any], invited: int | None
    ) -> RunRecord:
        return self.update(
            team_id, run_id, lambda run: run.model_copy(update={"report": report, "invited": invited})
        )

    # Responses -------------------------------------------------------------------------------------

    @staticmethod
    def watched_keys(team_id: str, run_id: str, user_id: str) -> tuple[str, str]:
        """What the transaction finishing a member's session must WATCH: the run (is it open?) and the
        member's counted response (what a retake subtracts)."""
        return keys.run(team_id, run_id), keys.run_response(team_id, run_id, user_id)

    @staticmethod
    def queue_response(
        pipe: Any,
        team_id: str,
        run_id: str,
        user_id: str,
        response: ResponseRecord,
        previous: ResponseRecord | None,
        expire_at: int,
    ) -> None:
        """Queue, inside the caller's MULTI, the writes that count `response` (and take `previous` out):
        one HINCRBY per count that changes. Closing the run deletes what names the member; `expire_at`
        (the run's own expiry) bounds it if the run is never closed."""
        delta = TeamAggregate(response.counts)
        if previous is not None:
            delta = delta - TeamAggregate(previous.counts)
        aggregate = keys.run_aggregate(team_id, run_id)
        for name, value in delta.counts.items():
            pipe.hincrby(aggregate, name, value)
        pipe.expireat(aggregate, expire_at)
        pipe.set(keys.run_response(team_id, run_id, user_id), response.model_dump_json(), exat=expire_at)
        respondents = keys.run_respondents(team_id, run_id)
        pipe.sadd(respondents, user_id)
        pipe.expireat(respondents, expire_at)

    def respondent_count(self, team_id: str, run_id: str) -> int:
        with _unavailable_on_connection_error():
            return int(self.redis.hget(keys.run_aggregate(team_id, run_id), "n") or 0)

    def aggregate(self, team_id: str, run_id: str) -> TeamAggregate:
        with _unavailable_on_connection_error():
            return TeamAggregate.from_fields(self.redis.hgetall(keys.run_aggregate(team_id, run_id)))

    def answered(self, team_id: str, run_id: str, user_ids: Iterable[str]) -> set[str]:
        """Which of `user_ids` have a counted response."""
        wanted = list(user_ids)
        if not wanted:
            return set()
        with _unavailable_on_connection_error():
            flags = self.redis.smismember(keys.run_respondents(team_id, run_id), wanted)
        return {user for user, flag in zip(wanted, flags, strict=True) if flag}

    def has_answered(self, team_id: str, run_id: str, user_id: str) -> bool:
        return user_id in self.answered(team_id, run_id, [user_id])

    # Throttles -------------------------------------------------------------------------------------

    def count_claims(self, team_id: str, run_id: str) -> UpdateClaims:
        """The claims throttling the updates of the run's live count."""
        return UpdateClaims(
            self.redis, keys.run_refresh(team_id, run_id), keys.run_refresh_due(team_id, run_id)
        )

    def claim_nudge(self, team_id: str, run_id: str, interval_seconds: int) -> bool:
        with _unavailable_on_connection_error():
            return bool(self.redis.set(keys.run_nudged(team_id, run_id), 1, nx=True, ex=interval_seconds))

    def next_nudge_in(self, team_id: str, run_id: str) -> int:
        """Seconds until the run may be nudged again (0 when it may be now)."""
        with _unavailable_on_connection_error():
            return max(0, int(self.redis.ttl(keys.run_nudged(team_id, run_id))))

    def release_nudge(self, team_id: str, run_id: str) -> None:
        with _unavailable_on_connection_error():
            self.redis.delete(keys.run_nudged(team_id, run_id))

    # Internals -------------------------------------------------------------------------------------

    def _transaction(self, watched: list[str], attempt: Callable[[Any], R]) -> R:
        with _unavailable_on_connection_error():
            return optimistic(
                self.redis,
                attempt,
                watched=watched,
                gave_up=lambda: TooManyConcurrentChanges(
                    f"gave up after {MAX_RACE_RETRIES} concurrent updates of {watched[0]}"
                ),
            )
