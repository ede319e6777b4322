"""A person in the fake workspace: types the slash command and clicks buttons, each sent to the app exactly
as Slack sends it, and reads back what the app posted to the fake Web API.

Requests travel the way the app is set up to receive them: POSTed to its Request URL and signed with
the signing secret (``HttpTransport``), or as envelopes over the app's Socket Mode WebSocket
(``SocketModeTransport``). The playground and the end-to-end tests both drive the real app through this.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from playground.fakeslack.server import FakeSlack, RecordedCall
from playground.fakeslack.signing import (
    SignedResponse,
    SlackRequestBody,
    SlackRequestSigner,
    block_actions_payload,
    event_body,
    form_body,
    interaction_body,
    post_signed,
    shortcut_payload,
    slash_command_fields,
    view_submission_payload,
)
from playground.fakeslack.socket_mode import (
    EVENTS_API,
    INTERACTIVE,
    SLASH_COMMANDS,
    Envelope,
    SocketModeEndpoint,
)

COMMAND = "/mlops-compass"
# What the app does after acknowledging a request lands on one of these.
REACTIONS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")
# The action of the offer's Keep going button (the app's bot/slack/values.py names it too).
KEEP_GOING = "keep_going"


@dataclass(frozen=True)
class Acknowledgement:
    """How the app answered one request, whichever way it travelled.

    ``status`` is the HTTP status; over Socket Mode it is 200 once the envelope was acknowledged in time
    and 0 when it was not. ``payload`` is what Slack shows the person from the answer, if anything.
    """

    status: int
    body: str
    headers: dict[str, str]
    elapsed: float
    payload: dict[str, Any] | None

    @property
    def acked(self) -> bool:
        return self.status == 200

    @property
    def text(self) -> str:
        return str((self.payload or {}).get("text") or "")

    @classmethod
    def from_http(cls, response: SignedResponse) -> Acknowledgement:
        content_type = next((v for k, v in response.headers.items() if k.lower() == "content-type"), "")
        payload: dict[str, Any] | None = None
        if content_type.startswith("application/json") and response.body:
            payload = json.loads(response.body)
        elif response.body:
            payload = {"text": response.body}
        return cls(response.status, response.body, response.headers, response.elapsed, payload)

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> Acknowledgement:
        payload = envelope.response_payload or None
        body = json.dumps(payload) if payload is not None else ""
        elapsed = envelope.elapsed if envelope.elapsed is not None else 0.0
        return cls(200 if envelope.acked else 0, body, {}, elapsed, payload)


class Transport(Protocol):
    def slash_command(self, fields: dict[str, str], timestamp: int | None = None) -> Acknowledgement: ...

    def interaction(self, payload: dict[str, Any], timestamp: int | None = None) -> Acknowledgement: ...

    def event(self, body: SlackRequestBody, retry_num: int | None = None) -> Acknowledgement: ...


class HttpTransport:
    """POSTs to the app's Request URL, signed as Slack signs (``timestamp`` overrides the signing time)."""

    def __init__(self, url: str, signing_secret: str) -> None:
        self.url = url
        self.signer = SlackRequestSigner(signing_secret)

    def slash_command(self, fields: dict[str, str], timestamp: int | None = None) -> Acknowledgement:
        body = form_body(fields)
        return Acknowledgement.from_http(post_signed(self.url, *body, self.signer, timestamp=timestamp))

    def interaction(self, payload: dict[str, Any], timestamp: int | None = None) -> Acknowledgement:
        body = interaction_body(payload)
        return Acknowledgement.from_http(post_signed(self.url, *body, self.signer, timestamp=timestamp))

    def event(self, body: SlackRequestBody, retry_num: int | None = None) -> Acknowledgement:
        """An Events API callback; a `retry_num` sends it as Slack's retry of the same event."""
        retry = None
        if retry_num is not None:
            retry = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return Acknowledgement.from_http(post_signed(self.url, *body, self.signer, extra_headers=retry))


class SocketModeTransport:
    """Envelopes over the app's Socket Mode connection; Socket Mode requests carry no signature."""

    def __init__(self, endpoint: SocketModeEndpoint) -> None:
        self.endpoint = endpoint

    def slash_command(self, fields: dict[str, str], timestamp: int | None = None) -> Acknowledgement:
        return Acknowledgement.from_envelope(self.endpoint.deliver(SLASH_COMMANDS, fields))

    def interaction(self, payload: dict[str, Any], timestamp: int | None = None) -> Acknowledgement:
        return Acknowledgement.from_envelope(self.endpoint.deliver(INTERACTIVE, payload))

    def event(self, body: SlackRequestBody, retry_num: int | None = None) -> Acknowledgement:
        # A retry over Socket Mode is the same envelope payload again: the same event_id.
        return Acknowledgement.from_envelope(self.endpoint.deliver(EVENTS_API, json.loads(body.body)))


@dataclass(frozen=True)
class Button:
    """Something a person can click once: a button, or one option of a radio button group or a menu."""

    action_id: str
    block_id: str
    value: str
    label: str
    element_type: str = "button"
    chosen: bool = False  # a radio option shown as already chosen (initial_option)


def buttons_of(message: dict[str, Any]) -> list[Button]:
    found = []
    for block in message.get("blocks") or []:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", []):
            if element.get("type") == "button":
                found.append(
                    Button(
                        action_id=element["action_id"],
                        block_id=block.get("block_id", ""),
                        value=element.get("value", ""),
                        label=element["text"]["text"],
                    )
                )
            elif element.get("type") == "radio_buttons":
                initial = (element.get("initial_option") or {}).get("value")
                found += [
                    Button(
                        action_id=element["action_id"],
                        block_id=block.get("block_id", ""),
                        value=option["value"],
                        label=option["text"]["text"],
                        element_type="radio_buttons",
                        chosen=option["value"] == initial,
                    )
                    for option in element.get("options", [])
                ]
    return found


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _chosen_option(element: dict[str, Any], value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    offered = [*element.get("options", [])]
    for group in element.get("option_groups", []):
        offered += group.get("options", [])
    found = next((option for option in offered if option.get("value") == value), None)
    return found if found is not None else {"text": _plain(value), "value": value}


# Each input element Slack lets a person fill in: the field its state reports, and the field of the element
# holding what it shows first (a selected option for the selects and radio buttons, a plain value otherwise).
_INPUT_FIELDS: dict[str, tuple[str, str]] = {
    "static_select": ("selected_option", "initial_option"),
    "radio_buttons": ("selected_option", "initial_option"),
    "plain_text_input": ("value", "initial_value"),
    "number_input": ("value", "initial_value"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "users_select": ("selected_user", "initial_user"),
    "timepicker": ("selected_time", "initial_time"),
}


def _element_state(element: dict[str, Any], entered: str | None, filled: bool) -> dict[str, Any]:
    kind = element["type"]
    if kind not in _INPUT_FIELDS:
        raise ValueError(f"a person cannot fill in a {kind} here yet")
    state_field, initial_field = _INPUT_FIELDS[kind]
    initial = element.get(initial_field)
    if state_field == "selected_option":
        value = entered if filled else (initial or {}).get("value")
        return {"type": kind, state_field: _chosen_option(element, value)}
    value = entered if filled else initial
    return {"type": kind, state_field: None if value is None else str(value)}


def view_state(view: Mapping[str, Any], entered: Mapping[str, str | None]) -> dict[str, dict[str, Any]]:
    """``state.values`` as Slack sends it when a person submits `view`: for each input block, by block_id
    and action_id, what they `entered` there (None: they cleared it), else what the view showed first."""
    inputs = {block["block_id"]: block for block in view.get("blocks", []) if block.get("type") == "input"}
    unknown = set(entered) - set(inputs)
    if unknown:
        raise ValueError(f"the view has no input blocks {sorted(unknown)}; it has {sorted(inputs)}")
    values: dict[str, dict[str, Any]] = {}
    for block_id, block in inputs.items():
        element = block["element"]
        state = _element_state(element, entered.get(block_id), filled=block_id in entered)
        values[block_id] = {element["action_id"]: state}
    return values


class SlackUser:
    def __init__(
        self,
        fake: FakeSlack,
        transport: Transport,
        user_id: str = "U0PLAYER",
        user_name: str = "player",
        channel_id: str = "C0GENERAL",
        channel_name: str = "general",
        team_id: str | None = None,
    ):
        self.fake = fake
        self.transport = transport
        self.user_id = user_id
        self.user_name = user_name
        self.channel_id = channel_id
        self.channel_name = channel_name
        self.team_id = team_id or fake.team_id
        # The response URL of the latest command or click, so a reply to it can be told from others'.
        self.last_response_id: str | None = None
        # The trigger id Slack sent with the latest command, shortcut, click or submission.
        self.last_trigger_id: str | None = None
        # After the fake's next reset, the app's late calls for this person are kept apart from the next
        # test's.
        fake.claim(user_id, channel_id, self.dm_channel)

    @property
    def dm_channel(self) -> str:
        return self.fake.dm_channel_id(self.user_id)

    def command(self, text: str = "", timestamp: int | None = None) -> Acknowledgement:
        response_url = self.fake.new_response_url(channel_id=self.channel_id, user_id=self.user_id)
        self.last_response_id = response_url.rsplit("/", 1)[-1]
        fields = slash_command_fields(
            command=COMMAND,
            text=text,
            user_id=self.user_id,
            user_name=self.user_name,
            channel_id=self.channel_id,
            channel_name=self.channel_name,
            team_id=self.team_id,
            response_url=response_url,
            trigger_id=self._new_trigger(),
        )
        return self.transport.slash_command(fields, timestamp=timestamp)

    def _new_trigger(self) -> str:
        self.last_trigger_id = self.fake.issue_trigger(self.user_id)
        return self.last_trigger_id

    def shortcut(self, callback_id: str, timestamp: int | None = None) -> Acknowledgement:
        """Choose the app's global shortcut `callback_id` from Slack's shortcuts menu."""
        payload = shortcut_payload(
            callback_id=callback_id,
            user_id=self.user_id,
            user_name=self.user_name,
            team_id=self.team_id,
            trigger_id=self._new_trigger(),
        )
        return self.transport.interaction(payload, timestamp=timestamp)

    def modal(self, timeout: float = 5.0) -> dict[str, Any]:
        """The newest modal open in front of this person, waiting up to `timeout` for one to open."""
        deadline = time.monotonic() + timeout
        while not (opened := self.fake.open_modals(self.user_id)):
            if time.monotonic() > deadline:
                raise AssertionError(f"no modal opened for {self.user_id} within {timeout}s")
            time.sleep(0.005)
        return opened[-1]

    def submit_view(
        self,
        view: dict[str, Any],
        values: Mapping[str, str | None] | None = None,
        timestamp: int | None = None,
    ) -> Acknowledgement:
        """Press the modal's submit button with `values` entered by block_id (the rest as the view showed
        them). Returns the app's acknowledgement: ``payload["response_action"] == "errors"`` keeps the modal
        open with the messages shown under the fields; anything else closes it, as in Slack."""
        payload = view_submission_payload(
            view=view,
            state_values=view_state(view, values or {}),
            user_id=self.user_id,
            user_name=self.user_name,
            team_id=self.team_id,
            trigger_id=self._new_trigger(),
        )
        acknowledgement = self.transport.interaction(payload, timestamp=timestamp)
        if acknowledgement.acked and (acknowledgement.payload or {}).get("response_action") != "errors":
            self.fake.close_modal(view["id"])
        return acknowledgement

    def click(
        self,
        message: dict[str, Any],
        button: Button,
        timestamp: int | None = None,
        channel_id: str | None = None,
        value: str | None = None,
        clicked_at: float | None = None,
    ) -> Acknowledgement:
        """Click `button` on `message`; `value` overrides the button's value, as a forged click would.
        `clicked_at` is when Slack says the click happened (its action_ts; by default, now)."""
        channel = channel_id or self.dm_channel
        response_url = self.fake.new_response_url(
            channel_id=channel, user_id=self.user_id, message_ts=message["ts"]
        )
        self.last_response_id = response_url.rsplit("/", 1)[-1]
        payload = block_actions_payload(
            user_id=self.user_id,
            user_name=self.user_name,
            team_id=self.team_id,
            channel_id=channel,
            message_ts=message["ts"],
            message_text=message.get("text", ""),
            blocks=message.get("blocks"),
            action_id=button.action_id,
            block_id=button.block_id,
            value=button.value if value is None else value,
            button_text=button.label,
            response_url=response_url,
            element_type=button.element_type,
            trigger_id=self._new_trigger(),
            action_ts=None if clicked_at is None else f"{clicked_at:.6f}",
        )
        return self.transport.interaction(payload, timestamp=timestamp)

    def open_app_home(
        self, event_id: str | None = None, retry_num: int | None = None, tab: str = "home"
    ) -> Acknowledgement:
        """Open the app's Home tab: an `app_home_opened` event, signed as Slack sends it. A `retry_num`
        sends it as Slack's retry of the same event (same `event_id`, X-Slack-Retry-Num)."""
        event = {
            "type": "app_home_opened",
            "user": self.user_id,
            "channel": self.dm_channel,
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        }
        return self.transport.event(event_body(event, team_id=self.team_id, event_id=event_id), retry_num)

    def dm_messages(self) -> list[dict[str, Any]]:
        return self.fake.messages(self.dm_channel)

    def current_question(self) -> dict[str, Any] | None:
        """The newest DM message that still offers answer buttons."""
        for message in self.dm_messages()[::-1]:
            if any(b.action_id.startswith("answer") for b in buttons_of(message)):
                return message
        return None

    def awaiting(self) -> dict[str, Any] | None:
        """The newest DM message that asks something: a question, or the offer to stop once the overall
        level is settled (its Keep going button)."""
        for message in self.dm_messages()[::-1]:
            if any(
                b.action_id.startswith("answer") or b.action_id == KEEP_GOING for b in buttons_of(message)
            ):
                return message
        return None

    def reply(
        self, predicate: Callable[[RecordedCall], bool] | None = None, timeout: float = 10.0
    ) -> RecordedCall:
        """The app's post to the response URL of this person's latest command or click (matching
        `predicate`): what answered that request, never what an earlier one of theirs still sends."""
        answering = self.last_response_id
        return self.fake.wait_for(
            "response_url",
            lambda c: c.params.get("_id") == answering and (predicate is None or predicate(c)),
            timeout=timeout,
        )

    def wait_for_reaction(self, after: int, timeout: float = 10.0) -> RecordedCall:
        """The first call the app made to the fake at index >= `after` (what a click led to)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for call in self.fake.calls[after:]:
                if call.method in REACTIONS and call.ok:
                    return call
            time.sleep(0.005)
        raise AssertionError(
            f"the app reacted to nothing within {timeout}s (calls: {self.fake.calls[after:]})"
        )
