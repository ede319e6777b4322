"""Every Redis key the product uses, in one place, so the whole data layout reads here.

Each key carries the workspace id as a hash tag (``{T123}``): all of a workspace's keys land in one
Redis Cluster slot, so a transition that touches a session, a result and a history stays atomic there.

    mlops-compass:{T}:session:user:U        personal assessment in progress (JSON; expires if abandoned)
    mlops-compass:{T}:session:run:R:user:U  one member's answers in team run R (JSON; expires if abandoned)
    mlops-compass:{T}:result:ID             a finished assessment with its report (JSON; kept)
    mlops-compass:{T}:history:user:U        U's personal result ids, scored by finish time (sorted set; kept)
    mlops-compass:{T}:history:run:R         result ids of team run R (sorted set; kept)
    mlops-compass:{T}:run:R                 team run R: channel, starter, bank, deadline, status (JSON; kept)
    mlops-compass:{T}:run:R:aggregate       run R's counts (hash, HINCRBY; fields named in bot/engine/team.py)
    mlops-compass:{T}:run:R:response:U      U's counted response in run R, to subtract on a retake (JSON)
    mlops-compass:{T}:run:R:respondents     who has a counted response in run R (set)
    mlops-compass:{T}:run:R:refresh         held while run R's message was just updated (expires in seconds)
    mlops-compass:{T}:run:R:refresh-due     a later update of run R's message is scheduled (expires)
    mlops-compass:{T}:run:R:nudged          held for a day after run R's members were nudged (expires)
    mlops-compass:{T}:channel:C:run         the id of the open team run in channel C (deleted on close)
    mlops-compass:{T}:runs:open             open run ids, scored by deadline (sorted set)
"""

from __future__ import annotations

PREFIX = "mlops-compass"


def _workspace(team_id: str) -> str:
    return f"{PREFIX}:{{{team_id}}}"


def session(team_id: str, user_id: str, run_id: str | None = None) -> str:
    if run_id is None:
        return f"{_workspace(team_id)}:session:user:{user_id}"
    return f"{_workspace(team_id)}:session:run:{run_id}:user:{user_id}"


def result(team_id: str, result_id: str) -> str:
    return f"{_workspace(team_id)}:result:{result_id}"


def history(team_id: str, user_id: str, run_id: str | None = None) -> str:
    if run_id is None:
        return f"{_workspace(team_id)}:history:user:{user_id}"
    return f"{_workspace(team_id)}:history:run:{run_id}"


def run(team_id: str, run_id: str) -> str:
    return f"{_workspace(team_id)}:run:{run_id}"


def run_aggregate(team_id: str, run_id: str) -> str:
    return f"{run(team_id, run_id)}:aggregate"


def run_response(team_id: str, run_id: str, user_id: str) -> str:
    return f"{run(team_id, run_id)}:response:{user_id}"


def run_respondents(team_id: str, run_id: str) -> str:
    return f"{run(team_id, run_id)}:respondents"


def run_refresh(team_id: str, run_id: str) -> str:
    return f"{run(team_id, run_id)}:refresh"


def run_refresh_due(team_id: str, run_id: str) -> str:
    return f"{run(team_id, run_id)}:refresh-due"


def run_nudged(team_id: str, run_id: str) -> str:
    return f"{run(team_id, run_id)}:nudged"


def channel_run(team_id: str, channel_id: str) -> str:
    return f"{_workspace(team_id)}:channel:{channel_id}:run"


def open_runs(team_id: str) -> str:
    return f"{_workspace(team_id)}:runs:open"


def workspace_pattern(team_id: str) -> str:
    return f"{_workspace(team_id)}:*"
