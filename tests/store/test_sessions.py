"""The session store against fakeredis and a real Redis server alike."""

from __future__ import annotations

import threading

import pytest
import redis

from bot.engine.answers import OptionChoice
from bot.engine.catalog import BankCatalog
from bot.engine.conversation import (
    AnswerQuestion,
    Cancel,
    Conversation,
    Phase,
    StaleQuestion,
    advance,
)
from bot.store import keys
from bot.store.history import HistoryLimits
from bot.store.sessions import (
    FIRST_LOOK_AFTER_SECONDS,
    Change,
    Respondent,
    ResultRecord,
    SessionRecord,
    SessionStore,
    StoreUnavailable,
    connect,
)
from bot.store.transactions import TooManyConcurrentChanges
from bot.usecases.personal import new_session

BANK = BankCatalog.from_directory().get("mlops")


def started_record(respondent: Respondent) -> SessionRecord:
    """A fresh session, as every front end starts one."""
    record, _ = new_session(respondent, BANK, "C1")
    return record


def stored(store: SessionStore, respondent: Respondent) -> SessionRecord:
    record = store.get(respondent)
    assert record is not None, f"no session for {respondent}"
    return record


def answer_current(respondent: Respondent, option: int = 0):
    def mutate(record: SessionRecord | None) -> Change[Phase]:
        assert record is not None
        state = Conversation.from_dict(record.conversation)
        question = state.current_question(BANK)
        assert question is not None
        moved = advance(state, AnswerQuestion(question.id, OptionChoice(option)), BANK).state
        return Change(record.model_copy(update={"conversation": moved.to_dict()}), moved.phase)

    return mutate


def test_keys_carry_the_workspace_as_a_cluster_hash_tag(team_id: str) -> None:
    for key in (
        keys.session(team_id, "U1"),
        keys.session(team_id, "U1", run_id="R1"),
        keys.result(team_id, "abc"),
        keys.history(team_id, "U1"),
        keys.history(team_id, "U1", run_id="R1"),
    ):
        assert f"{{{team_id}}}" in key
        assert key.startswith("mlops-compass:")
    assert keys.session(team_id, "U1") != keys.session(team_id, "U1", run_id="R1")


def test_create_refuses_a_second_session_unless_replacing(store: SessionStore, team_id: str) -> None:
    respondent = Respondent(team_id=team_id, user_id="U1")
    first = started_record(respondent)
    assert store.create(first)
    assert not store.create(started_record(respondent))
    assert stored(store, respondent).session_id == first.session_id
    second = started_record(respondent)
    assert store.create(second, replace=True)
    assert stored(store, respondent).session_id == second.session_id


def test_sessions_of_a_person_and_of_a_team_run_are_separate(store: SessionStore, team_id: str) -> None:
    personal = Respondent(team_id=team_id, user_id="U1")
    in_run = Respondent(team_id=team_id, user_id="U1", run_id="R7")
    store.create(started_record(personal))
    assert store.get(in_run) is None
    store.create(started_record(in_run))
    assert stored(store, in_run).respondent.run_id == "R7"


def test_change_applies_and_refreshes_the_expiry(redis_client: redis.Redis, team_id: str) -> None:
    store = SessionStore(redis_client, session_ttl_seconds=1000)
    respondent = Respondent(team_id=team_id, user_id="U1")
    store.create(started_record(respondent))
    redis_client.expire(respondent.session_key, 10)
    assert store.change(respondent, answer_current(respondent)) == Phase.ASK_Q
    state = Conversation.from_dict(stored(store, respondent).conversation)
    assert state.answers == {BANK.questions[0].id: OptionChoice(0)} and len(state.asked) == 2
    assert 990 <= store.ttl(respondent) <= 1000


def test_a_refused_change_writes_nothing(store: SessionStore, team_id: str) -> None:
    respondent = Respondent(team_id=team_id, user_id="U1")
    store.create(started_record(respondent))
    before = store.get(respondent)

    def refuse(record: SessionRecord | None) -> Change[None]:
        raise StaleQuestion("q1", "q0")

    with pytest.raises(StaleQuestion):
        store.change(respondent, refuse)
    assert store.get(respondent) == before


def test_concurrent_answers_to_one_question_apply_once(store: SessionStore, team_id: str) -> None:
    respondent = Respondent(team_id=team_id, user_id="U1")
    store.create(started_record(respondent))
    first_question = BANK.questions[0].id
    outcomes: list[str] = []

    def click() -> None:
        def mutate(record: SessionRecord | None) -> Change[str]:
            assert record is not None
            state = Conversation.from_dict(record.conversation)
            moved = advance(state, AnswerQuestion(first_question, OptionChoice(1)), BANK).state
            return Change(record.model_copy(update={"conversation": moved.to_dict()}), "applied")

        try:
            outcomes.append(store.change(respondent, mutate))
        except StaleQuestion:
            outcomes.append("refused")

    threads = [threading.Thread(target=click) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["applied"] + ["refused"] * 7
    state = Conversation.from_dict(stored(store, respondent).conversation)
    assert state.answers == {first_question: OptionChoice(1)} and state.revision == 2


def test_racing_transitions_are_retried_not_dropped(store: SessionStore, team_id: str) -> None:
    respondent = Respondent(team_id=team_id, user_id="U1")
    store.create(started_record(respondent))

    def bump(record: SessionRecord | None) -> Change[None]:
        assert record is not None
        return Change(record.model_copy(update={"message_ts": str(int(record.message_ts or "0") + 1)}), None)

    def worker() -> None:
        for _ in range(25):
            store.change(respondent, bump)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stored(store, respondent).message_ts == "100"


def finished_record(respondent: Respondent) -> SessionRecord:
    record = started_record(respondent)
    state = advance(Conversation.from_dict(record.conversation), Cancel(), BANK).state
    return record.model_copy(update={"conversation": state.to_dict()})


def is_finished(record: SessionRecord) -> bool:
    return Conversation.from_dict(record.conversation).finished


def test_start_stores_unless_the_present_session_must_stay(store: SessionStore, team_id: str) -> None:
    respondent = Respondent(team_id=team_id, user_id="U1")
    first = started_record(respondent)
    assert store.start(first, may_replace=is_finished) is None
    assert store.get(respondent) == first

    second = started_record(respondent)
    stayed = store.start(second, may_replace=is_finished)
    assert stayed == first
    assert store.get(respondent) == first

    store.change(respondent, lambda record: Change(finished_record(respondent), None))
    assert store.start(second, may_replace=is_finished) is None
    assert stored(store, respondent).session_id == second.session_id
    assert 0 < store.ttl(respondent) <= store.session_ttl_seconds


def test_two_starts_that_both_saw_a_finished_session_store_one(store: SessionStore, team_id: str) -> None:
    respondent = Respondent(team_id=team_id, user_id="U1")
    store.start(finished_record(respondent), may_replace=is_finished)
    both_have_looked = threading.Barrier(2)
    looked: set[int] = set()

    def may_replace(current: SessionRecord) -> bool:
        # Each start decides on the finished session only after the other has read it too.
        if threading.get_ident() not in looked:
            looked.add(threading.get_ident())
            both_have_looked.wait(timeout=5)
        return is_finished(current)

    candidates = [started_record(respondent), started_record(respondent)]
    outcomes: dict[str, SessionRecord | None] = {}

    def begin(record: SessionRecord) -> None:
        outcomes[record.session_id] = store.start(record, may_replace)

    threads = [threading.Thread(target=begin, args=(record,)) for record in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    winners = [session_id for session_id, stayed in outcomes.items() if stayed is None]
    assert len(winners) == 1
    [loser_saw] = [stayed for stayed in outcomes.values() if stayed is not None]
    assert loser_saw.session_id == winners[0]
    assert stored(store, respondent).session_id == winners[0]


def test_losing_every_race_is_not_reported_as_redis_down(
    redis_client: redis.Redis, store: SessionStore, team_id: str
) -> None:
    respondent = Respondent(team_id=team_id, user_id="U1")
    store.create(started_record(respondent))

    def overtaken(record: SessionRecord | None) -> Change[None]:
        # Another writer changes the session between this read and this write, every single time.
        assert record is not None
        redis_client.set(respondent.session_key, record.model_dump_json())
        return Change(record.model_copy(update={"message_ts": "1"}), None)

    with pytest.raises(TooManyConcurrentChanges) as raised:
        store.change(respondent, overtaken)
    assert not isinstance(raised.value, StoreUnavailable)
    assert stored(store, respondent).message_ts is None


def test_finishing_keeps_the_result_until_its_retention_ends(redis_client: redis.Redis, team_id: str) -> None:
    store = SessionStore(redis_client, history_limits=HistoryLimits.of(keep=40, retention_days=30))
    respondent = Respondent(team_id=team_id, user_id="U1")
    store.create(started_record(respondent))
    result = ResultRecord(
        respondent=respondent, bank_id="mlops", bank_version="1.0.0", answers={"a": 1}, report={"x": 1}
    )

    def finish(record: SessionRecord | None) -> Change[None]:
        assert record is not None
        return Change(record.model_copy(update={"result_id": result.result_id}), None, result)

    store.change(respondent, finish)
    thirty_days = 30 * 24 * 3600
    assert thirty_days - 5 <= redis_client.ttl(keys.result(team_id, result.result_id)) <= thirty_days + 1
    assert thirty_days - 5 <= redis_client.ttl(respondent.history_key) <= thirty_days + 1
    assert store.result(team_id, result.result_id) == result
    assert [r.result_id for r in store.history(respondent)] == [result.result_id]
    assert stored(store, respondent).result_id == result.result_id


def test_unreachable_redis_raises_store_unavailable_and_keeps_nothing_half_done() -> None:
    store = SessionStore(connect("redis://127.0.0.1:1/0", timeout_seconds=0.2))
    respondent = Respondent(team_id="T1", user_id="U1")
    with pytest.raises(StoreUnavailable):
        store.get(respondent)
    with pytest.raises(StoreUnavailable):
        store.change(respondent, answer_current(respondent))
    with pytest.raises(StoreUnavailable):
        store.create(started_record(respondent))


def test_a_started_personal_assessment_is_watched_for_the_clock_and_a_run_members_is_not(
    redis_client: redis.Redis, store: SessionStore, team_id: str
) -> None:
    person = Respondent(team_id=team_id, user_id="U1")
    member = Respondent(team_id=team_id, user_id="U2", run_id="r1")
    for respondent in (person, member):
        assert store.start(started_record(respondent), may_replace=lambda _: False) is None
    started = stored(store, person)
    # Looked in on a day after it started: the unfinished reminder's first chance.
    assert redis_client.zscore(keys.WATCHED_SESSIONS, keys.clock_member(team_id, "U1")) == pytest.approx(
        started.updated_at + FIRST_LOOK_AFTER_SECONDS, abs=5
    )
    assert redis_client.zscore(keys.WATCHED_SESSIONS, keys.clock_member(team_id, "U2")) is None
    # A start that leaves the session in place adds nothing.
    redis_client.zrem(keys.WATCHED_SESSIONS, keys.clock_member(team_id, "U1"))
    assert store.start(started_record(person), may_replace=lambda _: False) is not None
    assert redis_client.zscore(keys.WATCHED_SESSIONS, keys.clock_member(team_id, "U1")) is None
