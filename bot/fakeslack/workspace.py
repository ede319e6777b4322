"""A person in the fake workspace: types the slash command and clicks buttons, each sent to the app as a
signed request exactly as Slack sends it, and reads back what the app posted to the fake Web API.

The playground and the end-to-end tests both drive the real app through this.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bot.fakeslack.server import FakeSlack, RecordedCall
from bot.fakeslack.signing import (
    SignedResponse,
    SlackRequestSigner,
    block_actions_body,
    event_body,
    post_signed,
    slash_command_body,
)

COMMAND = "/mlops-compass"
# What the app does after acknowledging a request lands on one of these.
REACTIONS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")


@dataclass(frozen=True)
class Button:
    action_id: str
    block_id: str
    value: str
    label: str


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
    return found


class SlackUser:
    def __init__(
        self,
        fake: FakeSlack,
        app_url: str,
        signing_secret: str,
        user_id: str = "U0PLAYER",
        user_name: str = "player",
        channel_id: str = "C0GENERAL",
        channel_name: str = "general",
        team_id: str | None = None,
    ):
        self.fake = fake
        self.app_url = app_url
        self.signer = SlackRequestSigner(signing_secret)
        self.user_id = user_id
        self.user_name = user_name
        self.channel_id = channel_id
        self.channel_name = channel_name
        self.team_id = team_id or fake.team_id

    @property
    def dm_channel(self) -> str:
        return self.fake.dm_channel_id(self.user_id)

    def command(self, text: str = "", timestamp: int | None = None) -> SignedResponse:
        body = slash_command_body(
            command=COMMAND,
            text=text,
            user_id=self.user_id,
            user_name=self.user_name,
            channel_id=self.channel_id,
            channel_name=self.channel_name,
            team_id=self.team_id,
            response_url=self.fake.new_response_url(channel_id=self.channel_id, user_id=self.user_id),
        )
        return post_signed(self.app_url, *body, self.signer, timestamp=timestamp)

    def click(
        self,
        message: dict[str, Any],
        button: Button,
        timestamp: int | None = None,
        channel_id: str | None = None,
        value: str | None = None,
    ) -> SignedResponse:
        """Click `button` on `message`; `value` overrides the button's value, as a forged click would."""
        channel = channel_id or self.dm_channel
        body = block_actions_body(
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
            response_url=self.fake.new_response_url(
                channel_id=channel, user_id=self.user_id, message_ts=message["ts"]
            ),
        )
        return post_signed(self.app_url, *body, self.signer, timestamp=timestamp)

    def open_app_home(
        self, event_id: str | None = None, retry_num: int | None = None, tab: str = "home"
    ) -> SignedResponse:
        """Open the app's Home tab: an `app_home_opened` event, signed as Slack sends it. A `retry_num`
        sends it as Slack's retry of the same event (same `event_id`, X-Slack-Retry-Num)."""
        event = {
            "type": "app_home_opened",
            "user": self.user_id,
            "channel": self.dm_channel,
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        }
        body = event_body(event, team_id=self.team_id, event_id=event_id)
        retry = None
        if retry_num is not None:
            retry = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return post_signed(self.app_url, *body, self.signer, extra_headers=retry)

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
