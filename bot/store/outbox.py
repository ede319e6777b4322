"""Reports waiting to be delivered: the outbox.

The transaction that stores a result (or closes a team run) also writes its pending delivery here, so a
process that dies right after it loses nothing: a worker delivers what is pending, and the sweeper finds
pending deliveries whose job never ran. Each step Slack accepted is recorded (its message ts), so a retried
delivery resumes where the last try stopped instead of posting again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import redis

from bot.store import keys

Kind = Literal["personal", "team"]
KINDS: tuple[Kind, ...] = ("personal", "team")
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# A delivered or given-up report's record is kept this long, for a re-post and for what a Close says.
KEEP_SECONDS = 30 * 24 * 3600
_STEP = "step:"


@dataclass(frozen=True)
class DeliveryRef:
    team_id: str
    kind: Kind
    delivery_id: str

    @property
    def key(self) -> str:
        return keys.report_delivery(self.team_id, self.kind, self.delivery_id)

    @property
    def member(self) -> str:
        return keys.clock_member(self.team_id, f"{self.kind}:{self.delivery_id}")

    @classmethod
    def from_member(cls, member: str) -> DeliveryRef | None:
        team_id, rest = keys.split_clock_member(member)
        kind, _, delivery_id = rest.partition(":")
        for known in KINDS:
            if kind == known and delivery_id:
                return cls(team_id, known, delivery_id)
        return None


@dataclass(frozen=True)
class Delivery:
    ref: DeliveryRef
    author: str
    state: str
    created_at: float
    steps: dict[str, str] = field(default_factory=dict)  # step -> what Slack returned (a ts, or a note)
    told: bool = False  # the author was told it could not be posted
    # What the transaction that stored it prepared: a run member's counted note (and, in a team report's
    # record from before the worker built the report, its message).
    prepared: str | None = None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Outbox:
    def __init__(self, client: redis.Redis):
        self.redis = client

    @staticmethod
    def queue_pending(
        pipe: Any, ref: DeliveryRef, author: str, prepared: str | None = None, now: float | None = None
    ) -> None:
        """Queue the pending delivery on a transaction's pipeline (after MULTI), with what the worker is
        to post when it was prepared already."""
        created = time.time() if now is None else now
        fields: dict[str, str | float] = {"author": author, "state": PENDING, "created_at": created}
        if prepared is not None:
            fields["prepared"] = prepared
        pipe.hset(ref.key, mapping=fields)
        pipe.zadd(keys.OUTBOX, {ref.member: created})

    def get(self, ref: DeliveryRef) -> Delivery | None:
        raw = {_text(k): _text(v) for k, v in self.redis.hgetall(ref.key).items()}
        if "state" not in raw:
            return None
        steps = {k.removeprefix(_STEP): v for k, v in raw.items() if k.startswith(_STEP)}
        return Delivery(
            ref,
            author=raw.get("author", ""),
            state=raw["state"],
            created_at=float(raw.get("created_at", 0)),
            steps=steps,
            told=raw.get("told") == "1",
            prepared=raw.get("prepared"),
        )

    def record_step(self, ref: DeliveryRef, step: str, value: str) -> None:
        self.redis.hset(ref.key, f"{_STEP}{step}", value)

    def finish(self, ref: DeliveryRef, state: str, told: bool = False) -> None:
        """Delivered (or given up on, its author told): out of the outbox, its record kept a while."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(ref.key, mapping={"state": state, "told": "1" if told else "0"})
            pipe.expire(ref.key, KEEP_SECONDS)
            pipe.zrem(keys.OUTBOX, ref.member)
            pipe.execute()

    def reopen(self, ref: DeliveryRef) -> bool:
        """Pending again (a re-post); False when there is no such delivery."""
        if not self.redis.exists(ref.key):
            return False
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(ref.key, "state", PENDING)
            pipe.persist(ref.key)
            pipe.zadd(keys.OUTBOX, {ref.member: time.time()})
            pipe.execute()
        return True

    def undelivered(self, limit: int = 100) -> list[tuple[DeliveryRef, float]]:
        """The oldest pending deliveries, each with when it was written (a timestamp), oldest first."""
        members: list[Any] = list(self.redis.zrange(keys.OUTBOX, 0, limit - 1, withscores=True))
        found = [(DeliveryRef.from_member(_text(pair[0])), float(pair[1])) for pair in members]
        return [(ref, since) for ref, since in found if ref is not None]

    def count(self) -> int:
        return int(self.redis.zcard(keys.OUTBOX))

    def pending(self, older_than: float, limit: int = 100) -> list[DeliveryRef]:
        """Pending deliveries written before `older_than` (a timestamp)."""
        members = self.redis.zrangebyscore(keys.OUTBOX, "-inf", older_than, start=0, num=limit)
        refs = [DeliveryRef.from_member(_text(m)) for m in members]
        return [ref for ref in refs if ref is not None]

    def claim(self, ref: DeliveryRef, seconds: int) -> bool:
        """Hold the delivery while delivering it: a second worker given the same report leaves it be."""
        lock = keys.report_delivery_lock(ref.team_id, ref.kind, ref.delivery_id)
        return bool(self.redis.set(lock, "1", nx=True, ex=seconds))

    def release(self, ref: DeliveryRef) -> None:
        self.redis.delete(keys.report_delivery_lock(ref.team_id, ref.kind, ref.delivery_id))
