"""The session store against fakeredis and a real Redis server alike."""

from __future__ import annotations

import threading
import time

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
from bot.store.connection import connect
from bot.store.history import HistoryLimits
from bot.store.nudges import SessionWatch
from bot.store.sessions import (
    FIRST_LOOK_AFTER_SECONDS,
    Change,
    Respondent,
    ResultRecord,
    SessionRecord,
    SessionStore,
    StoreUnavailable,
)
from bot.store.transactions import TooManyConcurrentChanges
from bot.usecases.personal import new_session
from tests.conftest import workspace_state
from tests.open_runs import open_team_run

BANK = BankCatalog.from_directory().get("mlops")


def started_record(respondent: Respondent) -> SessionRecord:
    """A fresh session, as every front end starts one."""
    record, _ = new_session(respondent, BANK, "C1")
    return record


def begin(store: SessionStore, respondent: Respondent) -> SessionRecord:
    """Start a session as every front end does (`SessionStore.start`), where none is kept."""
    record = started_record(respondent)
    assert store.start(record, may_replace=lambda _: False) is None
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


def test_start_keeps_a_session_it_may_not_replace_and_replaces_one_it_may(
    store: SessionStore, team_id: str
) -> None:
    respondent = Respondent(team_id=team_id, user_id="U1")
    first = begin(store, respondent)
    stayed = store.start(started_record(respondent), may_replace=lambda _: False)
    assert stayed is not None and stayed.session_id == first.session_id
    assert stored(store, respondent).session_id == first.session_id
    second = started_record(respondent)
    assert store.start(second, may_replace=lambda current: current.session_id == first.session_id) is None
    assert stored(store, respondent).session_id == second.session_id


def test_sessions_of_a_person_and_of_a_team_run_are_separate(store: SessionStore, team_id: str) -> None:
    personal = Respondent(team_id=team_id, user_id="U1")
    in_run = Respondent(team_id=team_id, user_id="U1", run_id="R7")
    open_team_run(store.redis, team_id, "R7")
    begin(store, personal)
    assert store.get(in_run) is None
    begin(store, in_run)
    assert stored(store, in_run).respondent.run_id == "R7"


def test_change_applies_and_refreshes_the_expiry(redis_client: redis.Redis, team_id: str) -> None:
    store = SessionStore(redis_client, session_ttl_seconds=1000)
    respondent = Respondent(team_id=team_id, user_id="U1")
    begin(store, respondent)
    redis_client.expire(respondent.session_key, 10)
    assert store.change(respondent, answer_current(respondent)) == Phase.ASK_Q
    state = Conversation.from_dict(stored(store, respondent).conversation)
    assert state.answers == {BANK.questions[0].id: OptionChoice(0)} and len(state.asked) == 2
    assert 990 <= store.ttl(respondent) <= 1000


def test_a_refused_change_writes_nothing(store: SessionStore, team_id: str) -> None:
    respondent = Respondent(team_id=team_id, user_id="U1")
    begin(store, respondent)
    before = store.get(respondent)

    def refuse(record: SessionRecord | None) -> Change[None]:
        raise StaleQuestion("q1", "q0")

    with pytest.raises(StaleQuestion):
        store.change(respondent, refuse)
    assert store.get(respondent) == before


def test_concurrent_answers_to_one_question_apply_once(store: SessionStore, team_id: str) -> None:
    respondent = Respondent(team_id=team_id, user_id="U1")
    begin(store, respondent)
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
    begin(store, respondent)

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
    begin(store, respondent)

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
    begin(store, respondent)
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
        store.start(started_record(respondent), may_replace=lambda _: True)


def look_at(client: redis.Redis, respondent: Respondent) -> float | None:
    """When the clock next looks in on the respondent's session (None: it is not watched)."""
    member = keys.watched_session(respondent.team_id, respondent.user_id, respondent.run_id)
    return client.zscore(keys.WATCHED_SESSIONS, member)


def watching(client: redis.Redis, respondent: Respondent) -> str | None:
    """The session the notes name as the one the clock watches."""
    notes = keys.session_notes(respondent.team_id, respondent.user_id, respondent.run_id)
    watched = client.hget(notes, "watching")
    return watched.decode() if isinstance(watched, bytes) else watched


def test_a_started_assessment_is_watched_in_the_step_that_stores_it_a_run_members_too(
    redis_client: redis.Redis, store: SessionStore, team_id: str
) -> None:
    person = Respondent(team_id=team_id, user_id="U1")
    member = Respondent(team_id=team_id, user_id="U1", run_id="r1")
    open_team_run(redis_client, team_id, "r1")
    for respondent in (person, member):
        begin(store, respondent)
        started = stored(store, respondent)
        # Looked in on a day after it started: the unfinished reminder's first chance.
        assert look_at(redis_client, respondent) == pytest.approx(
            started.updated_at + FIRST_LOOK_AFTER_SECONDS, abs=0.01
        )
        assert watching(redis_client, respondent) == started.session_id
    assert keys.split_watched_session(keys.watched_session(team_id, "U1", "r1")) == (team_id, "U1", "r1")
    assert keys.split_watched_session(keys.watched_session(team_id, "U1")) == (team_id, "U1", None)


def test_a_start_that_leaves_the_session_in_place_leaves_its_watch_as_it_was(
    redis_client: redis.Redis, store: SessionStore, team_id: str
) -> None:
    person = Respondent(team_id=team_id, user_id="U1")
    first = begin(store, person)
    before = workspace_state(redis_client, team_id)
    assert store.start(started_record(person), may_replace=lambda _: False) is not None
    assert workspace_state(redis_client, team_id) == before
    assert watching(redis_client, person) == first.session_id


def test_each_change_moves_the_look_to_a_day_after_it_and_finishing_ends_the_watch(
    redis_client: redis.Redis, store: SessionStore, team_id: str
) -> None:
    person = Respondent(team_id=team_id, user_id="U1")
    begin(store, person)
    # A clock looking in on it holds its lease when the person answers: the answer moves the look to a
    # day after it, and the clock's own choice of the next look, made before, is refused.
    watch = SessionWatch(redis_client)
    leased = watch.lease(time.time() + FIRST_LOOK_AFTER_SECONDS + 1, lease_seconds=300, limit=1000)
    [item] = [item for item in leased if item.respondent == person]
    store.change(person, answer_current(person))
    answered = stored(store, person)
    assert not watch.look_again(item, time.time() + 14 * 24 * 3600)
    assert look_at(redis_client, person) == pytest.approx(
        answered.updated_at + FIRST_LOOK_AFTER_SECONDS, abs=0.01
    )

    def cancel(record: SessionRecord | None) -> Change[None]:
        assert record is not None
        cancelled = advance(Conversation.from_dict(record.conversation), Cancel(), BANK).state
        return Change(record.model_copy(update={"conversation": cancelled.to_dict()}), None)

    store.change(person, cancel)
    assert look_at(redis_client, person) is None
    assert watching(redis_client, person) is None
