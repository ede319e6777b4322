"""The fake workspace's Socket Mode endpoint: URLs from apps.connections.open, the hello, envelopes and
their acknowledgements, and refreshed or cut connections; driven by a raw WebSocket client where the test
must control every frame, and by slack_sdk's own Socket Mode client where the point is how it copes."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from playground.fakeslack import FakeSlack
from playground.fakeslack.socket_mode import INTERACTIVE, SLASH_COMMANDS, SocketModeError

APP_TOKEN = "xapp-1-A0001-test"
COMMAND = {"command": "/mlops-compass", "text": "help", "user_id": "U1", "team_id": "T1"}
CLICK = {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "answer:0"}]}


def open_url(fake: FakeSlack) -> str:
    return WebClient(base_url=fake.base_url).apps_connections_open(app_token=APP_TOKEN)["url"]


@pytest.fixture
def socket(fake: FakeSlack) -> Iterator[ClientConnection]:
    """A raw WebSocket connected like an app, with the hello already read."""
    with connect(open_url(fake)) as websocket:
        hello = json.loads(websocket.recv(timeout=5))
        assert hello["type"] == "hello"
        yield websocket


def deliver_in_background(
    fake: FakeSlack, envelope_type: str, payload: dict[str, Any], timeout: float = 2.0
) -> list[Any]:
    delivered: list[Any] = []
    thread = threading.Thread(
        target=lambda: delivered.append(fake.socket_mode.deliver(envelope_type, payload, timeout=timeout))
    )
    # The thread goes first in the list before it starts, or a quick delivery could take its place.
    delivered.append(thread)
    thread.start()
    return delivered


def finished(delivered: list[Any]) -> Any:
    delivered[0].join(timeout=5)
    return delivered[1]


def test_connections_open_wants_the_app_token_in_the_header(fake: FakeSlack) -> None:
    url = open_url(fake)
    assert url.startswith(f"ws://127.0.0.1:{fake.socket_mode.port}/link/?ticket=")
    with pytest.raises(SlackApiError) as bot_token:
        WebClient(token="xoxb-bot", base_url=fake.base_url).apps_connections_open(app_token="xoxb-bot")
    assert bot_token.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as app_token_elsewhere:
        WebClient(token=APP_TOKEN, base_url=fake.base_url).chat_postMessage(channel="C1", text="hi")
    assert app_token_elsewhere.value.response["error"] == "not_allowed_token_type"
    as_form_field = urllib.request.urlopen(
        fake.base_url + "apps.connections.open", data=urlencode({"token": APP_TOKEN}).encode(), timeout=5
    )
    assert json.loads(as_form_field.read()) == {"ok": False, "error": "invalid_auth"}


def test_each_url_admits_one_connection_and_says_hello(fake: FakeSlack) -> None:
    url = open_url(fake)
    with connect(url) as websocket:
        hello = json.loads(websocket.recv(timeout=5))
        assert hello["type"] == "hello"
        assert hello["num_connections"] == 1
        assert hello["connection_info"] == {"app_id": "A0001"}
        with pytest.raises(InvalidStatus) as reused:
            connect(url)
        assert reused.value.response.status_code == 401
    with pytest.raises(InvalidStatus):
        connect(url.replace("ticket=", "ticket=forged"))
    assert len(fake.socket_mode.connections) == 1


def test_a_slash_command_is_answered_through_its_ack(fake: FakeSlack, socket: ClientConnection) -> None:
    delivered = deliver_in_background(fake, SLASH_COMMANDS, COMMAND)
    envelope = json.loads(socket.recv(timeout=5))
    assert set(envelope) == {"envelope_id", "payload", "type", "accepts_response_payload"}
    assert envelope["type"] == "slash_commands"
    assert envelope["payload"] == COMMAND
    assert envelope["accepts_response_payload"] is True
    socket.send(json.dumps({"envelope_id": envelope["envelope_id"], "payload": {"text": "Here is help"}}))

    sent = finished(delivered)
    assert sent.acked and sent.response_payload == {"text": "Here is help"}
    assert fake.socket_mode.problems == []


def test_a_click_is_acknowledged_without_a_payload(fake: FakeSlack, socket: ClientConnection) -> None:
    delivered = deliver_in_background(fake, INTERACTIVE, CLICK)
    envelope = json.loads(socket.recv(timeout=5))
    assert envelope["type"] == "interactive"
    assert envelope["accepts_response_payload"] is False
    socket.send(json.dumps({"envelope_id": envelope["envelope_id"]}))
    assert finished(delivered).acked
    assert fake.socket_mode.problems == []


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (lambda envelope_id: {"envelope_id": envelope_id, "payload": {"text": "no"}}, "accepts no payload"),
        (lambda envelope_id: {"envelope_id": "someone-else"}, "never sent"),
        (lambda envelope_id: {"envelope_id": envelope_id, "ok": True}, "unexpected fields"),
        (lambda envelope_id: "not json", "not JSON"),
    ],
)
def test_a_wrong_acknowledgement_is_a_problem_not_an_ack(
    fake: FakeSlack, socket: ClientConnection, answer: Any, problem: str
) -> None:
    delivered = deliver_in_background(fake, INTERACTIVE, CLICK, timeout=0.5)
    envelope = json.loads(socket.recv(timeout=5))
    reply = answer(envelope["envelope_id"])
    socket.send(reply if isinstance(reply, str) else json.dumps(reply))

    assert not finished(delivered).acked
    problems = fake.socket_mode.problems
    assert any(problem in p for p in problems), problems
    assert any("not acknowledged within" in p for p in problems), problems


def test_an_envelope_acknowledged_twice_is_a_problem(fake: FakeSlack, socket: ClientConnection) -> None:
    delivered = deliver_in_background(fake, INTERACTIVE, CLICK)
    envelope_id = json.loads(socket.recv(timeout=5))["envelope_id"]
    socket.send(json.dumps({"envelope_id": envelope_id}))
    assert finished(delivered).acked
    socket.send(json.dumps({"envelope_id": envelope_id}))
    # A round trip behind it: the server reads acks in order, so once the next envelope's ack is taken,
    # the second ack of the first has been read too.
    following = deliver_in_background(fake, INTERACTIVE, CLICK)
    socket.send(json.dumps({"envelope_id": json.loads(socket.recv(timeout=5))["envelope_id"]}))
    assert finished(following).acked
    assert any("twice" in p for p in fake.socket_mode.problems)


def test_nothing_can_be_delivered_without_a_connection(fake: FakeSlack) -> None:
    with pytest.raises(SocketModeError):
        fake.socket_mode.deliver(SLASH_COMMANDS, COMMAND)


# slack_sdk's client, the one `serve --socket` runs ---------------------------------------------


@pytest.fixture
def sdk_client(fake: FakeSlack) -> Iterator[SocketModeClient]:
    # A short ping interval: the built-in client notices a cut connection only after four missed pongs.
    client = SocketModeClient(
        app_token=APP_TOKEN, web_client=WebClient(base_url=fake.base_url), ping_interval=0.5
    )

    def acknowledge(client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        text = f"got {request.payload.get('text')}" if request.accepts_response_payload else None
        payload = {"text": text} if text else None
        client.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload))

    client.socket_mode_request_listeners.append(acknowledge)
    client.connect()
    yield client
    # close() waits up to three seconds for the client's receive loop; nothing here needs to wait for it.
    threading.Thread(target=client.close, daemon=True).start()


def test_slack_sdk_reconnects_when_slack_refreshes_the_connection(
    fake: FakeSlack, sdk_client: SocketModeClient
) -> None:
    fake.socket_mode.wait_for_connection(1)
    assert fake.socket_mode.deliver(SLASH_COMMANDS, COMMAND).response_payload == {"text": "got help"}

    fake.socket_mode.drop()
    fake.socket_mode.wait_for_connection(2)
    assert fake.socket_mode.urls_issued >= 2
    sent = fake.socket_mode.deliver(SLASH_COMMANDS, COMMAND)
    assert sent.acked and sent.connection == 2
    assert fake.socket_mode.problems == []


def test_slack_sdk_reconnects_when_the_network_cuts_the_socket(
    fake: FakeSlack, sdk_client: SocketModeClient
) -> None:
    fake.socket_mode.wait_for_connection(1)
    fake.socket_mode.cut()
    fake.socket_mode.wait_for_connection(2, timeout=10)
    assert fake.socket_mode.deliver(INTERACTIVE, CLICK).acked
    assert fake.socket_mode.connections[0].closed_at is not None
    assert fake.socket_mode.problems == []
