"""End to end: the app is uninstalled from a workspace, Slack says so with `app_uninstalled` (signed as
Slack signs it), and within seconds the web process and the worker have deleted every key of that
workspace and its entries in the clock's indexes; another workspace keeps its assessment."""

from __future__ import annotations

import time

import redis

from bot.store import keys
from playground.fakeslack import FakeSlack, event_body
from playground.fakeslack.app_process import AppProcess
from playground.fakeslack.workspace import SlackUser
from tests.conftest import workspace_state
from tests.e2e.conftest import answer_buttons, click_and_wait, new_user, start

DELETED_WITHIN_SECONDS = 15.0


def leave_a_trace(user: SlackUser) -> None:
    """An assessment in progress with one answer given: a session the clock watches."""
    question = start(user)
    click_and_wait(user, question, answer_buttons(question)[0])


def has_nothing(client: redis.Redis, team_id: str) -> bool:
    state = workspace_state(client, team_id)
    return all(not value for value in state.values()) and not any(
        key.startswith(keys.workspace_pattern(team_id).removesuffix("*").encode()) for key in state
    )


def test_uninstalling_deletes_the_workspace_within_seconds_and_nothing_else(
    fake_slack: FakeSlack, app: AppProcess, redis_url: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    leaving, staying = new_user(fake_slack, app), new_user(fake_slack, app)
    for user in (leaving, staying):
        leave_a_trace(user)
    assert not has_nothing(client, leaving.team_id)
    kept = workspace_state(client, staying.team_id)

    body = event_body({"type": "app_uninstalled", "event_ts": f"{time.time():.6f}"}, team_id=leaving.team_id)
    acknowledgement = leaving.transport.event(body)

    assert acknowledgement.status == 200
    deadline = time.monotonic() + DELETED_WITHIN_SECONDS
    while not has_nothing(client, leaving.team_id):
        assert time.monotonic() < deadline, workspace_state(client, leaving.team_id)
        time.sleep(0.1)
    after = workspace_state(client, staying.team_id)
    assert after.keys() == kept.keys()
    assert after[keys.WATCHED_SESSIONS.encode()] == kept[keys.WATCHED_SESSIONS.encode()]
