"""Form bodies parsed by their fields, where Bolt's own parser goes by the text."""

from __future__ import annotations

import re

import pytest
from slack_bolt.request.internals import parse_body

from bot.slack.request_parsing import FORM_CONTENT_TYPE, BadRequest, parse_slack_body
from playground.fakeslack import block_actions_payload, interaction_body, slash_command_body


def command_body(**fields: str) -> str:
    return slash_command_body(user_id="U1", channel_id="C1", response_url="https://r/1", **fields).body


def test_a_slash_command_that_mentions_payload_keeps_its_fields() -> None:
    for fields in ({"text": "payload"}, {"team_domain": "payloads-inc"}, {"user_name": "payload=1"}):
        parsed = parse_slack_body(command_body(**fields), FORM_CONTENT_TYPE)
        assert parsed is not None
        assert parsed["command"] == "/mlops-compass"
        assert {name: parsed[name] for name in fields} == fields


def test_bolt_itself_still_misreads_such_a_command() -> None:
    # When this starts failing, Bolt parses forms by their fields and bot/slack/request_parsing.py can go.
    assert parse_body(command_body(text="payload"), FORM_CONTENT_TYPE) == {}


def test_a_click_is_its_payload_whatever_its_text() -> None:
    payload = block_actions_payload(
        user_id="U1",
        user_name="token=x&payload=y",
        channel_id="D1",
        message_ts="1.2",
        response_url="https://r/2",
        action_id="answer:0",
        value='{"payload": 1}',
    )
    body = interaction_body(payload).body
    assert parse_slack_body(body, FORM_CONTENT_TYPE + "; charset=utf-8") == payload
    assert parse_body(body, FORM_CONTENT_TYPE) == payload, "Bolt reads clicks right"


def test_an_event_is_its_json_and_bodies_slack_would_not_send_are_refused() -> None:
    assert parse_slack_body('{"type": "event_callback"}', "application/json") == {"type": "event_callback"}
    refused = {
        ("", FORM_CONTENT_TYPE): "an empty form",
        ("payload=%7Bnot+json", FORM_CONTENT_TYPE): "the payload field is not JSON",
        ("payload=%5B1%5D", FORM_CONTENT_TYPE): "the payload field is JSON but not an object",
        ("[" * 100_000 + "]" * 100_000, "application/json"): "the body is JSON nested too deeply",
        ('{"command": "/mlops-compass"}', "application/json"): "a JSON body that is no Events API event",
        ("command=%2Fmlops-compass", "text/plain"): "content type text/plain",
        ("a=1&" * 200, FORM_CONTENT_TYPE): "a form of more than 100 fields",
        ("command=%2Fx&user_id=U1", FORM_CONTENT_TYPE): "a slash command without team_id, channel_id",
        ('payload={"type":"block_actions","user":{}}', FORM_CONTENT_TYPE): "payload's user without id",
    }
    for (body, content_type), reason in refused.items():
        with pytest.raises(BadRequest, match=re.escape(reason)) as raised:
            parse_slack_body(body, content_type)
        assert raised.value.status == 400
