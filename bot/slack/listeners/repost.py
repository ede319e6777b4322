"""*Post it again*, on the note that a report could not be posted."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack.delivery.run import REPOST_ACTION, ReportDelivery, ReportQueue
from bot.slack.payloads import BlockAction


def register(app: App, delivery: ReportDelivery, reports: ReportQueue) -> None:
    @app.action(REPOST_ACTION)
    def handle_repost(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        delivery.repost(BlockAction.of(body, action), respond, reports)
