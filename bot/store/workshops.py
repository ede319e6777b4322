"""Team workshops in Redis: one JSON record per workshop, the engine's state inside it with every vote.

- One open workshop per channel: opening is a WATCH/MULTI on the channel's pointer
  (``channel:C:workshop``), so two starts at once give one workshop and one refusal naming it.
- Every change is one optimistic transaction over the record (bot/store/transactions.py). The record
  carries a ``revision``, one more on each write: a click made on an older rendering of the workshop
  can be refused (``expected_revision``), and of two settles of one question racing, the second is
  recomputed on the record the first wrote, where the engine refuses it. A vote racing a settle is
  either in the record the settle read or recomputed after it: never lost without an error.
- The store keeps the engine's document as it is given (``state``): what it knows of the workshop is
  only where it lives, who facilitates it, whether it is open or paused, and its deadline.
- The clock looks in on open workshops from one index across workspaces (``{clock}:workshops``), scored
  by its next look: a day after the last change (to remind the facilitator of a workshop gone quiet)
  or the deadline (to close it), whichever comes first; a paused workshop only at its deadline. Every
  change moves the look in its own transaction; closing takes the workshop off the index.
- Votes are shown on the question's message at most once a window (the rule of bot/usecases/team_count.py),
  through claims of their own per question that expire in seconds (``vote_claims``), tried in the vote's
  own transaction (``change_claiming``).
- A closed workshop stays, with its result in its state, for the history's retention; an open one
  abandoned with no clock running expires that long after its deadline.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import redis
from pydantic import BaseModel, Field, ValidationError

from bot.store import corrupt, keys
from bot.store.corrupt import parse_or_set_aside
from bot.store.history import DAY_SECONDS, DEFAULT_RETENTION_DAYS
from bot.store.scanning import scan_batches
from bot.store.schedules import LeaseQueue
from bot.store.sessions import (
    _set_aside_when_unreadable,
    _text,
    _unavailable_on_connection_error,
    _Unreadable,
)
from bot.store.team_runs import FORGOTTEN
from bot.store.throttles import Claimed, UpdateClaim, UpdateClaims
from bot.store.transactions import (
    MAX_RACE_RETRIES,
    TooManyConcurrentChanges,
    WithReplies,
    optimistic,
    watch_and_read,
)

# The clock looks in on an open workshop this long after its last change, to remind its facilitator.
IDLE_LOOK_AFTER_SECONDS = DAY_SECONDS
KIND = "workshop"
R = TypeVar("R")


@dataclass(frozen=True)
class WorkshopLimits:
    """How long a workshop's record outlives it, and how long a quiet one waits for the clock's look."""

    retention_seconds: int = DEFAULT_RETENTION_DAYS * DAY_SECONDS
    idle_seconds: int = IDLE_LOOK_AFTER_SECONDS

    def open_until(self, workshop: WorkshopRecord) -> int:
        """When an open workshop's keys expire if it is never closed (abandoned, and no clock running)."""
        return int(workshop.deadline + self.retention_seconds) + 1

    def closed_until(self, closed_at: float) -> int:
        return int(closed_at + self.retention_seconds) + 1

    def next_look(self, workshop: WorkshopRecord) -> float:
        """When the clock next looks in on an open workshop: a paused one waits for nobody but its
        deadline."""
        if workshop.paused:
            return workshop.deadline
        return min(workshop.updated_at + self.idle_seconds, workshop.deadline)


class WorkshopRecord(BaseModel):
    workshop_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    team_id: str
    channel_id: str
    facilitator_id: str
    bank_id: str
    bank_version: str
    state: dict[str, Any]  # the engine's WorkshopState.to_dict(), votes and settled answers included
    message_ts: str | None = None
    thread_ts: str | None = None
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    deadline: float
    status: Literal["open", "closed"] = "open"
    paused: bool = False
    revision: int = 0
    closed_at: float | None = None
    closed_by: str | None = None  # who closed it, or "deadline"

    @property
    def key(self) -> str:
        return keys.workshop(self.team_id, self.workshop_id)

    @property
    def clock_member(self) -> str:
        return keys.clock_member(self.team_id, self.workshop_id)

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def overdue(self, now: float) -> bool:
        return self.is_open and now >= self.deadline


class WorkshopAlreadyOpen(Exception):
    def __init__(self, workshop: WorkshopRecord):
        self.workshop = workshop
        super().__init__(f"workshop {workshop.workshop_id} is already open in {workshop.channel_id}")


class WorkshopClosed(Exception):
    def __init__(self, workshop: WorkshopRecord):
        self.workshop = workshop
        super().__init__(f"workshop {workshop.workshop_id} is closed")


class StaleWorkshop(Exception):
    """A click made on an earlier revision of the workshop than the stored one: nothing was changed."""

    def __init__(self, workshop: WorkshopRecord, expected_revision: int):
        self.workshop = workshop
        self.expected_revision = expected_revision
        super().__init__(
            f"workshop {workshop.workshop_id} is at revision {workshop.revision}, not {expected_revision}"
        )


class UnknownWorkshop(LookupError):
    pass


@dataclass(frozen=True)
class DueWorkshop:
    """An open workshop the clock leased for a look: its member of the index and the lease's token."""

    member: str
    team_id: str
    workshop_id: str
    token: float


# What only the store writes: a change or a rewrite that returns other values for these is refused.
_KEPT_BY_THE_STORE = ("workshop_id", "team_id", "channel_id", "status", "closed_at")


def _refuse_moving(current: WorkshopRecord, changed: WorkshopRecord) -> None:
    moved = [name for name in _KEPT_BY_THE_STORE if getattr(changed, name) != getattr(current, name)]
    if moved:
        raise ValueError(f"a change of workshop {current.workshop_id} may not change {', '.join(moved)}")


def _read(raw: bytes | str | None) -> WorkshopRecord | None:
    """Inside a transaction: the record, None when there is none; _Unreadable for one that fails validation
    (set aside once the transaction is over)."""
    if raw is None:
        return None
    try:
        return corrupt.read(WorkshopRecord, raw)
    except ValidationError as error:
        raise _Unreadable(raw, error) from None


def _readable(raw: bytes | str | None) -> WorkshopRecord | None:
    """The record, None when there is none or it fails validation: an unreadable workshop holds no
    channel (whoever reads it next sets it aside)."""
    try:
        return _read(raw)
    except _Unreadable:
        return None


class WorkshopStore:
    def __init__(self, client: redis.Redis, limits: WorkshopLimits | None = None):
        self.redis = client
        self.limits = limits if limits is not None else WorkshopLimits()
        self.looks = LeaseQueue(client, keys.WATCHED_WORKSHOPS)

    # Workshops -------------------------------------------------------------------------------------

    def open(self, workshop: WorkshopRecord) -> WorkshopRecord:
        """Store `workshop` as its channel's open workshop, watched by the clock from this step; raises
        WorkshopAlreadyOpen with the workshop already open there."""
        pointer = keys.channel_workshop(workshop.team_id, workshop.channel_id)
        expire_at = self.limits.open_until(workshop)

        def attempt(pipe: Any) -> WorkshopRecord:
            existing_id = pipe.get(pointer)
            if existing_id is not None:
                existing = _readable(pipe.get(keys.workshop(workshop.team_id, _text(existing_id))))
                if existing is not None and existing.is_open:
                    raise WorkshopAlreadyOpen(existing)
            pipe.multi()
            pipe.set(pointer, workshop.workshop_id, exat=expire_at)
            pipe.set(workshop.key, workshop.model_dump_json(), exat=expire_at)
            pipe.zadd(keys.WATCHED_WORKSHOPS, {workshop.clock_member: self.limits.next_look(workshop)})
            return workshop

        return self._transaction([pointer], attempt)

    def get(self, team_id: str, workshop_id: str) -> WorkshopRecord | None:
        """Raises CorruptRecord (the record set aside) for one that fails validation."""
        key = keys.workshop(team_id, workshop_id)
        with _unavailable_on_connection_error():
            return parse_or_set_aside(self.redis, key, self.redis.get(key), WorkshopRecord, KIND)

    def open_in(self, team_id: str, channel_id: str) -> WorkshopRecord | None:
        with _unavailable_on_connection_error():
            workshop_id = self.redis.get(keys.channel_workshop(team_id, channel_id))
        workshop = self.get(team_id, _text(workshop_id)) if workshop_id is not None else None
        return workshop if workshop is not None and workshop.is_open else None

    def change(
        self,
        team_id: str,
        workshop_id: str,
        mutate: Callable[[WorkshopRecord], WorkshopRecord | None],
        *,
        expected_revision: int | None = None,
        now: float | None = None,
    ) -> WorkshopRecord:
        """Apply `mutate` to the open workshop in one transaction and return what is stored. `mutate` may
        run more than once (when another writer wins a race it runs again on the fresh record); it must
        only compute, and raise to refuse (nothing is written); None from it leaves the workshop as it
        is. Each write is one revision more and moves the clock's next look to a day after `now`. Raises
        UnknownWorkshop, WorkshopClosed, or StaleWorkshop when `expected_revision` is not the stored one."""
        stored, _ = self._change(team_id, workshop_id, mutate, expected_revision, now, None)
        return stored

    def change_claiming(
        self,
        team_id: str,
        workshop_id: str,
        mutate: Callable[[WorkshopRecord], WorkshopRecord | None],
        claim: UpdateClaim,
        *,
        now: float | None = None,
    ) -> tuple[WorkshopRecord, Claimed | None]:
        """`change`, and with its write, in the same EXEC, `claim` of the message's update: what was
        claimed, or None when nothing was written (and nothing claimed). A vote's update is decided at
        no round trip more than the vote."""
        return self._change(team_id, workshop_id, mutate, None, now, claim)

    def _change(
        self,
        team_id: str,
        workshop_id: str,
        mutate: Callable[[WorkshopRecord], WorkshopRecord | None],
        expected_revision: int | None,
        now: float | None,
        claim: UpdateClaim | None,
    ) -> tuple[WorkshopRecord, Claimed | None]:
        key = keys.workshop(team_id, workshop_id)

        Changed = tuple[WorkshopRecord, Claimed | None]

        def attempt(pipe: Any) -> Changed | WithReplies[Changed]:
            # WATCH and the read in one round trip: a vote costs that and the write.
            (raw,) = watch_and_read(pipe, [key])
            current = self._current(raw, workshop_id, expected_revision)
            changed = mutate(current)
            if changed is None:
                return current, None
            _refuse_moving(current, changed)
            stored = changed.model_copy(
                update={
                    "revision": current.revision + 1,
                    "updated_at": time.time() if now is None else now,
                }
            )
            expire_at = self.limits.open_until(stored)
            pipe.multi()
            pipe.set(key, stored.model_dump_json(), exat=expire_at)
            # An open workshop's channel points at it: the pointer lives as long as the record.
            pipe.expireat(keys.channel_workshop(team_id, stored.channel_id), expire_at)
            pipe.zadd(keys.WATCHED_WORKSHOPS, {stored.clock_member: self.limits.next_look(stored)})
            if claim is None:
                return stored, None
            claim.claims.queue_claim(pipe, claim.window_ms, claim.follow_up_ttl_ms)

            def with_claimed(replies: list[Any]) -> Changed:
                return stored, Claimed.of_reply(replies[-1])

            return WithReplies(with_claimed)

        return self._transaction([key], attempt, watch_first=False)

    def close(
        self,
        team_id: str,
        workshop_id: str,
        closed_by: str,
        *,
        expected_revision: int | None = None,
        now: float | None = None,
        finish: Callable[[WorkshopRecord], WorkshopRecord | None] | None = None,
        also: Callable[[Any, WorkshopRecord], None] | None = None,
    ) -> WorkshopRecord:
        """Close the workshop: the record stays, with its result, for the history's retention; the
        channel's pointer and the clock's look go in the same transaction. `finish` computes the final
        record as `change`'s `mutate` does (e.g. settling what is left); `also` queues more writes in the
        same MULTI (the result in the channel's history). Raises as `change` does, WorkshopClosed
        included when it already was."""
        key = keys.workshop(team_id, workshop_id)
        at = time.time() if now is None else now
        expire_at = self.limits.closed_until(at)

        def attempt(pipe: Any) -> WorkshopRecord:
            current = self._current(pipe.get(key), workshop_id, expected_revision)
            final = finish(current) if finish is not None else None
            if final is not None:
                _refuse_moving(current, final)
            closed = (final or current).model_copy(
                update={
                    "status": "closed",
                    "closed_at": at,
                    "closed_by": closed_by,
                    "revision": current.revision + 1,
                    "updated_at": at,
                }
            )
            pointer = keys.channel_workshop(team_id, current.channel_id)
            pipe.watch(pointer)
            points_here = _text(pipe.get(pointer) or b"") == workshop_id
            pipe.multi()
            pipe.set(key, closed.model_dump_json(), exat=expire_at)
            if points_here:
                pipe.delete(pointer)
            pipe.zrem(keys.WATCHED_WORKSHOPS, closed.clock_member)
            if also is not None:
                also(pipe, closed)
            return closed

        return self._transaction([key], attempt)

    def vote_claims(self, team_id: str, workshop_id: str, question_id: str) -> UpdateClaims:
        """The claims throttling the updates of the question's message as votes come in."""
        window = keys.workshop_votes_claim(team_id, workshop_id, question_id, "shown")
        due = keys.workshop_votes_claim(team_id, workshop_id, question_id, "due")
        return UpdateClaims(self.redis, window, due)

    # The clock -------------------------------------------------------------------------------------

    def due(self, now: float, lease_seconds: float, limit: int) -> list[DueWorkshop]:
        """Up to `limit` open workshops due a look (idle for a day, or past their deadline) in every
        workspace, leased for `lease_seconds`: no other clock sees them until the lease runs out."""
        members, token = self.looks.lease(now, lease_seconds, limit)
        due = []
        for member in members:
            team_id, workshop_id = keys.split_clock_member(member)
            due.append(DueWorkshop(member, team_id, workshop_id, token))
        return due

    def look_again(self, due: DueWorkshop, at: float) -> bool:
        """Look in on the workshop again at `at`; False when a change or a close since the lease moved
        its look or took it off the clock (that stands)."""
        return self.looks.retry(due.member, due.token, at)

    def stop_looking(self, due: DueWorkshop) -> bool:
        """Take a workshop that is gone (expired unclosed) off the clock; False when the lease was lost."""
        return self.looks.settle(due.member, due.token)

    # Forgetting ------------------------------------------------------------------------------------

    def rewrite_all(self, team_id: str, rewrite: Callable[[WorkshopRecord], WorkshopRecord | None]) -> int:
        """Apply `rewrite` to every workshop of the workspace, open or closed, each in its own
        transaction, and return how many changed. A rewrite changes who the workshop names, not what
        happened in it: of what it returns, only `state`, `facilitator_id` and `closed_by` are kept, the
        revision goes up (a click made before it is stale), and the expiry and the clock's look stay."""
        exact = re.compile(re.escape(keys.workshop(team_id, "")) + r"[^:]+$")
        rewritten: set[str] = set()
        with _unavailable_on_connection_error():
            for batch in scan_batches(self.redis, keys.workshop(team_id, "*")):
                for key in batch:
                    # SCAN may name a key twice; a workshop's set-aside copy is no workshop.
                    if key not in rewritten and exact.match(key) and self._rewrite(key, rewrite):
                        rewritten.add(key)
        return len(rewritten)

    def forget_person(
        self, team_id: str, user_id: str, unnamed_state: Callable[[WorkshopRecord], dict[str, Any] | None]
    ) -> int:
        """`forget me`: every workshop of the workspace names FORGOTTEN instead of the person as its
        facilitator or who closed it, and `unnamed_state` (the engine's: the person's votes taken out)
        gives its state without them, or None when they are not in it. How many workshops changed."""

        def unnamed(workshop: WorkshopRecord) -> WorkshopRecord | None:
            update: dict[str, Any] = {}
            if workshop.facilitator_id == user_id:
                update["facilitator_id"] = FORGOTTEN
            if workshop.closed_by == user_id:
                update["closed_by"] = FORGOTTEN
            state = unnamed_state(workshop)
            if state is not None:
                update["state"] = state
            return workshop.model_copy(update=update) if update else None

        return self.rewrite_all(team_id, unnamed)

    def _rewrite(self, key: str, rewrite: Callable[[WorkshopRecord], WorkshopRecord | None]) -> bool:
        def attempt(pipe: Any) -> bool:
            current = _read(pipe.get(key))
            if current is None:
                return False  # expired since the scan
            new = rewrite(current)
            if new is None:
                return False
            kept = current.model_copy(
                update={
                    "state": new.state,
                    "facilitator_id": new.facilitator_id,
                    "closed_by": new.closed_by,
                    "revision": current.revision + 1,
                }
            )
            pipe.multi()
            pipe.set(key, kept.model_dump_json(), keepttl=True)
            return True

        return self._transaction([key], attempt)

    # Internals -------------------------------------------------------------------------------------

    @staticmethod
    def _current(raw: bytes | str | None, workshop_id: str, expected_revision: int | None) -> WorkshopRecord:
        """The open workshop read in the transaction, at `expected_revision` when one is given."""
        current = _read(raw)
        if current is None:
            raise UnknownWorkshop(workshop_id)
        if not current.is_open:
            raise WorkshopClosed(current)
        if expected_revision is not None and current.revision != expected_revision:
            raise StaleWorkshop(current, expected_revision)
        return current

    def _transaction(
        self, watched: list[str], attempt: Callable[[Any], R | WithReplies[R]], watch_first: bool = True
    ) -> R:
        """`attempt` as one optimistic transaction over `watched`, WATCHed before it runs unless the
        attempt watches them as it reads (`watch_first` False)."""
        with _unavailable_on_connection_error(), _set_aside_when_unreadable(self.redis, watched[0], KIND):
            return optimistic(
                self.redis,
                attempt,
                watched=watched if watch_first else (),
                gave_up=lambda: TooManyConcurrentChanges(
                    f"gave up after {MAX_RACE_RETRIES} concurrent updates of {watched[0]}"
                ),
            )
