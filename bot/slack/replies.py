"""What every Slack flow says and how: the ephemeral reply to the person who acted, the words for the
store's and Slack's failures."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http.client import HTTPException
from typing import Any

from slack_sdk.errors import SlackApiError, SlackObjectFormationError

from bot.slack import blocks
from bot.store.transactions import TooManyConcurrentChanges

log = logging.getLogger(__name__)

Respond = Callable[..., Any]

UNAVAILABLE = (
    ":warning: MLOps Compass can't reach its storage just now, so this click changed nothing; "
    "try the button again in a minute."
)
BUSY = (
    ":warning: Other changes reached your assessment at the same moment, so this one was not applied; "
    "nothing changed. Try again."
)
UNRECOGNISED_BUTTON = "That button isn't one I recognise, so nothing was changed."
# The request never got an answer from Slack, after the Web API client's own retries.
SLACK_UNREACHABLE: tuple[type[Exception], ...] = (OSError, HTTPException)
# The message itself breaks one of Block Kit's limits; sending it again cannot help.
UNBUILDABLE: tuple[type[Exception], ...] = (blocks.BlockLimitError, SlackObjectFormationError)
SLACK_FAILURES: tuple[type[Exception], ...] = (SlackApiError, *SLACK_UNREACHABLE, *UNBUILDABLE)
# Errors that mean the bot may not post in the channel, as opposed to Slack being unavailable.
CHANNEL_REFUSALS = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "cannot_post_in_channel"}
)


def store_trouble_text(error: Exception) -> str:
    """Redis being down and losing every race to other writers are different things to tell a person."""
    return BUSY if isinstance(error, TooManyConcurrentChanges) else UNAVAILABLE


def slack_error_code(error: SlackApiError) -> str | None:
    code = error.response.get("error") if error.response is not None else None
    return code if isinstance(code, str) else None


def why_undelivered(error: Exception) -> str:
    """Why a message did not reach the person, in words for them; logs what the operator needs."""
    if isinstance(error, SlackApiError):
        log.warning("Slack refused a message: %s", slack_error_code(error))
        return f"Slack refused it (`{slack_error_code(error)}`)"
    if isinstance(error, UNBUILDABLE):
        log.error("a message broke Block Kit's limits", exc_info=error)
        return "it breaks one of Slack's message limits, a bug on our side that has been logged"
    log.warning("Slack could not be reached: %r", error)
    return "Slack could not be reached"


def resume_hint(error: Exception) -> str:
    """Resending cannot fix a message that breaks Slack's limits; anything else may go through later."""
    return "" if isinstance(error, UNBUILDABLE) else f" Type `{blocks.COMMAND} resume` to get it."


def ephemeral(respond: Respond, message: blocks.Message) -> None:
    respond(response_type="ephemeral", replace_original=False, **message.as_kwargs())


def say(respond: Respond, text: str) -> None:
    ephemeral(respond, blocks.text_message(text))
