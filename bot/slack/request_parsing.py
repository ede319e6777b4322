"""The one place where requests from Slack are parsed differently from how Bolt parses them.

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

import json
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context
from slack_bolt.response import BoltResponse

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def parse_slack_body(raw_body: str, content_type: str | None) -> dict[str, Any] | None:
    """A form body as Slack means it; None for anything Bolt already parses right (JSON, empty)."""
    if not raw_body or (content_type or "").split(";")[0].strip().lower() != FORM_CONTENT_TYPE:
        return None
    fields = dict(parse_qsl(raw_body, keep_blank_values=True))
    if "payload" not in fields:
        return fields
    try:
        payload = json.loads(fields["payload"])
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


class SlackFormRequestHandler(SlackRequestHandler):
    """Bolt's WSGI handler, with form bodies parsed by what their fields are."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        bolt_request = BoltRequest(
            body=request.get_body(), query=request.query_string, headers=request.get_headers()
        )
        body = parse_slack_body(bolt_request.raw_body, bolt_request.content_type)
        if body is not None and body != bolt_request.body:
            bolt_request.body = body
            bolt_request.context = build_context(BoltContext({}), body)
        return self.app.dispatch(bolt_request)
