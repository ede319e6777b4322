"""Button clicks on question messages and on the in-progress prompt."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack.assessment import AssessmentFlow
from bot.slack.payloads import BlockAction
from bot.slack.values import (
    ANSWER_ACTION_PATTERN,
    BACK_ACTION,
    CANCEL_ACTION,
    RESUME_ACTION,
    START_OVER_ACTION,
)


def register(app: App, flow: AssessmentFlow) -> None:
    def handle_question_click(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        flow.click(BlockAction.of(body, action), respond)

    for matcher in (ANSWER_ACTION_PATTERN, BACK_ACTION, CANCEL_ACTION):
        app.action(matcher)(handle_question_click)

    @app.action(RESUME_ACTION)
    def handle_resume(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        flow.session_button(BlockAction.of(body, action), respond, start_over=False)

    @app.action(START_OVER_ACTION)
    def handle_start_over(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        flow.session_button(BlockAction.of(body, action), respond, start_over=True)
