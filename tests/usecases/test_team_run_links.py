"""docs/privacy.md's promise for a closed team run, checked on Redis itself: after a run whose members
finished (one retook, one never finished) through the production paths is closed, no key or value of the
workspace links the run to a member or to a member's result, no session of the run is left, and what
stays is the run with its report, its aggregate, and each member's results in their own history, naming
no run."""

from __future__ import annotations

import json
import time

import redis

from bot.engine.answers import Answer, OptionChoice
from bot.engine.catalog import BankCatalog
from bot.store import keys
from bot.store.sessions import Respondent, SessionStore
from bot.store.team_runs import TeamRunStore
from bot.usecases import personal
from bot.usecases.team_runs import RunResponses, close_run, closed_run_report, open_run

CATALOG = BankCatalog.from_directory()
PULSE = CATALOG.by_id("pulse")
STARTER = "U0STARTER"
FINISHERS = ("U0AMY", "U0BEN", "U0CAL")
UNFINISHED = "U0DEE"


def answers(option: int) -> dict[str, Answer]:
    return {q.id: OptionChoice(min(option, len(q.options) - 1)) for q in PULSE.questions}


def answer_all(store: SessionStore, respondent: Respondent, option: int) -> None:
    """Every answer as a click gives it: the session started, then the last answer applied with the run
    hook and the report's delivery queued in the same transaction."""
    record, last = personal.answered_but_last(respondent, PULSE, answers(option))
    assert store.start(record, may_replace=personal.is_finished) is None
    applied = personal.apply(
        store, CATALOG, respondent, record.session_id, last, run=RunResponses(), pending_delivery=True
    )
    assert applied.run_outcome.counted


def everything_in(client: redis.Redis, team_id: str) -> dict[str, str]:
    """Each key of the workspace with the text of its value (every field, member and score)."""
    found = {}
    for raw_key in client.scan_iter(match=keys.workspace_pattern(team_id)):
        key = raw_key.decode()
        raw_kind = client.type(key)
        kind = raw_kind.decode() if isinstance(raw_kind, bytes) else str(raw_kind)
        if kind == "string":
            value: object = client.get(key)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "set":
            value = sorted(client.smembers(key))
        elif kind == "zset":
            value = client.zrange(key, 0, -1, withscores=True)
        else:
            value = kind
        found[key] = repr(value)
    return found


def test_a_closed_run_keeps_nothing_that_links_it_to_a_member_or_their_result(
    redis_client: redis.Redis, team_id: str
) -> None:
    store, runs = SessionStore(redis_client), TeamRunStore(redis_client)
    run = open_run(runs, PULSE, team_id, "C0TEAM", STARTER, days=3)
    members = {user: Respondent(team_id=team_id, user_id=user, run_id=run.run_id) for user in FINISHERS}
    for number, user in enumerate(FINISHERS):
        answer_all(store, members[user], number)
    answer_all(store, members[FINISHERS[0]], 4)  # a retake replaces the first answers
    unfinished = Respondent(team_id=team_id, user_id=UNFINISHED, run_id=run.run_id)
    started, _ = personal.new_session(unfinished, PULSE, None, personal.member_asking(PULSE))
    assert store.start(started, may_replace=personal.is_finished) is None
    results = {user: [r.result_id for r in store.history(members[user].own)] for user in FINISHERS}
    assert [len(ids) for ids in results.values()] == [2, 1, 1]
    # While the run is open it knows its members: this is what the close must take away.
    assert any(run.run_id in value for value in everything_in(redis_client, team_id).values())

    closed = close_run(runs, team_id, run.run_id, STARTER)
    report = closed_run_report(runs, CATALOG, closed, invited=5)

    stored = everything_in(redis_client, team_id)
    people = (*FINISHERS, UNFINISHED)
    named = [*people, *(result_id for ids in results.values() for result_id in ids)]
    for key, value in stored.items():
        if run.run_id in key or run.run_id in value:
            assert [name for name in named if name in key or name in value] == [], key
    assert [key for key in stored if ":session:run:" in key] == []
    watched = [m.decode() for m, _ in redis_client.zscan_iter(keys.WATCHED_SESSIONS, match=f"{team_id}*")]
    assert [member for member in watched if member.endswith(f":{run.run_id}")] == []
    # What stays: the run with its report, its counts, and each member's results as their own.
    assert report.view.respondents == 3
    assert runs.respondent_count(team_id, run.run_id) == 3
    kept = runs.get(team_id, run.run_id)
    assert kept is not None and kept.report is not None
    for user in FINISHERS:
        own = store.history(members[user].own)
        assert [r.result_id for r in own] == results[user]
        assert all(r.respondent == members[user].own for r in own)
        for result_id in results[user]:
            raw = redis_client.get(keys.result(team_id, result_id))
            assert raw is not None and json.loads(raw)["respondent"]["run_id"] is None
    assert store.history(unfinished.own) == []


def test_the_close_leaves_the_personal_sessions_of_its_members_alone(
    redis_client: redis.Redis, team_id: str
) -> None:
    store, runs = SessionStore(redis_client), TeamRunStore(redis_client)
    run = open_run(runs, PULSE, team_id, "C0TEAM", STARTER, days=3)
    own = Respondent(team_id=team_id, user_id=FINISHERS[0])
    started, _ = personal.new_session(own, PULSE, "C0TEAM")
    assert store.start(started, may_replace=personal.is_finished) is None
    answer_all(store, Respondent(team_id=team_id, user_id=FINISHERS[0], run_id=run.run_id), 2)
    close_run(runs, team_id, run.run_id, STARTER, now=time.time())
    left = store.get(own)
    assert left is not None and (left.session_id, left.conversation) == (
        started.session_id,
        started.conversation,
    )
