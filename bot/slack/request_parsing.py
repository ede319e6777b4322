"""The one place where requests from Slack are checked and parsed, before Bolt sees them.

Every request to the events URL is checked first: signed with the signing secret within the last five
minutes (401 otherwise), UTF-8 (400), and a body of the kind Slack sends there (400 otherwise): a form, of
a slash command's fields or of an interactive ``payload`` field holding a JSON object, or a JSON object
of the Events API. A malformed body is refused with its reason, never with a server error; Bolt then gets
the body already parsed, and checks the signature again as it always does.

slack_bolt (checked on 1.30.0, the newest release when this was written; the code dates back to 1.0)
decides that a form-encoded body is an interactive payload whenever the text ``payload`` appears anywhere
in it (``slack_bolt.request.internals.parse_body``), and then, finding no ``payload`` field, hands the
app an empty body. A slash command from a workspace whose domain contains that word, from a channel or a
person so named, or whose text mentions it, then matches no listener and Slack shows the person
``dispatch_failed``. Slack sends an interactive payload as the form's one field named ``payload``, so that
field, not the text, decides here. Socket Mode is unaffected: its payloads arrive already parsed.
Bolt's lazy listeners re-parse the raw body their own way; this app uses none.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"
# What the Events API posts as JSON; commands and clicks always come as forms.
EVENTS_API_TYPES = frozenset({"url_verification", "event_callback", "app_rate_limited"})
MAX_REQUEST_AGE_SECONDS = 5 * 60
MAX_FORM_FIELDS = 100


class BadRequest(Exception):
    """A request refused before Bolt sees it: `status` (400 or 401) and why, for the log."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError:
        raise BadRequest(400, f"{what} is not JSON") from None
    except RecursionError:
        raise BadRequest(400, f"{what} is JSON nested too deeply") from None
    if not isinstance(parsed, dict):
        raise BadRequest(400, f"{what} is JSON but not an object")
    return parsed


def parse_slack_body(raw_body: str, content_type: str | None) -> dict[str, Any]:
    """The body as Slack means it. Raises BadRequest (400) for a body Slack would not send."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == JSON_CONTENT_TYPE:
        event = _json_object(raw_body, "the body")
        if event.get("type") not in EVENTS_API_TYPES:
            raise BadRequest(400, "a JSON body that is no Events API event (Slack sends the rest as forms)")
        return event
    if kind != FORM_CONTENT_TYPE:
        raise BadRequest(400, f"content type {kind or 'missing'}: Slack sends a form or JSON")
    try:
        fields = dict(parse_qsl(raw_body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS))
    except ValueError:
        raise BadRequest(400, f"a form of more than {MAX_FORM_FIELDS} fields") from None
    if not fields:
        raise BadRequest(400, "an empty form")
    if "payload" not in fields:
        if "command" in fields:
            _require(fields, ("team_id", "user_id", "channel_id"), "a slash command")
        return fields
    payload = _json_object(fields["payload"], "the payload field")
    user = payload.get("user")
    if not isinstance(payload.get("type"), str) or not isinstance(user, dict):
        raise BadRequest(400, "an interactive payload without its type or user")
    _require(user, ("id",), "an interactive payload's user")
    return payload


def _require(fields: dict[str, Any], names: tuple[str, ...], what: str) -> None:
    missing = [name for name in names if not isinstance(fields.get(name), str) or not fields[name]]
    if missing:
        raise BadRequest(400, f"{what} without {', '.join(missing)}")


def _header(headers: dict[str, Any], name: str) -> str | None:
    value = headers.get(name)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def verify_signature(signing_secret: str, body: bytes, headers: dict[str, Any], now: float) -> None:
    """Raises BadRequest (401) unless Slack signed `body` within the last five minutes."""
    timestamp = _header(headers, "x-slack-request-timestamp")
    signature = _header(headers, "x-slack-signature")
    if not timestamp or not signature:
        raise BadRequest(401, "no signature or timestamp header")
    try:
        signed_at = int(timestamp)
    except ValueError:
        raise BadRequest(401, "a timestamp header that is not a number") from None
    if abs(now - signed_at) > MAX_REQUEST_AGE_SECONDS:
        raise BadRequest(401, "a timestamp more than five minutes away")
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise BadRequest(401, "a signature that does not match the body")


class SlackFormRequestHandler(SlackRequestHandler):
    """Bolt's WSGI handler, behind the checks above and with form bodies parsed by what their fields are.
    The body must be whole in `wsgi.input`, of CONTENT_LENGTH bytes (bot/cli/web.py reads it, bounded)."""

    def __init__(self, app: App, signing_secret: str, path: str = "/slack/events"):
        super().__init__(app, path=path)
        self.signing_secret = signing_secret

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        environ = request.environ
        body: bytes = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = request.get_headers()
        try:
            verify_signature(self.signing_secret, body, headers, time.time())
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest(400, "a body that is not UTF-8") from None
            parsed = parse_slack_body(text, _header(headers, "content-type"))
        except BadRequest as refused:
            log.warning("refused a request to %s (%d): %s", self.path, refused.status, refused.reason)
            return BoltResponse(
                status=refused.status,
                body=f"{refused.reason}\n",
                headers={"content-type": "text/plain; charset=utf-8"},
            )
        bolt_request = BoltRequest(body="", query=request.query_string, headers=headers)
        bolt_request.raw_body = text
        bolt_request.body = parsed
        bolt_request.context = build_context(BoltContext({}), parsed)
        return self.app.dispatch(bolt_request)
