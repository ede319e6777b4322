"""A person in the fake workspace: types the slash command and clicks buttons, each sent to the app exactly
as Slack sends it, and reads back what the app posted to the fake Web API.

Requests travel the way the app is set up to receive them: POSTed to its Request URL and signed with
the signing secret (``HttpTransport``), or as envelopes over the app's Socket Mode WebSocket
(``SocketModeTransport``). The playground and the end-to-end tests both drive the real app through this.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from bot.fakeslack.server import FakeSlack, RecordedCall
from bot.fakeslack.signing import (
    SignedResponse,
    SlackRequestBody,
    SlackRequestSigner,
    block_actions_payload,
    event_body,
    form_body,
    interaction_body,
    post_signed,
    slash_command_fields,
)
from bot.fakeslack.socket_mode import EVENTS_API, INTERACTIVE, SLASH_COMMANDS, Envelope, SocketModeEndpoint

COMMAND = "/mlops-compass"
# What the app does after acknowledging a request lands on one of these.
REACTIONS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")


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
    """Something a person can click once: a button, or one option of a radio button group."""

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
        # The response URL of the latest click, so a reply to that click can be told from others'.
        self.last_response_id: str | None = None

    @property
    def dm_channel(self) -> str:
        return self.fake.dm_channel_id(self.user_id)

    def command(self, text: str = "", timestamp: int | None = None) -> Acknowledgement:
        fields = slash_command_fields(
            command=COMMAND,
            text=text,
            user_id=self.user_id,
            user_name=self.user_name,
            channel_id=self.channel_id,
            channel_name=self.channel_name,
            team_id=self.team_id,
            response_url=self.fake.new_response_url(channel_id=self.channel_id, user_id=self.user_id),
        )
        return self.transport.slash_command(fields, timestamp=timestamp)

    def click(
        self,
        message: dict[str, Any],
        button: Button,
        timestamp: int | None = None,
        channel_id: str | None = None,
        value: str | None = None,
    ) -> Acknowledgement:
        """Click `button` on `message`; `value` overrides the button's value, as a forged click would."""
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
