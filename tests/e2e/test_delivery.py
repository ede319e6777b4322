"""Reports are delivered by the worker, end to end: the real web process and worker (`mlops-compass serve`
and `mlops-compass worker`), the fake Slack failing the report's post the ways Slack fails (ok:false, HTTP
500, repeated 429 with Retry-After, a dropped connection), and a real Redis.

Each report (personal, team, started from a reminder) ends posted exactly once, or with its author told in
a DM whose *Post it again* posts it; a web process killed mid-click still gets its report posted, once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from bot.slack.assessment import REPORT_ON_ITS_WAY
from bot.slack.schedule_blocks import START_FROM_REMINDER_ACTION, StartButton
from playground.fakeslack import FakeSlack, RecordedCall
from playground.fakeslack.app_process import AppProcess, app_process, start_web, stop
from playground.fakeslack.server import Hold
from playground.fakeslack.workspace import Button, SlackUser, buttons_of
from tests.conftest import REAL_REDIS_URL
from tests.e2e.conftest import answer_buttons, app_env, new_user, or_keep_going, start

WAIT = 60.0
POST = "chat.postMessage"
# Every fault the report's first post in the channel meets, set up on the fake Slack. The web client
# waits out a 429's Retry-After three times and retries a dropped connection twice before the worker's
# own retry (DELIVERY_RETRY_SECONDS: twice, a second apart).
FAULTS: dict[str, Callable[[FakeSlack, int], None]] = {
    "ok-false": lambda fake, times: fake.fail_next(POST, "internal_error", times),
    "http-500": lambda fake, times: fake.fail_http_next(POST, 500, times),
    # Retry-After: 0 is still waited out (the client adds up to a second of jitter), in half the time.
    "429-five-times": lambda fake, times: fake.rate_limit_next(POST, retry_after=0, times=5 * times),
    "dropped-connection": lambda fake, times: fake.drop_connection_next(POST, times=3 * times),
}
# Faults that outlast every try: the first try and two retries.
EVERY_TRY = 3


def wait_until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while not (found := check()):
        assert time.monotonic() < deadline, f"no {what} within {WAIT}s"
        time.sleep(0.05)
    return found


def posted(fake: FakeSlack, channel: str, starts: str) -> list[RecordedCall]:
    """Posts Slack accepted in `channel` (not thread replies) whose text starts with `starts`."""
    return [
        c
        for c in fake.calls_to(POST)
        if c.ok
        and c.params.get("channel") == channel
        and not c.params.get("thread_ts")
        and str(c.params.get("text", "")).startswith(starts)
    ]


def personal_reports(fake: FakeSlack, user: SlackUser) -> list[RecordedCall]:
    return posted(fake, user.channel_id, "MLOps maturity report")


def answer_all(user: SlackUser, held: Hold | None = None) -> None:
    """Answer the first option, going on past the offer to stop, until the questions end (the web process
    edits the question message in place, so faults set on chat.postMessage meet only the worker's
    delivery), or until the click's update is `held`."""
    while (question := user.awaiting()) is not None:
        before = len(user.fake.calls)
        clicked = or_keep_going(question, lambda message: answer_buttons(message)[0])
        assert user.click(question, clicked).status == 200

        def reacted(before: int = before) -> bool:
            updated = any(c.method == "chat.update" and c.ok for c in user.fake.calls[before:])
            return updated or (held is not None and held.reached.is_set())

        wait_until(reacted, "the click's update")
        if held is not None and held.reached.is_set():
            return


def delivered(fake: FakeSlack, user: SlackUser, after: int = 0) -> RecordedCall:
    """The last step of a personal report's delivery: its chart shared under it."""
    return fake.wait_for(
        "files.completeUploadExternal",
        lambda c: c.ok and c.params.get("channel_id") == user.channel_id,
        timeout=WAIT,
        after=after,
    )


def not_posted_note(user: SlackUser) -> dict[str, Any]:
    return wait_until(
        lambda: next(
            (m for m in user.dm_messages() if any(b.label == "Post it again" for b in buttons_of(m))), None
        ),
        "note that the report could not be posted",
    )


def post_it_again(user: SlackUser, note: dict[str, Any]) -> None:
    button = next(b for b in buttons_of(note) if b.label == "Post it again")
    assert user.click(note, button).status == 200


@pytest.mark.timeout(240)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_personal_report_slack_fails_to_take_is_posted_once_after_retries(
    fake_slack: FakeSlack, app: AppProcess, fault: str
) -> None:
    user = new_user(fake_slack, app)
    start(user)
    FAULTS[fault](fake_slack, 1)
    answer_all(user)
    delivered(fake_slack, user)
    assert len(personal_reports(fake_slack, user)) == 1
    assert not any("Post it again" in json.dumps(m) for m in user.dm_messages())
    report = next(m for m in user.dm_messages() if "MLOps maturity report" in m["text"])
    assert "Level" in json.dumps(report["blocks"])


@pytest.mark.timeout(240)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_personal_report_slack_never_takes_is_told_to_its_author_and_post_it_again_posts_it(
    fake_slack: FakeSlack, app: AppProcess, fault: str
) -> None:
    user = new_user(fake_slack, app)
    start(user)
    FAULTS[fault](fake_slack, EVERY_TRY)
    answer_all(user)
    note = not_posted_note(user)
    assert f"<#{user.channel_id}>" in note["text"] and "saved" in note["text"]
    assert personal_reports(fake_slack, user) == []

    before = len(fake_slack.calls)
    post_it_again(user, note)
    delivered(fake_slack, user, after=before)
    assert len(personal_reports(fake_slack, user)) == 1
    wait_until(
        lambda: any(f"now in <#{user.channel_id}>" in m["text"] for m in user.dm_messages()),
        "word that the report is posted now",
    )


def open_team_run(starter: SlackUser) -> dict[str, Any]:
    # Only a member of the channel may start a team run there.
    starter.fake.set_channel_members(starter.channel_id, [starter.user_id])
    assert starter.command("team pulse").status == 200
    return wait_until(
        lambda: next(
            (m for m in starter.fake.messages(starter.channel_id) if "Take part" in json.dumps(m)), None
        ),
        "the team run's message",
    )


def click_close(starter: SlackUser, run: dict[str, Any]) -> None:
    closing = next(b for b in buttons_of(run) if b.label == "Close & show results")
    assert starter.click(run, closing, channel_id=starter.channel_id).status == 200


def team_reports(fake: FakeSlack, channel: str) -> list[RecordedCall]:
    return posted(fake, channel, "Team MLOps report")


@pytest.mark.timeout(240)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_team_report_slack_fails_to_take_is_posted_once_and_only_then_said_to_be_in_the_channel(
    fake_slack: FakeSlack, app: AppProcess, fault: str
) -> None:
    starter = new_user(fake_slack, app)
    run = open_team_run(starter)
    FAULTS[fault](fake_slack, 1)
    click_close(starter, run)
    wait_until(lambda: team_reports(fake_slack, starter.channel_id), "team report")
    # The run's message is marked closed after the report: the delivery's last step.
    wait_until(
        lambda: any(
            c.ok and c.params.get("ts") == run["ts"] and "closed" in json.dumps(c.params).lower()
            for c in fake_slack.calls_to("chat.update")
        ),
        "the run's message marked closed",
    )
    assert len(team_reports(fake_slack, starter.channel_id)) == 1


@pytest.mark.timeout(240)
def test_a_team_report_slack_never_takes_is_told_and_a_second_close_does_not_say_it_is_posted(
    fake_slack: FakeSlack, app: AppProcess
) -> None:
    starter = new_user(fake_slack, app)
    run = open_team_run(starter)
    FAULTS["http-500"](fake_slack, EVERY_TRY)
    click_close(starter, run)
    note = not_posted_note(starter)
    assert "team run's report" in note["text"]
    assert team_reports(fake_slack, starter.channel_id) == []

    before = len(fake_slack.calls)
    click_close(starter, run)
    said = fake_slack.wait_for("response_url", after=before, timeout=WAIT).params
    assert "not yet posted" in json.dumps(said) and "its report is in" not in json.dumps(said)

    post_it_again(starter, note)
    wait_until(
        lambda: any(f"now in <#{starter.channel_id}>" in m["text"] for m in starter.dm_messages()),
        "word that the team report is posted now",
    )
    before = len(fake_slack.calls)
    click_close(starter, run)
    said = fake_slack.wait_for("response_url", after=before, timeout=WAIT).params
    assert f"its report is in <#{starter.channel_id}>" in json.dumps(said)
    assert len(team_reports(fake_slack, starter.channel_id)) == 1


def start_from_reminder(user: SlackUser) -> dict[str, Any]:
    """Click Start on a reminder in the channel, as the clock posts it."""
    value = StartButton(s="weekly", b="mlops").encode()
    reminder = {
        "ts": "1700000000.000100",
        "text": "Time for the MLOps assessment",
        "blocks": [
            {
                "type": "actions",
                "block_id": "reminder",
                "elements": [
                    {
                        "type": "button",
                        "action_id": START_FROM_REMINDER_ACTION,
                        "text": {"type": "plain_text", "text": "Start"},
                        "value": value,
                    }
                ],
            }
        ],
    }
    button = Button(START_FROM_REMINDER_ACTION, "reminder", value, "Start")
    assert user.click(reminder, button, channel_id=user.channel_id).status == 200
    return wait_until(user.current_question, "the first question")


@pytest.mark.timeout(240)
@pytest.mark.parametrize("fault", ["ok-false", "dropped-connection"])
def test_a_report_started_from_a_reminder_is_posted_once_or_its_author_told(
    fake_slack: FakeSlack, app: AppProcess, fault: str
) -> None:
    user = new_user(fake_slack, app)
    start_from_reminder(user)
    FAULTS[fault](fake_slack, EVERY_TRY)
    answer_all(user)
    note = not_posted_note(user)
    assert personal_reports(fake_slack, user) == []
    before = len(fake_slack.calls)
    post_it_again(user, note)
    delivered(fake_slack, user, after=before)
    assert len(personal_reports(fake_slack, user)) == 1


def web_process_tree(app: AppProcess) -> list[int]:
    """The web process and its gunicorn workers."""
    children = subprocess.run(
        ["pgrep", "-P", str(app.process.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    return [app.process.pid, *(int(pid) for pid in children)]


@pytest.mark.timeout(240)
def test_a_web_process_killed_during_the_final_click_loses_no_report(fake_slack: FakeSlack) -> None:
    env = app_env(fake_slack, REAL_REDIS_URL)
    with app_process(env) as running:
        user = new_user(fake_slack, running)
        start(user)
        # The final click's transaction has stored the result when the click's update of the DM is sent:
        # hold that update, so the web process is mid-click, and kill it there.
        held = fake_slack.hold_next("chat.update", lambda params: params.get("text") == REPORT_ON_ITS_WAY)
        answer_all(user, held)
        try:
            assert held.reached.is_set()
            for pid in web_process_tree(running):
                os.kill(pid, signal.SIGKILL)
            running.process.wait(timeout=10)
            # A new web process starts; the worker's sweep finds the report pending with no job.
            replacement = start_web(env)
            try:
                delivered(fake_slack, user)
                assert len(personal_reports(fake_slack, user)) == 1
            finally:
                stop(replacement.process)
        finally:
            held.release()
