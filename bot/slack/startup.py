"""What a process checks of Slack before it serves anyone: that Slack accepts the bot token (`auth.test`).

A revoked or wrong token would otherwise show a healthy process whose every reply fails; an unreachable
Slack at start is tried a few times, a second apart, and then stops the process too, so that a supervisor
restarts it and the operator sees why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.replies import SLACK_UNREACHABLE, slack_error_code

START_ATTEMPTS = 3
START_RETRY_SECONDS = 1.0
START_TIMEOUT_SECONDS = 5


class SlackUnusable(Exception):
    """Slack refused the bot token, or could not be reached; the message is one line for the operator."""


@dataclass(frozen=True)
class BotIdentity:
    team_id: str
    user_id: str


def check_bot_token(
    token: str, api_url: str, attempts: int = START_ATTEMPTS, pause_seconds: float = START_RETRY_SECONDS
) -> BotIdentity:
    """The workspace and bot user Slack knows the token as. Raises SlackUnusable when Slack refuses the
    token (at once) or cannot be reached or answers with a server error (after `attempts` tries)."""
    client = WebClient(token=token, base_url=api_url, timeout=START_TIMEOUT_SECONDS)
    why = "no answer"
    for attempt in range(attempts):
        if attempt:
            time.sleep(pause_seconds)
        try:
            answer = client.auth_test()
            return BotIdentity(str(answer.get("team_id")), str(answer.get("user_id")))
        except SlackApiError as error:
            status = error.response.status_code if error.response is not None else 0
            if status == 429 or status >= 500:
                why = f"HTTP {status}"
                continue
            code = slack_error_code(error)
            raise SlackUnusable(
                f"Slack at SLACK_API_URL={api_url} refused SLACK_BOT_TOKEN ({code}); the app may have been "
                "uninstalled or the token revoked: install the app again and set its current bot token"
            ) from None
        except SLACK_UNREACHABLE as error:
            why = " ".join(str(error).split()) or type(error).__name__
    raise SlackUnusable(
        f"Slack at SLACK_API_URL={api_url} could not be reached ({why}, {attempts} tries); "
        "check SLACK_API_URL and the network"
    )
