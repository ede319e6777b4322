"""Forgetting, against a real Redis: `forget me` leaves no key or value naming the person, and the app
leaving a workspace leaves none naming the workspace; the other person, and the other workspace, keep
everything. Every record is made the way production makes it: assessments finished through the use
cases with their reports' deliveries, team runs, schedules the clock has claimed, installations, and the
worker's jobs queued, retrying and failed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import redis
from cryptography.fernet import Fernet
from rq import SimpleWorker
from slack_sdk.oauth.installation_store import Installation

from bot.cli import worker as worker_process
from bot.engine.answers import Answer, OptionChoice
from bot.engine.catalog import BankCatalog
from bot.engine.schedule import as_timestamp
from bot.slack.history_flow import EXPORT, PUBLISH_HOME
from bot.slack.team import NUDGE
from bot.store.history import HistoryStore
from bot.store.installations import RedisInstallationStore
from bot.store.jobs import JobQueue
from bot.store.outbox import DELIVERED, FAILED, DeliveryRef, Outbox
from bot.store.schedules import ScheduleStore
from bot.store.sessions import Respondent, SessionStore
from bot.store.team_runs import RunLimits, TeamRunStore
from bot.usecases import personal, schedules
from bot.usecases.history import forget
from bot.usecases.team_runs import RunResponses, close_run, closed_run_report, open_run, report_delivery
from bot.usecases.workspaces import forget_workspace
from tests.conftest import delete_workspace_keys, mentions, new_team_id, real_redis

CATALOG = BankCatalog.from_directory()
PULSE = CATALOG.by_id("pulse")
LIMITS = RunLimits(retention_seconds=30 * 24 * 3600, open_per_user=3)
RESPONSE_URL = "https://hooks.slack.com/commands/T0/1/abc"


def answers(option: int) -> dict[str, Answer]:
    return {q.id: OptionChoice(min(option, len(q.options) - 1)) for q in PULSE.questions}


@pytest.fixture
def client() -> redis.Redis:
    return real_redis()


@pytest.fixture
def installations(client: redis.Redis) -> RedisInstallationStore:
    return RedisInstallationStore(client, [Fernet.generate_key().decode()])


@pytest.fixture
def teams() -> Iterator[tuple[str, str]]:
    made = (new_team_id(), new_team_id())
    yield made
    for team_id in made:
        delete_workspace_keys(team_id)


def person() -> str:
    return f"U{uuid.uuid4().hex[:10].upper()}"


@dataclass
class Made:
    """What filling a workspace made, to look for afterwards."""

    results: list[str]
    deliveries: list[DeliveryRef]


def finish_with_report(
    sessions: SessionStore, respondent: Respondent, option: int, run: RunResponses | None = None
) -> DeliveryRef:
    """Finish an assessment as the Slack front end does with a worker: its report's delivery pending."""
    record, last = personal.answered_but_last(respondent, PULSE, answers(option))
    sessions.start(record, may_replace=lambda _: True)
    applied = personal.apply(
        sessions, CATALOG, respondent, record.session_id, last, run=run, pending_delivery=True
    )
    assert applied.record.result_id is not None
    return DeliveryRef(respondent.team_id, "personal", applied.record.result_id)


def fill(
    client: redis.Redis, installations: RedisInstallationStore, team_id: str, people: tuple[str, str]
) -> Made:
    """Every kind of record for both people in the workspace; people[0] starts and closes the team
    runs, both answer them."""
    sessions = SessionStore(client)
    runs = TeamRunStore(client, LIMITS)
    outbox = Outbox(client)
    queue = JobQueue(client, retry_seconds=(3600,))
    schedule_store = ScheduleStore(client)
    now = time.time()
    made = Made([], [])
    closed = open_run(runs, PULSE, team_id, "C0CLOSED", people[0], days=3, now=now)
    still_open = open_run(runs, PULSE, team_id, "C0OPEN", people[0], days=3, now=now)
    for number, user in enumerate(people):
        alone = Respondent(team_id=team_id, user_id=user)
        delivered = finish_with_report(sessions, alone, number)
        outbox.finish(delivered, DELIVERED)
        failed = finish_with_report(sessions, alone, number + 1)
        outbox.finish(failed, FAILED, told=True)
        pending = finish_with_report(sessions, alone, number + 2)
        made.deliveries += [delivered, failed, pending]
        for run in (closed, still_open):
            member = Respondent(team_id=team_id, user_id=user, run_id=run.run_id)
            made.deliveries.append(finish_with_report(sessions, member, number, RunResponses(limits=LIMITS)))
        # An assessment in progress, watched by the clock, in the open run and of their own.
        for respondent in (alone, Respondent(team_id=team_id, user_id=user, run_id=still_open.run_id)):
            record, _ = personal.new_session(respondent, PULSE, "C0OPEN")
            sessions.start(record, may_replace=lambda _: True)
        request = schedules.parse(CATALOG, '"0 9 * * 1"')
        schedules.create(schedule_store, request, team_id, f"C0SCHED{number}", user, "Europe/Berlin", now)
        installations.save(
            Installation(
                app_id="A0001",
                team_id=team_id,
                user_id=user,
                user_token=f"xoxp-{user}",
                bot_token="xoxb-bot",
                bot_id="B0001",
                bot_user_id="UBOT",
                installed_at=now + number,
            )
        )
    report = close_run(runs, team_id, closed.run_id, people[0], now=now)
    closed_run_report(runs, CATALOG, report, invited=2)
    outbox.finish(report_delivery(report), DELIVERED)
    made.results = [ref.delivery_id for ref in made.deliveries]
    # The clock claims the schedules: their reminders wait to be posted.
    due = [item for item in schedule_store.due(now + 8 * 24 * 3600, 1000) if item.team_id == team_id]
    records = schedule_store.records(due)
    after = datetime.fromtimestamp(now + 8 * 24 * 3600, UTC)
    plans = [
        (item, as_timestamp(record.rule.next_run(after)))
        for item, record in zip(due, records, strict=True)
        if record is not None
    ]
    assert schedule_store.claim(now + 8 * 24 * 3600, plans)
    for user in people:
        queue.run_later(PUBLISH_HOME, team_id, user, "Ev1")
        queue.run_later(EXPORT, team_id, user, "C0OPEN", RESPONSE_URL)
    queue.run_later(NUDGE, team_id, still_open.run_id, people[0], RESPONSE_URL)
    for ref in made.deliveries:
        queue.deliver(ref)
    return made


def fail_the_queued_jobs(client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker runs what is queued outside `mlops-compass worker`, so every job raises: a task is kept
    among the failed jobs, a delivery waits for its retry."""
    monkeypatch.setattr(worker_process, "_runtime", None)
    queue = JobQueue(client, retry_seconds=(3600,)).queue
    worker = SimpleWorker([queue], connection=client)
    # A burst needs no listener for `rq` commands, whose thread takes a minute to stop.
    monkeypatch.setattr(worker, "subscribe", lambda: None)
    worker.work(burst=True, with_scheduler=False)
    assert queue.failed_job_registry.count and queue.scheduled_job_registry.count


@pytest.mark.parametrize("who_goes", ["a member", "who started and closed the team runs"])
def test_forget_me_leaves_no_key_or_value_naming_the_person(
    client: redis.Redis,
    installations: RedisInstallationStore,
    teams: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    who_goes: str,
) -> None:
    team_id = teams[0]
    stays, goes = person(), person()
    starts_the_runs = goes if who_goes != "a member" else stays
    fill(client, installations, team_id, (starts_the_runs, stays if starts_the_runs == goes else goes))
    fail_the_queued_jobs(client, monkeypatch)
    JobQueue(client, retry_seconds=()).run_later(PUBLISH_HOME, team_id, goes, "Ev2")
    JobQueue(client, retry_seconds=()).run_later(PUBLISH_HOME, team_id, stays, "Ev2")
    before = mentions(client, stays)

    forgotten = forget(
        HistoryStore(client),
        team_id,
        goes,
        lambda store, team, user: ScheduleStore(store).forget_creator(team, user),
    )

    assert mentions(client, goes) == []
    assert forgotten.results == 5 and forgotten.reports == 5 and forgotten.jobs > 0
    # The runs stay for their channels, naming nobody in the forgotten person's place.
    assert forgotten.runs == (2 if starts_the_runs == goes else 0)
    assert mentions(client, stays) == before
    assert installations.find_installation(enterprise_id=None, team_id=team_id, user_id=goes) is None
    kept = installations.find_installation(enterprise_id=None, team_id=team_id, user_id=stays)
    assert kept is not None and kept.user_token == f"xoxp-{stays}"


def test_leaving_a_workspace_deletes_everything_naming_it_and_nothing_else(
    client: redis.Redis,
    installations: RedisInstallationStore,
    teams: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    leaving, staying = teams
    fill(client, installations, leaving, (person(), person()))
    fill(client, installations, staying, (person(), person()))
    fail_the_queued_jobs(client, monkeypatch)
    JobQueue(client, retry_seconds=()).run_later(PUBLISH_HOME, leaving, person(), "Ev3")
    JobQueue(client, retry_seconds=()).run_later(PUBLISH_HOME, staying, person(), "Ev3")
    assert mentions(client, leaving)
    before = mentions(client, staying)

    forgotten = forget_workspace(client, leaving, installations)

    assert mentions(client, leaving) == []
    assert forgotten.keys > 0 and forgotten.clock_entries > 0 and forgotten.jobs > 0
    assert mentions(client, staying) == before
    assert installations.find_bot(enterprise_id=None, team_id=leaving) is None
    assert installations.find_bot(enterprise_id=None, team_id=staying) is not None
    # Again, as when Slack sends the event twice: nothing more to delete, nothing fails.
    assert forget_workspace(client, leaving, installations).keys == 0


def test_a_workspace_installed_again_starts_clean(
    client: redis.Redis, installations: RedisInstallationStore, teams: tuple[str, str]
) -> None:
    team_id = teams[0]
    fill(client, installations, team_id, (person(), person()))
    forget_workspace(client, team_id, installations)
    schedule_store = ScheduleStore(client)
    later = time.time() + 365 * 24 * 3600
    assert [item for item in schedule_store.due(later, 10_000) if item.team_id == team_id] == []
    newcomer = Respondent(team_id=team_id, user_id=person())
    finish_with_report(SessionStore(client), newcomer, 0)
    history = HistoryStore(client).scopes(team_id)
    assert [scope.id for scope in history] == [newcomer.user_id]
