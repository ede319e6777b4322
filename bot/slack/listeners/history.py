"""Clicks on `forget me`'s confirmation and on the Home tab's Resume and Start buttons."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack.history_blocks import FORGET_CANCEL_ACTION, FORGET_CONFIRM_ACTION
from bot.slack.history_flow import HistoryFlow
from bot.slack.home import (
    HOME_RESUME_ACTION,
    HOME_START_ACTION,
    HOME_START_FULL_ACTION,
    HOME_TAKE_PART_ACTION,
)
from bot.slack.payloads import BlockAction

HOME_START_PATTERN = re.compile(rf"^({HOME_START_ACTION}|{HOME_START_FULL_ACTION}):\d+$")


def register(app: App, history: HistoryFlow) -> None:
    @app.action(FORGET_CONFIRM_ACTION)
    def handle_forget(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        history.forget_clicked(BlockAction.of(body, action), respond, confirmed=True)

    @app.action(FORGET_CANCEL_ACTION)
    def handle_keep(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        history.forget_clicked(BlockAction.of(body, action), respond, confirmed=False)

    @app.action(HOME_RESUME_ACTION)
    def handle_home_resume(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        history.home_button(BlockAction.of(body, action), start=False)

    @app.action(HOME_START_PATTERN)
    def handle_home_start(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        history.home_button(BlockAction.of(body, action), start=True)

    @app.action(HOME_TAKE_PART_ACTION)
    def handle_home_take_part(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        history.home_take_part(BlockAction.of(body, action))
