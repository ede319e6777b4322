"""The setup forms and the shortcut as ModalFlow runs them: the real flows and stores (fakeredis and a real
Redis), the shipped banks, and slack_sdk's WebClient talking HTTP to the fake Slack, which opens a modal only
for a fresh trigger. A refused submission is answered under its fields and leaves Redis as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from slack_sdk import WebClient

from bot.engine.catalog import BankCatalog
from bot.slack import modal_views, subcommands
from bot.slack.blocks import BlockLimitError
from bot.slack.modal_views import SCHEDULE_SETUP_CALLBACK, TEAM_SETUP_CALLBACK
from bot.slack.modals import SHORTCUT_NAME, ModalFlow, shortcut_started_text
from bot.slack.payloads import Shortcut, SlashCommand, ViewSubmission
from bot.slack.schedule import IN_A_DM as SCHEDULE_IN_A_DM
from bot.slack.schedule import ScheduleFlow
from bot.slack.team import NOT_IN_CHANNEL
from bot.store.schedules import ScheduleStore
from bot.store.sessions import Respondent, SessionStore
from playground.fakeslack import FakeSlack
from playground.fakeslack.signing import shortcut_payload, slash_command_fields, view_submission_payload
from playground.fakeslack.workspace import buttons_of, view_state
from tests.conftest import workspace_state
from tests.slack.wiring import wired_flows

CATALOG = BankCatalog.from_directory()
PERSON = "U0SETUP"
CHANNEL = "C0SETUP"
OTHER_CHANNEL = "C0ELSEWHERE"


class Recorder:
    """Stands in for Bolt's ack and respond: keeps what each was called with."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as running:
        running.set_user(PERSON, tz="Europe/Berlin")
        for channel in (CHANNEL, OTHER_CHANNEL):
            running.set_channel_members(channel, [PERSON])
        yield running


@pytest.fixture
def modals(store: SessionStore, fake: FakeSlack, team_id: str) -> Iterator[ModalFlow]:
    client = WebClient(token="xoxb-t", base_url=fake.base_url)
    assessments, team, _ = wired_flows(store, CATALOG, "mlops", client)
    schedules = ScheduleFlow(ScheduleStore(store.redis), CATALOG, assessments, client)
    yield ModalFlow(assessments, team, schedules, client)
    team.stop()


def command(
    fake: FakeSlack, team_id: str, text: str, channel: str = CHANNEL, age: float = 0.0
) -> SlashCommand:
    return SlashCommand.model_validate(
        slash_command_fields(
            text=text,
            user_id=PERSON,
            channel_id=channel,
            team_id=team_id,
            response_url=fake.new_response_url(channel_id=channel, user_id=PERSON),
            trigger_id=fake.issue_trigger(PERSON, age=age),
        )
    )


def open_form(modals: ModalFlow, fake: FakeSlack, team_id: str, text: str) -> dict[str, Any]:
    ack, respond = Recorder(), Recorder()
    modals.open_for_command(command(fake, team_id, text), ack, respond)
    assert ack.calls == [{}] and respond.calls == []
    [opened] = fake.open_modals(PERSON)
    return opened


def submit(opened: dict[str, Any], team_id: str, **entered: str | None) -> ViewSubmission:
    return ViewSubmission.of(
        view_submission_payload(
            view=opened, state_values=view_state(opened, entered), user_id=PERSON, team_id=team_id
        )
    )


def posts(fake: FakeSlack, *methods: str) -> list[dict[str, Any]]:
    return [call.params for call in fake.calls if call.method in methods and call.ok]


# Opening -----------------------------------------------------------------------------------------


def test_team_alone_opens_the_team_form_with_the_commands_trigger(
    modals: ModalFlow, fake: FakeSlack, team_id: str
) -> None:
    opened = open_form(modals, fake, team_id, "team")
    assert opened["callback_id"] == TEAM_SETUP_CALLBACK
    channel = next(b for b in opened["blocks"] if b.get("block_id") == "channel")
    assert channel["element"]["initial_conversation"] == CHANNEL
    age = fake.trigger_age_when_exchanged(fake.calls_to("views.open")[0].params["trigger_id"])
    assert age is not None and age < 3


def test_schedule_alone_opens_the_schedule_form(modals: ModalFlow, fake: FakeSlack, team_id: str) -> None:
    assert open_form(modals, fake, team_id, "SCHEDULE")["callback_id"] == SCHEDULE_SETUP_CALLBACK


def test_a_schedule_form_from_a_dm_is_refused_at_once(
    modals: ModalFlow, fake: FakeSlack, team_id: str
) -> None:
    ack, respond = Recorder(), Recorder()
    modals.open_for_command(command(fake, team_id, "schedule", channel="D0DIRECT"), ack, respond)
    assert ack.calls == [{"text": SCHEDULE_IN_A_DM}]
    assert fake.calls_to("views.open") == []


def test_an_expired_trigger_says_the_form_did_not_open_and_what_to_type(
    modals: ModalFlow, fake: FakeSlack, team_id: str
) -> None:
    ack, respond = Recorder(), Recorder()
    modals.open_for_command(command(fake, team_id, "team", age=4.0), ack, respond)
    assert ack.calls == [{}]
    [said] = respond.calls
    assert said["response_type"] == "ephemeral"
    assert "I couldn't open the form: Slack refused it (`expired_trigger_id`)" in said["text"]
    assert (
        "Nothing was set up; type it instead: `/mlops-compass team [bank] [closes in N days]`" in said["text"]
    )
    assert fake.open_modals(PERSON) == []


def test_a_form_that_breaks_slacks_limits_is_said_not_opened(
    modals: ModalFlow, fake: FakeSlack, team_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def too_big(*_: object) -> dict[str, object]:
        raise BlockLimitError("101 blocks; a modal holds 100")

    monkeypatch.setattr(modal_views, "team_setup_view", too_big)
    ack, respond = Recorder(), Recorder()
    modals.open_for_command(command(fake, team_id, "team"), ack, respond)
    assert ack.calls == [{}]  # Slack had its acknowledgement first
    [said] = respond.calls
    assert "it breaks one of Slack's message limits" in said["text"] and "type it instead" in said["text"]
    assert fake.calls_to("views.open") == []


# The team form -----------------------------------------------------------------------------------


def test_a_team_submission_opens_the_run_and_tells_the_starter_there(
    modals: ModalFlow, fake: FakeSlack, team_id: str
) -> None:
    opened = open_form(modals, fake, team_id, "team")
    ack = Recorder()
    modals.team_submitted(ack, submit(opened, team_id, bank="pulse", days="3", channel=OTHER_CHANNEL))
    assert ack.calls == [{}]
    run = modals.team.runs.open_in(team_id, OTHER_CHANNEL)
    assert run is not None and (run.bank_id, run.starter_id) == ("pulse", PERSON)
    assert round((run.deadline - run.created_at) / 86400) == 3
    [run_message] = fake.messages(OTHER_CHANNEL)
    assert [b.label for b in buttons_of(run_message)] == ["Take part", "Nudge", "Close & show results"]
    [note] = posts(fake, "chat.postEphemeral")
    assert (note["channel"], note["user"]) == (OTHER_CHANNEL, PERSON)
    assert note["text"].startswith("Your team run is posted in this channel and closes")


def test_a_team_run_in_a_channel_without_the_bot_is_explained_by_dm(
    modals: ModalFlow, fake: FakeSlack, team_id: str
) -> None:
    fake.set_not_in_channel(OTHER_CHANNEL)
    opened = open_form(modals, fake, team_id, "team")
    modals.team_submitted(Recorder(), submit(opened, team_id, channel=OTHER_CHANNEL))
    assert modals.team.runs.open_in(team_id, OTHER_CHANNEL) is None
    [told] = fake.messages(fake.dm_channel_id(PERSON))
    assert told["text"] == f"About <#{OTHER_CHANNEL}>, where I couldn't show you this: {NOT_IN_CHANNEL}"


# The schedule form -------------------------------------------------------------------------------


def test_a_schedule_submission_creates_it_as_the_typed_command_does(
    modals: ModalFlow, fake: FakeSlack, team_id: str
) -> None:
    opened = open_form(modals, fake, team_id, "schedule")
    ack = Recorder()
    entered = {"rule": "monthly", "time": "09:30", "bank_choice": "full", "audience": "team"}
    modals.schedule_submitted(ack, submit(opened, team_id, **entered))
    assert ack.calls == [{}]
    [(record, next_run)] = modals.schedules.store.in_channel(team_id, CHANNEL)
    assert (record.kind, record.rule.cron, record.bank_id, record.team_run) == (
        "monthly",
        "30 9 * * 1#1",
        "mlops",
        True,
    )
    assert (record.creator_id, record.time_zone) == (PERSON, "Europe/Berlin") and next_run is not None
    [announced] = fake.messages(CHANNEL)
    assert announced["text"].startswith(
        f"<@{PERSON}> scheduled a monthly MLOps Maturity Assessment (a team run)"
    )


def test_a_custom_cron_from_the_form_is_kept_as_written(
    modals: ModalFlow, fake: FakeSlack, team_id: str
) -> None:
    opened = open_form(modals, fake, team_id, "schedule")
    modals.schedule_submitted(Recorder(), submit(opened, team_id, rule="cron", cron="0 10 1 */3 *"))
    [(record, _)] = modals.schedules.store.in_channel(team_id, CHANNEL)
    assert (record.kind, record.rule.cron, record.bank_id, record.team_run) == (
        "cron",
        "0 10 1 */3 *",
        "pulse",
        False,
    )


@pytest.mark.parametrize(
    ("form", "entered", "field"),
    [
        ("team", {"days": "45"}, "days"),
        ("team", {"channel": "D0DIRECT"}, "channel"),
        ("team", {"bank": "gone"}, "bank"),
        ("schedule", {"rule": "cron", "cron": "*/10 * * * *"}, "cron"),
        ("schedule", {"rule": "cron"}, "cron"),
        ("schedule", {"rule": "cron", "cron": "0 9 * * 1", "time": "09:00"}, "time"),
        ("schedule", {"cron": "0 9 * * 1"}, "cron"),
    ],
)
def test_a_bad_submission_is_answered_under_its_field_and_changes_nothing(
    modals: ModalFlow,
    fake: FakeSlack,
    team_id: str,
    redis_client: redis.Redis,
    form: str,
    entered: dict[str, str | None],
    field: str,
) -> None:
    opened = open_form(modals, fake, team_id, form)
    before, calls_before = workspace_state(redis_client, team_id), len(fake.calls)
    ack = Recorder()
    submitted = modals.team_submitted if form == "team" else modals.schedule_submitted
    submitted(ack, submit(opened, team_id, **entered))
    [answer] = ack.calls
    assert answer["response_action"] == "errors" and list(answer["errors"]) == [field], answer
    assert workspace_state(redis_client, team_id) == before
    assert fake.calls[calls_before:] == []


def test_a_schedule_form_that_lost_its_channel_is_refused(
    modals: ModalFlow, fake: FakeSlack, team_id: str, redis_client: redis.Redis
) -> None:
    opened = open_form(modals, fake, team_id, "schedule")
    before = workspace_state(redis_client, team_id)
    tampered = {**opened, "private_metadata": "{}"}
    ack = Recorder()
    modals.schedule_submitted(ack, submit(tampered, team_id))
    assert ack.calls[0]["response_action"] == "errors"
    assert workspace_state(redis_client, team_id) == before


def test_a_schedule_where_the_bot_is_not_is_explained_by_dm(
    modals: ModalFlow, fake: FakeSlack, team_id: str
) -> None:
    opened = open_form(modals, fake, team_id, "schedule")
    fake.set_not_in_channel(CHANNEL)
    modals.schedule_submitted(Recorder(), submit(opened, team_id))
    assert modals.schedules.store.in_channel(team_id, CHANNEL) == []
    [told] = fake.messages(fake.dm_channel_id(PERSON))
    assert told["text"].startswith(
        f"About <#{CHANNEL}>, where I couldn't show you this: I'm not in this channel"
    )


# The shortcut ------------------------------------------------------------------------------------


def test_the_shortcut_starts_an_assessment_in_the_dm_and_says_so_there(
    modals: ModalFlow, fake: FakeSlack, team_id: str, store: SessionStore
) -> None:
    modals.start_from_shortcut(
        Shortcut.of(shortcut_payload(callback_id="start_assessment", user_id=PERSON, team_id=team_id))
    )
    dm = fake.dm_channel_id(PERSON)
    question, note = fake.messages(dm)
    assert any(b.action_id == "answer" for b in buttons_of(question))
    assert note["text"] == shortcut_started_text(CATALOG.get("mlops"))
    record = store.get(Respondent(team_id=team_id, user_id=PERSON))
    # The report's channel is the DM itself, so it stays there.
    assert record is not None and record.origin_channel == record.dm_channel == dm


def test_the_shortcut_during_an_assessment_offers_resume_in_the_dm(
    modals: ModalFlow, fake: FakeSlack, team_id: str
) -> None:
    body = Shortcut.of(shortcut_payload(callback_id="start_assessment", user_id=PERSON, team_id=team_id))
    modals.start_from_shortcut(body)
    modals.start_from_shortcut(body)
    offered = fake.messages(fake.dm_channel_id(PERSON))[-1]
    assert [b.label for b in buttons_of(offered)] == ["Resume", "Start over"]
    assert "in progress" in json.dumps(offered)


def test_help_tells_of_the_forms_and_the_shortcut() -> None:
    text = subcommands.help_message(CATALOG.banks, CATALOG.get("mlops")).text
    assert "`/mlops-compass team` or `/mlops-compass schedule` alone opens a form" in text
    assert f"*{SHORTCUT_NAME}*" in text
