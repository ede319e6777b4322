"""Reports waiting to be delivered: the outbox.

The transaction that stores a result (or closes a team run) also writes its pending delivery here, so a
process that dies right after it loses nothing: a worker delivers what is pending, and the sweeper finds
pending deliveries whose job never ran. Each step Slack accepted is recorded (its message ts), so a retried
delivery resumes where the last try stopped instead of posting again; and each post is recorded as
attempted before it is made, so a retry after a worker died mid-post knows to look for it in Slack first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import redis

from bot.store import keys
from bot.store.scanning import scan_batches
from bot.store.transactions import TooManyConcurrentChanges, optimistic

Kind = Literal["personal", "team", "workshop"]
KINDS: tuple[Kind, ...] = ("personal", "team", "workshop")
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# A delivered or given-up report's record is kept this long, for a re-post and for what a Close says.
KEEP_SECONDS = 30 * 24 * 3600
# The holder of a claim that no worker process's heartbeat backs: it lasts its lease.
LEASE_ONLY = "-"
# The step of telling the author a report could not be posted: told again should a re-post fail too.
TOLD = "told"
_STEP = "step:"
_ATTEMPT = "attempt:"


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
    # step -> when a post for it was sent (a timestamp), for a step Slack may have accepted unrecorded
    attempts: dict[str, float] = field(default_factory=dict)
    # What the transaction that stored it prepared: a run member's counted note (and, in a team report's
    # record from before the worker built the report, its message).
    prepared: str | None = None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ref_of(team_id: str, key: str) -> DeliveryRef | None:
    """The delivery a record's key names; None for a lock or a record set aside."""
    prefix = keys.report_delivery_pattern(team_id).removesuffix("*")
    kind, _, delivery_id = key.removeprefix(prefix).partition(":")
    for known in KINDS:
        if kind == known and delivery_id and ":" not in delivery_id:
            return DeliveryRef(team_id, known, delivery_id)
    return None


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
            attempts={k.removeprefix(_ATTEMPT): float(v) for k, v in raw.items() if k.startswith(_ATTEMPT)},
        )

    def record_step(self, ref: DeliveryRef, step: str, value: str) -> None:
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(ref.key, f"{_STEP}{step}", value)
            pipe.hdel(ref.key, f"{_ATTEMPT}{step}")
            pipe.execute()

    def record_attempt(self, ref: DeliveryRef, step: str, at: float) -> None:
        """A post for `step` is about to be sent: until its answer is recorded, Slack may have it or not."""
        self.redis.hset(ref.key, f"{_ATTEMPT}{step}", at)

    def forget_attempt(self, ref: DeliveryRef, step: str) -> None:
        """Slack answered the post with an error: it is not there, and a retry posts without looking."""
        self.redis.hdel(ref.key, f"{_ATTEMPT}{step}")

    def finish(self, ref: DeliveryRef, state: str, told: bool = False) -> None:
        """Delivered (or given up on, its author told): out of the outbox, its record kept a while."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(ref.key, mapping={"state": state, "told": "1" if told else "0"})
            pipe.expire(ref.key, KEEP_SECONDS)
            pipe.zrem(keys.OUTBOX, ref.member)
            pipe.execute()

    def reopen(self, ref: DeliveryRef, told_again: bool = True) -> bool:
        """Pending again (a re-post, whose failure is told to its author anew unless `told_again` is
        False: the telling itself failed, and what it attempted is kept); False when there is no such
        delivery."""
        if not self.redis.exists(ref.key):
            return False
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(ref.key, "state", PENDING)
            if told_again:
                pipe.hdel(ref.key, f"{_STEP}{TOLD}", f"{_ATTEMPT}{TOLD}")
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

    def claim(self, ref: DeliveryRef, seconds: int, holder: str = LEASE_ONLY) -> bool:
        """Hold the delivery while delivering it: a second worker given the same report leaves it be.
        `holder` is the worker process ("host:pid", bot/store/jobs.py) holding it: its hold ends when that
        process stops beating, however long the lease had left; a hold by no worker process lasts its
        `seconds`."""
        lock = keys.report_delivery_lock(ref.team_id, ref.kind, ref.delivery_id)

        def attempt(pipe: Any) -> bool:
            held = pipe.get(lock)
            if held is not None and not self._holder_gone(_text(held)):
                return False
            pipe.multi()
            pipe.set(lock, holder, ex=seconds)
            return True

        return optimistic(self.redis, attempt, gave_up=TooManyConcurrentChanges, watched=[lock])

    def holder(self, ref: DeliveryRef) -> str | None:
        """The worker process holding the delivery ("host:pid"), if one does."""
        held = self.redis.get(keys.report_delivery_lock(ref.team_id, ref.kind, ref.delivery_id))
        return None if held is None or _text(held) == LEASE_ONLY else _text(held)

    def _holder_gone(self, holder: str) -> bool:
        # Only a holder naming a process ("host:pid") beats; any other (a web process's, or a worker's
        # from before workers beat) holds for its lease.
        return ":" in holder and not self.redis.exists(keys.worker_alive(holder))

    def forget_author(self, team_id: str, user_id: str) -> list[DeliveryRef]:
        """`forget me` for the deliveries `user_id` is the author of: a personal report's record goes with
        its lock and its place in the outbox (its result is gone with the person's history), and a team
        report keeps its record for the channel with no author, so nobody is told of it nor can post it
        again. The personal deliveries deleted, whose jobs go too (bot/store/jobs.py)."""
        deleted = []
        for batch in scan_batches(self.redis, keys.report_delivery_pattern(team_id)):
            records = [ref for ref in (_ref_of(team_id, key) for key in batch) if ref is not None]
            authors = self.redis.pipeline(transaction=False)
            for ref in records:
                authors.hget(ref.key, "author")
            for ref, author in zip(records, authors.execute(), strict=True):
                if author is not None and _text(author) == user_id and self._forget(ref, user_id):
                    deleted.append(ref)
        return [ref for ref in deleted if ref.kind == "personal"]

    def _forget(self, ref: DeliveryRef, user_id: str) -> bool:
        """Out with the author's name, atomically: a record the author no longer holds is left alone."""

        def attempt(pipe: Any) -> bool:
            author = pipe.hget(ref.key, "author")
            if author is None or _text(author) != user_id:
                return False
            pipe.multi()
            if ref.kind == "personal":
                pipe.delete(ref.key, keys.report_delivery_lock(ref.team_id, ref.kind, ref.delivery_id))
                pipe.zrem(keys.OUTBOX, ref.member)
            else:
                pipe.hset(ref.key, "author", "")
            return True

        return optimistic(self.redis, attempt, gave_up=TooManyConcurrentChanges, watched=[ref.key])

    def release(self, ref: DeliveryRef) -> None:
        self.redis.delete(keys.report_delivery_lock(ref.team_id, ref.kind, ref.delivery_id))
