"""A workshop's votes as WorkshopFlow shows them: the real stores (fakeredis and a real Redis), the shipped
pulse bank, and slack_sdk's WebClient talking HTTP to the fake Slack. Votes within a window are one update
of the question's message now and one follow-up at the window's end, which shows every vote."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.engine.answers import OptionChoice
from bot.engine.catalog import BankCatalog
from bot.slack.delivery.run import InProcessReports
from bot.slack.membership import RecentMembers
from bot.slack.payloads import BlockAction
from bot.slack.workshop import WorkshopFlow
from bot.slack.workshop_blocks import (
    PAUSE_ACTION,
    RESUME_ACTION,
    SKIP_ACTION,
    VOTE_ACTION,
    WorkshopButton,
)
from bot.store import keys
from bot.store.history import HistoryStore
from bot.store.sessions import SessionStore
from bot.store.team_runs import FORGOTTEN
from bot.store.workshops import WorkshopStore
from bot.usecases.history import forget
from bot.usecases.workshops import state_of as workshop_state
from playground.fakeslack import FakeSlack
from playground.fakeslack.workspace import Button, buttons_of
from tests.slack.conftest import Responses
from tests.slack.test_assessment_flow import action_for, body_for

CATALOG = BankCatalog.from_directory()
CHANNEL = "C0WORKSHOP"
FACILITATOR = "U0FACIL"
# Long enough that ten votes in one process come within one window.
WINDOW = 3.0
WAIT = WINDOW * 10 + 5


def voters(count: int) -> list[str]:
    return [f"U0V{number:03d}" for number in range(count)]


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as running:
        running.set_channel_members(CHANNEL, [FACILITATOR, *voters(30)])
        yield running


def workshop_flow(store: WorkshopStore, fake: FakeSlack, window: float = WINDOW) -> WorkshopFlow:
    client = WebClient(token="xoxb-t", base_url=fake.base_url)
    history = HistoryStore(store.redis)
    return WorkshopFlow(
        store, CATALOG, client, "pulse", history, reports=InProcessReports(), refresh_seconds=window
    )


@pytest.fixture
def flow(store: SessionStore, fake: FakeSlack, team_id: str) -> Iterator[WorkshopFlow]:
    """Depends on `team_id`, so that its scheduled updates stop before the workspace's keys go."""
    running = workshop_flow(WorkshopStore(store.redis), fake)
    yield running
    running.stop()


def start(flow: WorkshopFlow, team_id: str) -> None:
    respond = Responses()
    flow.start(team_id, FACILITATOR, CHANNEL, "pulse", respond)
    assert respond.all_ephemeral(), respond.sent


def question_message(fake: FakeSlack) -> dict[str, Any]:
    return next(m for m in fake.messages(CHANNEL) if vote_button(m, 0) is not None)


def vote_button(message: dict[str, Any], option: int) -> Button | None:
    """The Vote button beside the option (a section's accessory)."""
    for block in message.get("blocks") or []:
        accessory = block.get("accessory") or {}
        if not str(accessory.get("action_id", "")).startswith(VOTE_ACTION):
            continue
        if WorkshopButton.decode(accessory["value"]).answer == OptionChoice(option):
            return Button(accessory["action_id"], block["block_id"], accessory["value"], "Vote")
    return None


def message_button(message: dict[str, Any]) -> Button:
    button = vote_button(message, 0)
    assert button is not None
    return button


def vote(flow: WorkshopFlow, team_id: str, message: dict[str, Any], user: str, option: int) -> None:
    button = vote_button(message, option)
    assert button is not None
    respond = Responses()
    flow.vote(BlockAction.of(body_for(team_id, user, CHANNEL, message["ts"]), action_for(button)), respond)
    assert respond.sent == [], respond.sent


def updates_of(fake: FakeSlack, ts: str) -> list[dict[str, Any]]:
    return [call.params for call in fake.calls_to("chat.update") if call.params.get("ts") == ts]


def shows_every_vote(update: dict[str, Any], users: list[str]) -> bool:
    shown = json.dumps(update)
    return all(f"<@{user}>" in shown for user in users)


def test_ten_rapid_votes_are_two_updates_and_the_last_shows_all_ten(
    flow: WorkshopFlow, fake: FakeSlack, team_id: str
) -> None:
    start(flow, team_id)
    message = question_message(fake)
    ten = voters(10)
    for number, user in enumerate(ten):
        vote(flow, team_id, message, user, number % 3)
    # The follow-up comes at the window's end: wait for it rather than a guessed time.
    deadline = time.monotonic() + WAIT
    while not any(shows_every_vote(update, ten) for update in updates_of(fake, message["ts"])):
        assert time.monotonic() < deadline, "no update showed all ten votes"
        time.sleep(0.05)
    updates = updates_of(fake, message["ts"])
    assert len(updates) == 2, [json.dumps(u)[:200] for u in updates]
    assert shows_every_vote(updates[0], ten[:1]) and not shows_every_vote(updates[0], ten)
    assert shows_every_vote(updates[-1], ten)


def test_a_follow_up_due_after_the_question_was_skipped_leaves_its_skipped_message(
    flow: WorkshopFlow, fake: FakeSlack, team_id: str
) -> None:
    start(flow, team_id)
    message = question_message(fake)
    question_id = WorkshopButton.decode(message_button(message).value).question_id
    vote(flow, team_id, message, "U0V000", 1)
    vote(flow, team_id, message, "U0V001", 2)  # within the window: its update is the follow-up's
    workshop = flow.store.open_in(team_id, CHANNEL)
    assert workshop is not None
    due = keys.workshop_votes_claim(team_id, workshop.workshop_id, question_id, "due")
    assert flow.store.redis.exists(due)
    skip = next(b for b in buttons_of(message) if b.action_id == SKIP_ACTION)
    respond = Responses()
    flow.skip(
        BlockAction.of(body_for(team_id, FACILITATOR, CHANNEL, message["ts"]), action_for(skip)), respond
    )
    assert respond.sent == [], respond.sent
    skipped = updates_of(fake, message["ts"])[-1]
    assert "controls" not in json.dumps(skipped)
    # The follow-up gives its claim back first; stopping the flow then waits for it to finish.
    deadline = time.monotonic() + WAIT
    while flow.store.redis.exists(due):
        assert time.monotonic() < deadline, "the follow-up never ran"
        time.sleep(0.05)
    flow.stop()
    assert updates_of(fake, message["ts"])[-1] == skipped


def step_racing_the_votes_update(
    flow: WorkshopFlow,
    fake: FakeSlack,
    team_id: str,
    monkeypatch: pytest.MonkeyPatch,
    action_id: str,
    slow: bool,
) -> list[dict[str, Any]]:
    """The facilitator's step (the button `action_id`) commits after the vote and reaches Slack before the
    vote's update does, which reaches it within the window, or (`slow`) only once the window has ended in
    Redis. The question's message's updates, once the last is what stays."""
    start(flow, team_id)
    message = question_message(fake)
    button = next(b for b in buttons_of(message) if b.action_id == action_id)
    take_step = {SKIP_ACTION: flow.skip, PAUSE_ACTION: flow.pause}[action_id]
    question_id = WorkshopButton.decode(message_button(message).value).question_id
    workshop = flow.store.open_in(team_id, CHANNEL)
    assert workshop is not None
    window = flow.store.vote_claims(team_id, workshop.workshop_id, question_id).window_key
    update = flow.client.chat_update
    raced: list[Responses] = []

    def skipping_first(**params: Any) -> Any:
        if not raced and params.get("ts") == message["ts"]:
            raced.append(Responses())
            click = BlockAction.of(body_for(team_id, FACILITATOR, CHANNEL, message["ts"]), action_for(button))
            take_step(click, raced[0])
            # Slow: the vote's update reaches Slack after the window ended and the step's message was
            # shown again.
            deadline = time.monotonic() + WAIT
            while slow and (flow.store.redis.exists(window) or len(updates_of(fake, message["ts"])) < 2):
                assert time.monotonic() < deadline, "the window never ended"
                time.sleep(0.02)
        return update(**params)

    monkeypatch.setattr(flow.client, "chat_update", skipping_first)
    vote(flow, team_id, message, "U0V000", 1)
    assert raced and raced[0].sent == [], raced
    # Within the window: the step's, the vote's, and the step's again once the window ended (the step's
    # doing). Slow: the step's twice, the vote's, and the step's again (the vote's own check).
    expected = 4 if slow else 3
    deadline = time.monotonic() + WAIT
    while len(updates_of(fake, message["ts"])) < expected:
        assert time.monotonic() < deadline, updates_of(fake, message["ts"])
        time.sleep(0.05)
    flow.stop()
    return updates_of(fake, message["ts"])


def ends_skipped(last: str) -> bool:
    return "Skipped" in last


def ends_paused(last: str) -> bool:
    return RESUME_ACTION in last and VOTE_ACTION not in last


@pytest.mark.parametrize("slow", [False, True], ids=["within-the-window", "after-the-window"])
@pytest.mark.parametrize(
    ("action_id", "ends_as"),
    [(SKIP_ACTION, ends_skipped), (PAUSE_ACTION, ends_paused)],
    ids=["skip", "pause"],
)
def test_a_step_racing_a_votes_update_is_what_its_message_shows_at_the_end(
    store: SessionStore,
    fake: FakeSlack,
    team_id: str,
    monkeypatch: pytest.MonkeyPatch,
    action_id: str,
    ends_as: Callable[[str], bool],
    slow: bool,
) -> None:
    flow = workshop_flow(WorkshopStore(store.redis), fake, window=0.5)
    try:
        updates = step_racing_the_votes_update(flow, fake, team_id, monkeypatch, action_id, slow)
    finally:
        flow.stop()
    assert len(updates) == (4 if slow else 3), updates
    # The vote's update, claimed before the step, shows the open question's Vote and Pause buttons.
    assert VOTE_ACTION in json.dumps(updates[-2]) and PAUSE_ACTION in json.dumps(updates[-2])
    assert all(u["blocks"] == updates[0]["blocks"] for u in updates if u is not updates[-2])
    last = json.dumps(updates[-1])
    assert ends_as(last) and "<@U0V000>" in last


def test_a_member_takes_on_a_workshop_whose_facilitator_was_forgotten_and_an_outsider_cannot(
    flow: WorkshopFlow, fake: FakeSlack, team_id: str
) -> None:
    start(flow, team_id)
    message = question_message(fake)
    question_id = WorkshopButton.decode(message_button(message).value).question_id
    forget(HistoryStore(flow.store.redis), team_id, FACILITATOR)
    skip = next(b for b in buttons_of(message) if b.action_id == SKIP_ACTION)

    outsider = Responses()
    flow.skip(
        BlockAction.of(body_for(team_id, "U0OUTSIDE", CHANNEL, message["ts"]), action_for(skip)), outsider
    )
    workshop = flow.store.open_in(team_id, CHANNEL)
    assert workshop is not None and workshop.facilitator_id == FORGOTTEN
    assert question_id not in workshop_state(workshop).skipped

    member = Responses()
    flow.skip(BlockAction.of(body_for(team_id, "U0V000", CHANNEL, message["ts"]), action_for(skip)), member)
    assert "you facilitate it now" in member.text()
    workshop = flow.store.get(team_id, workshop.workshop_id)
    assert workshop is not None and workshop.facilitator_id == "U0V000"
    assert question_id in workshop_state(workshop).skipped


def membership_checks(fake: FakeSlack, user: str) -> int:
    return sum(1 for call in fake.calls_to("users.conversations") if call.params.get("user") == user)


def test_a_voters_membership_is_asked_of_slack_once_a_while_and_a_refusal_every_time(
    store: SessionStore, fake: FakeSlack, team_id: str
) -> None:
    now = [1000.0]
    flow = workshop_flow(WorkshopStore(store.redis), fake)
    flow.voters = RecentMembers(seconds=300, clock=lambda: now[0])
    try:
        start(flow, team_id)
        message = question_message(fake)
        # A member changing their vote: Slack is asked once.
        for option in (0, 1, 2, 1):
            vote(flow, team_id, message, "U0V000", option)
        assert membership_checks(fake, "U0V000") == 1
        # An outsider is asked about, and refused, every time; once they join, their vote counts.
        outsider = "U0OUTSIDER"
        for _ in range(2):
            refused = Responses()
            click = BlockAction.of(
                body_for(team_id, outsider, CHANNEL, message["ts"]), action_for(message_button(message))
            )
            flow.vote(click, refused)
            assert "Only members of" in json.dumps(refused.sent), refused.sent
        assert membership_checks(fake, outsider) == 2
        fake.set_channel_members(CHANNEL, [FACILITATOR, outsider, *voters(30)])
        vote(flow, team_id, message, outsider, 0)
        # A member who left is refused once their membership is asked of Slack again.
        fake.set_channel_members(CHANNEL, [FACILITATOR, outsider])
        vote(flow, team_id, message, "U0V000", 0)
        now[0] += 301
        left = Responses()
        click = BlockAction.of(
            body_for(team_id, "U0V000", CHANNEL, message["ts"]), action_for(message_button(message))
        )
        flow.vote(click, left)
        assert "Only members of" in json.dumps(left.sent), left.sent
        assert membership_checks(fake, "U0V000") == 2
        workshop = flow.store.open_in(team_id, CHANNEL)
        assert workshop is not None
        votes = workshop_state(workshop).open_votes
        assert votes["U0V000"] == OptionChoice(0) and votes[outsider] == OptionChoice(0)
    finally:
        flow.stop()
