"""Walking the keys a pattern matches a batch at a time: SCAN, never KEYS, so Redis answers everyone
else between batches."""

from __future__ import annotations

from collections.abc import Iterator

import redis

SCAN_BATCH = 500


def scan_batches(client: redis.Redis, pattern: str, count: int = SCAN_BATCH) -> Iterator[list[str]]:
    """The keys matching `pattern`, one SCAN reply at a time (a key may come twice, as SCAN allows)."""
    cursor = 0
    while True:
        cursor, found = client.scan(cursor, match=pattern, count=count)
        if found:
            yield [key.decode() if isinstance(key, bytes) else str(key) for key in found]
        if cursor == 0:
            return
