"""Build and sign requests exactly as Slack sends them to the app.

Bolt verifies the signature over the raw body bytes, so the builders return the final body string
rather than a dict: what is signed must be byte-for-byte what is sent.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

# Slack still sends the deprecated verification token; Bolt ignores it but the field is part of the shape.
VERIFICATION_TOKEN = "fakeslack-verification-token"
DEFAULT_TEAM_ID = "T0001"
DEFAULT_TEAM_DOMAIN = "mlops-compass-playground"
DEFAULT_APP_ID = "A0001"
DEFAULT_BOT_USER_ID = "UBOT"
DEFAULT_TRIGGER_ID = "1000000000001.1000000000.fakeslacktrigger"
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


class SlackRequestBody(NamedTuple):
    """A request body and its content type; unpacks straight into ``post_signed``."""

    body: str
    content_type: str


@dataclass(frozen=True)
class SignedResponse:
    status: int
    body: str
    headers: dict[str, str]
    elapsed: float


class SlackRequestSigner:
    def __init__(self, signing_secret: str) -> None:
        self._verifier = SignatureVerifier(signing_secret)

    def headers(self, body: str, timestamp: int | None = None) -> dict[str, str]:
        """The two headers Slack adds; Bolt rejects timestamps more than five minutes off."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = self._verifier.generate_signature(timestamp=ts, body=body)
        if signature is None:
            raise ValueError("could not sign the request body")
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def _now_ts() -> str:
    return f"{time.time():.6f}"


def _channel_name(channel_id: str) -> str:
    # Slack sends these placeholder names for conversations that have no real name.
    if channel_id.startswith("D"):
        return "directmessage"
    if channel_id.startswith("G"):
        return "privategroup"
    return f"channel-{channel_id.lower()}"


def _user_name(user_id: str) -> str:
    return f"user-{user_id.lower()}"


def slash_command_fields(
    *,
    command: str = "/mlops-compass",
    text: str = "",
    user_id: str,
    user_name: str | None = None,
    channel_id: str,
    channel_name: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    response_url: str,
    trigger_id: str = DEFAULT_TRIGGER_ID,
    api_app_id: str = DEFAULT_APP_ID,
    token: str = VERIFICATION_TOKEN,
) -> dict[str, str]:
    return {
        "token": token,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name if channel_name is not None else _channel_name(channel_id),
        "user_id": user_id,
        "user_name": user_name if user_name is not None else _user_name(user_id),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def slash_command_body(**options: Any) -> SlackRequestBody:
    """``slash_command_fields(**options)`` form-encoded, as Slack POSTs a slash command."""
    return form_body(slash_command_fields(**options))


def form_body(fields: Mapping[str, str]) -> SlackRequestBody:
    return SlackRequestBody(urlencode(fields), FORM_CONTENT_TYPE)


def block_actions_payload(
    *,
    user_id: str,
    user_name: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    channel_id: str | None = None,
    channel_name: str | None = None,
    message_ts: str | None = None,
    message_text: str = "",
    blocks: list[dict[str, Any]] | None = None,
    action_id: str,
    value: str,
    button_text: str | None = None,
    block_id: str = "b",
    action_ts: str | None = None,
    response_url: str | None = None,
    trigger_id: str = DEFAULT_TRIGGER_ID,
    api_app_id: str = DEFAULT_APP_ID,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
    container_type: str = "message",
    is_ephemeral: bool = False,
    view_id: str = "V0001",
    token: str = VERIFICATION_TOKEN,
    element_type: str = "button",
) -> dict[str, Any]:
    """A button click, or the choice of a radio option or a menu's option (``element_type="radio_buttons"``
    or ``"static_select"``), from a message (``container_type="message"``) or the Home tab (``"view"``).

    ``blocks`` are those of the message or view holding the button, which Slack echoes back.
    """
    name = user_name if user_name is not None else _user_name(user_id)
    echoed_blocks = blocks if blocks is not None else []
    context: dict[str, Any]
    if container_type == "message":
        if channel_id is None or message_ts is None or response_url is None:
            raise ValueError("message button clicks need channel_id, message_ts and response_url")
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        }
        context = {
            "channel": {
                "id": channel_id,
                "name": channel_name if channel_name is not None else _channel_name(channel_id),
            },
            "message": {
                "type": "message",
                "ts": message_ts,
                "text": message_text,
                "user": bot_user_id,
                "blocks": echoed_blocks,
            },
            "state": {"values": {}},
            "response_url": response_url,
        }
    elif container_type == "view":
        # Home tab clicks carry the view instead of a channel, and Slack gives no response_url.
        container = {"type": "view", "view_id": view_id}
        context = {
            "view": {
                "id": view_id,
                "team_id": team_id,
                "type": "home",
                "blocks": echoed_blocks,
                "private_metadata": "",
                "callback_id": "",
                "state": {"values": {}},
                "app_id": api_app_id,
            },
            "state": {"values": {}},
        }
    else:
        raise ValueError(f"unsupported container_type: {container_type!r}")
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": name, "name": name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": token,
        "container": container,
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        **context,
    }
    text = {"type": "plain_text", "text": button_text if button_text is not None else value, "emoji": True}
    clicked = action_ts if action_ts is not None else _now_ts()
    if element_type in ("radio_buttons", "static_select"):
        # A radio group or a menu reports the option chosen, not a value of its own.
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "selected_option": {"text": text, "value": value},
            "type": element_type,
            "action_ts": clicked,
        }
    else:
        action = {
            "action_id": action_id,
            "block_id": block_id,
            "text": text,
            "value": value,
            "type": "button",
            "action_ts": clicked,
        }
    payload["actions"] = [action]
    return payload


def shortcut_payload(
    *,
    callback_id: str,
    user_id: str,
    user_name: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    trigger_id: str = DEFAULT_TRIGGER_ID,
    action_ts: str | None = None,
    token: str = VERIFICATION_TOKEN,
) -> dict[str, Any]:
    """A global shortcut chosen from the shortcuts menu: no channel, no message, no response_url."""
    name = user_name if user_name is not None else _user_name(user_id)
    return {
        "type": "shortcut",
        "token": token,
        "action_ts": action_ts if action_ts is not None else _now_ts(),
        "team": {"id": team_id, "domain": team_domain},
        "user": {"id": user_id, "username": name, "team_id": team_id},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
    }


def view_submission_payload(
    *,
    view: Mapping[str, Any],
    state_values: Mapping[str, Mapping[str, Any]],
    user_id: str,
    user_name: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    trigger_id: str = DEFAULT_TRIGGER_ID,
    api_app_id: str = DEFAULT_APP_ID,
    token: str = VERIFICATION_TOKEN,
) -> dict[str, Any]:
    """The submission of a modal: the view as Slack opened it (its id, callback_id and private_metadata
    included) with what the person entered in ``state.values``, by block_id and then action_id."""
    name = user_name if user_name is not None else _user_name(user_id)
    submitted = dict(view)
    submitted["state"] = {"values": {block: dict(actions) for block, actions in state_values.items()}}
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_domain},
        "user": {"id": user_id, "username": name, "name": name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id,
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def block_actions_body(**options: Any) -> SlackRequestBody:
    """``block_actions_payload(**options)`` as Slack POSTs it: JSON in the form field ``payload``."""
    return interaction_body(block_actions_payload(**options))


def interaction_body(payload: Mapping[str, Any]) -> SlackRequestBody:
    return form_body({"payload": json.dumps(payload, separators=(",", ":"))})


def event_body(
    event: Mapping[str, Any],
    *,
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
    event_id: str | None = None,
    event_time: int | None = None,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
    token: str = VERIFICATION_TOKEN,
) -> SlackRequestBody:
    """An Events API ``event_callback`` envelope around ``event``."""
    event_dict = dict(event)
    if event_time is None:
        stamp = event_dict.get("event_ts") or event_dict.get("ts")
        event_time = int(float(stamp)) if stamp else int(time.time())
    if event_id is None:
        # Derived from the content so the same event keeps its id, as it does on Slack's retries.
        digest = hashlib.sha256(json.dumps(event_dict, sort_keys=True).encode("utf-8")).hexdigest()
        event_id = "Ev" + digest[:10].upper()
    envelope = {
        "token": token,
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event_dict,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
    return SlackRequestBody(json.dumps(envelope, separators=(",", ":")), JSON_CONTENT_TYPE)


def post_signed(
    url: str,
    body: str,
    content_type: str,
    signer: SlackRequestSigner,
    timestamp: int | None = None,
    timeout: float = 10,
    extra_headers: Mapping[str, str] | None = None,
) -> SignedResponse:
    """POST a signed body like Slack does. HTTP error statuses are returned, not raised."""
    headers = {"Content-Type": content_type, "User-Agent": SLACK_USER_AGENT}
    headers.update(signer.headers(body, timestamp))
    headers.update(extra_headers or {})
    request = urllib.request.Request(url, data=body.encode("utf-8"), headers=headers, method="POST")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, response_headers = response.status, response.read(), dict(response.headers.items())
    except urllib.error.HTTPError as error:
        status, raw, response_headers = error.code, error.read(), dict(error.headers.items())
    return SignedResponse(
        status=status,
        body=raw.decode("utf-8", errors="replace"),
        headers=response_headers,
        elapsed=time.monotonic() - started,
    )
