"""`/mlops-compass schedule …` as ScheduleFlow runs it: the real store (fakeredis and a real Redis), the
shipped banks, and slack_sdk's WebClient talking HTTP to the fake Slack Web API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
import time_machine
from slack_sdk import WebClient

from bot.engine.catalog import BankCatalog
from bot.engine.schedule import from_timestamp
from bot.slack.payloads import BlockAction
from bot.slack.schedule import ScheduleFlow
from bot.slack.schedule_blocks import START_FROM_REMINDER_ACTION, StartButton
from bot.store.schedules import MAX_SCHEDULES_PER_CHANNEL, ScheduleStore
from bot.store.sessions import Respondent, SessionStore
from playground.fakeslack import FakeSlack
from playground.fakeslack.workspace import Button
from tests.slack.conftest import Responses
from tests.slack.wiring import assessment_flow

CATALOG = BankCatalog.from_directory()
CREATOR = "U0CREATOR"
OTHER = "U0OTHER"
ADMIN = "U0ADMIN"
CHANNEL = "C0TEAM"
# Fri 2 Jan 2026, 09:00 in Berlin.
NOW = datetime(2026, 1, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as running:
        running.set_user(CREATOR, tz="Europe/Berlin")
        running.set_user(OTHER, tz="America/New_York")
        running.set_user(ADMIN, is_admin=True, tz="Asia/Tokyo")
        yield running


@pytest.fixture
def flow(redis_client: redis.Redis, fake: FakeSlack) -> ScheduleFlow:
    client = WebClient(token="xoxb-t", base_url=fake.base_url)
    assessments = assessment_flow(SessionStore(redis_client), CATALOG, "mlops", client)
    return ScheduleFlow(ScheduleStore(redis_client), CATALOG, assessments, client, clock=NOW.timestamp)


def run(
    flow: ScheduleFlow, team_id: str, text: str, user: str = CREATOR, channel: str = CHANNEL
) -> Responses:
    respond = Responses()
    flow.command(team_id, user, channel, text, respond)
    return respond


def created_id(flow: ScheduleFlow, team_id: str) -> str:
    [(record, _)] = flow.store.in_channel(team_id, CHANNEL)
    return record.schedule_id


def test_scheduling_quarterly_announces_the_rule_and_the_first_run_in_the_creators_zone(
    flow: ScheduleFlow, team_id: str
) -> None:
    reply = run(flow, team_id, "quarterly")
    assert reply.single()["response_type"] == "in_channel"
    schedule_id = created_id(flow, team_id)
    assert reply.single_text() == (
        f"<@{CREATOR}> scheduled a quarterly MLOps Quarterly Pulse reminder in this channel: At 10:00, "
        "on the first Monday of the month, only in January, April, July, and October (Europe/Berlin time).\n"
        f"First reminder: *Mon 5 Jan 2026, 10:00 CET*. Id `{schedule_id}`: `/mlops-compass schedule list` "
        f"shows it, `/mlops-compass schedule cancel {schedule_id}` removes it."
    )
    assert flow.store.next_run(team_id, schedule_id) == int(datetime(2026, 1, 5, 9, tzinfo=UTC).timestamp())


def test_list_shows_id_words_cron_and_next_run_in_the_viewers_time(flow: ScheduleFlow, team_id: str) -> None:
    run(flow, team_id, "monthly full team at 09:30")
    run(flow, team_id, '"0 10 1 */3 *"')
    reply = run(flow, team_id, "list", user=OTHER)
    assert reply.single()["response_type"] == "ephemeral"
    text = reply.single_text()
    ids = {record.kind: record.schedule_id for record, _ in flow.store.in_channel(team_id, CHANNEL)}
    assert "(times in your zone, America/New_York)" in text
    assert (
        f"`{ids['monthly']}` monthly MLOps Maturity Assessment (a team run): At 09:30, on the first "
        "Monday of the month (Europe/Berlin time) · cron `30 9 * * 1#1`"
    ) in text
    assert "next: *Mon 5 Jan 2026, 03:30 EST*" in text
    assert (
        f"`{ids['cron']}` recurring MLOps Quarterly Pulse: At 10:00, on day 1 of the month, every 3 months"
        in text
    )
    assert "cron `0 10 1 */3 *`" in text and "next: *Wed 1 Apr 2026, 04:00 EDT*" in text


def test_an_empty_channel_says_how_to_schedule(flow: ScheduleFlow, team_id: str) -> None:
    assert "No reminders are scheduled in <#C0TEAM>" in run(flow, team_id, "list").single_text()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("weekly", "I don't know the rule `weekly`"),
        ('"*/5 * * * *"', "reminders come at most once a day"),
        ("quarterly at noon", "`noon` is not a time of day"),
    ],
)
def test_a_bad_request_is_refused_privately_and_schedules_nothing(
    flow: ScheduleFlow, team_id: str, text: str, says: str
) -> None:
    reply = run(flow, team_id, text)
    assert reply.single()["response_type"] == "ephemeral"
    assert says in reply.single_text()
    assert flow.store.in_channel(team_id, CHANNEL) == []


def test_scheduling_in_a_dm_or_where_the_bot_cannot_post_is_refused(
    flow: ScheduleFlow, fake: FakeSlack, team_id: str
) -> None:
    assert "Reminders are for a channel" in run(flow, team_id, "quarterly", channel="D0DM").single_text()
    fake.set_not_in_channel(CHANNEL)
    assert "I'm not in this channel" in run(flow, team_id, "quarterly").single_text()
    fake.set_in_channel(CHANNEL)
    fake.set_archived(CHANNEL)
    assert "This channel is archived" in run(flow, team_id, "quarterly").single_text()
    assert flow.store.in_channel(team_id, CHANNEL) == []


def test_without_a_time_zone_from_slack_the_schedule_runs_on_utc_and_says_so(
    flow: ScheduleFlow, fake: FakeSlack, team_id: str
) -> None:
    fake.set_user(CREATOR, tz="Not/A_Zone")
    text = run(flow, team_id, "quarterly").single_text()
    assert "(UTC time)" in text and "Slack didn't tell me your time zone" in text


def test_a_channel_has_at_most_ten_schedules(flow: ScheduleFlow, team_id: str) -> None:
    for _ in range(MAX_SCHEDULES_PER_CHANNEL):
        run(flow, team_id, "quarterly")
    assert "has 10 reminders already" in run(flow, team_id, "monthly").single_text()


def test_one_person_has_a_limited_number_of_schedules_across_channels(
    flow: ScheduleFlow, team_id: str
) -> None:
    flow.store.per_user = 2
    for channel in ("C0ONE", "C0TWO"):
        assert "scheduled a quarterly" in run(flow, team_id, "quarterly", channel=channel).single_text()
    refused = run(flow, team_id, "monthly", channel="C0THREE")
    assert refused.single()["response_type"] == "ephemeral"
    assert (
        "You have 2 reminder schedules already" in refused.single_text()
        and "none was created" in refused.single_text()
    )
    assert flow.store.in_channel(team_id, "C0THREE") == []


def test_only_the_creator_or_an_admin_may_cancel(flow: ScheduleFlow, team_id: str) -> None:
    run(flow, team_id, "quarterly")
    schedule_id = created_id(flow, team_id)
    refused = run(flow, team_id, f"cancel {schedule_id}", user=OTHER)
    assert refused.single()["response_type"] == "ephemeral"
    assert (
        f"Only <@{CREATOR}>, who scheduled `{schedule_id}`, or a workspace admin can cancel it"
        in refused.single_text()
    )
    assert flow.store.get(team_id, schedule_id) is not None
    cancelled = run(flow, team_id, f"cancel {schedule_id}", user=ADMIN)
    assert cancelled.single()["response_type"] == "in_channel"
    assert f"<@{ADMIN}> cancelled the reminder `{schedule_id}`" in cancelled.single_text()
    assert flow.store.in_channel(team_id, CHANNEL) == []
    assert "There is no reminder" in run(flow, team_id, f"cancel {schedule_id}").single_text()


def test_the_creator_cancels_their_own(flow: ScheduleFlow, team_id: str) -> None:
    run(flow, team_id, "monthly")
    schedule_id = created_id(flow, team_id)
    assert "cancelled the reminder" in run(flow, team_id, f"cancel {schedule_id.upper()}").single_text()
    assert flow.store.get(team_id, schedule_id) is None


def test_a_paused_schedule_shows_as_paused_and_resumes_once_the_bot_can_post(
    flow: ScheduleFlow, fake: FakeSlack, team_id: str
) -> None:
    run(flow, team_id, "quarterly")
    schedule_id = created_id(flow, team_id)
    assert "is not paused" in run(flow, team_id, f"resume {schedule_id}").single_text()
    flow.store.pause(team_id, schedule_id, "is_archived")
    listed = run(flow, team_id, "list").single_text()
    assert "*paused*: the channel was archived" in listed
    assert f"`/mlops-compass schedule resume {schedule_id}` resumes it" in listed
    fake.set_archived(CHANNEL)
    still_paused = run(flow, team_id, f"resume {schedule_id}").single_text()
    assert "stays paused: its channel is archived" in still_paused
    fake.set_archived(CHANNEL, archived=False)
    with time_machine.travel(datetime(2026, 2, 1, tzinfo=UTC)):
        flow.clock = lambda: datetime(2026, 2, 1, tzinfo=UTC).timestamp()
        resumed = run(flow, team_id, f"resume {schedule_id}", user=OTHER)
    said = resumed.single_text()
    assert "resumed the reminder" in said and "Mon 6 Apr 2026, 04:00 EDT" in said
    run_at = flow.store.next_run(team_id, schedule_id)
    assert run_at is not None and from_timestamp(run_at) == datetime(2026, 4, 6, 8, 0, tzinfo=UTC)


def test_start_on_a_reminder_starts_the_scheduled_bank_with_the_report_coming_back_to_the_channel(
    flow: ScheduleFlow, fake: FakeSlack, redis_client: redis.Redis, team_id: str
) -> None:
    button = Button(START_FROM_REMINDER_ACTION, "start", StartButton(s="abc234", b="pulse").encode(), "Start")
    body = {
        "type": "block_actions",
        "team": {"id": team_id},
        "user": {"id": OTHER, "team_id": team_id},
        "channel": {"id": CHANNEL},
        "container": {"type": "message", "message_ts": "1.0", "channel_id": CHANNEL},
    }
    respond = Responses()
    flow.start_from_reminder(
        BlockAction.of(body, {"action_id": button.action_id, "value": button.value}), respond
    )
    # Only the person who pressed Start is told, and only once it is true.
    [told] = respond.sent
    assert told["response_type"] == "ephemeral" and "sent the first question" in told["text"]
    session = SessionStore(redis_client).get(Respondent(team_id=team_id, user_id=OTHER))
    assert session is not None and session.origin_channel == CHANNEL
    assert session.conversation["bank"] == "pulse"
    assert fake.messages(fake.dm_channel_id(OTHER))
    forged = Responses()
    flow.start_from_reminder(
        BlockAction.of(body, {"action_id": button.action_id, "value": '{"s": "x"}'}), forged
    )
    assert "isn't one I recognise" in forged.single_text()
