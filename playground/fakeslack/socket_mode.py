"""Slack's side of Socket Mode, served over a real WebSocket on localhost.

An app in Socket Mode calls ``apps.connections.open`` with its app-level token (``xapp-…``) and gets a
one-time ``ws://`` URL. Once it connects, Slack says ``hello`` and from then on sends every slash command
and button click as an envelope: ``{"envelope_id", "type", "payload", "accepts_response_payload"}``.
The app must answer each with ``{"envelope_id": …}`` (plus ``"payload"`` when the envelope accepts a
response) within three seconds. Slack refreshes connections now and then: it sends ``disconnect`` and
closes the socket, and the app is expected to open a new URL. This endpoint does all of that, checks
every acknowledgement by its envelope id, and records what went wrong instead of letting it pass.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

logger = logging.getLogger(__name__)

# Slack shows the person an error when the app has not acknowledged within this long.
ACK_DEADLINE_SECONDS = 3.0
# Envelope types the fake sends, and whether the app may answer with a payload (Slack's own choice).
SLASH_COMMANDS = "slash_commands"
INTERACTIVE = "interactive"
EVENTS_API = "events_api"
ACCEPTS_RESPONSE_PAYLOAD = {SLASH_COMMANDS: True, INTERACTIVE: False, EVENTS_API: False}
# Interactions whose acknowledgement may carry an answer (a view submission's `response_action`), and so
# arrive with accepts_response_payload true; a click or a shortcut accepts none.
ANSWERED_INTERACTIONS = frozenset({"view_submission", "block_suggestion"})
# Slack sends this to a connection it is about to close; the app should open a new one at once.
REFRESH_REQUESTED = "refresh_requested"


class SocketModeError(RuntimeError):
    """The endpoint was asked for something it cannot do (not started, nobody connected)."""


@dataclass
class Envelope:
    """One envelope sent to the app, and what came back for it."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    connection: int
    sent_at: float
    acked_at: float | None = None
    response_payload: dict[str, Any] | None = None

    @property
    def acked(self) -> bool:
        return self.acked_at is not None

    @property
    def elapsed(self) -> float | None:
        return None if self.acked_at is None else self.acked_at - self.sent_at

    def message(self) -> dict[str, Any]:
        return {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
        }


@dataclass
class _Connection:
    number: int
    websocket: ServerConnection
    opened_at: float
    closed_at: float | None = None
    # Set once the fake has told the app to go away; nothing more is sent on it.
    retiring: bool = False


@dataclass
class ConnectionRecord:
    """A WebSocket the app opened: when, and when it ended."""

    number: int
    opened_at: float
    closed_at: float | None


@dataclass
class _State:
    tickets: dict[str, str] = field(default_factory=dict)  # ticket -> app id, unused
    tickets_issued: int = 0
    connections: list[_Connection] = field(default_factory=list)
    envelopes: dict[str, Envelope] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class SocketModeEndpoint:
    """The WebSocket server behind ``apps.connections.open``; started on first use.

    Thread-safe: the app's connections are each served on their own thread, and tests and the
    playground deliver envelopes from theirs.
    """

    def __init__(self, host: str = "127.0.0.1", app_id: str = "A0001") -> None:
        self.host = host
        self.app_id = app_id
        self._cond = threading.Condition(threading.RLock())
        self._state = _State()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # Life cycle ----------------------------------------------------------------------------------

    def start(self) -> SocketModeEndpoint:
        with self._cond:
            if self._server is None:
                server = serve(
                    self._serve_connection,
                    self.host,
                    0,
                    process_request=self._check_ticket,
                    # Slack's frames are not compressed.
                    compression=None,
                    # Stopping the fake must not wait long on a client that never answers the close.
                    close_timeout=1,
                    logger=logger,
                )
                thread = threading.Thread(target=server.serve_forever, name="fakeslack-socket", daemon=True)
                thread.start()
                self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        with self._cond:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        self._abandon_all()
        server.shutdown()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise SocketModeError("the Socket Mode endpoint is not running")
        return int(self._server.socket.getsockname()[1])

    # apps.connections.open -----------------------------------------------------------------------

    def open_url(self) -> str:
        """A new one-time WebSocket URL, as ``apps.connections.open`` returns it."""
        self.start()
        ticket = uuid.uuid4().hex
        with self._cond:
            self._state.tickets[ticket] = self.app_id
            self._state.tickets_issued += 1
            self._cond.notify_all()
        return f"ws://{self.host}:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    @property
    def urls_issued(self) -> int:
        with self._cond:
            return self._state.tickets_issued

    # Connections ---------------------------------------------------------------------------------

    @property
    def connections(self) -> list[ConnectionRecord]:
        """Every connection the app opened, oldest first."""
        with self._cond:
            return [ConnectionRecord(c.number, c.opened_at, c.closed_at) for c in self._state.connections]

    def _live(self) -> list[_Connection]:
        return [c for c in self._state.connections if c.closed_at is None and not c.retiring]

    @property
    def connected(self) -> bool:
        with self._cond:
            return bool(self._live())

    def wait_for_connection(self, count: int = 1, timeout: float = 10.0) -> ConnectionRecord:
        """Block until the app has opened ``count`` connections in all and one of them is live."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._state.connections) < count or not self._live():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"the app opened {len(self._state.connections)} Socket Mode connection(s), "
                        f"{len(self._live())} live, within {timeout}s; wanted {count} with one live"
                    )
                self._cond.wait(remaining)
            newest = self._live()[-1]
            return ConnectionRecord(newest.number, newest.opened_at, newest.closed_at)

    def drop(self, reason: str = REFRESH_REQUESTED, grace: float = 5.0) -> None:
        """End the app's live connection as Slack does when it refreshes one: say ``disconnect``, then
        close the socket once the app has opened another (or after ``grace`` seconds regardless)."""
        with self._cond:
            connection = self._retire_newest("drop")
            opened_before = len(self._state.connections)
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fakeslack"}}
        with contextlib.suppress(ConnectionClosed):
            connection.websocket.send(json.dumps(message))

        def close_when_replaced() -> None:
            deadline = time.monotonic() + grace
            with self._cond:
                while len(self._state.connections) <= opened_before and time.monotonic() < deadline:
                    self._cond.wait(deadline - time.monotonic())
            connection.websocket.close()

        threading.Thread(target=close_when_replaced, name="fakeslack-socket-drop", daemon=True).start()

    def cut(self) -> None:
        """End the app's live connection without a ``disconnect`` or a WebSocket close frame: the TCP
        connection just ends, as when a proxy on the way crashes or the network path is reset."""
        connection = self._retire_newest("cut")
        with contextlib.suppress(OSError):
            connection.websocket.socket.shutdown(socket.SHUT_RDWR)

    def _retire_newest(self, action: str) -> _Connection:
        """The live connection envelopes go to, marked so that none go to it any more."""
        with self._cond:
            live = self._live()
            if not live:
                raise SocketModeError(f"no live Socket Mode connection to {action}")
            live[-1].retiring = True
            return live[-1]

    # Envelopes -----------------------------------------------------------------------------------

    def deliver(
        self, envelope_type: str, payload: dict[str, Any], timeout: float = ACK_DEADLINE_SECONDS
    ) -> Envelope:
        """Send one envelope to the app's newest live connection and wait for its acknowledgement.

        Returns the envelope whatever happens; ``acked`` is False when no acknowledgement came within
        ``timeout`` (Slack would show the person an error). With no live connection, Slack cannot
        deliver at all: that raises ``SocketModeError``.
        """
        if envelope_type not in ACCEPTS_RESPONSE_PAYLOAD:
            raise ValueError(f"unsupported envelope type {envelope_type!r}")
        with self._cond:
            live = self._live()
            if not live:
                raise SocketModeError("the app has no live Socket Mode connection")
            connection = live[-1]
            envelope = Envelope(
                envelope_id=str(uuid.uuid4()),
                type=envelope_type,
                payload=payload,
                accepts_response_payload=ACCEPTS_RESPONSE_PAYLOAD[envelope_type]
                or payload.get("type") in ANSWERED_INTERACTIONS,
                connection=connection.number,
                sent_at=time.monotonic(),
            )
            self._state.envelopes[envelope.envelope_id] = envelope
        try:
            connection.websocket.send(json.dumps(envelope.message()))
        except ConnectionClosed as error:
            raise SocketModeError(f"the connection closed while sending: {error}") from None
        deadline = envelope.sent_at + timeout
        with self._cond:
            while not envelope.acked:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._state.problems.append(
                        f"{envelope_type} envelope {envelope.envelope_id} was not acknowledged "
                        f"within {timeout}s"
                    )
                    break
                self._cond.wait(remaining)
        return envelope

    @property
    def envelopes(self) -> list[Envelope]:
        with self._cond:
            return list(self._state.envelopes.values())

    @property
    def problems(self) -> list[str]:
        """Everything the app did that Slack would not accept: bad acks, unknown ids, late acks."""
        with self._cond:
            return list(self._state.problems)

    # The WebSocket server ------------------------------------------------------------------------

    def _check_ticket(self, websocket: ServerConnection, request: Request) -> Response | None:
        ticket = parse_qs(urlsplit(request.path).query).get("ticket", [""])[0]
        with self._cond:
            app_id = self._state.tickets.pop(ticket, None)
        if app_id is None:
            # Slack's URLs are single use; reusing one (or inventing one) is refused at the handshake.
            return websocket.protocol.reject(HTTPStatus.UNAUTHORIZED, "invalid or used ticket")
        return None

    def _serve_connection(self, websocket: ServerConnection) -> None:
        with self._cond:
            connection = _Connection(
                number=len(self._state.connections) + 1,
                websocket=websocket,
                opened_at=time.monotonic(),
            )
            self._state.connections.append(connection)
            live = len(self._live())
            self._cond.notify_all()
        hello = {
            "type": "hello",
            "num_connections": live,
            "debug_info": {"host": "fakeslack", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }
        try:
            websocket.send(json.dumps(hello))
            for message in websocket:
                self._receive(connection, message)
        except ConnectionClosed:
            pass
        except OSError as error:
            logger.debug("Socket Mode connection %d ended: %s", connection.number, error)
        finally:
            with self._cond:
                connection.closed_at = time.monotonic()
                self._cond.notify_all()

    def _receive(self, connection: _Connection, message: str | bytes) -> None:
        problem = self._check_ack(message)
        with self._cond:
            if problem is not None:
                self._state.problems.append(f"connection {connection.number}: {problem}")
            self._cond.notify_all()

    def _check_ack(self, message: str | bytes) -> str | None:
        """Record a well-formed acknowledgement; describe anything else."""
        if isinstance(message, bytes):
            return "sent a binary frame; Slack expects JSON text"
        try:
            ack = json.loads(message)
        except ValueError:
            return f"sent text that is not JSON: {message[:80]!r}"
        if not isinstance(ack, dict) or not isinstance(ack.get("envelope_id"), str):
            return f"sent a message without an envelope_id: {message[:80]!r}"
        unexpected = set(ack) - {"envelope_id", "payload"}
        if unexpected:
            return f"acknowledgement with unexpected fields {sorted(unexpected)}"
        with self._cond:
            envelope = self._state.envelopes.get(ack["envelope_id"])
            if envelope is None:
                return f"acknowledged an envelope that was never sent: {ack['envelope_id']}"
            if envelope.acked:
                return f"acknowledged envelope {envelope.envelope_id} twice"
            payload = ack.get("payload")
            if payload is not None and not isinstance(payload, dict):
                return f"acknowledgement payload is not an object: {payload!r}"
            if payload and not envelope.accepts_response_payload:
                return f"answered {envelope.type} envelope {envelope.envelope_id}, which accepts no payload"
            envelope.acked_at = time.monotonic()
            envelope.response_payload = payload
            if envelope.elapsed is not None and envelope.elapsed > ACK_DEADLINE_SECONDS:
                return f"acknowledged envelope {envelope.envelope_id} after {envelope.elapsed:.1f}s"
        return None

    def _abandon_all(self) -> None:
        with self._cond:
            for connection in self._state.connections:
                connection.retiring = True
