"""The clock in process: its store on fakeredis and a real Redis, slack_sdk's WebClient over HTTP to the
fake Slack Web API, and the system clock moved by time-machine."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import time_machine

from bot.engine.answers import Answer, OptionChoice
from bot.engine.catalog import BankCatalog
from bot.engine.conversation import AnswerQuestion, Cancel, Conversation
from bot.engine.schedule import as_timestamp, parse_request
from bot.slack.app import build_flows
from bot.slack.reminders import AlreadyOpen, ChannelGone, Outcome, Posted, ReminderSlack, clock_client
from bot.slack.schedule_blocks import REMINDER_EVENT, START_FROM_REMINDER_ACTION, StartButton
from bot.slack.team import TeamFlow
from bot.slack.values import SessionButton
from bot.store import keys
from bot.store.history import HistoryStore, Scope
from bot.store.nudges import SessionWatch
from bot.store.schedules import ScheduleRecord, ScheduleStore
from bot.store.sessions import Respondent, ResultRecord, SessionRecord, SessionStore
from bot.store.team_runs import RunRecord, TeamRunStore
from bot.usecases import personal
from bot.usecases.clock import Clock, ClockConfig
from bot.usecases.team_runs import RunResponses, close_run, open_run, take_part
from playground.fakeslack import FakeSlack, RecordedCall
from playground.fakeslack.workspace import buttons_of
from tests.conftest import real_redis

CATALOG = BankCatalog.from_directory()
CREATOR = "U0CREATOR"
BERLIN = "Europe/Berlin"
# Fri 2 Jan 2026, 09:00 in Berlin: the first quarterly run is Mon 5 Jan, 10:00.
START = datetime(2026, 1, 2, 8, 0, tzinfo=UTC)
JANUARY_RUN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def make_clock(
    client: redis.Redis, fake: FakeSlack, team_runs: Any = None, timeout: int = 5, **config: Any
) -> Clock:
    return Clock(
        schedules=ScheduleStore(client),
        watch=SessionWatch(client),
        chat=ReminderSlack(clock_client("xoxb-clock", fake.base_url, timeout_seconds=timeout), CATALOG),
        catalog=CATALOG,
        team_runs=team_runs,
        config=ClockConfig(**config),
    )


@pytest.fixture
def clock(redis_client: redis.Redis, fake: FakeSlack) -> Clock:
    return make_clock(redis_client, fake)


def schedule(
    store: ScheduleStore, team_id: str, channel: str = "C0TEAM", text: str = "quarterly", at: datetime = START
) -> ScheduleRecord:
    request = parse_request(text)
    rule = request.rule(BERLIN)
    draft = ScheduleRecord.draft(
        team_id, channel, CREATOR, rule, request.bank_id, team_run=request.team, created_at=at.timestamp()
    )
    return store.create(draft, as_timestamp(rule.next_run(at)))


def reminders(fake: FakeSlack, channel: str | None = None) -> list[RecordedCall]:
    return [
        call
        for call in fake.calls_to("chat.postMessage")
        if call.ok
        and (call.params.get("metadata") or {}).get("event_type") == REMINDER_EVENT
        and (channel is None or call.params["channel"] == channel)
    ]


def dms_to(fake: FakeSlack, user: str) -> list[RecordedCall]:
    return [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.ok and c.params["channel"] in (user, fake.dm_channel_id(user))
    ]


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for key in ("text", "elements", "fields") for t in _texts(value.get(key))]
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    return []


def text_of(call: RecordedCall) -> str:
    return " ".join(_texts(call.params.get("blocks") or []))


def keep_result(client: redis.Redis, team_id: str, channel: str, finished: datetime) -> None:
    result = ResultRecord(
        respondent=Respondent(team_id=team_id, user_id="U0ANNA"),
        bank_id="pulse",
        bank_version="2.0.0",
        answers={},
        report={
            "overall": {"label": "Level 2 · Repeatable / Automated"},
            "title": "MLOps maturity report · Pulse",
        },
        origin_channel=channel,
        finished_at=finished.timestamp(),
    )
    SessionStore(client).keep_result(result)


# Reminders -------------------------------------------------------------------------------------------


def test_a_due_reminder_is_posted_once_with_the_last_result_and_a_start_button(
    clock: Clock, fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    record = schedule(clock.schedules, team_id)
    keep_result(redis_client, team_id, "C0TEAM", datetime(2025, 10, 7, 15, 0, tzinfo=UTC))
    with time_machine.travel(JANUARY_RUN - timedelta(seconds=1)):
        assert clock.tick().posted == 0
    with time_machine.travel(JANUARY_RUN + timedelta(seconds=5)):
        report = clock.tick()
        assert (report.claimed, report.posted) == (1, 1)
        assert clock.tick().posted == 0
    [posted] = reminders(fake, "C0TEAM")
    text = text_of(posted)
    assert "It's time for this channel's quarterly assessment: *MLOps Quarterly Pulse*." in text
    assert "Last result reported here: *Level 2 · Repeatable / Automated* on Tue 7 Oct 2025" in text
    [start] = buttons_of(posted.params)
    assert start.action_id == START_FROM_REMINDER_ACTION
    assert StartButton.decode(start.value) == StartButton(s=record.schedule_id, b="pulse")
    assert posted.params["metadata"]["event_payload"] == {
        "schedule": record.schedule_id,
        "run": as_timestamp(JANUARY_RUN),
    }
    stored = clock.schedules.get(team_id, record.schedule_id)
    assert stored is not None
    assert (stored.last_run, stored.last_message_ts, stored.attempt) == (
        as_timestamp(JANUARY_RUN),
        posted.response["ts"],
        None,
    )
    assert clock.schedules.next_run(team_id, record.schedule_id) == as_timestamp(
        datetime(2026, 4, 6, 8, 0, tzinfo=UTC)
    )


def test_a_channel_without_results_is_told_so_plainly(clock: Clock, fake: FakeSlack, team_id: str) -> None:
    schedule(clock.schedules, team_id)
    with time_machine.travel(JANUARY_RUN):
        clock.tick()
    [posted] = reminders(fake)
    assert "No assessment result has been reported in this channel yet" in text_of(posted)


def test_a_clock_down_for_two_periods_posts_one_reminder_not_two(
    clock: Clock, fake: FakeSlack, team_id: str
) -> None:
    record = schedule(clock.schedules, team_id)
    # Down from before the January run until after the April one: two runs missed.
    with time_machine.travel(datetime(2026, 5, 2, 12, 0, tzinfo=UTC)):
        clock.tick()
        clock.tick()
    assert len(reminders(fake)) == 1
    # The next is July's, and it comes once, at its time.
    assert clock.schedules.next_run(team_id, record.schedule_id) == as_timestamp(
        datetime(2026, 7, 6, 8, 0, tzinfo=UTC)
    )
    with time_machine.travel(datetime(2026, 7, 6, 8, 0, 1, tzinfo=UTC)):
        clock.tick()
    assert len(reminders(fake)) == 2


def test_an_archived_channel_pauses_the_schedule_and_tells_its_creator_once(
    redis_client: redis.Redis, fake: FakeSlack, team_id: str
) -> None:
    first, second = make_clock(redis_client, fake), make_clock(redis_client, fake)
    record = schedule(first.schedules, team_id)
    fake.set_archived("C0TEAM")
    with time_machine.travel(JANUARY_RUN):
        assert first.tick().paused == 1
        second.tick()
    for later in (datetime(2026, 4, 6, 9, 0, tzinfo=UTC), datetime(2027, 1, 4, 10, 0, tzinfo=UTC)):
        with time_machine.travel(later):
            first.tick()
            second.tick()
    attempts = [c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == "C0TEAM"]
    assert [c.error for c in attempts] == ["is_archived"]
    [told] = dms_to(fake, CREATOR)
    assert f"I paused the reminder `{record.schedule_id}`" in text_of(told)
    assert "the channel was archived" in text_of(told)
    stored = first.schedules.get(team_id, record.schedule_id)
    assert stored is not None and stored.paused == "is_archived"
    assert first.schedules.next_run(team_id, record.schedule_id) is None


@pytest.mark.parametrize("refusal", ["not_in_channel", "channel_not_found"])
def test_a_channel_that_removed_the_bot_or_is_gone_pauses_the_schedule(
    clock: Clock, fake: FakeSlack, team_id: str, refusal: str
) -> None:
    record = schedule(clock.schedules, team_id)
    if refusal == "not_in_channel":
        fake.set_not_in_channel("C0TEAM")
    else:
        fake.set_channel_not_found("C0TEAM")
    with time_machine.travel(JANUARY_RUN):
        clock.tick()
        clock.tick()
    stored = clock.schedules.get(team_id, record.schedule_id)
    assert stored is not None and stored.paused == refusal
    assert len(dms_to(fake, CREATOR)) == 1


def test_a_rate_limit_is_waited_out_with_retry_after_then_posted_once(
    clock: Clock, fake: FakeSlack, team_id: str
) -> None:
    schedule(clock.schedules, team_id)
    fake.rate_limit_next("chat.postMessage", retry_after=120)
    with time_machine.travel(JANUARY_RUN):
        report = clock.tick()
    assert (report.posted, report.retried) == (0, 1)
    with time_machine.travel(JANUARY_RUN + timedelta(seconds=119)):
        assert clock.tick().posted == 0
    with time_machine.travel(JANUARY_RUN + timedelta(seconds=121)):
        assert clock.tick().posted == 1
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]


def test_a_refused_post_is_retried_later_and_posted_once(clock: Clock, fake: FakeSlack, team_id: str) -> None:
    record = schedule(clock.schedules, team_id)
    fake.fail_next("chat.postMessage", "internal_error", times=2)
    with time_machine.travel(JANUARY_RUN):
        clock.tick()
    with time_machine.travel(JANUARY_RUN + timedelta(seconds=31)):
        clock.tick()  # the second failure: the next try waits twice as long
    with time_machine.travel(JANUARY_RUN + timedelta(seconds=31 + 59)):
        assert clock.tick().posted == 0
    with time_machine.travel(JANUARY_RUN + timedelta(seconds=31 + 61)):
        assert clock.tick().posted == 1
    assert len(reminders(fake)) == 1
    stored = clock.schedules.get(team_id, record.schedule_id)
    assert stored is not None and stored.failures == 0


def test_a_post_whose_answer_never_came_is_found_in_the_channel_not_posted_again(
    redis_client: redis.Redis, fake: FakeSlack, team_id: str
) -> None:
    clock = make_clock(redis_client, fake, timeout=1)
    record = schedule(clock.schedules, team_id)
    fake.delay_next("chat.postMessage", 2.5)
    with time_machine.travel(JANUARY_RUN):
        report = clock.tick()
    assert (report.posted, report.retried) == (0, 1)
    time.sleep(2)  # the slow answer arrives, and nobody reads it
    with time_machine.travel(JANUARY_RUN + timedelta(seconds=40)):
        assert clock.tick().posted == 1
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert len(fake.calls_to("conversations.history")) == 1
    stored = clock.schedules.get(team_id, record.schedule_id)
    assert stored is not None and stored.last_message_ts == fake.messages("C0TEAM")[0]["ts"]


class DiesAfterPosting(ReminderSlack):
    """A clock killed right after Slack took its post, before it could record it."""

    def post_reminder(self, *args: Any, **kwargs: Any) -> Outcome:
        super().post_reminder(*args, **kwargs)
        raise SystemExit("killed")


def test_a_clock_killed_after_posting_leaves_the_reminder_to_the_next_clock_which_does_not_repeat_it(
    redis_client: redis.Redis, fake: FakeSlack, team_id: str
) -> None:
    doomed = make_clock(redis_client, fake)
    doomed.chat = DiesAfterPosting(clock_client("xoxb-clock", fake.base_url), CATALOG)
    survivor = make_clock(redis_client, fake)
    schedule(doomed.schedules, team_id)
    with time_machine.travel(JANUARY_RUN), pytest.raises(SystemExit):
        doomed.tick()
    with time_machine.travel(JANUARY_RUN + timedelta(seconds=60)):
        assert survivor.tick().posted == 0  # the dead clock's lease still holds
    with time_machine.travel(JANUARY_RUN + timedelta(seconds=302)):
        assert survivor.tick().posted == 1
    assert len(reminders(fake)) == 1


def test_reminders_in_one_channel_are_a_second_apart(clock: Clock, fake: FakeSlack, team_id: str) -> None:
    for _ in range(3):
        schedule(clock.schedules, team_id)
    with time_machine.travel(JANUARY_RUN, tick=True):
        first = clock.tick()
        assert (first.posted, first.retried) == (1, 2)
        deadline = time.monotonic() + 10
        while len(reminders(fake)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
            clock.tick()
    posted_at = [c.received_at for c in reminders(fake)]
    assert len(posted_at) == 3
    assert all(later - earlier >= 0.95 for earlier, later in itertools.pairwise(posted_at))


# Team schedules ------------------------------------------------------------------------------------------


class FakeOpener:
    def __init__(self, outcome: Outcome):
        self.outcome = outcome
        self.opened: list[tuple[str, str, str, str]] = []

    def open_run(self, team_id: str, channel_id: str, starter_id: str, bank_id: str) -> Outcome:
        self.opened.append((team_id, channel_id, starter_id, bank_id))
        return self.outcome


@pytest.mark.parametrize("outcome", [Posted("1767600000.000100"), AlreadyOpen()])
def test_a_team_schedule_opens_a_team_run_started_by_its_creator(
    redis_client: redis.Redis, fake: FakeSlack, team_id: str, outcome: Outcome
) -> None:
    opener = FakeOpener(outcome)
    clock = make_clock(redis_client, fake, team_runs=opener)
    record = schedule(clock.schedules, team_id, text="quarterly full team")
    with time_machine.travel(JANUARY_RUN):
        assert clock.tick().posted == 1
        clock.tick()
    assert opener.opened == [(team_id, "C0TEAM", CREATOR, "mlops")]
    assert reminders(fake) == []
    stored = clock.schedules.get(team_id, record.schedule_id)
    assert stored is not None and stored.last_run == as_timestamp(JANUARY_RUN)


def test_a_team_schedule_whose_channel_is_gone_is_paused(
    redis_client: redis.Redis, fake: FakeSlack, team_id: str
) -> None:
    clock = make_clock(redis_client, fake, team_runs=FakeOpener(ChannelGone("is_archived")))
    record = schedule(clock.schedules, team_id, text="quarterly team")
    with time_machine.travel(JANUARY_RUN):
        assert clock.tick().paused == 1
    stored = clock.schedules.get(team_id, record.schedule_id)
    assert stored is not None and stored.paused == "is_archived"
    assert len(dms_to(fake, CREATOR)) == 1


def test_without_team_runs_a_team_schedule_posts_the_reminder_and_says_why(
    clock: Clock, fake: FakeSlack, team_id: str
) -> None:
    schedule(clock.schedules, team_id, text="quarterly team")
    with time_machine.travel(JANUARY_RUN):
        clock.tick()
    [posted] = reminders(fake)
    assert "team runs are not available here yet" in text_of(posted)
    assert buttons_of(posted.params)


def real_teams(client: redis.Redis, fake: FakeSlack) -> TeamFlow:
    """Team runs as the clock process builds them: the one factory every process uses, on the clock's
    client, delivering in this process (the worker's part is the e2e tests')."""
    return build_flows(
        store=SessionStore(client),
        catalog=CATALOG,
        client=clock_client("xoxb-clock", fake.base_url, timeout_seconds=5),
        default_bank="mlops",
        min_respondents=3,
        team_runs_per_user=5,
        schedules_per_user=10,
        worker=None,
    ).team


def test_the_clocks_team_runs_are_wired_as_the_web_processs_with_the_channels_history(
    redis_client: redis.Redis, fake: FakeSlack, team_id: str
) -> None:
    # A channel's history keeps no team level or score (docs/privacy.md), so what the clock must not miss
    # is the wiring itself: the same history store and report deliveries as `serve`.
    teams = real_teams(redis_client, fake)
    assert isinstance(teams.history, HistoryStore)
    assert teams.history.redis is redis_client
    assert teams.assessments.run_hook is teams
    bank = CATALOG.by_id("mlops")
    run = open_run(teams.runs, bank, team_id, "C0TEAM", CREATOR, days=7, now=time.time() - 8 * 24 * 3600)
    assert teams.close_overdue(time.time()) == 1
    closed = teams.runs.get(team_id, run.run_id)
    assert closed is not None and not closed.is_open and closed.report is not None


def test_a_run_the_clock_closes_at_its_deadline_is_kept_in_the_channels_history(
    redis_client: redis.Redis, fake: FakeSlack, team_id: str
) -> None:
    teams = real_teams(redis_client, fake)
    pulse = CATALOG.by_id("pulse")
    run = open_run(teams.runs, pulse, team_id, "C0TEAM", CREATOR, days=7)
    best: dict[str, Answer] = {q.id: OptionChoice(len(q.options) - 1) for q in pulse.questions}
    for user_id in ("U0MEMBER1", "U0MEMBER2", "U0MEMBER3"):
        member = Respondent(team_id=team_id, user_id=user_id, run_id=run.run_id)
        personal.finish(teams.sessions, CATALOG, member, pulse, best, run=RunResponses())
    # Nobody closes it: a week and a day later the clock does, through the same flows as `serve`.
    # (The clock's deadline index is shared by every workspace on the server: count only this run.)
    teams.close_overdue(time.time() + 8 * 24 * 3600)
    closed = teams.runs.get(team_id, run.run_id)
    assert closed is not None and not closed.is_open
    [kept] = HistoryStore(redis_client).results(Scope.channel(team_id, "C0TEAM"))
    assert kept.respondents == 3 and kept.bank_id == "pulse"
    # Exactly what the report showed: band counts, no team level or score.
    counted = {d.id: d.counted for d in kept.dimensions if d.counted is not None}
    assert counted and all(text == "3 of 3" for text in counted.values())
    assert kept.overall_level is None and all(d.level is None and d.score is None for d in kept.dimensions)


def run_messages(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [
        m
        for m in fake.messages(channel)
        if any(
            b.get("type") == "header" and "Team MLOps assessment" in b["text"]["text"]
            for b in m.get("blocks") or []
        )
    ]


def test_a_team_schedule_opens_one_real_team_run_and_a_run_past_its_deadline_is_closed_with_its_report(
    redis_client: redis.Redis, fake: FakeSlack, team_id: str
) -> None:
    teams = real_teams(redis_client, fake)
    clock = make_clock(redis_client, fake, team_runs=teams)
    clock.jobs = [teams.close_overdue]
    schedule(clock.schedules, team_id, text="quarterly full team")
    with time_machine.travel(JANUARY_RUN):
        assert clock.tick().posted == 1
        clock.tick()
    [run_message] = run_messages(fake, "C0TEAM")
    run = teams.runs.open_in(team_id, "C0TEAM")
    assert run is not None and run.starter_id == CREATOR and run.bank_id == "mlops"
    assert run.message_ts == run_message["ts"]
    # A week later the run is past its deadline: the clock closes it and posts the team report.
    with time_machine.travel(JANUARY_RUN + timedelta(days=7, minutes=1)):
        clock.tick()
    assert teams.runs.open_in(team_id, "C0TEAM") is None
    reports = [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.ok and (c.params.get("text") or "").startswith("Team MLOps report")
    ]
    assert len(reports) == 1 and reports[0].params["channel"] == "C0TEAM"
    # Another tick closes nothing twice.
    with time_machine.travel(JANUARY_RUN + timedelta(days=8)):
        clock.tick()
    assert (
        len(
            [
                c
                for c in fake.calls_to("chat.postMessage")
                if c.ok and (c.params.get("text") or "").startswith("Team MLOps report")
            ]
        )
        == 1
    )


def test_a_team_schedule_due_while_its_run_is_still_open_opens_no_second_run(
    redis_client: redis.Redis, fake: FakeSlack, team_id: str
) -> None:
    teams = real_teams(redis_client, fake)
    clock = make_clock(redis_client, fake, team_runs=teams)
    schedule(clock.schedules, team_id, text='"0 10 * * *" full team')
    with time_machine.travel(JANUARY_RUN):
        clock.tick()
    first = teams.runs.open_in(team_id, "C0TEAM")
    # The next day's reminder is due while the week-long run is open: that run is this period's.
    with time_machine.travel(JANUARY_RUN + timedelta(days=1, minutes=1)):
        clock.tick()
        clock.tick()
    assert first is not None and len(run_messages(fake, "C0TEAM")) == 1
    still = teams.runs.open_in(team_id, "C0TEAM")
    assert still is not None and still.run_id == first.run_id


def test_a_cancelled_schedule_posts_nothing(clock: Clock, fake: FakeSlack, team_id: str) -> None:
    record = schedule(clock.schedules, team_id)
    with time_machine.travel(JANUARY_RUN):
        clock.claim_due()
        clock.schedules.cancel(record)
        clock.tick()
    assert reminders(fake) == []


def test_a_corrupt_schedule_is_set_aside_and_the_clock_keeps_posting_the_others(
    clock: Clock, fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    broken = schedule(clock.schedules, team_id, channel="C0BROKEN")
    schedule(clock.schedules, team_id, channel="C0FINE")
    redis_client.set(broken.key, b'{"schedule_id": "half a record"')
    with time_machine.travel(JANUARY_RUN + timedelta(seconds=5)):
        report = clock.tick()
        assert (report.claimed, report.posted) == (1, 1)
        assert clock.tick().posted == 0
        # Set aside for a while (Redis's own clock counts its time to live), not deleted.
        [aside] = list(redis_client.scan_iter(match=f"{broken.key}:corrupt:*"))
        assert redis_client.get(aside) == b'{"schedule_id": "half a record"'
        assert redis_client.ttl(aside) > 0
    assert [c.params["channel"] for c in reminders(fake)] == ["C0FINE"]
    assert not redis_client.exists(broken.key)
    assert clock.schedules.next_run(team_id, broken.schedule_id) is None


# Unfinished assessments ---------------------------------------------------------------------------------


def start_session(
    store: SessionStore, team_id: str, user: str, dm: str, run: RunRecord | None = None
) -> SessionRecord:
    """An assessment started as every front end starts one: a person's own, or (with `run`) their answers
    in a team run after Take part."""
    if run is None:
        respondent, asking = Respondent(team_id=team_id, user_id=user), personal.PERSONAL
    else:
        participation = take_part(TeamRunStore(store.redis), store, CATALOG, run, user, time.time())
        respondent, asking = participation.respondent, personal.member_asking(participation.bank)
    record, _ = personal.new_session(respondent, CATALOG.get(run.bank_id if run else "mlops"), None, asking)
    record.dm_channel = dm
    assert store.start(record, may_replace=personal.is_finished) is None
    return record


def open_dm(fake: FakeSlack, user: str) -> str:
    """The person's DM with the app, opened as an assessment's start opens it."""
    opened = clock_client("xoxb-app", fake.base_url).conversations_open(users=user)
    return str(opened["channel"]["id"])


def answer_current_question(store: SessionStore, record: SessionRecord) -> None:
    """The person clicks the first option of the question on screen."""
    stored = store.get(record.respondent)
    assert stored is not None
    conversation = Conversation.from_dict(stored.conversation)
    question = conversation.current_question(CATALOG.get(conversation.bank_id))
    assert question is not None
    event = AnswerQuestion(question.id, OptionChoice(0))
    personal.apply(store, CATALOG, record.respondent, record.session_id, event, run=RunResponses())


def reminded_at(clock: Clock, when: datetime) -> int:
    """How many the clock reminds in one tick at `when`."""
    with time_machine.travel(when):
        return clock.tick().reminded


def wait_until_gone(client: redis.Redis, key: str, timeout: float = 30.0) -> None:
    """Wait for Redis to expire `key` on its own."""
    deadline = time.monotonic() + timeout
    while client.exists(key):
        assert time.monotonic() < deadline, f"{key} did not expire within {timeout}s"
        time.sleep(0.05)


def test_an_unfinished_assessment_gets_one_reminder_after_a_day_and_one_note_when_it_expires(
    fake: FakeSlack, team_id: str
) -> None:
    # The session expires as Redis expires it: a real server, and a time to live of seconds, waited out.
    client = real_redis()
    clock = make_clock(client, fake)
    store = SessionStore(client, session_ttl_seconds=5)
    started = time.time()
    record = start_session(store, team_id, "U0SILENT", open_dm(fake, "U0SILENT"))
    with time_machine.travel(started + 23 * 3600):
        assert clock.tick().reminded == 0
    with time_machine.travel(started + 24 * 3600 + 1):
        assert clock.tick().reminded == 1
        assert clock.tick().reminded == 0
    [reminder] = dms_to(fake, "U0SILENT")
    # An adaptive run promises no total: how many were answered, and at most how many are left.
    said = personal.progress(CATALOG, Conversation.from_dict(record.conversation)).text
    assert said.startswith("answered 0 questions, at most ")
    assert f"You started an MLOps assessment and {said}, then it went quiet for a day." in text_of(reminder)
    [resume] = buttons_of(reminder.params)
    assert resume.label == "Resume" and SessionButton.decode(resume.value) == SessionButton(u="U0SILENT")
    wait_until_gone(client, record.respondent.session_key)
    with time_machine.travel(started + 30 * 24 * 3600):
        assert clock.tick().expired == 1
        assert clock.tick().expired == 0
    notes = dms_to(fake, "U0SILENT")
    assert len(notes) == 2 and "has expired" in str(notes[1].params.get("text"))


def test_answering_after_the_reminder_and_going_quiet_again_brings_no_second_reminder(
    clock: Clock, fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    store = SessionStore(redis_client)
    with time_machine.travel(START):
        record = start_session(store, team_id, "U0AGAIN", open_dm(fake, "U0AGAIN"))
    assert reminded_at(clock, START + timedelta(hours=24, minutes=1)) == 1
    with time_machine.travel(START + timedelta(hours=25)):
        answer_current_question(store, record)
    # A day after that answer the clock looks again: the session had its one reminder.
    assert reminded_at(clock, START + timedelta(hours=49, minutes=1)) == 0
    assert reminded_at(clock, START + timedelta(days=5)) == 0
    assert len(dms_to(fake, "U0AGAIN")) == 1


def test_an_answer_before_the_day_is_out_moves_the_reminder_to_a_day_after_it(
    clock: Clock, fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    store = SessionStore(redis_client)
    with time_machine.travel(START):
        record = start_session(store, team_id, "U0BUSY", open_dm(fake, "U0BUSY"))
    with time_machine.travel(START + timedelta(hours=20)):
        answer_current_question(store, record)
    assert reminded_at(clock, START + timedelta(hours=24, minutes=1)) == 0
    assert reminded_at(clock, START + timedelta(hours=44, minutes=1)) == 1
    [reminder] = dms_to(fake, "U0BUSY")
    assert "answered 1 question" in text_of(reminder)


def test_a_finished_assessment_gets_no_reminder_and_the_next_one_gets_its_own(
    clock: Clock, fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    store = SessionStore(redis_client)
    with time_machine.travel(START):
        record = start_session(store, team_id, "U0DONE", open_dm(fake, "U0DONE"))
        personal.apply(store, CATALOG, record.respondent, record.session_id, Cancel())
    assert reminded_at(clock, START + timedelta(days=2)) == 0
    with time_machine.travel(START + timedelta(days=40)):
        assert clock.tick().expired == 0
    assert fake.calls_to("chat.postMessage") == []
    # A new assessment started after the finished one is watched afresh.
    with time_machine.travel(START + timedelta(days=41)):
        start_session(store, team_id, "U0DONE", open_dm(fake, "U0DONE"))
    assert reminded_at(clock, START + timedelta(days=42, minutes=1)) == 1
    assert len(dms_to(fake, "U0DONE")) == 1


def test_a_team_run_member_who_left_is_reminded_once_with_resume_for_that_run(
    clock: Clock, fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    store = SessionStore(redis_client)
    with time_machine.travel(START):
        run = open_run(TeamRunStore(redis_client), CATALOG.get("mlops"), team_id, "C0TEAM", CREATOR, days=7)
        record = start_session(store, team_id, "U0MEMBER", open_dm(fake, "U0MEMBER"), run=run)
        answer_current_question(store, record)
    assert reminded_at(clock, START + timedelta(hours=24, minutes=1)) == 1
    assert reminded_at(clock, START + timedelta(days=3)) == 0
    [reminder] = dms_to(fake, "U0MEMBER")
    assert "You took part in the team run in <#C0TEAM> and answered 1 question" in text_of(reminder)
    [resume] = buttons_of(reminder.params)
    assert resume.label == "Resume"
    assert SessionButton.decode(resume.value) == SessionButton(u="U0MEMBER", r=run.run_id)


def test_a_person_who_asked_to_be_forgotten_gets_no_note_about_their_deleted_assessment(
    clock: Clock, fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    store = SessionStore(redis_client)
    with time_machine.travel(START):
        start_session(store, team_id, "U0FORGET", open_dm(fake, "U0FORGET"))
        HistoryStore(redis_client).forget_person(team_id, "U0FORGET")
    with time_machine.travel(START + timedelta(days=2)):
        report = clock.tick()
    assert (report.reminded, report.expired) == (0, 0)
    assert dms_to(fake, "U0FORGET") == []


def test_a_team_run_members_answers_that_expired_while_the_run_is_open_get_one_note(
    fake: FakeSlack, team_id: str
) -> None:
    client = real_redis()
    clock = make_clock(client, fake)
    store = SessionStore(client, session_ttl_seconds=2)
    run = open_run(TeamRunStore(client), CATALOG.get("mlops"), team_id, "C0TEAM", CREATOR, days=60)
    record = start_session(store, team_id, "U0GONE", open_dm(fake, "U0GONE"), run=run)
    wait_until_gone(client, record.respondent.session_key)
    with time_machine.travel(time.time() + 2 * 24 * 3600):
        assert clock.tick().expired == 1
        assert clock.tick().expired == 0
    [note] = dms_to(fake, "U0GONE")
    assert "Your unfinished answers in the team run in <#C0TEAM> have expired" in str(note.params["text"])
    assert "*Take part* on its message starts afresh" in str(note.params["text"])


def test_a_team_run_member_whose_run_closed_hears_nothing_more(
    clock: Clock, fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    store, runs = SessionStore(redis_client), TeamRunStore(redis_client)
    with time_machine.travel(START):
        run = open_run(runs, CATALOG.get("mlops"), team_id, "C0TEAM", CREATOR, days=7)
        start_session(store, team_id, "U0LATE", open_dm(fake, "U0LATE"), run=run)
        close_run(runs, team_id, run.run_id, CREATOR)
    with time_machine.travel(START + timedelta(days=2)):
        assert clock.tick().reminded == 0
    with time_machine.travel(START + timedelta(days=30)):
        assert clock.tick().expired == 0
    assert dms_to(fake, "U0LATE") == []
    member = keys.watched_session(team_id, "U0LATE", run.run_id)
    assert redis_client.zscore(keys.WATCHED_SESSIONS, member) is None


def test_a_clock_asked_to_stop_finishes_the_reminder_in_hand_and_hands_back_the_rest(
    redis_client: redis.Redis, fake: FakeSlack, team_id: str
) -> None:
    stopping = make_clock(redis_client, fake)
    other = make_clock(redis_client, fake)

    class StopsAfterOnePost(ReminderSlack):
        def post_reminder(self, *args: Any, **kwargs: Any) -> Outcome:
            stopping.stop.set()  # SIGTERM arrives while this post is under way
            return super().post_reminder(*args, **kwargs)

    stopping.chat = StopsAfterOnePost(clock_client("xoxb-clock", fake.base_url), CATALOG)
    for channel in ("C0ONE", "C0TWO", "C0THREE"):
        schedule(stopping.schedules, team_id, channel=channel)
    with time_machine.travel(JANUARY_RUN):
        assert stopping.tick().posted == 1
        # No waiting for the stopped clock's lease: the rest are due again at once.
        assert other.tick().posted == 2
    assert len(reminders(fake)) == 3
