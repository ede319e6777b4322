"""Kept results per scope (a person, or a channel for team runs), bounded in number and in age.

A history is a sorted set of result ids scored by finish time; each result is its own key. Adding a
result and trimming the history to its newest `keep` happen in one transaction: the history is WATCHed,
the ids to drop are read, and MULTI/EXEC sets the new result, adds it and deletes the dropped ones, so
no reader ever sees more than `keep`, and a dropped result leaves no key behind. Every result key
expires `retention` after it finished, and the history key after its newest result does.

What is kept of a result is its bank id and version, per-dimension names, levels and scores, the
overall level and score and the pulse index (`ResultSummary`): enough to compare it with a later bank
version, and not a copy of the bank.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import redis

from bot.engine.history import ResultSummary, summarise_view
from bot.engine.report_view import build_view
from bot.engine.scoring import Report
from bot.store import keys
from bot.store.transactions import MAX_RACE_RETRIES, optimistic

DAY_SECONDS = 24 * 3600
DEFAULT_KEEP = 40
DEFAULT_RETENTION_DAYS = 3 * 365
HANDLED_EVENT_SECONDS = 3600
SCAN_BATCH = 500

ScopeKind = Literal["person", "channel"]


@dataclass(frozen=True)
class HistoryLimits:
    keep: int = DEFAULT_KEEP
    retention_seconds: int = DEFAULT_RETENTION_DAYS * DAY_SECONDS

    def __post_init__(self) -> None:
        if self.keep < 1 or self.retention_seconds < 1:
            raise ValueError("a history keeps at least one result for at least one second")

    @classmethod
    def of(cls, keep: int, retention_days: int) -> HistoryLimits:
        return cls(keep=keep, retention_seconds=retention_days * DAY_SECONDS)

    def cutoff(self, now: float) -> float:
        return now - self.retention_seconds


@dataclass(frozen=True)
class Scope:
    """Whose history: one person's personal results, or one channel's team results."""

    team_id: str
    kind: ScopeKind
    id: str

    @classmethod
    def person(cls, team_id: str, user_id: str) -> Scope:
        return cls(team_id, "person", user_id)

    @classmethod
    def channel(cls, team_id: str, channel_id: str) -> Scope:
        return cls(team_id, "channel", channel_id)

    @property
    def key(self) -> str:
        if self.kind == "person":
            return keys.history(self.team_id, self.id)
        return keys.channel_history(self.team_id, self.id)


@dataclass(frozen=True)
class TrimPlan:
    """What adding one result to a history must also do, read while the history is WATCHed."""

    dropped: tuple[str, ...]  # result ids to delete: over the count, or past retention
    newest_finished_at: float | None


def plan_trim(pipe: Any, history_key: str, limits: HistoryLimits, now: float) -> TrimPlan:
    """WATCH the history and read what adding one result will drop. Call on a pipeline in watching mode
    (before MULTI); `queue_keep` then queues the writes after MULTI."""
    pipe.watch(history_key)
    expired = pipe.zrangebyscore(history_key, "-inf", f"({limits.cutoff(now)}")
    # Newest first: everything from position keep-1 on is over the count once one more is added.
    surplus = pipe.zrevrange(history_key, limits.keep - 1, -1)
    newest = pipe.zrevrange(history_key, 0, 0, withscores=True)
    dropped = sorted({_text(i) for i in [*expired, *surplus]})
    return TrimPlan(tuple(dropped), float(newest[0][1]) if newest else None)


def queue_keep(
    pipe: Any,
    team_id: str,
    history_key: str,
    result_id: str,
    finished_at: float,
    payload: str,
    plan: TrimPlan,
    limits: HistoryLimits,
) -> None:
    """Queue (after MULTI) the writes that keep one result in a history and trim it by `plan`."""
    result_key = keys.result(team_id, result_id)
    pipe.set(result_key, payload)
    pipe.expireat(result_key, int(finished_at + limits.retention_seconds) + 1)
    pipe.zadd(history_key, {result_id: finished_at})
    if plan.dropped:
        pipe.zrem(history_key, *plan.dropped)
        pipe.delete(*(keys.result(team_id, i) for i in plan.dropped))
    newest = max(finished_at, plan.newest_finished_at or finished_at)
    pipe.expireat(history_key, int(newest + limits.retention_seconds) + 1)


def stored_summary(data: dict[str, Any]) -> ResultSummary:
    """The summary of a stored result: a team result keeps one, a personal result its report view."""
    if "summary" in data:
        return ResultSummary.from_dict(data["summary"])
    return summarise_view(data["report"], str(data["result_id"]), float(data["finished_at"]))


def summary_of_report(report: Report, result_id: str, finished_at: float) -> ResultSummary:
    return summarise_view(build_view(report).to_dict(), result_id, finished_at)


@dataclass(frozen=True)
class Forgotten:
    """What `forget_person` deleted."""

    keys: int  # keys deleted whole: sessions, history, results, responses, their own installation
    results: int
    memberships: int  # sets the person was removed from
    schedules: int
    reports: int = 0  # their reports' delivery records (bot/store/outbox.py)
    jobs: int = 0  # the worker's jobs that named them (bot/store/jobs.py)
    runs: int = 0  # team runs they started or closed, which no longer name them (bot/store/team_runs.py)
    workshops: int = 0  # team workshops they voted in or facilitated, which no longer name them


# (redis client, workspace id, user id) -> how many schedules were deleted or paused.
ScheduleEraser = Callable[[redis.Redis, str, str], int]


def no_schedules(client: redis.Redis, team_id: str, user_id: str) -> int:
    """FORGET_SCHEDULES_HOOK until schedules exist: there are none to delete."""
    return 0


# The reminders' store sets this to its own function that deletes (or pauses, where others rely on it)
# the schedules `user_id` created; `forget_person` calls it with the person's other data.
FORGET_SCHEDULES_HOOK: ScheduleEraser = no_schedules


class HistoryStore:
    def __init__(self, client: redis.Redis, limits: HistoryLimits | None = None):
        self.redis = client
        self.limits = limits or HistoryLimits()

    # Writing --------------------------------------------------------------------------------------

    def keep(self, scope: Scope, result_id: str, finished_at: float, payload: str) -> tuple[str, ...]:
        """Keep one result in `scope`'s history in its own transaction; returns the ids it dropped."""

        def attempt(pipe: Any) -> tuple[str, ...]:
            plan = plan_trim(pipe, scope.key, self.limits, time.time())
            pipe.multi()
            queue_keep(pipe, scope.team_id, scope.key, result_id, finished_at, payload, plan, self.limits)
            return plan.dropped

        return optimistic(
            self.redis,
            attempt,
            gave_up=lambda: RuntimeError(
                f"gave up after {MAX_RACE_RETRIES} concurrent updates of {scope.key}"
            ),
        )

    def claim_event(self, team_id: str, event_id: str) -> bool:
        """True the first time an Events API event id is seen (Slack retries an event with its id)."""
        key = keys.handled_event(team_id, event_id)
        return bool(self.redis.set(key, "1", nx=True, ex=HANDLED_EVENT_SECONDS))

    def release_event(self, team_id: str, event_id: str) -> None:
        """Let Slack's retry of an event that failed be handled after all."""
        self.redis.delete(keys.handled_event(team_id, event_id))

    # Reading --------------------------------------------------------------------------------------

    def results(
        self, scope: Scope, limit: int | None = None, now: float | None = None
    ) -> list[ResultSummary]:
        """Kept results, newest first; none past retention, even before Redis expires them."""
        cutoff = self.limits.cutoff(time.time() if now is None else now)
        ids = self.redis.zrevrangebyscore(
            scope.key, "+inf", f"({cutoff}", start=0, num=limit if limit is not None else self.limits.keep
        )
        if not ids:
            return []
        raws = self.redis.mget([keys.result(scope.team_id, _text(i)) for i in ids])
        return [stored_summary(json.loads(raw)) for raw in raws if raw is not None]

    def latest(self, scope: Scope) -> ResultSummary | None:
        found = self.results(scope, limit=1)
        return found[0] if found else None

    def workspaces(self) -> list[str]:
        """Every workspace with a history."""
        pattern = f"{keys.PREFIX}:{{*}}:history:*"
        found = {
            _text(k).split("{", 1)[1].split("}", 1)[0] for k in self.redis.scan_iter(pattern, SCAN_BATCH)
        }
        return sorted(found)

    def scopes(self, team_id: str) -> list[Scope]:
        """Every person and channel with a history in the workspace."""
        scopes = []
        for key in self.redis.scan_iter(keys.history_pattern(team_id), SCAN_BATCH):
            _, kind, owner = _text(key).rsplit(":", 2)
            if kind == "user":
                scopes.append(Scope.person(team_id, owner))
            elif kind == "channel":
                scopes.append(Scope.channel(team_id, owner))
        return sorted(scopes, key=lambda s: (s.kind, s.id))

    # Forgetting -----------------------------------------------------------------------------------

    def forget_person(
        self, team_id: str, user_id: str, erase_schedules: ScheduleEraser | None = None
    ) -> Forgotten:
        """Delete everything keys.py lists as person `user_id`'s data, atomically: the keys found are
        WATCHed while they are read and deleted in one MULTI/EXEC, so an assessment finishing meanwhile
        makes the deletion start over rather than outlive it."""
        histories = [_text(k) for k in self.redis.scan_iter(keys.history_pattern(team_id), SCAN_BATCH)]

        def attempt(pipe: Any) -> tuple[list[str], list[str], list[str]]:
            personal = sorted(self._personal_keys(team_id, user_id))
            # Watching mode from here on: every read below answers at once.
            pipe.watch(keys.history(team_id, user_id), keys.session(team_id, user_id), *personal)
            results = self._results_of(pipe, team_id, user_id)
            memberships = [
                key
                for pattern in keys.personal_memberships(team_id)
                for key in (_text(k) for k in self.redis.scan_iter(pattern, SCAN_BATCH))
                if pipe.sismember(key, user_id)
            ]
            pipe.multi()
            result_keys = [keys.result(team_id, i) for i in results]
            if results:
                for history_key in histories:
                    pipe.zrem(history_key, *results)
            doomed = [*personal, *result_keys]
            if doomed:
                pipe.delete(*doomed)
            for key in memberships:
                pipe.srem(key, user_id)
            pipe.zrem(keys.installation_users(team_id), user_id)
            return personal, results, memberships

        personal, results, memberships = optimistic(
            self.redis,
            attempt,
            gave_up=lambda: RuntimeError(
                f"gave up forgetting {user_id} after {MAX_RACE_RETRIES} concurrent changes"
            ),
        )
        result_keys = [keys.result(team_id, i) for i in results]
        self._unwatch_sessions(team_id, user_id)
        eraser = erase_schedules if erase_schedules is not None else FORGET_SCHEDULES_HOOK
        schedules = eraser(self.redis, team_id, user_id)
        return Forgotten(len(set(personal) | set(result_keys)), len(results), len(memberships), schedules)

    def _unwatch_sessions(self, team_id: str, user_id: str) -> None:
        """The clock watches no session of the person's any longer: their own, and theirs in each run (the
        clock's index has a slot of its own, so this follows the transaction)."""
        own = keys.watched_session(team_id, user_id)
        members = [
            member
            for pattern in (own, f"{own}:*")
            for member, _ in self.redis.zscan_iter(keys.WATCHED_SESSIONS, match=pattern, count=SCAN_BATCH)
        ]
        if members:
            self.redis.zrem(keys.WATCHED_SESSIONS, *members)

    def _personal_keys(self, team_id: str, user_id: str) -> set[str]:
        found: set[str] = set()
        for pattern in keys.personal_data_patterns(team_id, user_id):
            found.update(_text(k) for k in self.redis.scan_iter(pattern, SCAN_BATCH))
        return found

    def _results_of(self, pipe: Any, team_id: str, user_id: str) -> list[str]:
        """Ids of the results whose respondent is the person, in any history (personal or a team run's)."""
        mine = []
        for batch in _batches(self.redis.scan_iter(keys.result_pattern(team_id), SCAN_BATCH), SCAN_BATCH):
            pipe.watch(*batch)
            for key, raw in zip(batch, pipe.mget(batch), strict=True):
                if raw is None:
                    continue
                respondent = json.loads(raw).get("respondent") or {}
                if respondent.get("user_id") == user_id:
                    mine.append(key.rsplit(":", 1)[1])
        return mine


def record_channel_result(
    client: redis.Redis,
    team_id: str,
    channel_id: str,
    report: Report | ResultSummary,
    *,
    result_id: str | None = None,
    run_id: str | None = None,
    respondents: int | None = None,
    finished_at: float | None = None,
    limits: HistoryLimits | None = None,
) -> tuple[str, ...]:
    """Keep a team result in channel `channel_id`'s history: what `history #channel`, App Home, export and
    the next team report's changes read. The team run calls this when it closes; returns dropped ids."""
    finished = time.time() if finished_at is None else finished_at
    if result_id is None:
        result_id = report.result_id if isinstance(report, ResultSummary) else uuid.uuid4().hex
    summary = report if isinstance(report, ResultSummary) else summary_of_report(report, result_id, finished)
    payload = {
        "result_id": result_id,
        "channel_id": channel_id,
        "run_id": run_id,
        "respondents": respondents,
        "finished_at": finished,
        "summary": summary.to_dict(),
    }
    store = HistoryStore(client, limits)
    return store.keep(Scope.channel(team_id, channel_id), result_id, finished, json.dumps(payload))


def _batches(items: Iterable[Any], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(_text(item))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
