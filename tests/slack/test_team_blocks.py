"""The team run's messages name people as Slack mentions, and nobody once that person was forgotten."""

from __future__ import annotations

import json

from bot.slack.team_blocks import close_refused_note, closed_run_message
from bot.store.team_runs import FORGOTTEN, RunRecord


def test_a_team_run_whose_starter_and_closer_asked_to_be_forgotten_names_nobody_in_their_place() -> None:
    run = RunRecord(
        team_id="T1",
        channel_id="C1",
        starter_id=FORGOTTEN,
        bank_id="pulse",
        bank_version="3.1.0",
        deadline=1.0,
        status="closed",
        closed_at=1.0,
        closed_by=FORGOTTEN,
    )
    shown = json.dumps(closed_run_message(run, "Pulse", 3).as_kwargs()) + json.dumps(
        close_refused_note(run).as_kwargs()
    )
    assert "<@" not in shown and FORGOTTEN not in shown.replace("forgotten at their request", "")
    assert "closed by a former member (forgotten at their request)" in shown
