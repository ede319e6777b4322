"""GET /health on the web process: 200 while Redis answers, with what the processes behind it left in
Redis: here a worker beats (the app runs one); whether a clock does depends on what else shares the
database, and the problems say so either way."""

from __future__ import annotations

import json
import urllib.request

from playground.fakeslack.app_process import AppProcess
from playground.fakeslack.workspace import SlackUser


def test_health_says_a_worker_runs_and_whether_a_clock_does(app: AppProcess, user: SlackUser) -> None:
    with urllib.request.urlopen(f"{app.url}/health", timeout=5) as response:
        status, body = response.status, json.loads(response.read())
    assert status == 200 and (body["status"], body["redis"]) == ("ok", "ok")
    assert body["workers"] >= 1 and body["worker_heartbeat_age"] is not None
    assert not any(problem.startswith("no worker") for problem in body["problems"])
    no_clock = body["clock_heartbeat_age"] is None or body["clock_heartbeat_age"] > 120
    assert no_clock == any(problem.startswith("no clock is running") for problem in body["problems"])
