"""The controls of a workshop's question messages (`/mlops-compass workshop …` itself is in
bot/slack/subcommands.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack.payloads import BlockAction
from bot.slack.workshop import WorkshopFlow
from bot.slack.workshop_blocks import (
    BACK_ACTION,
    HAND_OVER_ACTION,
    PAUSE_ACTION,
    RESUME_ACTION,
    SETTLE_ACTION,
    SETTLE_AS_ACTION,
    SKIP_ACTION,
    VOTE_ACTION,
)

Step = Callable[[BlockAction, Respond], None]


def register(app: App, workshop: WorkshopFlow) -> None:
    steps: dict[str | re.Pattern[str], Step] = {
        re.compile(f"^{VOTE_ACTION}_\\d+$"): workshop.vote,
        SETTLE_ACTION: workshop.settle,
        SETTLE_AS_ACTION: workshop.settle_as,
        SKIP_ACTION: workshop.skip,
        BACK_ACTION: workshop.back,
        PAUSE_ACTION: workshop.pause,
        RESUME_ACTION: workshop.resume,
        HAND_OVER_ACTION: workshop.hand_over,
    }
    for action_id, step in steps.items():
        app.action(action_id)(_listener(step))


def _listener(step: Step) -> Callable[..., None]:
    def handle(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        step(BlockAction.of(body, action), respond)

    return handle
