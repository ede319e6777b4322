"""The clock looks in on assessments people left, end to end: they start and answer through the real app
(`mlops-compass serve`) with requests signed as Slack signs them, and the clock, built as `mlops-compass
clock` builds it, ticks with its time moved a day and more forward by time-machine. Sessions expire as
Redis expires them: the app here keeps an abandoned one for seconds (SESSION_TTL_DAYS), waited out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import time_machine

from bot.cli.clock_command import build_clock
from bot.cli.startup import Started
from bot.engine.catalog import BankCatalog
from bot.settings import ClockSettings, read_settings
from bot.slack.values import SessionButton
from bot.store import keys
from bot.store.heartbeats import process_name
from bot.usecases.clock import Clock
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import AppProcess, app_process
from playground.fakeslack.workspace import SlackUser, buttons_of
from tests.conftest import real_redis
from tests.e2e.conftest import app_env, best_option, click_and_wait, new_user, question_id, start
from tests.e2e.test_team_run import run_button, run_id_of, run_message

DAY = 24 * 3600.0
# How long the app keeps an abandoned session: long enough to start, answer and be reminded in, short
# enough to wait out.
SESSION_TTL_SECONDS = 20
WAIT = 30.0


@pytest.fixture(scope="module")
def app(module_fake_slack: FakeSlack, redis_url: str) -> Iterator[AppProcess]:
    env = app_env(module_fake_slack, redis_url) | {"SESSION_TTL_DAYS": str(SESSION_TTL_SECONDS / DAY)}
    with app_process(env) as running:
        yield running


@pytest.fixture
def clock(fake_slack: FakeSlack, redis_url: str) -> Iterator[Clock]:
    settings = read_settings(
        ClockSettings,
        slack_bot_token="xoxb-e2e-token",
        slack_api_url=fake_slack.base_url,
        redis_url=redis_url,
    )
    client = redis.Redis.from_url(redis_url)
    yield build_clock(Started(settings, BankCatalog.from_directory(), client))
    # Its heartbeat was dated in the future it travelled to: no later test may take it for a live clock.
    client.zrem(keys.CLOCK_HEARTBEATS, process_name())


def tick_at(clock: Clock, when: float) -> None:
    with time_machine.travel(when):
        clock.tick()


def reminders(user: SlackUser) -> list[dict[str, Any]]:
    """The clock's reminders in the person's DM."""
    return [m for m in user.dm_messages() if any(b.get("block_id") == "unfinished" for b in m["blocks"])]


def expiry_notes(user: SlackUser) -> list[dict[str, Any]]:
    return [m for m in user.dm_messages() if "expired after a long silence" in m.get("text", "")]


def section_text(message: dict[str, Any]) -> str:
    return str(message["blocks"][0]["text"]["text"])


def wait_until_expired(key: str) -> None:
    """Until Redis itself has expired the session."""
    client = real_redis()
    deadline = time.monotonic() + WAIT
    while client.exists(key):
        assert time.monotonic() < deadline, f"{key} did not expire within {WAIT}s"
        time.sleep(0.1)


def resume_from(user: SlackUser, reminder: dict[str, Any]) -> dict[str, Any]:
    """Click the reminder's Resume; the question the app then sends to the DM again."""
    [resume] = buttons_of(reminder)
    before = len(user.fake.calls)
    assert user.click(reminder, resume).status == 200
    user.fake.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == user.dm_channel, after=before, timeout=WAIT
    )
    return current_question(user)


def answer(user: SlackUser, question: dict[str, Any]) -> dict[str, Any]:
    """Click the best option; the next question, once the DM shows it."""
    click_and_wait(user, question, best_option(question))
    deadline = time.monotonic() + WAIT
    while question_id(current_question(user)) == question_id(question):
        assert time.monotonic() < deadline, "the next question did not come"
        time.sleep(0.05)
    return current_question(user)


def current_question(user: SlackUser) -> dict[str, Any]:
    question = user.current_question()
    assert question is not None, "no question in the DM"
    return question


def test_a_person_who_left_after_two_answers_is_reminded_once_and_told_once_when_it_expired(
    fake_slack: FakeSlack, user: SlackUser, clock: Clock
) -> None:
    question = start(user)
    for _ in range(2):
        question = answer(user, question)
    left = time.time()

    tick_at(clock, left + 23 * 3600)
    assert reminders(user) == []
    tick_at(clock, left + DAY + 60)
    [reminder] = reminders(user)
    assert "You started an MLOps assessment and answered 2 questions" in section_text(reminder)
    tick_at(clock, left + DAY + 3600)
    tick_at(clock, left + 3 * DAY)
    assert len(reminders(user)) == 1

    # Resume sends the question the person left at, from their DM.
    resumed = resume_from(user, reminder)
    assert buttons_of(resumed) == buttons_of(question)

    wait_until_expired(keys.session(user.team_id, user.user_id))
    tick_at(clock, left + 30 * DAY)
    tick_at(clock, left + 31 * DAY)
    [note] = expiry_notes(user)
    assert "Your unfinished MLOps assessment has expired" in note["text"]
    assert len(reminders(user)) == 1


def test_a_team_run_member_who_took_part_and_left_is_reminded_once_with_resume_for_that_run(
    fake_slack: FakeSlack, app: AppProcess, clock: Clock
) -> None:
    starter = new_user(fake_slack, app)
    member = new_user(fake_slack, app, team_id=starter.team_id, channel_id=starter.channel_id)
    fake_slack.set_channel_members(starter.channel_id, [starter.user_id, member.user_id])
    assert starter.command("team mlops closes in 7 days").status == 200
    fake_slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == starter.channel_id, timeout=WAIT
    )
    channel = starter.channel_id
    before = len(fake_slack.calls)
    member.click(
        run_message(fake_slack, channel), run_button(fake_slack, channel, "Take part"), channel_id=channel
    )
    fake_slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == member.dm_channel, after=before
    )
    question = answer(member, current_question(member))
    left = time.time()

    tick_at(clock, left + DAY + 60)
    tick_at(clock, left + 2 * DAY)
    [reminder] = reminders(member)
    assert f"You took part in the team run in <#{channel}> and answered 1 question" in section_text(reminder)
    [resume] = buttons_of(reminder)
    run_id = run_id_of(fake_slack, channel)
    assert SessionButton.decode(resume.value) == SessionButton(u=member.user_id, r=run_id)

    # Resume sends the member's question in that run again.
    resumed = resume_from(member, reminder)
    assert buttons_of(resumed) == buttons_of(question)
