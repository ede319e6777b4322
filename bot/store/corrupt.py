"""Stored records that fail validation: set aside, not deleted, and said.

A record that no longer reads (written by a bug, edited by hand, from a version whose format has gone) is
renamed to ``<key>:corrupt:<ts>`` with a TTL, in a transaction that renames it only while it still holds
what failed to read: the one caller that set it aside logs it, once, and an operator can look at it for
CORRUPT_KEEP_DAYS. The reader then raises CorruptRecord, which a front end turns into "start over".
"""

from __future__ import annotations

import logging
import time
from typing import Any, TypeVar

import redis
from pydantic import BaseModel, ValidationError

from bot.store import keys
from bot.store.transactions import optimistic

log = logging.getLogger(__name__)

CORRUPT_KEEP_DAYS = 30
CORRUPT_KEEP_SECONDS = CORRUPT_KEEP_DAYS * 24 * 3600
M = TypeVar("M", bound=BaseModel)


class CorruptRecord(Exception):
    """A stored record failed validation and was set aside; what the person had there is gone from use."""

    def __init__(self, key: str, kind: str):
        self.key = key
        self.kind = kind
        super().__init__(f"the stored {kind} at {key} failed validation and was set aside")


def read(model: type[M], raw: bytes | str) -> M:
    """`model` from its stored JSON; raises ValidationError (a pydantic one) when it does not read."""
    return model.model_validate_json(raw)


def parse_or_set_aside(
    client: redis.Redis, key: str, raw: bytes | str | None, model: type[M], kind: str
) -> M | None:
    """The record, None when there is none; sets an unreadable one aside and raises CorruptRecord."""
    if raw is None:
        return None
    try:
        return read(model, raw)
    except ValidationError as error:
        set_aside(client, key, raw, kind, error)
        raise CorruptRecord(key, kind) from None


def set_aside(client: redis.Redis, key: str, raw: bytes | str, kind: str, error: Exception) -> str | None:
    """Rename `key` out of the way if it still holds `raw`; the new name, or None when another reader (or
    a writer) got there first."""
    aside = keys.corrupt(key, time.time())
    expected = raw.encode() if isinstance(raw, str) else raw

    def attempt(pipe: Any) -> str | None:
        if pipe.get(key) != expected:
            return None
        pipe.multi()
        pipe.rename(key, aside)
        pipe.expire(aside, CORRUPT_KEEP_SECONDS)
        return aside

    moved = optimistic(client, attempt, watched=[key], gave_up=lambda: CorruptRecord(key, kind))
    if moved is not None:
        first_error = str(error).splitlines()[0] if str(error) else type(error).__name__
        log.error("a stored %s failed validation (%s); set aside as %s", kind, first_error, moved)
    return moved
