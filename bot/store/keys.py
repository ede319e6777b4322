"""Every Redis key the product uses, in one place, so the whole data layout reads here.

Each key carries the workspace id as a hash tag (``{T123}``), which groups a workspace's keys. The tags do
not make the layout run on Redis Cluster, which is not supported: several transactions write the clock's
``{clock}`` indexes together with a workspace's keys (cross-slot), and RQ does not run on Cluster. High
availability is Redis Sentinel's (bot/store/connection.py).

    mlops-compass:{T}:session:user:U        personal assessment in progress (JSON; expires if abandoned)
    mlops-compass:{T}:session:run:R:user:U  one member's answers in team run R (JSON; expires if abandoned)
    mlops-compass:{T}:result:ID             a finished assessment with its report (JSON; kept)
    mlops-compass:{T}:history:user:U        U's personal result ids, scored by finish time (sorted set; kept)
    mlops-compass:{T}:history:run:R         result ids of team run R's members while it is open, whose
                                            reports may still name the run (sorted set; gone on close)
    mlops-compass:{T}:run:R                 team run R: channel, starter, deadline, report (JSON; expires)
    mlops-compass:{T}:run:R:aggregate       run R's counts (hash, HINCRBY; fields named in bot/engine/team.py)
    mlops-compass:{T}:run:R:response:U      U's counted response in run R, for a retake (JSON; gone on close)
    mlops-compass:{T}:run:R:respondents     who has a counted response in run R (set; gone on close)
    mlops-compass:{T}:run:R:sessions        who has answers in run R, finished or not (set; gone on close)
    mlops-compass:{T}:run:R:refresh         held while run R's message was just updated (expires in seconds)
    mlops-compass:{T}:run:R:refresh-due     a later update of run R's message is scheduled (expires)
    mlops-compass:{T}:run:R:nudged          held for a day after run R's members were nudged (expires)
    mlops-compass:{T}:channel:C:run         the id of the open team run in channel C (deleted on close)
    mlops-compass:{T}:runs:open             open run ids, scored by deadline (sorted set)
    mlops-compass:{T}:schedule:S            reminder schedule S: channel, creator, rule, bank, deliveries,
                                            paused or not (JSON; kept until cancelled)
    mlops-compass:{T}:channel:C:schedules   ids of channel C's schedules, scored by creation time (sorted set)
    mlops-compass:{T}:channel:C:results     personal result ids reported in channel C, by finish (sorted set;
                                            trimmed, expires with its newest result)
    mlops-compass:{T}:channel:C:paced       held for a second after the clock posts in channel C (expires)
    mlops-compass:{T}:session:user:U:notes  which clock notes U's personal sessions got, and which one the
                                            clock watches (hash; expires)
    mlops-compass:{T}:session:run:R:user:U:notes  the same for U's answers in team run R (hash; expires)
    mlops-compass:{T}:user:U:runs           the open team runs U started, by deadline (sorted set; capped)
    mlops-compass:{T}:user:U:schedules      the schedules U created, by creation (sorted set; capped)
    mlops-compass:{T}:workshop:W            team workshop W: channel, facilitator, the engine's state with
                                            every vote in it, revision (JSON; expires)
    mlops-compass:{T}:channel:C:workshop    the id of the open workshop in channel C (deleted on close)
    mlops-compass:{T}:workshop:W:votes:Q:shown  held while question Q's message in workshop W was just
                                            updated with its votes (expires in seconds)
    mlops-compass:{T}:workshop:W:votes:Q:due    a later update of Q's votes is scheduled (expires)
    …:corrupt:TS                            a record that failed validation, set aside (expires)

The clock's indexes span workspaces, so they cannot carry one workspace's tag; they share the tag
``{clock}`` instead. Their members name the workspace (``T:S``), so the clock finds a schedule's own keys
from them:

    mlops-compass:{clock}:due               every active schedule "T:S", scored by its next run (sorted set)
    mlops-compass:{clock}:deliveries        reminders "T:S:RUN" to post, scored by the next try (sorted set)
    mlops-compass:{clock}:pending           each schedule's undelivered reminder: "T:S" -> "T:S:RUN" (hash)
    mlops-compass:{clock}:sessions          sessions in progress, "T:U" (personal) or "T:U:R" (in team run
                                            R), scored by the clock's next look (sorted set)
    mlops-compass:{clock}:run-deadlines     open team runs "T:R", scored by their deadline (sorted set)
    mlops-compass:{clock}:workshops         open workshops "T:W", scored by the clock's next look: a day
                                            after the last change (idle), or the deadline (sorted set)
    mlops-compass:{T}:history:channel:C     channel C's team results, scored by finish time (sorted set)
    mlops-compass:{T}:event:E               an Events API event already handled (expires after an hour)
    mlops-compass:{T}:slack-paused:M        Slack answered Web API method M in T with 429: no process calls
                                            M in T until it expires (after Slack's Retry-After)
    mlops-compass:{T}:report:K:ID           a report to deliver (K personal, ID its result; K team, ID the
                                            run): its author, state, and what Slack already accepted (hash)
    mlops-compass:{T}:report:K:ID:lock      held while a worker delivers that report (expires)
    mlops-compass:{clock}:outbox            reports "T:K:ID" not yet delivered, scored by when (sorted set)
    mlops-compass:clock-heartbeats          each clock process "host:pid", by its last tick (sorted set)
    mlops-compass:worker:HOST:PID:alive     held while that worker process runs (expires in seconds)

The app's installations, when it is distributed by OAuth (bot/store/installations.py); tokens are
encrypted in each record. A workspace's own installation is kept under its team id, an org-wide one
(an Enterprise Grid install across the whole org) under the enterprise id E, with the same layout:

    mlops-compass:{T}:installation:bot      the bot of T's latest installation: its token (JSON)
    mlops-compass:{T}:installation:user:U   U's latest installation in T: U's token, the bot's (JSON)
    mlops-compass:{T}:installation:users    who installed in T, scored by when (sorted set)
    mlops-compass:{E}:org-installation:…    the same three for the installation across enterprise E
    mlops-compass:oauth-state:S             an OAuth state issued for one install (expires in minutes)

Every key builder below declares its bound (``@bounded``): how the key expires, is trimmed, or is deleted.
History is bounded (bot/store/history.py): a history keeps its newest HISTORY_KEEP results, trimmed in the
transaction that adds one, and results expire HISTORY_RETENTION_DAYS after they finished.

What `forget me` deletes for person U (``personal_data_patterns`` and ``personal_memberships``):
    session:user:U, session:run:*:user:U    U's assessments in progress, personal and in team runs, and
                                            the clock's notes on them (…:notes)
    history:user:U                          U's history, and every result:ID whose respondent is U
    run:*:response:U                        U's counted response in a team run (the aggregate's counts stay)
    user:U:runs, user:U:schedules           what counts against U's caps
    U as a member of run:*:respondents      who answered a team run (the count stays in the aggregate)
    installation:user:U                     U's own installation of the app (U's user token), and U in
                                            installation:users
    report:personal:ID whose author is U    U's report deliveries, pending or kept for a re-post, with
                                            their entries in {clock}:outbox
    report:team:ID whose author is U        the team report stays for its channel; U's name leaves it
    schedules U created                     through the schedules' own hook (bot/store/history.py)
    the worker's jobs naming U              queued, scheduled, finished or failed, with their results
                                            (bot/store/jobs.py), and the deliveries of U's reports

What uninstalling the app (``app_uninstalled``, or ``tokens_revoked`` of the bot) deletes for workspace T
(bot/store/workspaces.py): every key ``workspace_pattern(T)`` matches, T's members of every index in
CLOCK_INDEXES and its fields of PENDING_DELIVERIES, and the worker's jobs naming T. The other global keys
name no workspace: CLOCK_HEARTBEATS and worker_alive name processes, oauth_state a random state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

PREFIX = "mlops-compass"

Bound = Literal["expires", "trimmed", "deleted", "global"]
F = TypeVar("F", bound=Callable[..., str])
H = TypeVar("H", bound=Callable[..., object])
# How each key stays bounded, by the name of its builder here (or of its constant): a key that names a
# person or a run must expire, be trimmed in the write that adds to it, or be deleted when its run closes
# or its owner goes; a global index says what bounds it. tests/store/test_key_bounds.py holds every
# builder to this.
BOUNDS: dict[str, tuple[Bound, str]] = {}


def bounded(kind: Bound, how: str) -> Callable[[F], F]:
    def declare(builder: F) -> F:
        BOUNDS[builder.__name__] = (kind, how)
        return builder

    return declare


# A question's message was just updated with its votes (shown), or its next update is scheduled (due).
VotesClaim = Literal["shown", "due"]


def _workspace(team_id: str) -> str:
    return f"{PREFIX}:{{{team_id}}}"


@bounded("expires", "SESSION_TTL_DAYS after its last change (bot/store/sessions.py)")
def session(team_id: str, user_id: str, run_id: str | None = None) -> str:
    if run_id is None:
        return f"{_workspace(team_id)}:session:user:{user_id}"
    return f"{_workspace(team_id)}:session:run:{run_id}:user:{user_id}"


@bounded("expires", "HISTORY_RETENTION_DAYS after it finished; deleted when trimmed from its history")
def result(team_id: str, result_id: str) -> str:
    return f"{_workspace(team_id)}:result:{result_id}"


@bounded("trimmed", "to HISTORY_KEEP in the write that adds; expires with its newest result")
def history(team_id: str, user_id: str, run_id: str | None = None) -> str:
    """A person's history; given a team run, that run's list of its members' results (``run_results``)."""
    if run_id is None:
        return f"{_workspace(team_id)}:history:user:{user_id}"
    return run_results(team_id, run_id)


@bounded("deleted", "when its run closes; expires with the run if it never does")
def run_results(team_id: str, run_id: str) -> str:
    return f"{_workspace(team_id)}:history:run:{run_id}"


@bounded("expires", "open: its deadline plus HISTORY_RETENTION_DAYS; closed: HISTORY_RETENTION_DAYS after")
def run(team_id: str, run_id: str) -> str:
    return f"{_workspace(team_id)}:run:{run_id}"


@bounded("expires", "with its run; counts only, naming nobody")
def run_aggregate(team_id: str, run_id: str) -> str:
    return f"{run(team_id, run_id)}:aggregate"


@bounded("deleted", "when its run closes; expires with the run if it never does")
def run_response(team_id: str, run_id: str, user_id: str) -> str:
    return f"{run(team_id, run_id)}:response:{user_id}"


@bounded("deleted", "when its run closes; expires with the run if it never does")
def run_respondents(team_id: str, run_id: str) -> str:
    return f"{run(team_id, run_id)}:respondents"


@bounded("deleted", "when its run closes; expires SESSION_TTL_DAYS after the last write of a session in it")
def run_sessions(team_id: str, run_id: str) -> str:
    return f"{run(team_id, run_id)}:sessions"


@bounded("expires", "in seconds")
def run_refresh(team_id: str, run_id: str) -> str:
    return f"{run(team_id, run_id)}:refresh"


@bounded("expires", "in seconds")
def run_refresh_due(team_id: str, run_id: str) -> str:
    return f"{run(team_id, run_id)}:refresh-due"


@bounded("expires", "a day after the nudge")
def run_nudged(team_id: str, run_id: str) -> str:
    return f"{run(team_id, run_id)}:nudged"


@bounded("deleted", "when its run closes; expires with the run")
def channel_run(team_id: str, channel_id: str) -> str:
    return f"{_workspace(team_id)}:channel:{channel_id}:run"


@bounded("expires", "with its latest run; a run leaves on close, runs past retention when one opens")
def open_runs(team_id: str) -> str:
    return f"{_workspace(team_id)}:runs:open"


@bounded("deleted", "when cancelled; at most SCHEDULES_PER_USER per creator and 10 per channel")
def schedule(team_id: str, schedule_id: str) -> str:
    return f"{_workspace(team_id)}:schedule:{schedule_id}"


@bounded("deleted", "its schedules leave on cancel; at most 10")
def channel_schedules(team_id: str, channel_id: str) -> str:
    return f"{_workspace(team_id)}:channel:{channel_id}:schedules"


@bounded("trimmed", "to HISTORY_KEEP in the write that adds; expires with its newest result")
def channel_results(team_id: str, channel_id: str) -> str:
    return f"{_workspace(team_id)}:channel:{channel_id}:results"


@bounded("expires", "in a second")
def channel_paced(team_id: str, channel_id: str) -> str:
    return f"{_workspace(team_id)}:channel:{channel_id}:paced"


@bounded("expires", "NOTES_KEPT_SECONDS after its last write (bot/store/nudges.py); deleted by `forget me`")
def session_notes(team_id: str, user_id: str, run_id: str | None = None) -> str:
    return f"{session(team_id, user_id, run_id)}:notes"


@bounded("trimmed", "at most TEAM_RUNS_PER_USER open runs; closed and overdue ones trimmed on open")
def user_runs(team_id: str, user_id: str) -> str:
    return f"{_workspace(team_id)}:user:{user_id}:runs"


@bounded("deleted", "by `forget me`; its schedules leave on cancel; at most SCHEDULES_PER_USER")
def user_schedules(team_id: str, user_id: str) -> str:
    return f"{_workspace(team_id)}:user:{user_id}:schedules"


@bounded("expires", "open: its deadline plus HISTORY_RETENTION_DAYS; closed: HISTORY_RETENTION_DAYS after")
def workshop(team_id: str, workshop_id: str) -> str:
    """A team workshop; the votes live inside it (bot/store/workshops.py)."""
    return f"{_workspace(team_id)}:workshop:{workshop_id}"


@bounded("expires", "in seconds")
def workshop_votes_claim(team_id: str, workshop_id: str, question_id: str, claim: VotesClaim) -> str:
    """One of the two claims throttling the updates of a question's votes (bot/store/throttles.py)."""
    return f"{workshop(team_id, workshop_id)}:votes:{question_id}:{claim}"


@bounded("deleted", "when its workshop closes; expires with the workshop")
def channel_workshop(team_id: str, channel_id: str) -> str:
    return f"{_workspace(team_id)}:channel:{channel_id}:workshop"


@bounded("expires", "CORRUPT_KEEP_DAYS after it was set aside")
def corrupt(key: str, at: float) -> str:
    """Where a stored record that failed validation is set aside (renamed, in the same slot), for an
    operator to look at."""
    return f"{key}:corrupt:{int(at)}"


CLOCK = f"{PREFIX}:{{clock}}"
DUE_SCHEDULES = f"{CLOCK}:due"
DELIVERIES = f"{CLOCK}:deliveries"
PENDING_DELIVERIES = f"{CLOCK}:pending"
WATCHED_SESSIONS = f"{CLOCK}:sessions"
RUN_DEADLINES = f"{CLOCK}:run-deadlines"
WATCHED_WORKSHOPS = f"{CLOCK}:workshops"
OUTBOX = f"{CLOCK}:outbox"
# Each clock process's last tick, so /health can say whether any clock is running.
CLOCK_HEARTBEATS = f"{PREFIX}:clock-heartbeats"
GLOBAL_BOUNDS: dict[str, str] = {
    CLOCK_HEARTBEATS: "one member per clock process that ticked in the last HEARTBEATS_KEPT_SECONDS",
    DUE_SCHEDULES: "one member per active schedule",
    DELIVERIES: "one member per active schedule's undelivered reminder",
    PENDING_DELIVERIES: "one field per active schedule",
    WATCHED_SESSIONS: "one member per session in progress (a person's own, and theirs in each team run they "
    "took part in); it leaves in the transaction that finishes the session, and one that expired or whose "
    "run closed leaves when the clock looks at it",
    OUTBOX: "one member per report not yet delivered or given up on; a delivery's retries end within "
    "DELIVERY_RETRY_SECONDS",
    RUN_DEADLINES: "one member per open run; a run that expired unclosed is dropped when its deadline comes",
    WATCHED_WORKSHOPS: "one member per open workshop; it leaves in the transaction that closes the workshop",
}
# Where each global index's members name their workspace first: "T:…".
CLOCK_INDEXES = (DUE_SCHEDULES, DELIVERIES, WATCHED_SESSIONS, RUN_DEADLINES, WATCHED_WORKSHOPS, OUTBOX)


def _helper(function: H) -> H:
    """Not a key builder: no bound to declare."""
    HELPERS.add(function.__name__)
    return function


HELPERS: set[str] = set()


@_helper
def clock_member(team_id: str, item_id: str) -> str:
    """A member of the clock's indexes: the workspace, then the schedule or user."""
    return f"{team_id}:{item_id}"


@_helper
def split_clock_member(member: str) -> tuple[str, str]:
    team_id, _, item_id = member.partition(":")
    return team_id, item_id


@_helper
def watched_session(team_id: str, user_id: str, run_id: str | None = None) -> str:
    """A member of WATCHED_SESSIONS: the workspace and the person, then the team run for a run member's
    session (ids of Slack users and of runs hold no colon)."""
    return clock_member(team_id, user_id if run_id is None else f"{user_id}:{run_id}")


@_helper
def split_watched_session(member: str) -> tuple[str, str, str | None]:
    team_id, item_id = split_clock_member(member)
    user_id, _, run_id = item_id.partition(":")
    return team_id, user_id, run_id or None


@bounded("expires", "a while after it is delivered or given up on (bot/store/outbox.py); pending until then")
def report_delivery(team_id: str, kind: str, delivery_id: str) -> str:
    return f"{_workspace(team_id)}:report:{kind}:{delivery_id}"


@bounded("expires", "when the worker holding it lets go, or after its lease (bot/store/outbox.py)")
def report_delivery_lock(team_id: str, kind: str, delivery_id: str) -> str:
    return f"{report_delivery(team_id, kind, delivery_id)}:lock"


@bounded("expires", "WORKER_ALIVE_SECONDS after the worker process's last beat (bot/store/jobs.py)")
def worker_alive(process: str) -> str:
    """Held while the worker process `process` ("host:pid") runs: a job or a report it holds is
    abandoned once this lapses."""
    return f"{PREFIX}:worker:{process}:alive"


@bounded("trimmed", "to HISTORY_KEEP in the write that adds; expires with its newest result")
def channel_history(team_id: str, channel_id: str) -> str:
    return f"{_workspace(team_id)}:history:channel:{channel_id}"


@bounded("expires", "after the Retry-After of Slack's 429 that set it (bot/store/slack_limits.py)")
def slack_method_paused(team_id: str, method: str) -> str:
    return f"{_workspace(team_id)}:slack-paused:{method}"


@bounded("expires", "in an hour")
def handled_event(team_id: str, event_id: str) -> str:
    return f"{_workspace(team_id)}:event:{event_id}"


def _installation(owner_id: str, org_wide: bool) -> str:
    """An installation's keys: a workspace's under its team id, an org-wide one under the enterprise's."""
    return f"{_workspace(owner_id)}:{'org-installation' if org_wide else 'installation'}"


_UNINSTALLED = "when the app is uninstalled there or the token revoked (app_uninstalled, tokens_revoked)"


@bounded("deleted", _UNINSTALLED)
def installation_bot(owner_id: str, *, org_wide: bool = False) -> str:
    return f"{_installation(owner_id, org_wide)}:bot"


@bounded("deleted", _UNINSTALLED + " or by its person's `forget me`; one per person who installed the app")
def installation_user(owner_id: str, user_id: str, *, org_wide: bool = False) -> str:
    return f"{_installation(owner_id, org_wide)}:user:{user_id}"


@bounded("deleted", _UNINSTALLED + "; a member leaves with its installation_user")
def installation_users(owner_id: str, *, org_wide: bool = False) -> str:
    return f"{_installation(owner_id, org_wide)}:users"


@bounded("deleted", "with the workspace when the app is uninstalled there; rewritten to the same value")
def workspace_enterprise(team_id: str) -> str:
    """The Enterprise Grid org a workspace served by an org-wide installation belongs to."""
    return f"{_workspace(team_id)}:enterprise"


@bounded("expires", "OAUTH_STATE_SECONDS after it is issued; deleted when used (bot/store/installations.py)")
def oauth_state(state: str) -> str:
    return f"{PREFIX}:oauth-state:{state}"


@_helper
def installation_patterns() -> list[str]:
    """Glob patterns (SCAN MATCH) of every workspace's and every enterprise's installation keys."""
    return [f"{PREFIX}:{{*}}:installation:*", f"{PREFIX}:{{*}}:org-installation:*"]


@_helper
def result_pattern(team_id: str) -> str:
    return f"{_workspace(team_id)}:result:*"


@_helper
def history_pattern(team_id: str) -> str:
    return f"{_workspace(team_id)}:history:*"


@_helper
def personal_data_patterns(team_id: str, user_id: str) -> list[str]:
    """Glob patterns (SCAN MATCH) of the keys that hold only person U's data: deleted whole by `forget me`."""
    workspace = _workspace(team_id)
    return [
        session(team_id, user_id),
        session_notes(team_id, user_id),
        f"{workspace}:session:run:*:user:{user_id}",
        f"{workspace}:session:run:*:user:{user_id}:notes",
        history(team_id, user_id),
        f"{workspace}:run:*:response:{user_id}",
        user_runs(team_id, user_id),
        user_schedules(team_id, user_id),
        installation_user(team_id, user_id),
    ]


@_helper
def personal_memberships(team_id: str) -> list[str]:
    """Glob patterns of sets that may list a person among others: `forget me` removes the person only."""
    return [f"{_workspace(team_id)}:run:*:respondents", f"{_workspace(team_id)}:run:*:sessions"]


@_helper
def report_delivery_pattern(team_id: str) -> str:
    """Every report delivery record of the workspace (and their locks, which a caller tells apart)."""
    return f"{_workspace(team_id)}:report:*"


@_helper
def workspace_pattern(team_id: str) -> str:
    return f"{_workspace(team_id)}:*"
