"""Nothing outlives its retention: a closed team run keeps no key that names a member, and once the
history's retention has passed no key of the run, its members or its starter is left. Time is moved
with time-machine on fakeredis (whose expiry follows the clock); the bounds themselves (TTLs, deletes on
close, the per-person caps) are checked on a real Redis server too."""

from __future__ import annotations

import time

import fakeredis
import pytest
import redis
import time_machine

from bot.engine.answers import Answer, OptionChoice
from bot.engine.catalog import BankCatalog
from bot.store import keys
from bot.store.history import DAY_SECONDS, HistoryLimits
from bot.store.outbox import DELIVERED, Outbox
from bot.store.sessions import Respondent, SessionStore
from bot.store.team_runs import RunLimits, TeamRunStore, TooManyOpenRuns
from bot.usecases import personal
from bot.usecases.team_runs import RunResponses, close_run, closed_run_report, open_run, report_delivery
from tests.conftest import workspace_state

CATALOG = BankCatalog.from_directory()
PULSE = CATALOG.by_id("pulse")
RETENTION_DAYS = 30
LIMITS = RunLimits(retention_seconds=RETENTION_DAYS * DAY_SECONDS, open_per_user=3)
SESSION_TTL = 7 * DAY_SECONDS
MEMBERS = ("U0AMY", "U0BEN", "U0CAL")
STARTER = "U0STARTER"
START = 1_790_000_000.0


def answers(option: int) -> dict[str, Answer]:
    return {q.id: OptionChoice(min(option, len(q.options) - 1)) for q in PULSE.questions}


def stores(client: redis.Redis) -> tuple[SessionStore, TeamRunStore]:
    history = HistoryLimits(keep=40, retention_seconds=LIMITS.retention_seconds)
    return SessionStore(client, SESSION_TTL, history), TeamRunStore(client, LIMITS)


def run_with_members(client: redis.Redis, team_id: str, channel: str, now: float) -> str:
    """Open a run, let every member finish, close it; the run's id."""
    sessions, runs = stores(client)
    run = open_run(runs, PULSE, team_id, channel, STARTER, days=3, now=now)
    for number, user in enumerate(MEMBERS):
        respondent = Respondent(team_id=team_id, user_id=user, run_id=run.run_id)
        writes = RunResponses(lambda: now, LIMITS)
        outcome = personal.finish(sessions, CATALOG, respondent, PULSE, answers(number), run=writes)
        assert outcome.run_outcome.counted
    closed = close_run(runs, team_id, run.run_id, STARTER, now=now)
    closed_run_report(runs, CATALOG, closed, invited=3)
    # As the worker does once Slack took the report: its delivery record then expires too.
    Outbox(client).finish(report_delivery(closed), DELIVERED)
    return run.run_id


def workspace_keys(client: redis.Redis, team_id: str) -> list[str]:
    return sorted(k.decode() for k in client.scan_iter(match=keys.workspace_pattern(team_id)))


def test_closing_deletes_what_names_the_members_and_every_run_key_expires(
    redis_client: redis.Redis, team_id: str
) -> None:
    run_id = run_with_members(redis_client, team_id, "C0ONE", time.time())
    for user in MEMBERS:
        assert not redis_client.exists(keys.run_response(team_id, run_id, user))
    assert not redis_client.exists(keys.run_respondents(team_id, run_id))
    for key in workspace_keys(redis_client, team_id):
        assert 0 < redis_client.ttl(key) <= LIMITS.retention_seconds + 1, key
    assert redis_client.zscore(keys.RUN_DEADLINES, keys.clock_member(team_id, run_id)) is None


def test_after_the_retention_no_key_names_a_member_or_the_run(team_id: str) -> None:
    client = fakeredis.FakeRedis()
    with time_machine.travel(START, tick=False) as traveller:
        run_id = run_with_members(client, team_id, "C0ONE", START)
        left = workspace_keys(client, team_id)
        assert not [k for k in left if any(f":response:{user}" in k for user in MEMBERS)]
        assert not [k for k in left if k.endswith(":respondents")]
        traveller.shift(RETENTION_DAYS * DAY_SECONDS + 2)
        left = workspace_keys(client, team_id)
        assert [k for k in left if any(name in k for name in (*MEMBERS, STARTER, run_id))] == []
        assert left == []


def test_fifty_starts_and_closes_by_one_person_leave_nothing_past_the_retention(team_id: str) -> None:
    client = fakeredis.FakeRedis()
    with time_machine.travel(START, tick=False) as traveller:
        for cycle in range(50):
            run_with_members(client, team_id, "C0ONE", START + cycle)
        kept = workspace_keys(client, team_id)
        assert [k for k in kept if client.ttl(k) < 0] == []  # nothing without a bound
        traveller.shift(RETENTION_DAYS * DAY_SECONDS + 60)
        assert workspace_keys(client, team_id) == []


def test_an_abandoned_open_run_expires(team_id: str) -> None:
    client = fakeredis.FakeRedis()
    with time_machine.travel(START, tick=False) as traveller:
        sessions, runs = stores(client)
        run = open_run(runs, PULSE, team_id, "C0ONE", STARTER, days=3, now=START)
        respondent = Respondent(team_id=team_id, user_id=MEMBERS[0], run_id=run.run_id)
        personal.finish(
            sessions, CATALOG, respondent, PULSE, answers(1), run=RunResponses(lambda: START, LIMITS)
        )
        traveller.shift(3 * DAY_SECONDS + RETENTION_DAYS * DAY_SECONDS + 2)
        assert workspace_keys(client, team_id) == []


def test_one_person_has_a_bounded_number_of_open_runs(redis_client: redis.Redis, team_id: str) -> None:
    _, runs = stores(redis_client)
    now = time.time()
    opened = [open_run(runs, PULSE, team_id, f"C0R{n}", STARTER, days=3, now=now) for n in range(3)]
    before = workspace_state(redis_client, team_id)
    with pytest.raises(TooManyOpenRuns) as refused:
        open_run(runs, PULSE, team_id, "C0R9", STARTER, days=3, now=now)
    assert sorted(refused.value.run_ids) == sorted(r.run_id for r in opened)
    assert workspace_state(redis_client, team_id) == before
    open_run(runs, PULSE, team_id, "C0R9", "U0SOMEONE", days=3, now=now)
    close_run(runs, team_id, opened[0].run_id, STARTER, now=now)
    open_run(runs, PULSE, team_id, "C0R8", STARTER, days=3, now=now)
    # A run past its deadline no longer counts: the next interaction or the clock closes it.
    later = now + 4 * DAY_SECONDS
    open_run(runs, PULSE, team_id, "C0R7", STARTER, days=3, now=later)
