"""Kept results per scope, bounded in number and age, against fakeredis and a real Redis alike."""

from __future__ import annotations

import json
import time

import fakeredis
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.catalog import BankCatalog
from bot.engine.history import DimensionSummary, ResultSummary
from bot.engine.report_view import build_view
from bot.engine.scoring import score
from bot.store import keys
from bot.store.history import HistoryLimits, HistoryStore, Scope, record_channel_result
from bot.store.sessions import Change, Respondent, ResultRecord, SessionRecord, SessionStore
from bot.usecases.personal import new_session
from playground.demo import demo_answers
from tests.open_runs import open_team_run

BANK = BankCatalog.from_directory().get("mlops")
REPORT = build_view(score(BANK, demo_answers(BANK))).to_dict()


def summary(result_id: str, finished_at: float, level: int = 2) -> ResultSummary:
    dimensions = (DimensionSummary("data", "Data", level, 50.0),)
    return ResultSummary(result_id, finished_at, "mlops", "2.0.0", "MLOps", level, 50.0, 40.0, dimensions)


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def payload(result_id: str, finished_at: float, user_id: str = "U1") -> str:
    return ResultRecord(
        result_id=result_id,
        respondent=Respondent(team_id="T", user_id=user_id),
        bank_id="mlops",
        bank_version=BANK.version,
        answers={},
        report=REPORT,
        finished_at=finished_at,
    ).model_dump_json()


def test_the_41st_result_trims_the_oldest_and_its_key(redis_client: redis.Redis, team_id: str) -> None:
    store = HistoryStore(redis_client)
    scope = Scope.person(team_id, "U1")
    start = time.time() - 1000
    for n in range(40):
        assert store.keep(scope, f"r{n}", start + n, payload(f"r{n}", start + n)) == ()
    assert redis_client.zcard(scope.key) == 40
    dropped = store.keep(scope, "r40", start + 40, payload("r40", start + 40))
    assert dropped == ("r0",)
    assert redis_client.zcard(scope.key) == 40
    assert redis_client.exists(keys.result(team_id, "r0")) == 0
    assert [r.result_id for r in store.results(scope)][:2] == ["r40", "r39"]
    assert store.results(scope)[-1].result_id == "r1"


def test_finishing_an_assessment_trims_the_history_in_the_same_transaction(
    redis_client: redis.Redis, team_id: str
) -> None:
    sessions = SessionStore(redis_client, history_limits=HistoryLimits(keep=3))
    respondent = Respondent(team_id=team_id, user_id="U1")
    finished = []
    for _ in range(5):
        started, _ = new_session(respondent, BANK, None)
        assert sessions.start(started, may_replace=lambda _: True) is None
        result = ResultRecord(
            respondent=respondent, bank_id="mlops", bank_version=BANK.version, answers={}, report=REPORT
        )
        finished.append(result.result_id)

        def finish(record: SessionRecord | None, result: ResultRecord = result) -> Change[None]:
            assert record is not None
            return Change(record, None, result)

        sessions.change(respondent, finish)
    kept = [r.result_id for r in HistoryStore(redis_client).results(Scope.person(team_id, "U1"))]
    assert kept == finished[::-1][:3]
    assert all(redis_client.exists(keys.result(team_id, i)) == 0 for i in finished[:2])


def test_results_past_retention_are_neither_read_nor_kept(redis_client: redis.Redis, team_id: str) -> None:
    store = HistoryStore(redis_client, HistoryLimits.of(keep=40, retention_days=30))
    scope = Scope.person(team_id, "U1")
    now = time.time()
    old = now - 31 * 86400
    store.keep(scope, "old", old, payload("old", old))
    assert store.results(scope) == []
    assert redis_client.exists(keys.result(team_id, "old")) == 0  # expired by Redis: its time is past
    store.keep(scope, "new", now, payload("new", now))
    assert [r.result_id for r in store.results(scope)] == ["new"]
    assert redis_client.zrange(scope.key, 0, -1) == [b"new"]


def test_a_channel_keeps_team_results_apart_from_personal_ones(
    redis_client: redis.Redis, team_id: str
) -> None:
    now = time.time()
    dropped = record_channel_result(
        redis_client, team_id, "C1", summary("team1", now), run_id="R1", respondents=7, finished_at=now
    )
    assert dropped == ()
    store = HistoryStore(redis_client)
    assert store.results(Scope.channel(team_id, "C1")) == [summary("team1", now)]
    assert store.results(Scope.person(team_id, "C1")) == []
    stored = json.loads(redis_client.get(keys.result(team_id, "team1")) or b"{}")
    assert stored["run_id"] == "R1" and stored["respondents"] == 7
    assert {(s.kind, s.id) for s in store.scopes(team_id)} == {("channel", "C1")}
    assert team_id in store.workspaces()


def test_a_team_report_can_be_kept_as_it_comes_from_scoring(redis_client: redis.Redis, team_id: str) -> None:
    report = score(BANK, demo_answers(BANK))
    record_channel_result(redis_client, team_id, "C1", report, result_id="t1", finished_at=time.time())
    [kept] = HistoryStore(redis_client).results(Scope.channel(team_id, "C1"))
    assert kept.result_id == "t1" and kept.overall_level == report.overall_level
    assert kept.pulse_index == round(report.pulse_index or 0, 1)


def test_an_event_is_claimed_once(redis_client: redis.Redis, team_id: str) -> None:
    store = HistoryStore(redis_client)
    assert store.claim_event(team_id, "Ev1")
    assert not store.claim_event(team_id, "Ev1")
    assert 0 < redis_client.ttl(keys.handled_event(team_id, "Ev1")) <= 3600
    store.release_event(team_id, "Ev1")
    assert store.claim_event(team_id, "Ev1")


def test_forget_person_leaves_no_key_or_value_of_theirs(redis_client: redis.Redis, team_id: str) -> None:
    store = HistoryStore(redis_client)
    now = time.time()
    me, other = "U0FORGET", "U0STAYS"
    sessions = SessionStore(redis_client)
    open_team_run(redis_client, team_id, "R1")
    for user in (me, other):
        # A session of their own and one in a team run, each watched by the clock with its notes.
        for run_id in (None, "R1"):
            started, _ = new_session(Respondent(team_id=team_id, user_id=user, run_id=run_id), BANK, None)
            assert sessions.start(started, may_replace=lambda _: False) is None
        store.keep(Scope.person(team_id, user), f"p-{user}", now, payload(f"p-{user}", now, user))
        # A member's own result in a team run, kept in the run's history.
        run_history = keys.history(team_id, user, run_id="R1")
        redis_client.zadd(run_history, {f"r-{user}": now})
        redis_client.set(keys.result(team_id, f"r-{user}"), payload(f"r-{user}", now, user))
        redis_client.set(f"{keys.PREFIX}:{{{team_id}}}:run:R1:response:{user}", json.dumps({"answers": [1]}))
        redis_client.sadd(f"{keys.PREFIX}:{{{team_id}}}:run:R1:respondents", user)
    redis_client.hset(f"{keys.PREFIX}:{{{team_id}}}:run:R1:aggregate", "respondents", 2)
    record_channel_result(redis_client, team_id, "C1", summary("team1", now), finished_at=now)
    erased: list[tuple[str, str]] = []

    def erase_schedules(client: redis.Redis, team: str, user: str) -> int:
        erased.append((team, user))
        return 1

    forgotten = store.forget_person(team_id, me, erase_schedules=erase_schedules)

    assert erased == [(team_id, me)]
    # Who answered the run, and who has answers in it.
    assert forgotten.results == 2 and forgotten.memberships == 2 and forgotten.schedules == 1
    left = [k.decode() for k in redis_client.scan_iter(keys.workspace_pattern(team_id))]
    assert left and not [k for k in left if me in k]
    for key in left:
        kind = text(redis_client.type(key))
        if kind == "string":
            assert me not in text(redis_client.get(key) or b"")
        elif kind in ("set", "zset"):
            members = redis_client.smembers(key) if kind == "set" else redis_client.zrange(key, 0, -1)
            assert me.encode() not in members and f"r-{me}".encode() not in members
    # Everyone else's data and the team's anonymous counts stay.
    assert redis_client.hget(f"{keys.PREFIX}:{{{team_id}}}:run:R1:aggregate", "respondents") == b"2"
    assert redis_client.smembers(f"{keys.PREFIX}:{{{team_id}}}:run:R1:respondents") == {other.encode()}
    assert [r.result_id for r in store.results(Scope.person(team_id, other))] == [f"p-{other}"]
    assert store.results(Scope.channel(team_id, "C1")) != []
    assert redis_client.zrange(keys.history(team_id, other, run_id="R1"), 0, -1) == [f"r-{other}".encode()]


@settings(max_examples=40, deadline=None)
@given(
    keep=st.integers(min_value=1, max_value=6),
    finishes=st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=20),
)
def test_a_history_never_exceeds_its_bound_and_keeps_the_newest(keep: int, finishes: list[float]) -> None:
    client = fakeredis.FakeRedis()
    now = time.time()
    store = HistoryStore(client, HistoryLimits(keep=keep))
    scope = Scope.person("T1", "U1")
    for n, offset in enumerate(finishes):
        store.keep(scope, f"r{n}", now - offset, payload(f"r{n}", now - offset))
        assert client.zcard(scope.key) <= keep
        assert len(list(client.scan_iter(keys.result_pattern("T1")))) == client.zcard(scope.key)
    if finishes:
        # Each add keeps the newest keep-1 that were there before it, plus itself.
        last = len(finishes) - 1
        kept = {r.result_id for r in store.results(scope)}
        assert f"r{last}" in kept and len(kept) == min(keep, len(finishes))
