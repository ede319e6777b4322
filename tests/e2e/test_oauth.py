"""Distributing the app by OAuth, end to end: the real web process and worker in OAuth mode (no
SLACK_BOT_TOKEN), the fake Slack's authorize step played by the test as a browser would (the install
page's "Add to Slack" link, then Slack's redirect back with a code), and a real Redis.

Two workspaces install the app through Bolt's flow; a person in each starts an assessment by slash
command and gets their report, delivered by the worker; every Web API call made for a workspace carries
that workspace's own bot token. A state is good for one install only, and a workspace that never installed
the app gets Bolt's answer and nothing else.
"""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from cryptography.fernet import Fernet

from bot.slack.values import KEEP_GOING_ACTION
from playground.fakeslack import FakeSlack, RecordedCall
from playground.fakeslack.app_process import AppProcess, app_process
from playground.fakeslack.workspace import SlackUser, buttons_of
from tests.conftest import new_team_id
from tests.e2e.conftest import app_env, new_user

pytestmark = pytest.mark.e2e

STATE_COOKIE = "slack-app-oauth-state"
# Bolt's answer to a request from a workspace it finds no installation for.
NOT_INSTALLED = "Please reinstall this app into your workspace"
REPORT = "MLOps maturity report"


@pytest.fixture(scope="module")
def oauth_app(module_fake_slack: FakeSlack, redis_url: str) -> Iterator[AppProcess]:
    env = app_env(module_fake_slack, redis_url)
    del env["SLACK_BOT_TOKEN"]
    env |= {
        "SLACK_CLIENT_ID": "1234.5678",
        "SLACK_CLIENT_SECRET": "e2e-client-secret",
        "SLACK_INSTALLATION_KEYS": Fernet.generate_key().decode(),
    }
    with app_process(env) as running:
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


def calls_for(fake: FakeSlack, user: SlackUser) -> list[RecordedCall]:
    """The Web API calls naming the person, their DM or their channel."""
    ids = {user.user_id, user.dm_channel, user.channel_id}

    def names(call: RecordedCall) -> bool:
        named: Any = [call.params.get(field) for field in ("channel", "channel_id", "user", "users")]
        return any(str(value) in ids for value in named if value)

    return [call for call in fake.calls if "." in call.method and names(call)]


def bearer(call: RecordedCall) -> str:
    return call.headers.get("authorization", "").removeprefix("Bearer ")


def test_two_workspaces_install_and_each_is_served_with_its_own_token(
    fake_slack: FakeSlack, oauth_app: AppProcess
) -> None:
    first_team, second_team = new_team_id(), new_team_id()
    tokens = {first_team: install(oauth_app, fake_slack, first_team)}
    tokens[second_team] = install(oauth_app, fake_slack, second_team)
    assert tokens[first_team] != tokens[second_team]
    exchanged = fake_slack.calls_to("oauth.v2.access")
    assert [call.ok for call in exchanged] == [True, True]

    people = [new_user(fake_slack, oauth_app, team_id=team) for team in (first_team, second_team)]
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
