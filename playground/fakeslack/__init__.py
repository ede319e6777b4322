"""A local stand-in for Slack: a fake Web API server and a client that signs requests like Slack."""

from playground.fakeslack.server import FakeSlack, MessageEvent, RecordedCall
from playground.fakeslack.signing import (
    SignedResponse,
    SlackRequestBody,
    SlackRequestSigner,
    block_actions_body,
    block_actions_payload,
    event_body,
    form_body,
    interaction_body,
    post_signed,
    slash_command_body,
    slash_command_fields,
)

__all__ = [
    "FakeSlack",
    "MessageEvent",
    "RecordedCall",
    "SignedResponse",
    "SlackRequestBody",
    "SlackRequestSigner",
    "block_actions_body",
    "block_actions_payload",
    "event_body",
    "form_body",
    "interaction_body",
    "post_signed",
    "slash_command_body",
    "slash_command_fields",
]
