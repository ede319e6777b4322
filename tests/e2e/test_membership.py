"""Only a channel's members act on its team runs and team results, end to end: the real app, the fake
Slack's channel membership, a real Redis. Each refusal is an ephemeral note, and Redis is as it was."""

from __future__ import annotations

import json
import time
import uuid

import redis

from bot.engine.history import ResultSummary
from bot.slack.modal_views import TEAM_SETUP_CALLBACK
from bot.store.history import record_channel_result
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import AppProcess
from playground.fakeslack.workspace import SlackUser, buttons_of
from tests.conftest import REAL_REDIS_URL, workspace_state
from tests.e2e.conftest import new_user

WAIT = 30.0


def client() -> redis.Redis:
    return redis.Redis.from_url(REAL_REDIS_URL)


def refusal_to(fake: FakeSlack, before: int, user: SlackUser, posted: bool = False) -> str:
    """The ephemeral refusal to `user`: through the command's or click's response_url, or (a form's
    outcome) posted with chat.postEphemeral."""
    if posted:
        call = fake.wait_for(
            "chat.postEphemeral", lambda c: c.params.get("user") == user.user_id, after=before, timeout=WAIT
        )
    else:
        call = fake.wait_for(
            "response_url",
            lambda c: (
                c.params.get("response_type") == "ephemeral" and "Only members of" in json.dumps(c.params)
            ),
            after=before,
            timeout=WAIT,
        )
    return json.dumps(call.params)


def test_take_part_from_outside_the_channel_is_refused_and_counts_nothing(
    fake_slack: FakeSlack, app: AppProcess, user: SlackUser
) -> None:
    fake_slack.set_channel_members(user.channel_id, [user.user_id])
    assert user.command("team pulse").status == 200
    posted = fake_slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == user.channel_id and c.ok, timeout=WAIT
    )
    fake_slack.wait_for(
        "response_url", lambda c: "Your team run is posted" in json.dumps(c.params), timeout=WAIT
    )
    message = next(m for m in fake_slack.messages(user.channel_id) if m["ts"] == posted.response["ts"])
    take_part = next(b for b in buttons_of(message) if b.label == "Take part")
    outsider = new_user(fake_slack, app, team_id=user.team_id, channel_id=user.channel_id)
    before_state, before = workspace_state(client(), user.team_id), len(fake_slack.calls)

    outsider.click(message, take_part, channel_id=user.channel_id)
    note = refusal_to(fake_slack, before, outsider)
    assert "Only members of" in note and "take part" in note and "nothing was changed" in note
    assert workspace_state(client(), user.team_id) == before_state
    assert not [c for c in fake_slack.calls[before:] if c.params.get("channel") == outsider.dm_channel]


def someone_else() -> str:
    """A member of a channel the person is not in: an id of this test's own, as the fake Slack asks."""
    return "U0ELSE" + uuid.uuid4().hex[:8].upper()


def test_the_setup_form_posts_no_run_into_a_channel_the_person_is_not_in(
    fake_slack: FakeSlack, app: AppProcess, user: SlackUser
) -> None:
    foreign = "C0FOREIGN" + user.user_id[1:5]
    fake_slack.set_channel_members(user.channel_id, [user.user_id])
    fake_slack.set_channel_members(foreign, [someone_else()])
    assert user.command("team").status == 200
    modal = user.modal()
    assert modal["callback_id"] == TEAM_SETUP_CALLBACK
    before_state, before = workspace_state(client(), user.team_id), len(fake_slack.calls)

    accepted = user.submit_view(modal, {"bank": "pulse", "days": "3", "channel": foreign})
    assert accepted.status == 200 and accepted.payload is None
    note = refusal_to(fake_slack, before, user, posted=True)
    assert "Only members of" in note and "start a team run" in note and "nothing was changed" in note
    assert workspace_state(client(), user.team_id) == before_state
    assert fake_slack.messages(foreign) == []


def test_export_in_a_channel_the_person_is_not_in_is_refused(fake_slack: FakeSlack, user: SlackUser) -> None:
    now = time.time()
    team = ResultSummary("team", now, "pulse", "2.0.0", "Pulse", 2, 61.0, 55.0, ())
    record_channel_result(client(), user.team_id, user.channel_id, team, finished_at=now)
    fake_slack.set_channel_members(user.channel_id, [someone_else()])
    before_state, before = workspace_state(client(), user.team_id), len(fake_slack.calls)

    assert user.command("export").status == 200
    note = refusal_to(fake_slack, before, user)
    assert "Only members of" in note and "export its team results" in note
    assert fake_slack.uploaded_files() == []
    assert workspace_state(client(), user.team_id) == before_state
