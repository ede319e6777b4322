"""Button clicks on question messages, the offer to stop, the in-progress prompt and a report's button for
the questions it left out."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack.assessment import AssessmentFlow
from bot.slack.payloads import BlockAction
from bot.slack.values import (
    ANSWER_ACTION_PATTERN,
    ANSWER_LEFT_OUT_ACTION,
    BACK_ACTION,
    CANCEL_ACTION,
    KEEP_GOING_ACTION,
    RESUME_ACTION,
    START_OVER_ACTION,
    STOP_HERE_ACTION,
)


def register(app: App, flow: AssessmentFlow) -> None:
    def handle_question_click(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        flow.click(BlockAction.of(body, action), respond)

    for matcher in (ANSWER_ACTION_PATTERN, BACK_ACTION, CANCEL_ACTION, KEEP_GOING_ACTION, STOP_HERE_ACTION):
        app.action(matcher)(handle_question_click)

    @app.action(RESUME_ACTION)
    def handle_resume(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        flow.session_button(BlockAction.of(body, action), respond, start_over=False)

    @app.action(START_OVER_ACTION)
    def handle_start_over(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        flow.session_button(BlockAction.of(body, action), respond, start_over=True)

    @app.action(ANSWER_LEFT_OUT_ACTION)
    def handle_answer_left_out(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        flow.answer_left_out(BlockAction.of(body, action), respond)
