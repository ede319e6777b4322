"""Personal assessments left unfinished, as the clock looks in on them.

`SessionStore.create` puts each new personal session on ``{clock}:sessions``, scored by when the clock
first looks (a day after it starts). A clock leases due members (a ``LeaseQueue``, so two clocks never
look at one person at once), reads the session, and sends its one reminder or its one expiry note, or
nothing, then looks again later or stops watching.

The notes hash (``{T}:session:user:U:notes``) remembers the session being watched and which session got
which note. A note is marked with HSETNX *before* it is sent: it is never sent twice, and a clock that
dies between marking and sending loses that one note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import redis

from bot.store import keys
from bot.store.corrupt import CorruptRecord, parse_or_set_aside
from bot.store.schedules import LeaseQueue, _text, _unavailable
from bot.store.sessions import Respondent, SessionRecord

Note = Literal["reminded", "expired"]
# The notes outlive the session they are about by this much, then expire.
NOTES_KEPT_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class Watched:
    member: str
    team_id: str
    user_id: str
    token: float

    @property
    def respondent(self) -> Respondent:
        return Respondent(team_id=self.team_id, user_id=self.user_id)


@dataclass(frozen=True)
class Watching:
    """What the clock last saw of the person's unfinished session."""

    session_id: str
    started_at: float


class SessionWatch:
    def __init__(self, client: redis.Redis):
        self.redis = client
        self.queue = LeaseQueue(client, keys.WATCHED_SESSIONS)

    def lease(self, now: float, lease_seconds: float, limit: int) -> list[Watched]:
        members, token = self.queue.lease(now, lease_seconds, limit)
        watched = []
        for member in members:
            team_id, user_id = keys.split_clock_member(member)
            watched.append(Watched(member, team_id, user_id, token))
        return watched

    def look_again(self, watched: Watched, at: float) -> bool:
        return self.queue.retry(watched.member, watched.token, at)

    def stop_watching(self, watched: Watched) -> bool:
        with _unavailable():
            self.redis.hdel(keys.session_notes(watched.team_id, watched.user_id), "watching", "since")
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

    def watching(self, watched: Watched) -> Watching | None:
        with _unavailable():
            session_id, since = self.redis.hmget(
                keys.session_notes(watched.team_id, watched.user_id), ["watching", "since"]
            )
        if session_id is None:
            return None
        return Watching(_text(session_id), float(_text(since or b"0")))

    def watch(self, watched: Watched, record: SessionRecord) -> None:
        key = keys.session_notes(watched.team_id, watched.user_id)
        with _unavailable(), self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"watching": record.session_id, "since": repr(record.started_at)})
            pipe.expire(key, NOTES_KEPT_SECONDS)
            pipe.execute()

    def mark(self, watched: Watched, session_id: str, note: Note) -> bool:
        """True for the one call that marks this note for this session (and so sends it)."""
        key = keys.session_notes(watched.team_id, watched.user_id)
        with _unavailable(), self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, f"{note}:{session_id}", "1")
            pipe.expire(key, NOTES_KEPT_SECONDS)
            first, _ = pipe.execute()
        return bool(first)

    def noted(self, watched: Watched, session_id: str, note: Note) -> bool:
        with _unavailable():
            return bool(
                self.redis.hexists(
                    keys.session_notes(watched.team_id, watched.user_id), f"{note}:{session_id}"
                )
            )

    def finished_since(self, watched: Watched, since: float) -> bool:
        """Whether the person finished a personal assessment at or after `since`."""
        with _unavailable():
            newest = self.redis.zrevrange(watched.respondent.history_key, 0, 0, withscores=True)
        return bool(newest) and float(newest[0][1]) >= since
