"""A local stand-in for Slack: a fake Web API server and a client that signs requests like Slack."""

from bot.fakeslack.server import FakeSlack, MessageEvent, RecordedCall
from bot.fakeslack.signing import (
    SignedResponse,
    SlackRequestBody,
    SlackRequestSigner,
    block_actions_body,
    event_body,
    post_signed,
    slash_command_body,
)

__all__ = [
    "FakeSlack",
    "MessageEvent",
    "RecordedCall",
    "SignedResponse",
    "SlackRequestBody",
    "SlackRequestSigner",
    "block_actions_body",
    "event_body",
    "post_signed",
    "slash_command_body",
]
