"""Modals in the fake Slack: views.open takes only a fresh trigger id the fake issued (at most 3 seconds old,
used once) and refuses the views Slack refuses; SlackUser submits a modal and chooses a shortcut as Slack
sends them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.views import View
from slack_sdk.webhook import WebhookClient

from playground.fakeslack import FakeSlack, SlackRequestBody
from playground.fakeslack.views import TRIGGER_LIFETIME_SECONDS
from playground.fakeslack.workspace import Acknowledgement, SlackUser, view_state

USER = "U0MODAL"


def form(title: str = "Start a team run", submit: str = "Start") -> dict[str, Any]:
    view = View(
        type="modal",
        callback_id="form",
        private_metadata='{"c": "C1"}',
        title=title,
        submit=submit,
        close="Cancel",
        blocks=[
            InputBlock(
                block_id="bank",
                label="Bank",
                element=StaticSelectElement(
                    action_id="choose",
                    options=[Option(text="Full", value="mlops"), Option(text="Pulse", value="pulse")],
                    initial_option=Option(text="Full", value="mlops"),
                ),
            ),
            InputBlock(
                block_id="cron", label="Cron", optional=True, element=PlainTextInputElement(action_id="v")
            ),
            InputBlock(
                block_id="at", label="Time", element=TimePickerElement(action_id="t", initial_time="10:00")
            ),
            InputBlock(
                block_id="who",
                label="Who",
                element=RadioButtonsElement(
                    action_id="r", options=[Option(text="Me", value="me"), Option(text="Team", value="team")]
                ),
            ),
        ],
    )
    return view.to_dict()


def refusal(call: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()
    return str(raised.value.response["error"])


def test_a_fresh_trigger_opens_the_modal_once(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.issue_trigger(USER)
    opened = client.views_open(trigger_id=trigger, view=form())["view"]
    assert opened["id"].startswith("V") and opened["root_view_id"] == opened["id"]
    assert (opened["callback_id"], opened["private_metadata"]) == ("form", '{"c": "C1"}')
    assert opened["state"] == {"values": {}} and opened["title"]["text"] == "Start a team run"
    assert fake.open_modals(USER) == [opened]
    age = fake.trigger_age_when_exchanged(trigger)
    assert age is not None and 0 <= age < 1
    # Slack exchanges a trigger for one view only.
    assert refusal(lambda: client.views_open(trigger_id=trigger, view=form())) == "exchanged_trigger_id"
    assert len(fake.open_modals(USER)) == 1


def test_a_trigger_older_than_three_seconds_has_expired(fake: FakeSlack, client: WebClient) -> None:
    stale = fake.issue_trigger(USER, age=4.0)
    assert refusal(lambda: client.views_open(trigger_id=stale, view=form())) == "expired_trigger_id"
    assert fake.open_modals(USER) == [] and fake.trigger_age_when_exchanged(stale) is None
    # Just inside the window it still opens.
    client.views_open(trigger_id=fake.issue_trigger(USER, age=TRIGGER_LIFETIME_SECONDS - 0.5), view=form())
    assert len(fake.open_modals(USER)) == 1


def test_a_trigger_the_fake_never_issued_is_invalid(fake: FakeSlack, client: WebClient) -> None:
    assert (
        refusal(lambda: client.views_open(trigger_id="12345.98765.abcd", view=form())) == "invalid_trigger_id"
    )
    assert fake.open_modals(USER) == []


def test_reset_forgets_the_triggers(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.issue_trigger(USER)
    fake.reset()
    assert refusal(lambda: client.views_open(trigger_id=trigger, view=form())) == "invalid_trigger_id"


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (
            lambda v: v.update(title={"type": "plain_text", "text": "A title of 25 characters!"}),
            "/view/title",
        ),
        (lambda v: v.update(submit={"type": "plain_text", "text": "x" * 25}), "/view/submit"),
        (lambda v: v.update(close={"type": "plain_text", "text": "x" * 25}), "/view/close"),
        (lambda v: v.update(type="home"), "/view/type"),
        (lambda v: v.pop("title"), "/view/title"),
        (lambda v: v.pop("submit"), "/view/submit"),
        (
            lambda v: v.update(blocks=[SectionBlock(text=str(n)).to_dict() for n in range(101)]),
            "/view/blocks",
        ),
        (lambda v: v.update(blocks=[{"type": "tabletop"}]), "/view/blocks/0"),
        (lambda v: v["blocks"].append(dict(v["blocks"][0])), "/view/blocks/4"),
        (lambda v: v["blocks"][0]["element"]["options"][0]["text"].update(text="x" * 76), "/view/blocks/0"),
        (lambda v: v.update(private_metadata="x" * 3001), "/view/private_metadata"),
    ],
)
def test_views_slack_refuses_are_refused_and_keep_the_trigger(
    fake: FakeSlack, client: WebClient, change: Any, pointer: str
) -> None:
    view = form()
    change(view)
    trigger = fake.issue_trigger(USER)
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id=trigger, view=view)
    assert raised.value.response["error"] == "invalid_arguments"
    assert f"[json-pointer:{pointer}" in json.dumps(raised.value.response["response_metadata"])
    assert fake.open_modals(USER) == []
    client.views_open(trigger_id=trigger, view=form())  # the refused view did not use the trigger up


class RecordingTransport:
    """Receives what SlackUser sends instead of an app, and answers with `answer`."""

    def __init__(self, answer: dict[str, Any] | None = None) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.answer = answer

    def slash_command(self, fields: dict[str, str], timestamp: int | None = None) -> Acknowledgement:
        self.payloads.append(dict(fields))
        return Acknowledgement(200, "", {}, 0.0, None)

    def interaction(self, payload: dict[str, Any], timestamp: int | None = None) -> Acknowledgement:
        self.payloads.append(payload)
        return Acknowledgement(200, json.dumps(self.answer or {}), {}, 0.0, self.answer)

    def event(self, body: SlackRequestBody, retry_num: int | None = None) -> Acknowledgement:
        self.payloads.append(json.loads(body.body))
        return Acknowledgement(200, "", {}, 0.0, None)


def test_submit_view_sends_the_view_and_its_values_as_slack_does(fake: FakeSlack, client: WebClient) -> None:
    transport = RecordingTransport()
    person = SlackUser(fake, transport, user_id=USER)
    person.command("team")
    command_trigger = transport.payloads[-1]["trigger_id"]
    client.views_open(trigger_id=command_trigger, view=form())
    opened = person.modal()

    person.submit_view(opened, {"cron": "0 10 1 */3 *", "who": "team"})

    payload = transport.payloads[-1]
    assert payload["type"] == "view_submission"
    assert payload["user"]["id"] == USER and payload["team"]["id"] == fake.team_id
    assert payload["trigger_id"] not in (command_trigger, None)
    view = payload["view"]
    assert (view["id"], view["callback_id"], view["private_metadata"]) == (
        opened["id"],
        "form",
        '{"c": "C1"}',
    )
    assert view["state"]["values"] == {
        # Untouched fields carry what the view showed first, as in Slack.
        "bank": {
            "choose": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Full", "emoji": True},
                    "value": "mlops",
                },
            }
        },
        "cron": {"v": {"type": "plain_text_input", "value": "0 10 1 */3 *"}},
        "at": {"t": {"type": "timepicker", "selected_time": "10:00"}},
        "who": {
            "r": {
                "type": "radio_buttons",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Team", "emoji": True},
                    "value": "team",
                },
            }
        },
    }
    # Accepted without errors: Slack closes the modal.
    assert fake.open_modals(USER) == []


def test_a_submission_answered_with_errors_keeps_the_modal_open(fake: FakeSlack, client: WebClient) -> None:
    errors = {"response_action": "errors", "errors": {"cron": "Five fields, please."}}
    person = SlackUser(fake, RecordingTransport(errors), user_id=USER)
    client.views_open(trigger_id=fake.issue_trigger(USER), view=form())
    answer = person.submit_view(person.modal(), {"cron": "every day", "at": None})
    assert answer.payload == errors
    assert [view["callback_id"] for view in fake.open_modals(USER)] == ["form"]


def test_view_state_refuses_fields_the_view_does_not_have() -> None:
    with pytest.raises(ValueError, match="no input blocks"):
        view_state(form(), {"deadline": "3"})
    state = view_state(form(), {"who": None, "at": None})
    assert state["who"]["r"]["selected_option"] is None and state["at"]["t"]["selected_time"] is None


def test_a_shortcut_comes_with_a_fresh_trigger_and_no_channel(fake: FakeSlack, client: WebClient) -> None:
    transport = RecordingTransport()
    SlackUser(fake, transport, user_id=USER).shortcut("start_assessment")
    [payload] = transport.payloads
    assert payload["type"] == "shortcut" and payload["callback_id"] == "start_assessment"
    assert payload["user"]["id"] == USER and "channel" not in payload and "response_url" not in payload
    client.views_open(trigger_id=payload["trigger_id"], view=form())
    assert len(fake.open_modals(USER)) == 1


def test_every_click_and_command_carries_its_own_trigger(fake: FakeSlack) -> None:
    transport = RecordingTransport()
    person = SlackUser(fake, transport, user_id=USER)
    person.command("")
    person.command("team")
    triggers = [payload["trigger_id"] for payload in transport.payloads]
    assert len(set(triggers)) == 2 and person.last_trigger_id == triggers[-1]


def test_reply_is_the_answer_to_the_latest_request_not_an_earlier_ones(fake: FakeSlack) -> None:
    transport = RecordingTransport()
    person = SlackUser(fake, transport, user_id=USER)
    person.command("start")
    person.command("history")
    earlier, latest = (payload["response_url"] for payload in transport.payloads)
    # The app answers the latest request first; the earlier one's answer arrives after it.
    WebhookClient(latest).send(text="your history")
    WebhookClient(earlier).send(text="I've sent the first question")
    assert person.reply().params["text"] == "your history"
    with pytest.raises(AssertionError):
        person.reply(lambda call: "first question" in call.params["text"], timeout=0.2)
