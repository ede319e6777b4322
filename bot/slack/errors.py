"""The answer to whatever a listener did not expect: the person is told honestly, and it is logged once.

A stored record that failed validation (CorruptRecord) has been set aside by the store: the person is
told that, and to start over. Anything else stopped the step part-way; every change the app makes is one
Redis transaction, so what the person answered before is kept, and the step itself may not have happened.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack import blocks
from bot.slack.replies import SLACK_FAILURES, Respond
from bot.store.corrupt import CorruptRecord

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = (
    ":warning: Something went wrong on our side, so this step wasn't completed; it has been logged. "
    f"Nothing you answered before was lost: `{blocks.COMMAND} resume` shows where you are."
)


def corrupt_text(error: CorruptRecord) -> str:
    return (
        f":warning: I couldn't read your stored {error.kind}, so I've set it aside for us to look at; "
        f"nothing else changed. Please start over: type `{blocks.COMMAND}` (or `{blocks.COMMAND} help`)."
    )


def answer_unexpected(
    error: Exception, body: dict[str, Any], respond: Respond | None, client: WebClient
) -> None:
    if isinstance(error, CorruptRecord):
        text = corrupt_text(error)  # the store logged it when it set the record aside
    else:
        log.error("unexpected error in a listener", exc_info=error)
        text = SOMETHING_WENT_WRONG
    user_id = _user_of(body)
    try:
        if respond is not None and _has_response_url(body):
            respond(response_type="ephemeral", replace_original=False, text=text)
        elif user_id is not None:
            dm = client.conversations_open(users=user_id)["channel"]["id"]
            client.chat_postMessage(channel=dm, text=text)
    except SLACK_FAILURES as failed:
        log.warning("could not tell the person about an error: %r", failed)


def register(app: App) -> None:
    @app.error
    def handle_error(
        error: Exception, body: dict[str, Any], respond: Respond | None, client: WebClient
    ) -> None:
        answer_unexpected(error, body, respond, client)


def _has_response_url(body: dict[str, Any]) -> bool:
    return bool(body.get("response_url") or body.get("response_urls"))


def _user_of(body: dict[str, Any]) -> str | None:
    user = body.get("user_id") or body.get("user") or (body.get("event") or {}).get("user")
    if isinstance(user, dict):
        user = user.get("id")
    return str(user) if user else None
