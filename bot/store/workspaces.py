"""Deleting a workspace's data whole, when the app is uninstalled from it (bot/usecases/workspaces.py).

A workspace's own keys all carry its id as their hash tag (bot/store/keys.py), so one SCAN pattern finds
them; they are unlinked a batch at a time. The clock's shared indexes name the workspace first in each
member ("T:…"), so its members are found there by the same prefix. The clock's entries go first, so that
no clock picks up the workspace's work while its keys are being deleted, and again last, for an entry a
clock was putting back meanwhile: a clock that finds an entry whose record is gone drops it.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from bot.store import keys
from bot.store.scanning import SCAN_BATCH, scan_batches


@dataclass(frozen=True)
class WorkspaceDeleted:
    """What deleting a workspace took: its keys, and its entries in the clock's shared indexes."""

    keys: int
    clock_entries: int


def delete_workspace(client: redis.Redis, team_id: str) -> WorkspaceDeleted:
    """Delete every key of workspace `team_id` and its entries in every index shared by workspaces."""
    entries = delete_clock_entries(client, team_id)
    deleted = 0
    for batch in scan_batches(client, keys.workspace_pattern(team_id)):
        deleted += int(client.unlink(*batch))
    entries += delete_clock_entries(client, team_id)
    return WorkspaceDeleted(deleted, entries)


def delete_clock_entries(client: redis.Redis, team_id: str) -> int:
    """The workspace's members of the clock's indexes ("T:…"), and its fields of the pending reminders."""
    match = keys.clock_member(team_id, "*")
    removed = 0
    for index in keys.CLOCK_INDEXES:
        members = [member for member, _ in client.zscan_iter(index, match=match, count=SCAN_BATCH)]
        for start in range(0, len(members), SCAN_BATCH):
            removed += int(client.zrem(index, *members[start : start + SCAN_BATCH]))
    fields = [field for field, _ in client.hscan_iter(keys.PENDING_DELIVERIES, match=match, count=SCAN_BATCH)]
    for start in range(0, len(fields), SCAN_BATCH):
        removed += int(client.hdel(keys.PENDING_DELIVERIES, *fields[start : start + SCAN_BATCH]))
    return removed
