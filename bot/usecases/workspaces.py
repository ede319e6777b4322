"""The app leaves a workspace: when it is uninstalled (or its bot token revoked) every piece of data the
workspace left is deleted, so that nothing outlives it and installing the app again starts clean.
Slack's events come in through bot/slack/listeners/uninstall.py; this knows nothing of Slack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import redis

from bot.store.jobs import JobQueue, Naming
from bot.store.workspaces import delete_workspace


class Installations(Protocol):
    """The installations kept when the app is distributed by OAuth (bot/store/installations.py)."""

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None: ...

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None: ...


@dataclass(frozen=True)
class WorkspaceForgotten:
    team_id: str
    keys: int  # the workspace's own keys deleted: sessions, results, histories, runs, schedules, reports…
    clock_entries: int  # its entries in the clock's shared indexes
    jobs: int  # the worker's jobs that named it


def forget_workspace(
    client: redis.Redis,
    team_id: str,
    installations: Installations | None = None,
    running_job: str | None = None,
) -> WorkspaceForgotten:
    """Delete everything kept for workspace `team_id`: its keys, its entries in the clock's indexes, the
    worker's jobs that name it (but `running_job`, the one doing this) and, when the app is distributed
    by OAuth, its installation. Deleting again deletes nothing more: Slack may send the event twice."""
    if installations is not None:
        installations.delete_all(enterprise_id=None, team_id=team_id)
    deleted = delete_workspace(client, team_id)
    jobs = JobQueue(client, retry_seconds=()).forget(Naming(team_id), sparing=running_job)
    return WorkspaceForgotten(team_id, deleted.keys, deleted.clock_entries, jobs)


def forget_installer(installations: Installations | None, team_id: str, user_ids: list[str]) -> None:
    """People's own tokens were revoked (`tokens_revoked`, their user tokens): their installations go;
    the workspace's bot, and its data, stay."""
    if installations is None:
        return
    for user_id in user_ids:
        installations.delete_installation(enterprise_id=None, team_id=team_id, user_id=user_id)
