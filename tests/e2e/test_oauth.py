"""Distributing the app by OAuth, end to end: the real web process and worker in OAuth mode (no
SLACK_BOT_TOKEN), the fake Slack's authorize step played by the test as a browser would (the install
page's "Add to Slack" link, then Slack's redirect back with a code), and a real Redis.

Two workspaces install the app through Bolt's flow; a person in each starts an assessment by slash
command and gets their report, delivered by the worker; a team in each runs a team assessment in its
channel, whose report the worker posts; each schedules reminders, which the clock (built as `mlops-compass
clock` builds it, its time moved to the schedules' first run) posts. Every Web API call made for a
workspace carries that workspace's own bot token. A state is good for one install only; a workspace that
never installed the app gets Bolt's answer and nothing else, and a reminder it scheduled while the app ran
on one SLACK_BOT_TOKEN, before OAuth was turned on, is skipped by the clock without a call naming it.
"""

from __future__ import annotations

import html
import json
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import redis
import time_machine
from cryptography.fernet import Fernet

from bot.cli.clock_command import build_clock
from bot.cli.startup import Started
from bot.engine.catalog import BankCatalog
from bot.settings import ClockSettings, read_settings
from bot.slack.values import KEEP_GOING_ACTION
from bot.store import keys
from bot.store.heartbeats import process_name
from bot.store.schedules import ScheduleStore
from playground.fakeslack import FakeSlack, RecordedCall
from playground.fakeslack.app_process import AppProcess, app_process, start_web, stop
from playground.fakeslack.workspace import SlackUser, buttons_of
from tests.conftest import new_team_id
from tests.e2e.conftest import answer_buttons, app_env, new_user
from tests.e2e.test_team_run import run_button, run_message

pytestmark = pytest.mark.e2e

STATE_COOKIE = "slack-app-oauth-state"
# Bolt's answer to a request from a workspace it finds no installation for.
NOT_INSTALLED = "Please reinstall this app into your workspace"
REPORT = "MLOps maturity report"
TEAM_REPORT = "Team MLOps maturity"
WAIT = 30.0


@pytest.fixture(scope="module")
def oauth_env(module_fake_slack: FakeSlack, redis_url: str) -> dict[str, str]:
    """The environment every process reads in OAuth mode: no SLACK_BOT_TOKEN."""
    env = app_env(module_fake_slack, redis_url)
    del env["SLACK_BOT_TOKEN"]
    return env | {
        "SLACK_CLIENT_ID": "1234.5678",
        "SLACK_CLIENT_SECRET": "e2e-client-secret",
        "SLACK_INSTALLATION_KEYS": Fernet.generate_key().decode(),
    }


@pytest.fixture(scope="module")
def oauth_app(oauth_env: dict[str, str]) -> Iterator[AppProcess]:
    with app_process(oauth_env) as running:
        yield running


def get(url: str, cookie: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def install_link(app: AppProcess) -> tuple[str, str]:
    """The install page's "Add to Slack" link, and the state cookie the page set with it."""
    with urllib.request.urlopen(f"{app.url}/slack/install", timeout=15) as response:
        page = response.read().decode()
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    found = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page)
    assert found is not None, page
    return html.unescape(found.group(1)), cookie


def state_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["state"][0]


def redirect(app: AppProcess, code: str, state: str, cookie: str) -> tuple[int, str]:
    """Slack sending the installer's browser back to the app."""
    return get(f"{app.url}/slack/oauth_redirect?{urlencode({'code': code, 'state': state})}", cookie)


def install(app: AppProcess, fake: FakeSlack, team_id: str) -> str:
    """A person installs the app into `team_id` from the install link; the workspace's bot token."""
    link, cookie = install_link(app)
    query = parse_qs(urlsplit(link).query)
    assert query["client_id"] == ["1234.5678"]
    assert "chat:write" in query["scope"][0].split(",")
    status, page = redirect(app, fake.approve_install(team_id, "UINSTALLER"), state_of(link), cookie)
    assert status == 200, page
    token = fake.bot_token_of(team_id)
    assert token is not None
    return token


def pulse_report(user: SlackUser) -> RecordedCall:
    """Start the pulse by slash command, answer every question, and wait for the report in the channel."""
    assert user.command("start pulse").status == 200
    user.fake.wait_for("chat.postMessage", lambda c: c.params.get("channel") == user.dm_channel, timeout=15)
    while (question := user.awaiting()) is not None:
        before = len(user.fake.calls)
        keep_going = [b for b in buttons_of(question) if b.action_id == KEEP_GOING_ACTION]
        answers = [b for b in buttons_of(question) if b.action_id.startswith("answer")]
        assert user.click(question, (keep_going or answers)[0]).status == 200
        user.wait_for_reaction(before)
    return user.fake.wait_for(
        "chat.postMessage",
        lambda c: (
            c.ok
            and c.params.get("channel") == user.channel_id
            and str(c.params.get("text")).startswith(REPORT)
        ),
        timeout=30,
    )


def install_two(app: AppProcess, fake: FakeSlack) -> dict[str, str]:
    """Two workspaces install the app, each getting a bot token of its own; their tokens by team id."""
    first_team, second_team = new_team_id(), new_team_id()
    tokens = {first_team: install(app, fake, first_team)}
    tokens[second_team] = install(app, fake, second_team)
    assert tokens[first_team] != tokens[second_team]
    return tokens


def calls_for(fake: FakeSlack, *people: SlackUser) -> list[RecordedCall]:
    """The Web API calls naming any of the people, their DMs or their channels."""
    ids = {id for user in people for id in (user.user_id, user.dm_channel, user.channel_id)}

    def names(call: RecordedCall) -> bool:
        named: Any = [call.params.get(field) for field in ("channel", "channel_id", "user", "users")]
        return any(str(value) in ids for value in named if value)

    return [call for call in fake.calls if "." in call.method and names(call)]


def bearer(call: RecordedCall) -> str:
    return call.headers.get("authorization", "").removeprefix("Bearer ")


def test_two_workspaces_install_and_each_is_served_with_its_own_token(
    fake_slack: FakeSlack, oauth_app: AppProcess
) -> None:
    tokens = install_two(oauth_app, fake_slack)
    exchanged = fake_slack.calls_to("oauth.v2.access")
    assert [call.ok for call in exchanged] == [True, True]

    people = [new_user(fake_slack, oauth_app, team_id=team) for team in tokens]
    reports = [pulse_report(person) for person in people]

    for person, report in zip(people, reports, strict=True):
        # The report, posted by the worker, and every other call made for this person.
        assert bearer(report) == tokens[person.team_id]
        made = calls_for(fake_slack, person)
        assert {bearer(call) for call in made} == {tokens[person.team_id]}, [
            (call.method, bearer(call)) for call in made
        ]
    assert "deliver_report" in (oauth_app.worker.log() if oauth_app.worker is not None else "")


def test_a_state_works_for_one_install_only(fake_slack: FakeSlack, oauth_app: AppProcess) -> None:
    team = new_team_id()
    link, cookie = install_link(oauth_app)
    state = state_of(link)
    assert redirect(oauth_app, fake_slack.approve_install(team, "UFIRST"), state, cookie)[0] == 200
    replayed = fake_slack.approve_install(team, "USECOND")
    status, _ = redirect(oauth_app, replayed, state, cookie)
    assert status == 401
    # The replayed redirect's code was never exchanged: only the first install's was.
    assert len(fake_slack.calls_to("oauth.v2.access")) == 1


def test_a_workspace_without_an_installation_gets_bolts_answer_and_nothing_is_posted(
    fake_slack: FakeSlack, oauth_app: AppProcess
) -> None:
    stranger = new_user(fake_slack, oauth_app)
    response = stranger.command("")
    assert response.status == 200
    answer = fake_slack.wait_for(
        "response_url", lambda c: NOT_INSTALLED in str(c.params.get("text")), timeout=10
    )
    assert answer.ok
    assert calls_for(fake_slack, stranger) == []


# Team runs -------------------------------------------------------------------------------------------------


def posted_in(channel: str) -> Callable[[RecordedCall], bool]:
    return lambda call: call.ok and call.params.get("channel") == channel


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {WAIT}s"
        time.sleep(0.05)


def take_part_and_answer(member: SlackUser) -> None:
    """Click Take part on the run's message and answer each question in the DM, until the note that the
    answers were counted in the team run."""
    fake, channel = member.fake, member.channel_id
    before = len(fake.calls)
    clicked = member.click(
        run_message(fake, channel), run_button(fake, channel, "Take part"), channel_id=channel
    )
    assert clicked.status == 200, clicked.body
    fake.wait_for("chat.postMessage", posted_in(member.dm_channel), WAIT, before)
    while (question := member.current_question()) is not None:
        before = len(fake.calls)
        assert member.click(question, answer_buttons(question)[0]).status == 200
        member.wait_for_reaction(before, timeout=WAIT)
    until(
        lambda: "in the team run" in json.dumps(member.dm_messages()[-1]),
        f"{member.user_id}'s answers were not counted",
    )


def team_run_to_its_report(
    fake: FakeSlack, app: AppProcess, team_id: str
) -> tuple[list[SlackUser], RecordedCall]:
    """Three people in a channel of `team_id`: one starts a team run with the command, all three answer,
    and the starter closes it; its members, and the post that carried the team report to the channel."""
    starter = new_user(fake, app, team_id=team_id)
    channel = starter.channel_id
    members = [starter, *(new_user(fake, app, team_id=team_id, channel_id=channel) for _ in range(2))]
    fake.set_channel_members(channel, [member.user_id for member in members])
    before = len(fake.calls)
    assert starter.command("team pulse").status == 200
    fake.wait_for("chat.postMessage", posted_in(channel), WAIT, before)
    for member in members:
        take_part_and_answer(member)
    before = len(fake.calls)
    close = run_button(fake, channel, "Close & show results")
    assert starter.click(run_message(fake, channel), close, channel_id=channel).status == 200
    report = fake.wait_for(
        "chat.postMessage",
        lambda c: c.ok and c.params.get("channel") == channel and TEAM_REPORT in json.dumps(c.params),
        WAIT,
        before,
    )
    return members, report


def worker_delivered(app: AppProcess, team_id: str, kind: str) -> bool:
    """The worker's log shows it completed a delivery of a `kind` report for `team_id`."""
    log = app.worker.log() if app.worker is not None else ""
    return f"Successfully completed bot.cli.worker.deliver_report('{team_id}', '{kind}'" in log


def test_a_team_run_in_each_workspace_is_reported_by_the_worker_with_that_workspaces_token(
    fake_slack: FakeSlack, oauth_app: AppProcess
) -> None:
    tokens = install_two(oauth_app, fake_slack)
    for team_id, token in tokens.items():
        members, report = team_run_to_its_report(fake_slack, oauth_app, team_id)
        assert bearer(report) == token
        until(
            partial(worker_delivered, oauth_app, team_id, "team"),
            f"the worker did not deliver {team_id}'s report",
        )
        made = calls_for(fake_slack, *members)
        assert {bearer(call) for call in made} == {token}, [(call.method, bearer(call)) for call in made]


# The clock ------------------------------------------------------------------------------------------------


def schedule_quarterly(user: SlackUser, client: redis.Redis) -> float:
    """Schedule reminders in the person's channel by command; the schedule's first run."""
    assert user.command("schedule quarterly").status == 200
    answer = str(user.reply(lambda c: c.ok, timeout=WAIT).params.get("text", ""))
    assert "scheduled" in answer, answer
    [(_, first_run)] = ScheduleStore(client).in_channel(user.team_id, user.channel_id)
    assert first_run is not None
    return first_run


@contextmanager
def served_on_one_bot_token(fake: FakeSlack, redis_url: str) -> Iterator[AppProcess]:
    """The app's web process as it ran before OAuth was turned on: one workspace, on SLACK_BOT_TOKEN."""
    web = start_web(app_env(fake, redis_url))
    try:
        yield web
    finally:
        stop(web.process)


@contextmanager
def oauth_clock(env: dict[str, str], client: redis.Redis) -> Iterator[Any]:
    """The clock as `mlops-compass clock` builds it from the OAuth environment, with no bot token."""
    settings = read_settings(
        ClockSettings,
        slack_bot_token=None,
        slack_api_url=env["SLACK_API_URL"],
        redis_url=env["REDIS_URL"],
        slack_client_id=env["SLACK_CLIENT_ID"],
        slack_client_secret=env["SLACK_CLIENT_SECRET"],
        slack_installation_keys=env["SLACK_INSTALLATION_KEYS"],
    )
    assert settings.oauth_enabled and settings.slack_bot_token is None
    try:
        yield build_clock(Started(settings, BankCatalog.from_directory(), client))
    finally:
        # Its heartbeat was dated in the future it travelled to: no later test may take it for a live clock.
        client.zrem(keys.CLOCK_HEARTBEATS, process_name())


def test_the_clock_posts_each_workspaces_reminder_with_its_token_and_skips_a_workspace_never_installed(
    fake_slack: FakeSlack,
    oauth_env: dict[str, str],
    oauth_app: AppProcess,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = redis.Redis.from_url(redis_url)
    # Before OAuth was turned on, someone in a workspace that never installed the app since scheduled
    # reminders while the app ran on one SLACK_BOT_TOKEN: its schedule stays under its team id.
    with served_on_one_bot_token(fake_slack, redis_url) as before_oauth:
        never_installed = new_user(fake_slack, before_oauth)
        first_runs = [schedule_quarterly(never_installed, client)]
    tokens = install_two(oauth_app, fake_slack)
    people = [new_user(fake_slack, oauth_app, team_id=team) for team in tokens]
    first_runs += [schedule_quarterly(person, client) for person in people]

    before = len(fake_slack.calls)
    with (
        oauth_clock(oauth_env, client) as clock,
        caplog.at_level(logging.WARNING),
        time_machine.travel(max(first_runs) + 1.0),
    ):
        report = clock.tick()
    assert report.posted >= 2 and report.retried >= 1, report

    for person in people:
        reminder = fake_slack.wait_for(
            "chat.postMessage",
            posted_in(person.channel_id),
            WAIT,
            before,
        )
        assert bearer(reminder) == tokens[person.team_id]
    # The workspace with no installation: skipped, with one line saying so, and no call names it.
    assert f"the app is not installed in workspace {never_installed.team_id}: skipped" in caplog.text
    named = [
        (call.method, call.params)
        for call in fake_slack.calls[before:]
        if never_installed.team_id in json.dumps(call.params)
        or any(id in json.dumps(call.params) for id in (never_installed.channel_id, never_installed.user_id))
    ]
    assert named == []
    assert {bearer(call) for call in fake_slack.calls[before:] if "." in call.method} == set(tokens.values())
