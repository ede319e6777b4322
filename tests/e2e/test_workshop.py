"""A team workshop end to end: the real app against the fake Slack and a real Redis. Five members vote on
every question in the workshop's thread (one always a rung lower than the rest), an outsider's vote is
refused with nothing changed, and the facilitator settles each question with the team's answer. The
team's report is the full bank scored on the settled answers, rendered as a personal report is; its
thread names the split questions; and `history #channel` lists the workshop."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.engine.answers import Answer, OptionChoice
from bot.engine.catalog import BankCatalog
from bot.engine.scoring import score
from bot.slack.blocks import report_message
from bot.slack.workshop_blocks import SETTLE_ACTION, VOTE_ACTION, WorkshopButton
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import AppProcess
from playground.fakeslack.workspace import Button, HttpTransport, SlackUser, buttons_of
from tests.conftest import new_team_id
from tests.e2e.conftest import SIGNING_SECRET

PULSE = BankCatalog.from_directory().by_id("pulse")
CHANNEL = "C0WORKSHOP"
MEMBERS = ("U0WFACIL", "U0WANNA", "U0WBEN", "U0WCARA", "U0WLOW")
TEAM_RUNG = 2
WAIT = 60.0


@pytest.fixture(scope="module")
def team_id() -> str:
    return new_team_id()


def person(fake: FakeSlack, app: AppProcess, team_id: str, user_id: str) -> SlackUser:
    transport = HttpTransport(app.events_url, SIGNING_SECRET)
    return SlackUser(fake, transport, user_id=user_id, channel_id=CHANNEL, team_id=team_id)


def wait_until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while not (found := check()):
        assert time.monotonic() < deadline, f"no {what} within {WAIT}s"
        time.sleep(0.05)
    return found


def block_ids(message: dict[str, Any]) -> set[str]:
    return {b.get("block_id", "") for b in message.get("blocks") or []}


def parent_message(fake: FakeSlack) -> dict[str, Any] | None:
    return next(
        (m for m in fake.messages(CHANNEL) if "open" in block_ids(m) and "title" in block_ids(m)), None
    )


def report_posted(fake: FakeSlack) -> dict[str, Any] | None:
    return next((m for m in fake.messages(CHANNEL) if "workshop-title" in block_ids(m)), None)


def open_question(fake: FakeSlack, settled: dict[str, Answer]) -> dict[str, Any] | None:
    """The question message with the facilitator's controls that is not settled yet."""
    for message in fake.messages(CHANNEL):
        if "controls" in block_ids(message) and vote_buttons(message) and question_of(message) not in settled:
            return message
    return None


def vote_buttons(message: dict[str, Any]) -> dict[Answer, Button]:
    found = {}
    for block in message.get("blocks") or []:
        accessory = block.get("accessory") or {}
        if str(accessory.get("action_id", "")).startswith(VOTE_ACTION):
            answer = WorkshopButton.decode(accessory["value"]).answer
            assert answer is not None
            found[answer] = Button(accessory["action_id"], block["block_id"], accessory["value"], "Vote")
    return found


def question_of(message: dict[str, Any]) -> str:
    button = next(iter(vote_buttons(message).values()))
    return WorkshopButton.decode(button.value).question_id


def current(fake: FakeSlack, ts: str) -> dict[str, Any]:
    return next(m for m in fake.messages(CHANNEL) if m["ts"] == ts)


def vote(fake: FakeSlack, voter: SlackUser, ts: str, answer: Answer) -> None:
    message = current(fake, ts)
    assert voter.click(message, vote_buttons(message)[answer], channel_id=CHANNEL).status == 200


def wait_for_votes(fake: FakeSlack, ts: str, voters: list[SlackUser], app: AppProcess) -> None:
    deadline = time.monotonic() + WAIT
    while not votes_shown(fake, ts, voters):
        if time.monotonic() >= deadline:
            # What the app told each voter, and what it logged, tell a refusal from a lost update.
            told = {
                v.user_id: [
                    c.params.get("text") for c in fake.calls if c.params.get("_id") == v.last_response_id
                ]
                for v in voters
            }
            raise AssertionError(f"not every vote shown within {WAIT}s; told {told}\n{app.log()[-4000:]}")
        time.sleep(0.05)


def votes_shown(fake: FakeSlack, ts: str, voters: list[SlackUser]) -> bool:
    """The question's message shows every voter by name (votes within a window show at its end)."""
    shown = json.dumps(current(fake, ts))
    return all(f"<@{voter.user_id}>" in shown for voter in voters)


def test_a_team_votes_by_name_and_the_facilitator_settles_into_the_teams_report(
    fake_slack: FakeSlack, app: AppProcess, team_id: str
) -> None:
    members = [person(fake_slack, app, team_id, user) for user in MEMBERS]
    fake_slack.set_channel_members(CHANNEL, list(MEMBERS))
    facilitator, low = members[0], members[-1]
    assert facilitator.command("workshop pulse").status == 200
    parent = wait_until(lambda: parent_message(fake_slack), "workshop message")
    assert "not an anonymous survey" in json.dumps(parent)

    settled: dict[str, Answer] = {}
    outsider = person(fake_slack, app, team_id, "U0WOUTSIDER")
    while report_posted(fake_slack) is None:
        question = wait_until(
            lambda: open_question(fake_slack, settled) or report_posted(fake_slack), "open question or report"
        )
        if "workshop-title" in block_ids(question):
            break
        ts, question_id = question["ts"], question_of(question)
        assert question.get("thread_ts") == parent["ts"]
        if not settled:
            before = fake_slack.messages(CHANNEL)
            assert (
                outsider.click(question, vote_buttons(question)[OptionChoice(0)], channel_id=CHANNEL).status
                == 200
            )
            assert "Only members of" in outsider.reply().params["text"]
            assert fake_slack.messages(CHANNEL) == before
        for voter in members:
            vote(fake_slack, voter, ts, OptionChoice(TEAM_RUNG - 1 if voter is low else TEAM_RUNG))
        wait_for_votes(fake_slack, ts, members, app)
        controls = current(fake_slack, ts)
        team_answer = next(b for b in buttons_of(controls) if b.action_id == SETTLE_ACTION)
        assert team_answer.label.startswith("Team answer: ") and len(team_answer.label) <= 30
        assert facilitator.click(controls, team_answer, channel_id=CHANNEL).status == 200
        wait_until(
            lambda at=ts: "controls" not in block_ids(current(fake_slack, at)), f"{question_id} settled"
        )
        settled[question_id] = OptionChoice(TEAM_RUNG)

    assert len(settled) >= 2, settled  # the adaptive order asked only what could change a level
    report = wait_until(lambda: report_posted(fake_slack), "the team's report")
    expected = report_message(score(PULSE, settled))
    assert report["blocks"][1:] == expected.blocks
    agenda = wait_until(
        lambda: next((m for m in fake_slack.messages(CHANNEL) if m.get("thread_ts") == report["ts"]), None),
        "where the team disagreed",
    )
    shown = json.dumps(agenda)
    assert "Where the team disagreed" in shown and "<@U0WLOW>" in shown
    assert all(question_id in agenda["text"] for question_id in settled)

    assert facilitator.command(f"history <#{CHANNEL}|team>").status == 200
    history = json.dumps(facilitator.reply().params, ensure_ascii=False)
    assert f"pulse v{PULSE.version} · workshop" in history
