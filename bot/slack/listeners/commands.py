"""`/mlops-compass [start [bank] | resume | cancel | history [#channel] | export | forget me | banks |
help]`."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.engine.catalog import UnknownBank
from bot.slack import blocks
from bot.slack.assessment import STARTING, AssessmentFlow
from bot.slack.history_blocks import forget_confirm_message
from bot.slack.history_flow import HistoryFlow

COMMAND = blocks.COMMAND


def register(app: App, flow: AssessmentFlow, history: HistoryFlow | None = None) -> None:
    @app.command(COMMAND)
    def handle_command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        words = (command.get("text") or "").split()
        subcommand = words[0].lower() if words else "start"
        argument = words[1] if len(words) > 1 else None
        team_id, user_id, channel_id = command["team_id"], command["user_id"], command["channel_id"]

        # Answers that need no state go back in the acknowledgement itself.
        if subcommand == "help":
            ack(**blocks.help_message(flow.catalog.banks, flow.default_bank).as_kwargs())
        elif subcommand == "banks":
            ack(**blocks.banks_message(flow.catalog.banks).as_kwargs())
        elif subcommand == "start":
            # Only an unknown bank is known at once; what else happens needs Redis and Slack, so the
            # acknowledgement promises nothing and the outcome follows as its own message.
            try:
                flow.catalog.by_id(argument or flow.default_bank)
            except UnknownBank as error:
                ack(text=blocks.escape(str(error)))
                return
            ack(text=STARTING)
            flow.start(team_id, user_id, channel_id, argument, respond)
        elif subcommand == "resume":
            ack()
            flow.resume(team_id, user_id, respond)
        elif subcommand == "cancel":
            ack()
            flow.cancel(team_id, user_id, respond)
        elif subcommand == "history" and history is not None:
            ack()
            history.show_history(team_id, user_id, argument, respond)
        elif subcommand == "export" and history is not None:
            ack(text=":inbox_tray: Preparing your export: the CSV file comes to our DM.")
            history.export(team_id, user_id, channel_id, respond)
        elif subcommand == "forget" and history is not None:
            if argument is not None and argument.lower() == "me" and len(words) == 2:
                ack(**forget_confirm_message(user_id).as_kwargs())
            else:
                ack(text=f"To delete your data, type `{COMMAND} forget me`; I'll ask you to confirm first.")
        else:
            shown = blocks.escape(" ".join(words))[:100]
            ack(
                text=f"I don't know `{shown}`. Try `{COMMAND}` to start, or `{COMMAND} help` for everything "
                "I can do."
            )
