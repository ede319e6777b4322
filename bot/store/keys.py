"""Every Redis key the product uses, in one place, so the whole data layout reads here.

Each key carries the workspace id as a hash tag (``{T123}``): all of a workspace's keys land in one
Redis Cluster slot, so a transition that touches a session, a result and a history stays atomic there.

    mlops-compass:{T}:session:user:U        personal assessment in progress (JSON; expires if abandoned)
    mlops-compass:{T}:session:run:R:user:U  one member's answers in team run R (JSON; expires if abandoned)
    mlops-compass:{T}:result:ID             a finished assessment with its report (JSON; kept)
    mlops-compass:{T}:history:user:U        U's personal result ids, scored by finish time (sorted set; kept)
    mlops-compass:{T}:history:run:R         result ids of team run R (sorted set; kept)
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


def workspace_pattern(team_id: str) -> str:
    return f"{_workspace(team_id)}:*"
