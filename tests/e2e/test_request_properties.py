"""Any text in any field: signed slash commands and button clicks sent through the running app (started
once for the module), with every field a person or a workspace controls drawn as arbitrary text, words
that are Slack's own field names included. Each request must be acknowledged as Slack expects and reach
the listener its command or button names, whose answer follows on the request's response_url.

REQUEST_PROPERTY_EXAMPLES sets how many examples each property draws (default 100)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.engine.catalog import BankCatalog, UnknownBank
from bot.slack import blocks
from bot.slack.assessment import STARTING, full_started_text, started_text
from bot.slack.replies import UNRECOGNISED_BUTTON
from bot.slack.subcommands import BadStart, parse_start
from bot.slack.values import QuestionButton, SessionButton
from bot.store import keys
from playground.fakeslack import FakeSlack, RecordedCall, block_actions_payload, slash_command_fields
from playground.fakeslack.app_process import AppProcess, app_process
from playground.fakeslack.workspace import Acknowledgement, HttpTransport
from tests.conftest import REAL_REDIS_URL, real_redis
from tests.e2e.conftest import MEASURED, SIGNING_SECRET, app_env

CATALOG = BankCatalog.from_directory()
DEFAULT_BANK = "mlops"
# The bank a forged Start over button asks for.
START_OVER_BANK = "pulse"
# Slack's own field names, and text shaped like its encodings, which a parser could mistake for its own.
SLACK_WORDS = [
    "token", "command", "payload", "type", "actions", "trigger_id", "text", "team_id", "user_id",
    "response_url", "block_actions", "view_submission", "ssl_check", "challenge", "url_verification",
    "payload=", "payload={}", 'payload={"type":"block_actions"}', "token=x&command=/other", "&", "=", "%",
    "%26payload%3D", "{", '{"type": "event_callback"}', "[]", "null", "+", "\\", "\x00", " ",
]  # fmt: skip
SUBCOMMANDS = ["", "start", "START", "resume", "cancel", "banks", "help", "Help", "start pulse"]
MAX_EXAMPLES = int(os.environ.get("REQUEST_PROPERTY_EXAMPLES", "100"))
ACK_SECONDS: list[float] = []
# Each example is a real HTTP round trip to the app: no deadline per example.
PROPERTY_SETTINGS = settings(
    max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
slack_word = st.sampled_from(SLACK_WORDS)
field_text = st.one_of(
    any_text,
    slack_word,
    st.lists(st.one_of(slack_word, any_text), min_size=2, max_size=4).map(" ".join),
)
command_text = st.one_of(
    field_text,
    st.tuples(st.sampled_from(SUBCOMMANDS), field_text).map(" ".join),
    st.tuples(st.sampled_from(["start", "resume", "cancel"]), slack_word).map(" ".join),
)


@dataclass(frozen=True)
class Workspace:
    fake: FakeSlack
    app: AppProcess
    transport: HttpTransport
    teams: list[str]

    def __repr__(self) -> str:  # hypothesis prints it with every failing example
        return f"Workspace(app at {self.app.url})"

    def new_team(self) -> str:
        team_id = "T" + uuid.uuid4().hex[:10].upper()
        self.teams.append(team_id)
        return team_id

    def response_to(self, response_url: str, timeout: float = 10.0) -> RecordedCall:
        response_id = response_url.rsplit("/", 1)[1]
        return self.fake.wait_for("response_url", lambda c: c.params.get("_id") == response_id, timeout)


@pytest.fixture(scope="module")
def workspace() -> Iterator[Workspace]:
    real_redis()
    with FakeSlack() as fake, app_process(app_env(fake, REAL_REDIS_URL)) as app:
        teams: list[str] = []
        yield Workspace(fake, app, HttpTransport(app.events_url, SIGNING_SECRET), teams)
        client = redis.Redis.from_url(REAL_REDIS_URL)
        ours = {keys.workspace_pattern(team_id).removesuffix("*") for team_id in teams}
        written = [
            key
            for key in client.scan_iter(match=f"{keys.PREFIX}:*", count=1000)
            if key.decode().split("}:", 1)[0] + "}:" in ours
        ]
        if written:
            client.delete(*written)
    if ACK_SECONDS:
        MEASURED.append(
            f"request properties: {len(ACK_SECONDS)} requests, slowest acknowledgement "
            f"{max(ACK_SECONDS) * 1000:.0f} ms"
        )


def section_text(payload: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in payload.get("blocks") or [] if b.get("type") == "section")


def acknowledged(ack: Acknowledgement) -> None:
    """Slack wants a 200 for every request it sends; anything else shows the person an error."""
    ACK_SECONDS.append(ack.elapsed)
    assert ack.status == 200, (ack.status, ack.body)


# Slash commands ---------------------------------------------------------------------------------


def expected_command_outcome(text: str) -> tuple[str | None, str | None]:
    """(what the acknowledgement says, what follows on the response_url) for a fresh person."""
    words = text.split()
    subcommand = words[0].lower() if words else "start"
    if subcommand == "help":
        return "measures how mature your MLOps practice is", None
    if subcommand == "banks":
        return "*Question banks*", None
    if subcommand == "start":
        try:
            request = parse_start(words[1:])
            chosen = CATALOG.by_id(request.bank_id or DEFAULT_BANK)
        except BadStart as error:
            return str(error), None
        except UnknownBank as error:
            return blocks.escape(str(error)), None
        return STARTING, (full_started_text if request.full else started_text)(chosen)
    if subcommand in ("resume", "cancel"):
        return "", "You have no assessment in progress"
    return "I don't know `", None


@PROPERTY_SETTINGS
@given(
    text=command_text,
    user_name=field_text,
    channel_name=field_text,
    team_domain=field_text,
    enterprise_name=st.none() | field_text,
)
# What this property found first: Bolt read any form mentioning "payload" as a click with no payload.
@example(text="", user_name="", channel_name="", team_domain="payload", enterprise_name=None)
@example(text="start payload", user_name="payload", channel_name="", team_domain="", enterprise_name=None)
def test_any_slash_command_text_is_acknowledged_and_routed(
    workspace: Workspace,
    text: str,
    user_name: str,
    channel_name: str,
    team_domain: str,
    enterprise_name: str | None,
) -> None:
    team_id = workspace.new_team()
    response_url = workspace.fake.new_response_url(channel_id="C0GENERAL", user_id="U0PERSON")
    fields = slash_command_fields(
        text=text,
        user_id="U0PERSON",
        user_name=user_name,
        channel_id="C0GENERAL",
        channel_name=channel_name,
        team_id=team_id,
        team_domain=team_domain,
        response_url=response_url,
    )
    if enterprise_name is not None:
        fields |= {"enterprise_id": "E0001", "enterprise_name": enterprise_name}

    ack = workspace.transport.slash_command(fields)

    acknowledged(ack)
    in_ack, follows = expected_command_outcome(text)
    assert in_ack is not None
    if in_ack == "":
        assert ack.text == ""
    elif in_ack.startswith("I don't know"):
        assert ack.text.startswith(in_ack), ack.text
    elif in_ack in (STARTING,) or in_ack.startswith(("no question bank", "I read `start")):
        assert ack.text == in_ack
    else:
        assert in_ack in section_text(ack.payload or {}), ack.payload
    if follows is not None:
        assert follows in section_text(workspace.response_to(response_url).params)


# Button clicks ----------------------------------------------------------------------------------

ACTIONS = ["answer", "answer:other", "back", "cancel", "resume", "start_over"]


def expected_click_reply(action_id: str, well_formed: bool) -> str:
    if not well_formed:
        return UNRECOGNISED_BUTTON
    if action_id == "resume":
        return "You have no assessment in progress"
    if action_id == "start_over":
        return started_text(CATALOG.get(START_OVER_BANK))
    # A question button of this person's, from an assessment the store does not hold (a fresh workspace).
    return "I no longer have this assessment, so nothing was changed"


def button_value(action_id: str, user_id: str) -> str:
    if action_id in ("resume", "start_over"):
        return SessionButton(u=user_id, b=START_OVER_BANK if action_id == "start_over" else None).encode()
    question = CATALOG.get(DEFAULT_BANK).questions[0].id
    answer = 0 if action_id.startswith("answer") else None
    return QuestionButton(u=user_id, s="a1b2c3d4e5f6", q=question, a=answer).encode()


@PROPERTY_SETTINGS
@given(
    action_id=st.sampled_from(ACTIONS),
    forged_value=st.none() | field_text,
    user_name=field_text,
    team_domain=field_text,
    channel_name=field_text,
    message_text=field_text,
    button_text=field_text.filter(bool),
)
def test_any_click_is_acknowledged_and_routed(
    workspace: Workspace,
    action_id: str,
    forged_value: str | None,
    user_name: str,
    team_domain: str,
    channel_name: str,
    message_text: str,
    button_text: str,
) -> None:
    team_id = workspace.new_team()
    user_id = "U0PERSON"
    channel = workspace.fake.dm_channel_id(user_id)
    response_url = workspace.fake.new_response_url(channel_id=channel, user_id=user_id)
    value = button_value(action_id, user_id) if forged_value is None else forged_value
    payload = block_actions_payload(
        user_id=user_id,
        user_name=user_name,
        team_id=team_id,
        team_domain=team_domain,
        channel_id=channel,
        channel_name=channel_name,
        message_ts="1700000000.000100",
        message_text=message_text,
        action_id=action_id,
        value=value,
        button_text=button_text,
        response_url=response_url,
        # The answers are radio options: Slack sends the option chosen, not a button value.
        element_type="radio_buttons" if action_id.startswith("answer") else "button",
    )

    ack = workspace.transport.interaction(payload)

    acknowledged(ack)
    assert ack.body == "", "a click is acknowledged with an empty body"
    # Arbitrary text is never a button value the app made (those are JSON of a fixed shape).
    reply = section_text(workspace.response_to(response_url).params)
    assert expected_click_reply(action_id, well_formed=forged_value is None) in reply, reply
