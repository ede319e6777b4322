"""A channel's team results over time, end to end: two team runs in one channel keep in the channel's
history exactly the band counts their reports showed (no team level or score: any would let the other
members work out one person's answers), so the second report says how the counts moved and
`history #channel` shows the trend; the Home tab offers an open run's Take part, answered in the DM."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.engine.answers import Answer, OptionChoice, encode_answer
from bot.engine.catalog import BankCatalog
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import AppProcess
from playground.fakeslack.workspace import Button, HttpTransport, SlackUser, buttons_of
from tests.conftest import new_team_id
from tests.e2e.conftest import SIGNING_SECRET, answer_buttons, answer_value, click_and_wait, question_id

PULSE = BankCatalog.from_directory().by_id("pulse")
CHANNEL = "C0HISTORY"
WAIT = 60.0


@pytest.fixture(scope="module")
def team_id() -> str:
    return new_team_id()


def member(fake: FakeSlack, app: AppProcess, team_id: str, user_id: str) -> SlackUser:
    transport = HttpTransport(app.events_url, SIGNING_SECRET)
    return SlackUser(fake, transport, user_id=user_id, channel_id=CHANNEL, team_id=team_id)


@pytest.fixture
def people(fake_slack: FakeSlack, app: AppProcess, team_id: str) -> Iterator[list[SlackUser]]:
    everyone = [member(fake_slack, app, team_id, user) for user in ("U0HSTART", "U0HA", "U0HB", "U0HC")]
    fake_slack.set_channel_members(CHANNEL, [p.user_id for p in everyone])
    yield everyone


def wait_until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while not (found := check()):
        assert time.monotonic() < deadline, f"no {what} within {WAIT}s"
        time.sleep(0.05)
    return found


def header(message: dict[str, Any]) -> str:
    blocks = message.get("blocks") or [{}]
    return str(blocks[0].get("text", {}).get("text", ""))


def latest_run(fake: FakeSlack) -> dict[str, Any] | None:
    runs = [m for m in fake.messages(CHANNEL) if header(m).startswith("Team MLOps assessment")]
    return runs[-1] if runs else None


def team_reports(fake: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in fake.messages(CHANNEL) if header(m).startswith("Team MLOps maturity")]


def answer_all(person: SlackUser, answers: dict[str, Answer]) -> None:
    """Answer what the DM asks until the questions end (the report replaces them)."""
    wait_until(person.current_question, f"the first question in {person.user_id}'s DM")
    while (question := person.current_question()) is not None:
        wanted = encode_answer(answers[question_id(question)])
        click_and_wait(
            person, question, next(b for b in answer_buttons(question) if answer_value(b.value) == wanted)
        )
    wait_until(lambda: "in the team run" in json.dumps(person.dm_messages()[-1]), "the counted note")


def take_part(person: SlackUser, answers: dict[str, Answer]) -> None:
    run = latest_run(person.fake)
    assert run is not None
    take = next(b for b in buttons_of(run) if b.label == "Take part")
    assert person.click(run, take, channel_id=CHANNEL).status == 200
    answer_all(person, answers)


def run_team(starter: SlackUser, option: int) -> tuple[dict[str, Answer], int]:
    """Open a pulse team run in the channel; the answers its members will give, and the reports so far."""
    fake = starter.fake
    opened = latest_run(fake)
    assert starter.command("team pulse").status == 200
    wait_until(lambda: latest_run(fake) not in (None, opened), "the team run's message")
    return {q.id: OptionChoice(option) for q in PULSE.questions}, len(team_reports(fake))


def close(starter: SlackUser, reported: int) -> dict[str, Any]:
    fake = starter.fake
    run = latest_run(fake)
    assert run is not None
    closing = next(b for b in buttons_of(run) if b.label == "Close & show results")
    assert starter.click(run, closing, channel_id=CHANNEL).status == 200
    return wait_until(lambda: team_reports(fake)[reported:] and team_reports(fake)[-1], "the team report")


@pytest.mark.timeout(300)
def test_a_channels_team_runs_keep_their_band_counts_and_history_shows_the_trend(
    fake_slack: FakeSlack, people: list[SlackUser]
) -> None:
    starter, *members = people
    answers, reported = run_team(starter, option=0)
    for person in members:
        take_part(person, answers)
    report = close(starter, reported)
    first_changes = next(b for b in report["blocks"] if b.get("block_id") == "changes")
    assert "No earlier result" in json.dumps(first_changes)

    answers, reported = run_team(starter, option=4)
    # One member takes part from the Home tab: the open run is there with its Take part.
    home_member, *others = members
    before = len(fake_slack.calls)
    assert home_member.open_app_home(event_id=f"Ev{home_member.user_id}").status == 200
    view = fake_slack.wait_for("views.publish", lambda c: c.ok, after=before).params["view"]
    run_block = next(b for b in view["blocks"] if b.get("block_id") == "home-run-0")
    assert f"<#{CHANNEL}>" in run_block["text"]["text"] and "0 answered" in run_block["text"]["text"]
    assert run_block["accessory"]["action_id"] == "home_take_part"
    accessory = run_block["accessory"]
    take = Button(
        accessory["action_id"], run_block["block_id"], accessory["value"], accessory["text"]["text"]
    )
    assert home_member.click({"ts": "0", "blocks": view["blocks"]}, take).status == 200
    answer_all(home_member, answers)
    for person in others:
        take_part(person, answers)
    report = close(starter, reported)

    # Everyone answered the lowest option, then the highest: the report counts them per band, and says
    # how the counts moved since the channel's previous team result.
    assert "3 of 3 scoring 50 or more" in json.dumps(report)
    changes = next(b for b in report["blocks"] if b.get("block_id") == "changes")["text"]["text"]
    assert "0 of 3 → 3 of 3 scoring 50 or more since" in changes

    assert members[0].command(f"history <#{CHANNEL}|team>").status == 200
    shown = json.dumps(members[0].reply().params, ensure_ascii=False)
    assert (
        "2 results, newest first" in shown
        and f"pulse v{PULSE.version} · survey (anonymous) · 3 answered" in shown
    )
    assert "0 of 3 → 3 of 3" in shown  # the trend, in the counts the reports showed
    assert "no level yet" not in shown and "score " not in shown  # nothing the reports did not show

    # Someone outside the channel learns nothing of its team results.
    outsider = SlackUser(
        fake_slack,
        members[0].transport,
        user_id="U0HOUTSIDER",
        channel_id=CHANNEL,
        team_id=members[0].team_id,
    )
    assert outsider.command(f"history <#{CHANNEL}|team>").status == 200
    refused = outsider.reply().params
    assert "Only members of" in refused["text"] and f"pulse v{PULSE.version}" not in json.dumps(refused)
