from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs

import pytest
from slack_sdk.signature import SignatureVerifier

from playground.fakeslack import (
    FakeSlack,
    SlackRequestSigner,
    block_actions_body,
    event_body,
    post_signed,
    slash_command_body,
)

SECRET = "playground-signing-secret"


def single_values(body: str) -> dict[str, str]:
    parsed = parse_qs(body, keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in parsed.values()), parsed
    return {key: values[0] for key, values in parsed.items()}


def test_signature_verifies_with_slack_sdk() -> None:
    body = "command=%2Fmlops-compass&text=start"
    headers = SlackRequestSigner(SECRET).headers(body)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert verifier.is_valid_request(body, headers)


def test_signature_is_hmac_sha256_of_the_v0_basestring() -> None:
    headers = SlackRequestSigner(SECRET).headers("a=b", timestamp=1_700_000_000)
    expected = hmac.new(SECRET.encode(), b"v0:1700000000:a=b", hashlib.sha256).hexdigest()
    assert headers == {"X-Slack-Request-Timestamp": "1700000000", "X-Slack-Signature": "v0=" + expected}


def test_tampered_body_wrong_secret_and_stale_timestamp_fail() -> None:
    body = "text=start"
    signer = SlackRequestSigner(SECRET)
    headers = signer.headers(body)
    ts, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert not SignatureVerifier(SECRET).is_valid("text=stop", ts, signature)
    assert not SignatureVerifier("another-secret").is_valid(body, ts, signature)
    stale = signer.headers(body, timestamp=int(time.time()) - 600)
    assert not SignatureVerifier(SECRET).is_valid_request(body, stale)


def test_slash_command_body_has_every_field_slack_sends() -> None:
    body, content_type = slash_command_body(
        text="start ml-basics & more",
        user_id="U1",
        user_name="ada",
        channel_id="C1",
        channel_name="general",
        team_id="T9",
        team_domain="acme",
        response_url="http://127.0.0.1:1/response/abc",
        trigger_id="123.456.abc",
    )
    assert content_type == "application/x-www-form-urlencoded"
    assert single_values(body) == {
        "token": single_values(body)["token"],
        "team_id": "T9",
        "team_domain": "acme",
        "channel_id": "C1",
        "channel_name": "general",
        "user_id": "U1",
        "user_name": "ada",
        "command": "/mlops-compass",
        "text": "start ml-basics & more",
        "api_app_id": "A0001",
        "is_enterprise_install": "false",
        "response_url": "http://127.0.0.1:1/response/abc",
        "trigger_id": "123.456.abc",
    }
    assert single_values(body)["token"]


def test_slash_command_in_a_dm_uses_slacks_placeholder_channel_name() -> None:
    body, _ = slash_command_body(user_id="U1", channel_id="D1", response_url="http://x/response/1")
    fields = single_values(body)
    assert fields["channel_name"] == "directmessage"
    assert fields["text"] == ""


def test_block_actions_payload_round_trips() -> None:
    blocks = [{"type": "actions", "block_id": "answers", "elements": []}]
    body, content_type = block_actions_body(
        user_id="U1",
        user_name="ada",
        channel_id="C1",
        message_ts="1700000000.000100",
        message_text="Question 1",
        blocks=blocks,
        action_id="answer_b",
        value="q1:b",
        block_id="answers",
        response_url="http://127.0.0.1:1/response/xyz",
        trigger_id="t.1",
        action_ts="1700000001.000200",
    )
    assert content_type == "application/x-www-form-urlencoded"
    fields = single_values(body)
    assert set(fields) == {"payload"}
    payload = json.loads(fields["payload"])
    assert payload["type"] == "block_actions"
    assert payload["user"] == {"id": "U1", "username": "ada", "name": "ada", "team_id": "T0001"}
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": "C1",
        "is_ephemeral": False,
    }
    assert payload["team"]["id"] == "T0001"
    assert payload["enterprise"] is None and payload["is_enterprise_install"] is False
    assert payload["channel"]["id"] == "C1"
    assert payload["message"] == {
        "type": "message",
        "ts": "1700000000.000100",
        "text": "Question 1",
        "user": "UBOT",
        "blocks": blocks,
    }
    assert payload["state"] == {"values": {}}
    assert payload["response_url"] == "http://127.0.0.1:1/response/xyz"
    assert payload["trigger_id"] == "t.1"
    assert payload["actions"] == [
        {
            "action_id": "answer_b",
            "block_id": "answers",
            "text": {"type": "plain_text", "text": "q1:b", "emoji": True},
            "value": "q1:b",
            "type": "button",
            "action_ts": "1700000001.000200",
        }
    ]


def test_home_tab_click_carries_the_view_and_no_response_url() -> None:
    body, _ = block_actions_body(user_id="U1", action_id="open_quiz", value="ml", container_type="view")
    payload = json.loads(single_values(body)["payload"])
    assert payload["container"] == {"type": "view", "view_id": "V0001"}
    assert payload["view"]["type"] == "home"
    assert "response_url" not in payload and "channel" not in payload


def test_block_actions_rejects_incomplete_or_unknown_containers() -> None:
    with pytest.raises(ValueError):
        block_actions_body(user_id="U1", action_id="a", value="v", channel_id="C1")
    with pytest.raises(ValueError):
        block_actions_body(user_id="U1", action_id="a", value="v", container_type="modal")


def test_event_body_wraps_the_event() -> None:
    event = {"type": "app_home_opened", "user": "U1", "tab": "home", "event_ts": "1700000000.000100"}
    body, content_type = event_body(event, team_id="T9", api_app_id="A9")
    assert content_type == "application/json"
    envelope = json.loads(body)
    assert envelope["type"] == "event_callback"
    assert envelope["event"] == event
    assert envelope["team_id"] == "T9" and envelope["api_app_id"] == "A9"
    assert envelope["event_time"] == 1_700_000_000
    assert envelope["event_id"].startswith("Ev")
    assert envelope["authorizations"][0]["user_id"] == "UBOT"


def test_event_ids_are_stable_per_event_and_overridable() -> None:
    event = {"type": "app_home_opened", "user": "U1"}
    first = json.loads(event_body(event).body)["event_id"]
    assert json.loads(event_body(dict(event)).body)["event_id"] == first
    assert json.loads(event_body({**event, "user": "U2"}).body)["event_id"] != first
    assert json.loads(event_body(event, event_id="Ev123").body)["event_id"] == "Ev123"


class _VerifyingHandler(BaseHTTPRequestHandler):
    """Answers 200 only for correctly signed requests, like Bolt's request verification."""

    received: ClassVar[list[tuple[dict[str, str], str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        headers = dict(self.headers.items())
        type(self).received.append((headers, body))
        valid = SignatureVerifier(SECRET).is_valid_request(body, headers)
        reply = b"accepted" if valid else b"invalid signature"
        self.send_response(200 if valid else 401)
        self.send_header("Content-Length", str(len(reply)))
        self.send_header("X-Handled-By", "verifier")
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def verifying_app() -> Iterator[str]:
    _VerifyingHandler.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _VerifyingHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/slack/events"
    server.shutdown()
    server.server_close()


def test_post_signed_sends_a_verifiable_request(verifying_app: str) -> None:
    body, content_type = slash_command_body(user_id="U1", channel_id="C1", response_url="http://x/r/1")
    response = post_signed(verifying_app, body, content_type, SlackRequestSigner(SECRET))
    assert (response.status, response.body) == (200, "accepted")
    assert response.headers["X-Handled-By"] == "verifier"
    assert response.elapsed >= 0
    [(headers, received_body)] = _VerifyingHandler.received
    assert received_body == body
    assert headers["Content-Type"] == content_type


def test_post_signed_returns_error_statuses_instead_of_raising(verifying_app: str) -> None:
    body, content_type = event_body({"type": "app_home_opened", "user": "U1"})
    response = post_signed(verifying_app, body, content_type, SlackRequestSigner("wrong-secret"))
    assert (response.status, response.body) == (401, "invalid signature")


def test_post_signed_can_reach_a_fake_response_url() -> None:
    with FakeSlack() as fake:
        url = fake.new_response_url()
        response = post_signed(
            url, json.dumps({"text": "hi"}), "application/json", SlackRequestSigner(SECRET)
        )
        assert response.status == 200
        assert fake.wait_for("response_url").params["text"] == "hi"
