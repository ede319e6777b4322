"""Requests Slack would never send, to the real `serve`: an oversized body is refused with 413 before it is
read whole (a 100 MB one leaves the worker's memory as it was), and unsigned, stale or malformed ones get
401 or 400, never a server error, and never a traceback in the log."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from playground.fakeslack.app_process import AppProcess
from tests.e2e.conftest import MEASURED, SIGNING_SECRET

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MB = 1024 * 1024
CHUNK = b"x" * (256 * 1024)


def signature_headers(
    body: bytes, timestamp: str | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    ts = timestamp if timestamp is not None else str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def post(app: AppProcess, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
    address = urlsplit(app.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        connection.request("POST", "/slack/events", body=body, headers=dict(headers))
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def post_streamed(app: AppProcess, size: int, chunked: bool) -> int:
    """POST `size` bytes generated as they are sent (never held whole), chunked or with a Content-Length."""
    address = urlsplit(app.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=60)
    try:
        connection.putrequest("POST", "/slack/events")
        connection.putheader("Content-Type", FORM)
        if chunked:
            connection.putheader("Transfer-Encoding", "chunked")
        else:
            connection.putheader("Content-Length", str(size))
        for name, value in signature_headers(b"").items():
            connection.putheader(name, value)
        connection.endheaders()
        sent = 0
        try:
            while sent < size:
                piece = CHUNK[: min(len(CHUNK), size - sent)]
                connection.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if chunked:
                connection.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may stop reading once it has answered
        return connection.getresponse().status
    finally:
        connection.close()


def workers_of(app: AppProcess) -> list[int]:
    """The gunicorn workers: the children of the `serve` process (gunicorn's master)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == app.process.pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.fixture
def no_traceback(app: AppProcess) -> Iterator[None]:
    yield
    assert app.health() == 200, "the app still serves"
    assert "Traceback" not in app.log()


def form_headers(body: bytes, **extra: str) -> dict[str, str]:
    return {"Content-Type": FORM, **signature_headers(body), **extra}


@pytest.mark.usefixtures("no_traceback")
def test_malformed_bodies_get_400(app: AppProcess) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    cases = {
        "a payload that is not JSON": (b"payload=" + quote("{not json").encode(), FORM),
        "a payload that is not an object": (b"payload=" + quote("[1, 2]").encode(), FORM),
        "a payload nested too deeply": (b"payload=" + quote(nested.decode()).encode(), FORM),
        "a body that is not UTF-8": (b"command=%2Fmlops-compass&text=\xff\xfe", FORM),
        "JSON nested too deeply": (nested, JSON),
        "a command sent as JSON": (b'{"command": "/mlops-compass", "text": "", "user_id": "U1"}', JSON),
        "JSON that is not JSON": (b'{"type": "event_callback", ', JSON),
        "an empty form": (b"", FORM),
        "a command without who sent it": (b"command=%2Fmlops-compass&text=", FORM),
        "a click without its user": (b"payload=" + quote('{"type": "block_actions"}').encode(), FORM),
        "no content type Slack uses": (b"command=%2Fmlops-compass", "text/plain"),
    }
    for name, (body, content_type) in cases.items():
        headers = {"Content-Type": content_type, **signature_headers(body)}
        status, text = post(app, body, headers)
        assert status == 400, (name, status, text)


@pytest.mark.usefixtures("no_traceback")
def test_unsigned_stale_or_forged_requests_get_401(app: AppProcess) -> None:
    body = b"command=%2Fmlops-compass&text=&user_id=U1&team_id=T1&channel_id=C1"
    good = signature_headers(body)
    cases = {
        "no timestamp": {"X-Slack-Signature": good["X-Slack-Signature"]},
        "no signature": {"X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]},
        "a timestamp that is not a number": signature_headers(body, timestamp="soon"),
        "a stale timestamp": signature_headers(body, timestamp=str(int(time.time()) - 3600)),
        "another secret": signature_headers(body, secret="not-the-signing-secret"),
        "a forged signature": {**good, "X-Slack-Signature": "v0=" + "0" * 64},
    }
    for name, headers in cases.items():
        status, text = post(app, body, {"Content-Type": FORM, **headers})
        assert status == 401, (name, status, text)
    invalid_utf8_unsigned = b"payload=\xff"
    assert post(app, invalid_utf8_unsigned, {"Content-Type": FORM})[0] == 401


@pytest.mark.usefixtures("no_traceback")
def test_a_body_over_one_megabyte_gets_413_however_it_is_sent(app: AppProcess) -> None:
    over = b"command=%2Fmlops-compass&text=" + b"x" * MB
    status, text = post(app, over, form_headers(over))
    assert status == 413, text
    assert post_streamed(app, 2 * MB, chunked=True) == 413
    # A length declared over the limit is refused before any of the body is read.
    address = urlsplit(app.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.putrequest("POST", "/slack/events")
        connection.putheader("Content-Type", FORM)
        connection.putheader("Content-Length", str(50 * MB))
        connection.endheaders()
        assert connection.getresponse().status == 413
    finally:
        connection.close()
    under = b"payload=" + b"x" * (MB - 100)
    status, text = post(app, under, form_headers(under))
    assert (status, text) == (400, "the payload field is not JSON\n"), "a body under the limit is read"


@pytest.mark.usefixtures("no_traceback")
def test_a_100_megabyte_body_leaves_the_workers_memory_as_it_was(app: AppProcess) -> None:
    workers = workers_of(app)
    assert workers, "gunicorn runs its workers as children of serve"
    # Once over the limit in each worker, so whatever a first refusal allocates is there before measuring.
    for _ in range(2 * len(workers)):
        assert post_streamed(app, 2 * MB, chunked=True) == 413
        assert post_streamed(app, 2 * MB, chunked=False) == 413
    before = {pid: rss_kb(pid) for pid in workers}
    for chunked in (False, True):
        assert post_streamed(app, 100 * MB, chunked=chunked) == 413
    after = {pid: rss_kb(pid) for pid in workers}
    rises = {pid: after[pid] - before[pid] for pid in workers}
    MEASURED.append(
        "100 MB bodies (Content-Length and chunked) refused with 413; worker RSS before → after: "
        + ", ".join(f"{before[p] / 1024:.1f} → {after[p] / 1024:.1f} MB" for p in workers)
    )
    assert max(rises.values()) <= 4 * 1024, rises
    assert os.path.exists(f"/proc/{app.process.pid}"), "serve is still running"
