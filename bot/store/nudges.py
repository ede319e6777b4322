"""Assessments left unfinished, as the clock looks in on them: a person's own, and their answers in a
team run.

Every write of a session puts it on ``{clock}:sessions`` in the same transaction, scored by when the
clock next looks (a day after that change), and names it in the person's notes hash as the session being
watched; the write that finishes it takes it off (``bot.store.sessions.queue_watch``). A clock leases due
members (a ``LeaseQueue``, so two clocks never look at one session at once), reads the session, and sends
its one reminder or its one expiry note, or nothing, then looks again later or stops watching. A change
made while a clock holds the lease moves the next look itself, and the clock's later word is refused.

The notes hash (``…:session:…:user:U:notes``) remembers the session being watched and which session got
which note. A note is marked with HSETNX *before* it is sent: it is never sent twice, and a clock that
dies between marking and sending loses that one note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import redis

from bot.store import keys
from bot.store.corrupt import CorruptRecord, parse_or_set_aside
from bot.store.schedules import LeaseQueue, _text, _unavailable
from bot.store.sessions import (
    NOTES_KEPT_SECONDS,
    WATCHING,
    WATCHING_SINCE,
    Respondent,
    SessionRecord,
)
from bot.store.team_runs import RunRecord, parse_run
from bot.store.transactions import TooManyConcurrentChanges, optimistic, watch_and_read

Note = Literal["reminded", "expired"]


@dataclass(frozen=True)
class Watched:
    member: str
    respondent: Respondent
    token: float

    @property
    def notes_key(self) -> str:
        respondent = self.respondent
        return keys.session_notes(respondent.team_id, respondent.user_id, respondent.run_id)


class SessionWatch:
    def __init__(self, client: redis.Redis):
        self.redis = client
        self.queue = LeaseQueue(client, keys.WATCHED_SESSIONS)

    def lease(self, now: float, lease_seconds: float, limit: int) -> list[Watched]:
        members, token = self.queue.lease(now, lease_seconds, limit)
        watched = []
        for member in members:
            team_id, user_id, run_id = keys.split_watched_session(member)
            respondent = Respondent(team_id=team_id, user_id=user_id, run_id=run_id)
            watched.append(Watched(member, respondent, token))
        return watched

    def look_again(self, watched: Watched, at: float) -> bool:
        """False when a change of the session moved the next look since the lease (it stands)."""
        return self.queue.retry(watched.member, watched.token, at)

    def stop_watching(self, watched: Watched) -> bool:
        return self.queue.settle(watched.member, watched.token)

    def session(self, watched: Watched) -> tuple[SessionRecord | None, int]:
        """The session, and the seconds until it expires (-2 when it is gone)."""
        key = watched.respondent.session_key
        with _unavailable(), self.redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            raw, ttl = pipe.execute()
        try:
            return parse_or_set_aside(self.redis, key, raw, SessionRecord, "assessment"), int(ttl)
        except CorruptRecord:
            return None, -2  # set aside: the clock sees no session, as after it expired

    def team_run(self, watched: Watched) -> RunRecord | None:
        """The team run a member's session belongs to; None when it is gone (or the session is personal)."""
        respondent = watched.respondent
        if respondent.run_id is None:
            return None
        with _unavailable():
            return parse_run(self.redis.get(keys.run(respondent.team_id, respondent.run_id)))

    def mark(self, watched: Watched, session_id: str, note: Note) -> bool:
        """True for the one call that marks this note for this session (and so sends it)."""
        with _unavailable(), self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(watched.notes_key, f"{note}:{session_id}", "1")
            pipe.expire(watched.notes_key, NOTES_KEPT_SECONDS)
            first, _ = pipe.execute()
        return bool(first)

    def noted(self, watched: Watched, session_id: str, note: Note) -> bool:
        with _unavailable():
            return bool(self.redis.hexists(watched.notes_key, f"{note}:{session_id}"))

    def mark_expired(self, watched: Watched) -> str | None:
        """The id of the watched session that expired, marked as noted, for the one call that marks it
        (and so sends the note); None when there is none to note. Atomic with every write of the session:
        a session started meanwhile is watched afresh and gets no note, and one that finished is not
        watched."""
        session_key, notes_key = watched.respondent.session_key, watched.notes_key

        def attempt(pipe: Any) -> str | None:
            session, _ = watch_and_read(pipe, [session_key, notes_key])
            if session is not None:
                return None
            session_id = pipe.hget(notes_key, WATCHING)
            if session_id is None:
                return None
            note = f"expired:{_text(session_id)}"
            if pipe.hexists(notes_key, note):
                return None
            pipe.multi()
            pipe.hset(notes_key, note, "1")
            pipe.hdel(notes_key, WATCHING, WATCHING_SINCE)
            pipe.expire(notes_key, NOTES_KEPT_SECONDS)
            return _text(session_id)

        with _unavailable():
            return optimistic(
                self.redis,
                attempt,
                gave_up=lambda: TooManyConcurrentChanges(f"gave up noting the expiry of {session_key}"),
            )
