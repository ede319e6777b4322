"""The engine's conversations kept in Redis, one JSON document per respondent.

Every change is one atomic compare-and-set (WATCH the key, read, compute, MULTI/EXEC). A transition that
loses a race is recomputed from the fresh state, never dropped; a refused event raises before EXEC and so
changes nothing. Finishing an assessment writes its result and history entry in the same transaction,
which also trims the history to its bounds (bot/store/history.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import redis
from pydantic import BaseModel, Field

from bot.store import keys
from bot.store.history import HistoryLimits, TrimPlan, plan_trim, queue_keep

DEFAULT_SESSION_TTL_SECONDS = 14 * 24 * 3600
MAX_RACE_RETRIES = 50

T = TypeVar("T")


class StoreUnavailable(Exception):
    """Redis cannot be reached; nothing was changed."""


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
class Change(Generic[T]):
    """What a mutation decided: the record to store (None leaves it untouched), an optional result to
    keep, and a value handed back to the caller."""

    record: SessionRecord | None
    value: T
    result: ResultRecord | None = None


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
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise StoreUnavailable(f"is unreachable ({_one_line(error)})") from error
        except redis.InvalidResponse as error:
            raise StoreUnavailable(f"does not answer as Redis does ({_one_line(error)})") from error
        except redis.RedisError as error:
            raise StoreUnavailable(f"refused the connection ({_one_line(error)})") from error

    def get(self, respondent: Respondent) -> SessionRecord | None:
        with _unavailable_on_connection_error():
            raw = self.redis.get(respondent.session_key)
        return SessionRecord.model_validate_json(raw) if raw is not None else None

    def create(self, record: SessionRecord, replace: bool = False) -> bool:
        """Store a new session; unless `replace`, only when the respondent has none (SET NX)."""
        record.updated_at = time.time()
        with _unavailable_on_connection_error():
            stored = self.redis.set(
                record.respondent.session_key,
                record.model_dump_json(),
                ex=self.session_ttl_seconds,
                nx=not replace,
            )
        return bool(stored)

    def change(self, respondent: Respondent, mutate: Callable[[SessionRecord | None], Change[T]]) -> T:
        """Apply `mutate` to the current record atomically. `mutate` may run more than once when
        another writer wins a race; it must only compute, and raise to refuse (nothing is written)."""
        key = respondent.session_key
        with _unavailable_on_connection_error(), self.redis.pipeline(transaction=True) as pipe:
            for _ in range(MAX_RACE_RETRIES):
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    current = SessionRecord.model_validate_json(raw) if raw is not None else None
                    change = mutate(current)
                    if change.record is None and change.result is None:
                        pipe.unwatch()
                        return change.value
                    # The history is trimmed in the transaction that adds the result (WATCHed from here).
                    trim = self._plan_result(pipe, change.result) if change.result is not None else None
                    pipe.multi()
                    if change.record is not None:
                        change.record.updated_at = time.time()
                        pipe.set(key, change.record.model_dump_json(), ex=self.session_ttl_seconds)
                    if change.result is not None and trim is not None:
                        self._keep_result(pipe, change.result, trim)
                    pipe.execute()
                    return change.value
                except redis.WatchError:
                    continue
                finally:
                    pipe.reset()
        raise StoreUnavailable(f"gave up after {MAX_RACE_RETRIES} concurrent updates of {key}")

    def _plan_result(self, pipe: Any, result: ResultRecord) -> TrimPlan:
        return plan_trim(pipe, result.respondent.history_key, self.history_limits, result.finished_at)

    def _keep_result(self, pipe: Any, result: ResultRecord, trim: TrimPlan) -> None:
        respondent = result.respondent
        queue_keep(
            pipe,
            respondent.team_id,
            respondent.history_key,
            result.result_id,
            result.finished_at,
            result.model_dump_json(),
            trim,
            self.history_limits,
        )

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


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@contextmanager
def _unavailable_on_connection_error() -> Iterator[None]:
    """Turns Redis connection failures into StoreUnavailable, the one error front ends handle."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as error:
        raise StoreUnavailable(str(error)) from error


def connect(url: str, timeout_seconds: float = 2.0) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        health_check_interval=15,
    )


def in_process_redis() -> redis.Redis:
    """A Redis that lives only in this process, for trying the app; everything is lost on exit."""
    import fakeredis

    return fakeredis.FakeRedis()
