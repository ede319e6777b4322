"""Every key the product writes is bounded: bot/store/keys.py declares, for each key builder and each
global index, how it expires, is trimmed, or is deleted. A new builder without a bound fails here; the
keys a person's reports in a channel and a closed team run leave each have an expiry."""

from __future__ import annotations

import inspect
import time

import redis

from bot.engine.answers import Answer, OptionChoice
from bot.engine.catalog import BankCatalog
from bot.store import keys
from bot.store.history import DAY_SECONDS, HistoryLimits
from bot.store.sessions import Respondent, SessionStore
from bot.store.team_runs import TeamRunStore
from bot.store.workshops import WorkshopRecord, WorkshopStore
from bot.usecases.personal import answered_but_last, apply, finish, is_finished, new_session
from bot.usecases.team_runs import RunResponses, close_run, open_run

CATALOG = BankCatalog.from_directory()
PULSE = CATALOG.by_id("pulse")


def answers(option: int) -> dict[str, Answer]:
    return {q.id: OptionChoice(min(option, len(q.options) - 1)) for q in PULSE.questions}


def builders() -> list[str]:
    return [
        name
        for name, function in inspect.getmembers(keys, inspect.isfunction)
        if function.__module__ == keys.__name__ and not name.startswith("_") and name != "bounded"
    ]


def test_every_key_builder_declares_its_bound() -> None:
    unbounded = [name for name in builders() if name not in keys.BOUNDS and name not in keys.HELPERS]
    assert unbounded == [], f"key builders in bot/store/keys.py without a declared bound: {unbounded}"
    for name, (kind, how) in keys.BOUNDS.items():
        assert kind in ("expires", "trimmed", "deleted", "global") and how.strip(), name


def test_a_helper_is_no_key_builder_in_disguise() -> None:
    """A helper takes no bound, so it must not be where a key is built: its names are the patterns and
    members the builders' keys are found by."""
    assert {
        "clock_member",
        "split_clock_member",
        "watched_session",
        "split_watched_session",
        "result_pattern",
        "report_delivery_pattern",
        "history_pattern",
        "personal_data_patterns",
        "personal_memberships",
        "workspace_pattern",
        "installation_patterns",
    } == keys.HELPERS


def test_every_global_index_declares_its_bound() -> None:
    constants = {
        value
        for name, value in vars(keys).items()
        if name.isupper() and isinstance(value, str) and value.startswith(keys.CLOCK + ":")
    }
    # The clocks' heartbeats are global too, outside the clock's slot: no script moves work into them.
    assert constants | {keys.CLOCK_HEARTBEATS} == set(keys.GLOBAL_BOUNDS)
    assert set(keys.CLOCK_INDEXES) | {keys.PENDING_DELIVERIES} == constants


def test_a_channels_results_are_trimmed_and_expire_with_the_newest_and_a_closed_run_leaves_no_unbounded_key(
    redis_client: redis.Redis, team_id: str
) -> None:
    limits = HistoryLimits(keep=2, retention_seconds=30 * DAY_SECONDS)
    store, runs = SessionStore(redis_client, history_limits=limits), TeamRunStore(redis_client)
    person = Respondent(team_id=team_id, user_id="U0ONE")
    for option in (0, 2, 4):
        record, last = answered_but_last(person, PULSE, answers(option))
        record.origin_channel = "C0CHAN"
        assert store.start(record, may_replace=is_finished) is None
        apply(store, CATALOG, person, record.session_id, last)
    listed = keys.channel_results(team_id, "C0CHAN")
    newest = store.history(person, limit=1)[0]
    assert redis_client.zrevrange(listed, 0, -1) == [r.result_id.encode() for r in store.history(person)]
    assert redis_client.expiretime(listed) == int(newest.finished_at + limits.retention_seconds) + 1
    run = open_run(runs, PULSE, team_id, "C0CHAN", "U0ONE", days=3)
    member = Respondent(team_id=team_id, user_id="U0TWO", run_id=run.run_id)
    finish(store, CATALOG, member, PULSE, answers(1), run=RunResponses())
    in_progress, _ = new_session(member.model_copy(update={"user_id": "U0SIX"}), PULSE, None)
    assert store.start(in_progress, may_replace=is_finished) is None
    close_run(runs, team_id, run.run_id, "U0ONE")
    unbounded = [
        key.decode()
        for key in redis_client.scan_iter(match=keys.workspace_pattern(team_id))
        if redis_client.ttl(key) < 0
    ]
    # Only the run's report waits, pending until a worker delivers it (bot/store/outbox.py).
    assert unbounded == [keys.report_delivery(team_id, "team", run.run_id)]


def test_every_key_of_a_workshop_open_or_closed_expires_and_its_channel_and_clock_entries_go_on_close(
    redis_client: redis.Redis, team_id: str
) -> None:
    workshops = WorkshopStore(redis_client)
    now = time.time()
    workshop = workshops.open(
        WorkshopRecord(
            team_id=team_id,
            channel_id="C0CHAN",
            facilitator_id="U0ONE",
            bank_id="pulse",
            bank_version="1",
            state={"votes": {"U0TWO": 1}},
            deadline=now + DAY_SECONDS,
        )
    )
    member = workshop.clock_member

    def workspace_keys_without_expiry() -> list[str]:
        found = redis_client.scan_iter(match=keys.workspace_pattern(team_id))
        return [key.decode() for key in found if redis_client.ttl(key) < 0]

    try:
        assert redis_client.exists(keys.channel_workshop(team_id, "C0CHAN"))
        assert workspace_keys_without_expiry() == []
        assert redis_client.zscore(keys.WATCHED_WORKSHOPS, member) is not None
        workshops.close(team_id, workshop.workshop_id, "U0ONE", now=now)
        assert workspace_keys_without_expiry() == []
        assert redis_client.exists(keys.workshop(team_id, workshop.workshop_id))
        assert not redis_client.exists(keys.channel_workshop(team_id, "C0CHAN"))
        assert redis_client.zscore(keys.WATCHED_WORKSHOPS, member) is None
    finally:
        redis_client.zrem(keys.WATCHED_WORKSHOPS, member)
