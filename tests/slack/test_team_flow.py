"""Team runs as TeamFlow runs them: the real stores (fakeredis and a real Redis), the shipped pulse bank,
and slack_sdk's WebClient talking HTTP to the fake Slack Web API. Members answer through the personal
assessment's own flow, bound to the run, with clicks built from the buttons the flows posted."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.engine.catalog import BankCatalog
from bot.engine.overview import length
from bot.slack.payloads import BlockAction
from bot.slack.team import TeamFlow
from bot.slack.team_blocks import CLOSE_ACTION, NUDGE_ACTION, TAKE_PART_ACTION
from bot.slack.values import ANSWER_ACTION_PATTERN, QuestionButton
from bot.store import keys
from bot.store.sessions import Respondent, SessionStore
from bot.store.throttles import Claimed, UpdateClaims
from bot.usecases.team_runs import DAY_SECONDS, parse_run_request
from playground.fakeslack import FakeSlack
from playground.fakeslack.workspace import Button, buttons_of
from tests.conftest import workspace_state
from tests.slack.conftest import Responses
from tests.slack.test_assessment_flow import action_for, body_for
from tests.slack.wiring import wired_flows

CATALOG = BankCatalog.from_directory()
PULSE = CATALOG.by_id("pulse")
CHANNEL = "C0TEAM"
STARTER = "U0STARTER"
ADMIN = "U0ADMIN"
WINDOW = 0.3
# Who is in the channel unless a test says otherwise: only members take part.
MEMBERS = [STARTER, ADMIN, *(f"U{number:02d}" for number in range(10))]


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as running:
        running.set_user(ADMIN, is_admin=True)
        running.set_channel_members(CHANNEL, MEMBERS)
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def team(store: SessionStore, fake: FakeSlack, clock: Clock, team_id: str) -> Iterator[TeamFlow]:
    """Depends on `team_id`, so that its scheduled count updates stop before the workspace's keys go."""
    client = WebClient(token="xoxb-t", base_url=fake.base_url)
    _, flow, _ = wired_flows(store, CATALOG, "pulse", client, refresh_seconds=WINDOW, clock=clock)
    yield flow
    flow.stop()


def run_message(fake: FakeSlack) -> dict[str, Any]:
    return next(
        m
        for m in fake.messages(CHANNEL)
        if m["blocks"][0]["text"]["text"].startswith("Team MLOps assessment")
    )


def count_line(message: dict[str, Any]) -> str:
    return next(b for b in message["blocks"] if b.get("block_id") == "count")["elements"][0]["text"]


def run_button(fake: FakeSlack, action_id: str) -> Button:
    return next(b for b in buttons_of(run_message(fake)) if b.action_id == action_id)


def click_run(team: TeamFlow, fake: FakeSlack, team_id: str, user: str, action_id: str) -> Responses:
    respond = Responses()
    handler = {TAKE_PART_ACTION: team.take_part, NUDGE_ACTION: team.nudge, CLOSE_ACTION: team.close}[
        action_id
    ]
    message = run_message(fake)
    handler(
        BlockAction.of(
            body_for(team_id, user, CHANNEL, message["ts"]), action_for(run_button(fake, action_id))
        ),
        respond,
    )
    assert respond.all_ephemeral(), respond.sent
    return respond


def open_run(
    team: TeamFlow, team_id: str, text: str = "closes in 3 days", channel: str = CHANNEL
) -> Responses:
    respond = Responses()
    team.start(team_id, STARTER, channel, parse_run_request(text.split()), respond)
    return respond


def answer_all(team: TeamFlow, fake: FakeSlack, team_id: str, user: str, option: int) -> None:
    """Take part and answer every pulse question with `option`."""
    click_run(team, fake, team_id, user, TAKE_PART_ACTION)
    answer_questions(team, fake, team_id, user, option)


def answer_questions(team: TeamFlow, fake: FakeSlack, team_id: str, user: str, option: int) -> None:
    dm = fake.dm_channel_id(user)
    for _ in PULSE.questions:
        message = next(m for m in reversed(fake.messages(dm)) if buttons_of(m))
        button = next(
            b
            for b in buttons_of(message)
            if ANSWER_ACTION_PATTERN.match(b.action_id) and QuestionButton.decode(b.value).a == option
        )
        respond = Responses()
        team.assessments.click(
            BlockAction.of(body_for(team_id, user, dm, message["ts"]), action_for(button)), respond
        )
        assert respond.sent == [], respond.sent


def dm_texts(fake: FakeSlack, user: str) -> str:
    return json.dumps(fake.messages(fake.dm_channel_id(user)))


# Starting -----------------------------------------------------------------------------------------


def test_the_run_message_shows_starter_bank_deadline_count_and_buttons(
    team: TeamFlow, fake: FakeSlack, team_id: str
):
    opened = open_run(team, team_id)
    assert "Your team run is posted in this channel" in opened.text()
    message = run_message(fake)
    intro = message["blocks"][1]["text"]["text"]
    assert f"<@{STARTER}>" in intro and f"*{PULSE.title}* ({length(PULSE)})" in intro and "<!date^" in intro
    assert count_line(message) == "*0 answered* so far"
    assert [b.label for b in buttons_of(message)] == ["Take part", "Nudge", "Close & show results"]
    run = team.runs.open_in(team_id, CHANNEL)
    assert run is not None and run.message_ts == message["ts"]
    assert round(run.deadline - run.created_at) == 3 * DAY_SECONDS


def test_a_second_run_in_the_channel_is_refused_and_a_dm_is_no_place_for_one(
    team: TeamFlow, fake: FakeSlack, team_id: str
):
    open_run(team, team_id)
    again = open_run(team, team_id, "")
    assert "already an open team run" in again.text()
    assert len(fake.messages(CHANNEL)) == 1
    in_dm = open_run(team, team_id, "", channel="D0SOMEDM")
    assert "needs the channel its members are in" in in_dm.text()


def test_a_channel_the_bot_is_not_in_gets_no_run(team: TeamFlow, fake: FakeSlack, team_id: str):
    fake.set_not_in_channel(CHANNEL)
    refused = open_run(team, team_id)
    assert "/invite @MLOps Compass" in refused.text()
    assert team.runs.open_in(team_id, CHANNEL) is None
    fake.set_in_channel(CHANNEL)
    assert "Your team run is posted" in open_run(team, team_id).text()


def test_an_unknown_bank_is_refused(team: TeamFlow, team_id: str):
    respond = Responses()
    team.start(team_id, STARTER, CHANNEL, parse_run_request(["nosuchbank"]), respond)
    assert "no question bank 'nosuchbank'" in respond.text()
    assert team.runs.open_in(team_id, CHANNEL) is None


def test_only_a_member_of_the_channel_starts_a_run_there(team: TeamFlow, fake: FakeSlack, team_id: str):
    fake.set_channel_members(CHANNEL, ["U01"])
    before = workspace_state(team.runs.redis, team_id)
    refused = open_run(team, team_id)
    assert "Only members of <#C0TEAM> can start a team run" in refused.text()
    assert "nothing was changed" in refused.text() and refused.all_ephemeral()
    assert workspace_state(team.runs.redis, team_id) == before
    assert fake.messages(CHANNEL) == []


def test_a_take_part_click_from_outside_the_channel_is_refused_and_counts_nothing(
    team: TeamFlow, fake: FakeSlack, team_id: str
):
    open_run(team, team_id)
    before = workspace_state(team.runs.redis, team_id)
    refused = click_run(team, fake, team_id, "U0OUTSIDER", TAKE_PART_ACTION)
    assert "Only members of <#C0TEAM> can take part" in refused.text()
    assert workspace_state(team.runs.redis, team_id) == before
    assert fake.calls_to("conversations.open") == []


def test_one_person_has_a_limited_number_of_open_runs(team: TeamFlow, fake: FakeSlack, team_id: str):
    channels = [f"C0RUN{number}" for number in range(team.runs.limits.open_per_user + 1)]
    for channel in channels:
        fake.set_channel_members(channel, [STARTER])
    for channel in channels[:-1]:
        assert "Your team run is posted" in open_run(team, team_id, channel=channel).text()
    before = workspace_state(team.runs.redis, team_id)
    refused = open_run(team, team_id, channel=channels[-1])
    assert f"You have {len(channels) - 1} team runs open" in refused.text()
    assert f"<#{channels[0]}>" in refused.text() and "no team run was started" in refused.text()
    assert workspace_state(team.runs.redis, team_id) == before
    assert fake.messages(channels[-1]) == []


# Answering ----------------------------------------------------------------------------------------


def test_a_member_answers_privately_and_is_counted_once(
    team: TeamFlow, fake: FakeSlack, store: SessionStore, team_id: str
):
    open_run(team, team_id)
    answer_all(team, fake, team_id, "U01", 4)
    run = team.runs.open_in(team_id, CHANNEL)
    assert run is not None
    assert team.runs.respondent_count(team_id, run.run_id) == 1
    dm = dm_texts(fake, "U01")
    assert "MLOps maturity report" in dm and "Your answers are counted in the team run" in dm
    # Their own report is theirs: nothing about it reaches the channel.
    assert all("MLOps maturity report" not in m["text"] for m in fake.messages(CHANNEL))
    assert count_line(run_message(fake)) == "*1 answered* so far"
    personal = store.history(Respondent(team_id=team_id, user_id="U01"))
    assert [r.bank_id for r in personal] == ["pulse"]
    # A retake replaces the response.
    time.sleep(WINDOW + 0.1)
    started = click_run(team, fake, team_id, "U01", TAKE_PART_ACTION)
    assert "replace your earlier ones" in started.text()
    answer_questions(team, fake, team_id, "U01", 0)
    assert "Your new answers replace your earlier ones" in dm_texts(fake, "U01")
    aggregate = team.runs.aggregate(team_id, run.run_id)
    assert aggregate.respondents == 1
    # The retake answered the lowest option everywhere: in each banded dimension, below the band.
    assert [band for band in aggregate.counts if band.startswith("b:")] == [
        "b:data:lower",
        "b:deploy:lower",
        "b:monitor:lower",
    ]
    assert len(store.history(Respondent(team_id=team_id, user_id="U01"))) == 2


def test_the_count_is_updated_at_most_once_a_window_and_ends_exact(
    team: TeamFlow, fake: FakeSlack, team_id: str, monkeypatch: pytest.MonkeyPatch
):
    open_run(team, team_id)
    ts = run_message(fake)["ts"]
    # When each update claimed its window: a claim is tried only after the previous window expired in
    # Redis, so these starts are a window apart however late each update then reaches Slack.
    claimed_at: list[float] = []
    count_claims = team.runs.count_claims

    class RecordedClaims(UpdateClaims):
        def claim(self, window_ms: int, follow_up_ttl_ms: int) -> Claimed:
            tried_at = time.monotonic()
            won = super().claim(window_ms, follow_up_ttl_ms)
            if won.window:
                claimed_at.append(tried_at)
            return won

    def recorded(team_id: str, run_id: str) -> UpdateClaims:
        claims = count_claims(team_id, run_id)
        return RecordedClaims(claims.redis, claims.window_key, claims.due_key)

    monkeypatch.setattr(team.runs, "count_claims", recorded)
    started = time.monotonic()
    for number in range(6):
        answer_all(team, fake, team_id, f"U{number:02d}", number % 5)
    elapsed = time.monotonic() - started
    # The last count comes at the end of its window: wait for it rather than a guessed time.
    deadline = time.monotonic() + WINDOW * 10 + 5
    while count_line(run_message(fake)) != "*6 answered* so far":
        assert time.monotonic() < deadline, count_line(run_message(fake))
        time.sleep(0.05)
    updates = [c for c in fake.calls_to("chat.update") if c.params.get("ts") == ts]
    assert 1 <= len(updates) <= len(claimed_at) <= elapsed / WINDOW + 2
    gaps = [later - earlier for earlier, later in itertools.pairwise(claimed_at)]
    assert all(gap >= WINDOW * 0.95 for gap in gaps), gaps


# Closing ------------------------------------------------------------------------------------------


def test_only_the_starter_or_an_admin_closes_and_a_click_after_changes_nothing(
    team: TeamFlow, fake: FakeSlack, team_id: str
):
    open_run(team, team_id)
    for number, option in enumerate((0, 4, 4)):
        answer_all(team, fake, team_id, f"U{number:02d}", option)
    fake.set_channel_members(CHANNEL, [STARTER, "U00", "U01", "U02", "U03", "UBOT"])
    before = fake.messages(CHANNEL)

    refused = click_run(team, fake, team_id, "U01", CLOSE_ACTION)
    assert f"Only <@{STARTER}>" in refused.text() and "nothing was changed" in refused.text()
    assert fake.messages(CHANNEL) == before
    run = team.runs.open_in(team_id, CHANNEL)
    assert run is not None and run.is_open

    assert click_run(team, fake, team_id, ADMIN, CLOSE_ACTION).sent == []
    report = fake.messages(CHANNEL)[-1]
    assert report["blocks"][0]["text"]["text"].startswith("Team MLOps maturity report")
    assert "3 answered of 5 members invited" in json.dumps(report)
    # The pulse bank: members answered the lowest option, then the highest twice. Each dimension with a
    # band shows its two counts; Team & Culture (one question) says why it shows none.
    fields = next(b for b in report["blocks"] if b.get("block_id") == "dimensions")["fields"]
    texts = [field["text"] for field in fields]
    assert all("2 of 3 scoring 50 or more · 1 scoring under 50" in text for text in texts[:3])
    assert ":lock:" in texts[3] and "No figure: this bank asks too few questions here" in texts[3]
    closed = run_message(fake)
    assert buttons_of(closed) == [] and f"closed by <@{ADMIN}>" in closed["blocks"][1]["text"]["text"]

    after = fake.messages(CHANNEL)
    for user, action in ((STARTER, CLOSE_ACTION), ("U05", TAKE_PART_ACTION), (STARTER, NUDGE_ACTION)):
        respond = Responses()
        handler = {TAKE_PART_ACTION: team.take_part, NUDGE_ACTION: team.nudge, CLOSE_ACTION: team.close}[
            action
        ]
        value = json.dumps({"r": run.run_id})
        handler(
            BlockAction.of(
                body_for(team_id, user, CHANNEL, closed["ts"]), {"action_id": action, "value": value}
            ),
            respond,
        )
        assert "closed" in respond.text() and "nothing was changed" in respond.text()
    assert fake.messages(CHANNEL) == after
    assert team.sessions.get(Respondent(team_id=team_id, user_id="U05", run_id=run.run_id)) is None


def test_two_respondents_withhold_the_results(team: TeamFlow, fake: FakeSlack, team_id: str):
    open_run(team, team_id)
    answer_all(team, fake, team_id, "U01", 0)
    answer_all(team, fake, team_id, "U02", 4)
    click_run(team, fake, team_id, STARTER, CLOSE_ACTION)
    report = json.dumps(fake.messages(CHANNEL)[-1])
    assert "only 2 people answered" in report and "Results withheld" in report
    assert (
        "median" not in report
        and "Level " not in report
        and "scores" not in report.replace("levels, scores", "")
    )


def test_the_next_interaction_after_the_deadline_closes_the_run(
    team: TeamFlow, fake: FakeSlack, clock: Clock, team_id: str
):
    open_run(team, team_id, "closes in 1 day")
    for number in range(3):
        answer_all(team, fake, team_id, f"U{number:02d}", 2)
    clock.now += DAY_SECONDS + 1
    late = click_run(team, fake, team_id, "U09", TAKE_PART_ACTION)
    assert "closed" in late.text() and "nothing was changed" in late.text()
    report = fake.messages(CHANNEL)[-1]
    assert "3 answered" in json.dumps(report)
    assert "at its deadline" in run_message(fake)["blocks"][1]["text"]["text"]
    assert team.runs.open_in(team_id, CHANNEL) is None


# Nudging ------------------------------------------------------------------------------------------


def test_a_nudge_reaches_the_members_who_have_not_answered_once_a_day(
    team: TeamFlow, fake: FakeSlack, team_id: str
):
    open_run(team, team_id)
    answer_all(team, fake, team_id, "U01", 3)
    fake.set_user("U0HELPER", is_bot=True)
    fake.set_user("U0GONE", deleted=True)
    fake.set_channel_members(CHANNEL, [STARTER, "U01", "U02", "U03", "U0HELPER", "U0GONE", "UBOT"])

    refused = click_run(team, fake, team_id, "U02", NUDGE_ACTION)
    assert f"Only <@{STARTER}>" in refused.text()
    assert fake.calls_to("conversations.members") == []

    nudged = click_run(team, fake, team_id, STARTER, NUDGE_ACTION)
    assert "reminder to 2 people" in nudged.text()
    assert "1 already answered" in nudged.text() and "3 bots or deactivated accounts skipped" in nudged.text()
    reached = {
        c.params["channel"] for c in fake.calls_to("chat.postMessage") if "reminder" in c.params["text"]
    }
    assert reached == {fake.dm_channel_id("U02"), fake.dm_channel_id("U03")}
    reminder = fake.messages(fake.dm_channel_id("U02"))[-1]
    assert [b.label for b in buttons_of(reminder)] == ["Take part"]

    again = click_run(team, fake, team_id, STARTER, NUDGE_ACTION)
    assert "less than a day ago" in again.text()
    assert len([c for c in fake.calls_to("chat.postMessage") if "reminder" in c.params["text"]]) == 2


def test_take_part_from_a_nudge_starts_the_members_questions(team: TeamFlow, fake: FakeSlack, team_id: str):
    open_run(team, team_id)
    run = team.runs.open_in(team_id, CHANNEL)
    assert run is not None
    fake.set_channel_members(CHANNEL, [STARTER, "U02"])
    click_run(team, fake, team_id, STARTER, NUDGE_ACTION)
    reminder = fake.messages(fake.dm_channel_id("U02"))[-1]
    (take_part,) = buttons_of(reminder)
    respond = Responses()
    team.take_part(
        BlockAction.of(
            body_for(team_id, "U02", fake.dm_channel_id("U02"), reminder["ts"]), action_for(take_part)
        ),
        respond,
    )
    assert f"I've sent the first question to our DM ({length(PULSE)})." in respond.text()
    session = team.sessions.get(Respondent(team_id=team_id, user_id="U02", run_id=run.run_id))
    assert session is not None
    assert keys.session(team_id, "U02", run.run_id) == session.respondent.session_key
