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
    mlops-compass:{T}:schedule:S            reminder schedule S: channel, creator, rule, bank, deliveries,
                                            paused or not (JSON; kept until cancelled)
    mlops-compass:{T}:channel:C:schedules   ids of channel C's schedules, scored by creation time (sorted set)
    mlops-compass:{T}:channel:C:results     personal result ids reported in channel C, by finish (sorted set)
    mlops-compass:{T}:channel:C:paced       held for a second after the clock posts in channel C (expires)
    mlops-compass:{T}:session:user:U:notes  which clock notes U's personal sessions got (hash; expires)

The clock's indexes span workspaces, so they cannot carry one workspace's tag; they share the tag
``{clock}`` instead, so that each script moving work between them runs in one Cluster slot. Their
members name the workspace (``T:S``), so the clock finds a schedule's own keys from them:

    mlops-compass:{clock}:due               every active schedule "T:S", scored by its next run (sorted set)
    mlops-compass:{clock}:deliveries        reminders "T:S:RUN" to post, scored by the next try (sorted set)
    mlops-compass:{clock}:pending           each schedule's undelivered reminder: "T:S" -> "T:S:RUN" (hash)
    mlops-compass:{clock}:sessions          personal sessions "T:U", by the clock's next look (sorted set)
    mlops-compass:{clock}:run-deadlines     open team runs "T:R", scored by their deadline (sorted set)
    mlops-compass:{T}:history:channel:C     channel C's team results, scored by finish time (sorted set)
    mlops-compass:{T}:event:E               an Events API event already handled (expires after an hour)
    mlops-compass:{T}:report:K:ID           a report to deliver (K personal, ID its result; K team, ID the
                                            run): its author, state, and what Slack already accepted (hash)
    mlops-compass:{T}:report:K:ID:lock      held while a worker delivers that report (expires)
    mlops-compass:{clock}:outbox            reports "T:K:ID" not yet delivered, scored by when (sorted set)

History is bounded (bot/store/history.py): a history keeps its newest HISTORY_KEEP results, trimmed in the
transaction that adds one, and results expire HISTORY_RETENTION_DAYS after they finished.

What `forget me` deletes for person U (``personal_data_patterns`` and ``personal_memberships``):
    session:user:U, session:run:*:user:U    U's assessments in progress, personal and in team runs
    history:user:U                          U's history, and every result:ID whose respondent is U
    run:*:response:U                        U's counted response in a team run (the aggregate's counts stay)
    U as a member of run:*:respondents      who answered a team run (the count stays in the aggregate)
    schedules U created                     through the schedules' own hook (bot/store/history.py)
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


def schedule(team_id: str, schedule_id: str) -> str:
    return f"{_workspace(team_id)}:schedule:{schedule_id}"


def channel_schedules(team_id: str, channel_id: str) -> str:
    return f"{_workspace(team_id)}:channel:{channel_id}:schedules"


def channel_results(team_id: str, channel_id: str) -> str:
    return f"{_workspace(team_id)}:channel:{channel_id}:results"


def channel_paced(team_id: str, channel_id: str) -> str:
    return f"{_workspace(team_id)}:channel:{channel_id}:paced"


def session_notes(team_id: str, user_id: str) -> str:
    return f"{session(team_id, user_id)}:notes"


CLOCK = f"{PREFIX}:{{clock}}"
DUE_SCHEDULES = f"{CLOCK}:due"
DELIVERIES = f"{CLOCK}:deliveries"
PENDING_DELIVERIES = f"{CLOCK}:pending"
WATCHED_SESSIONS = f"{CLOCK}:sessions"
RUN_DEADLINES = f"{CLOCK}:run-deadlines"
OUTBOX = f"{CLOCK}:outbox"
# Where each global index's members name their workspace first: "T:…".
CLOCK_INDEXES = (DUE_SCHEDULES, DELIVERIES, WATCHED_SESSIONS, RUN_DEADLINES, OUTBOX)


def clock_member(team_id: str, item_id: str) -> str:
    """A member of the clock's indexes: the workspace, then the schedule or user."""
    return f"{team_id}:{item_id}"


def split_clock_member(member: str) -> tuple[str, str]:
    team_id, _, item_id = member.partition(":")
    return team_id, item_id


def report_delivery(team_id: str, kind: str, delivery_id: str) -> str:
    return f"{_workspace(team_id)}:report:{kind}:{delivery_id}"


def report_delivery_lock(team_id: str, kind: str, delivery_id: str) -> str:
    return f"{report_delivery(team_id, kind, delivery_id)}:lock"


def channel_history(team_id: str, channel_id: str) -> str:
    return f"{_workspace(team_id)}:history:channel:{channel_id}"


def handled_event(team_id: str, event_id: str) -> str:
    return f"{_workspace(team_id)}:event:{event_id}"


def result_pattern(team_id: str) -> str:
    return f"{_workspace(team_id)}:result:*"


def history_pattern(team_id: str) -> str:
    return f"{_workspace(team_id)}:history:*"


def personal_data_patterns(team_id: str, user_id: str) -> list[str]:
    """Glob patterns (SCAN MATCH) of the keys that hold only person U's data: deleted whole by `forget me`."""
    workspace = _workspace(team_id)
    return [
        session(team_id, user_id),
        f"{workspace}:session:run:*:user:{user_id}",
        history(team_id, user_id),
        f"{workspace}:run:*:response:{user_id}",
    ]


def personal_memberships(team_id: str) -> list[str]:
    """Glob patterns of sets that may list a person among others: `forget me` removes the person only."""
    return [f"{_workspace(team_id)}:run:*:respondents"]


def workspace_pattern(team_id: str) -> str:
    return f"{_workspace(team_id)}:*"
