"""The store's one optimistic transaction: WATCH the keys, read, queue the writes after MULTI, EXEC; and
when another writer changed a watched key before EXEC, start again from the read.

Every store's atomic change is an `attempt(pipe)` given to `optimistic`. The attempt reads through the
pipeline (in watching mode a read answers at once), may WATCH more keys as it learns of them, and either
calls `pipe.multi()` and queues its writes (EXEC follows, by the attempt or here) or returns without
writing. It must only compute: it may run several times, and raising refuses the change (nothing is
written). An attempt whose value needs the replies of what it queued returns ``WithReplies``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import redis

R = TypeVar("R")

# Races this many times in a row mean a hot key; the caller's `gave_up` error says so.
MAX_RACE_RETRIES = 50


@dataclass(frozen=True)
class WithReplies(Generic[R]):
    """An attempt's value made from EXEC's replies (one per command queued after MULTI, in order), for a
    transaction that decides something in Redis as it writes (a claim) and needs to know what."""

    value: Callable[[list[Any]], R]


class TryAgain(Exception):
    """Raised by an attempt that cannot succeed as it stands but may once it runs again (e.g. the fresh
    id it drew is taken): the transaction starts over, as after a lost race."""


class TooManyConcurrentChanges(Exception):
    """Other writers kept changing the same keys while this change was computed; Redis itself is fine
    and nothing was changed."""


def optimistic(
    client: redis.Redis,
    attempt: Callable[[Any], R | WithReplies[R]],
    *,
    gave_up: Callable[[], Exception],
    watched: Sequence[str] = (),
) -> R:
    """`attempt`'s value once one round of it commits (or writes nothing); `gave_up()` is raised after
    MAX_RACE_RETRIES lost races. `watched` keys are WATCHed before each attempt reads."""
    with client.pipeline(transaction=True) as pipe:
        for _ in range(MAX_RACE_RETRIES):
            try:
                if watched:
                    pipe.watch(*watched)
                value = attempt(pipe)
                replies = pipe.execute() if pipe.explicit_transaction else []
                return value.value(replies) if isinstance(value, WithReplies) else value
            except (redis.WatchError, TryAgain):
                continue
            finally:
                # Also UNWATCHes what a round that wrote nothing left watched.
                pipe.reset()
    raise gave_up()


def watch_and_read(pipe: Any, keys: Sequence[str]) -> list[Any]:
    """WATCH `keys` and read them (MGET) in one round trip, leaving `pipe` in watching mode as
    `pipe.watch` would: redis-py sends each command of a watching pipeline on its own, and a click's
    transaction would spend a round trip on WATCH alone."""
    if pipe.watching or pipe.connection is not None:
        pipe.watch(*keys)
        return list(pipe.mget(keys))
    connection = pipe.connection_pool.get_connection()
    pipe.connection = connection
    try:
        connection.send_packed_command(connection.pack_commands([("WATCH", *keys), ("MGET", *keys)]))
        connection.read_response()
        values = connection.read_response()
    except BaseException:
        # A reply left unread would answer the next command on this connection.
        connection.disconnect()
        raise
    pipe.watching = True
    return list(values)
