"""An open team run under a chosen id, for store tests whose sessions belong to a run: a member's session
is written only while its run is open (bot/store/sessions.py)."""

from __future__ import annotations

import time

import redis

from bot.store.team_runs import RunRecord, TeamRunStore

DAY_SECONDS = 24 * 3600


def open_team_run(client: redis.Redis, team_id: str, run_id: str, channel_id: str = "C0RUN") -> RunRecord:
    """Open run `run_id` in `channel_id` as `/mlops-compass team` opens one (TeamRunStore.open)."""
    now = time.time()
    record = RunRecord(
        run_id=run_id,
        team_id=team_id,
        channel_id=channel_id,
        starter_id="U0STARTER",
        bank_id="mlops",
        bank_version="1",
        created_at=now,
        deadline=now + 7 * DAY_SECONDS,
    )
    return TeamRunStore(client).open(record)
