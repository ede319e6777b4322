"""Setup in modals and the app's global shortcut.

`/mlops-compass team` and `/mlops-compass schedule` without arguments open a form (``views.open`` with the
command's trigger id, which Slack honours for 3 seconds, so the listener opens it straight after the
acknowledgement). A valid submission does exactly what the typed command does, through ``TeamFlow.start``
and ``ScheduleFlow.command``; a view submission has no response_url, so what they say goes to the person as
an ephemeral message in the channel (a DM when Slack refuses that). An invalid one is answered with
``response_action: errors`` and changes nothing.

The shortcut "Start an MLOps assessment" starts a personal assessment whose report stays in the DM.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.engine.bank import QuestionBank
from bot.engine.overview import length
from bot.slack import blocks, modal_views
from bot.slack.assessment import AssessmentFlow, settled_note
from bot.slack.modal_views import FieldErrors
from bot.slack.payloads import Shortcut, SlashCommand, ViewSubmission
from bot.slack.replies import SLACK_FAILURES, say, why_undelivered
from bot.slack.schedule import IN_A_DM as SCHEDULE_IN_A_DM
from bot.slack.schedule import ScheduleFlow
from bot.slack.team import TeamFlow
from bot.usecases.team_runs import USAGE as TEAM_USAGE
from bot.usecases.team_runs import RunRequest

log = logging.getLogger(__name__)

Ack = Callable[..., Any]

START_SHORTCUT = "start_assessment"
# "Start an MLOps assessment" is 25 characters; Slack's manifest allows a shortcut name 24.
SHORTCUT_NAME = "Start MLOps assessment"


def shortcut_started_text(bank: QuestionBank) -> str:
    return (
        f":compass: You started an assessment from the shortcut ({length(bank)}): the first question is "
        f"above.{settled_note(bank)} Your report will come to this DM and stay here; nobody else sees it."
    )


SCHEDULE_USAGE = 'schedule quarterly|monthly|"<cron>" [pulse|full] [team] [at HH:MM]'
SETUP_USAGE = {"team": TEAM_USAGE, "schedule": SCHEDULE_USAGE}


def could_not_open_text(subcommand: str, error: Exception) -> str:
    return (
        f":warning: I couldn't open the form: {why_undelivered(error)}. Nothing was set up; type it "
        f"instead: `{blocks.COMMAND} {SETUP_USAGE[subcommand]}`."
    )


class ChannelReply:
    """Says what a command's path says through `respond`, for a view submission, which has no
    response_url: `in_channel` answers as a post in the channel, the rest as an ephemeral message to the
    person there. Where Slack refuses those (the bot is not in the channel), the person gets it by DM."""

    def __init__(self, client: WebClient, user_id: str, channel_id: str) -> None:
        self.client = client
        self.user_id = user_id
        self.channel_id = channel_id

    def __call__(
        self,
        *,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        response_type: str = "ephemeral",
        **_: Any,
    ) -> None:
        shown = blocks or []
        try:
            if response_type == "in_channel":
                self.client.chat_postMessage(channel=self.channel_id, text=text, blocks=shown)
            else:
                self.client.chat_postEphemeral(
                    channel=self.channel_id, user=self.user_id, text=text, blocks=shown
                )
            return
        except SLACK_FAILURES as error:
            why_undelivered(error)
        where = f"About <#{self.channel_id}>, where I couldn't show you this"
        context = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{where}:"}]}
        try:
            dm = self.client.conversations_open(users=self.user_id)["channel"]["id"]
            self.client.chat_postMessage(channel=dm, text=f"{where}: {text}", blocks=[context, *shown])
        except SLACK_FAILURES as error:
            log.warning("could not tell %s the outcome of a form: %s", self.user_id, why_undelivered(error))


class DmReply:
    """Says everything in the person's DM with the app, where a shortcut's assessment happens."""

    def __init__(self, client: WebClient, dm_channel: str) -> None:
        self.client = client
        self.dm_channel = dm_channel

    def __call__(self, *, text: str = "", blocks: list[dict[str, Any]] | None = None, **_: Any) -> None:
        try:
            self.client.chat_postMessage(channel=self.dm_channel, text=text, blocks=blocks or [])
        except SLACK_FAILURES as error:
            log.warning("could not post in a DM: %s", why_undelivered(error))


class ModalFlow:
    def __init__(
        self, assessments: AssessmentFlow, team: TeamFlow, schedules: ScheduleFlow, client: WebClient
    ):
        self.assessments = assessments
        self.team = team
        self.schedules = schedules
        self.client = client

    # Opening -----------------------------------------------------------------------------------------

    def open_for_command(self, command: SlashCommand, ack: Ack, respond: Callable[..., Any]) -> None:
        """`team` or `schedule` typed alone: acknowledge, then open its form with the command's trigger."""
        subcommand = command.subcommand
        channel_id = command.channel_id
        if subcommand == "schedule" and channel_id.startswith("D"):
            ack(text=SCHEDULE_IN_A_DM)
            return
        ack()
        catalog = self.assessments.catalog
        try:
            if subcommand == "team":
                view = modal_views.team_setup_view(catalog.banks, self.assessments.default_bank, channel_id)
            else:
                view = modal_views.schedule_setup_view(catalog, channel_id)
            self.client.views_open(trigger_id=command.trigger_id, view=view)
        except SLACK_FAILURES as error:  # a form over Slack's limits too: a bug, logged, and said
            say(respond, could_not_open_text(subcommand, error))

    # Submissions -------------------------------------------------------------------------------------

    def team_submitted(self, ack: Ack, submission: ViewSubmission) -> None:
        team_id, user_id = submission.team_id, submission.user_id
        read = modal_views.read_team_setup(submission.values, self.assessments.catalog)
        if isinstance(read, FieldErrors):
            ack(response_action="errors", errors=read.errors)
            return
        ack()
        reply = ChannelReply(self.client, user_id, read.channel_id)
        self.team.start(team_id, user_id, read.channel_id, RunRequest(read.bank_id, read.days), reply)

    def schedule_submitted(self, ack: Ack, submission: ViewSubmission) -> None:
        team_id, user_id = submission.team_id, submission.user_id
        origin = modal_views.origin_of(submission.private_metadata)
        read = modal_views.read_schedule_setup(submission.values, self.assessments.catalog)
        if origin is None:
            # Only the app writes private_metadata; without it there is no channel to schedule in.
            read = FieldErrors(
                {modal_views.RULE_FIELD: "This form lost its channel; type the command again."}
            )
        if isinstance(read, FieldErrors):
            ack(response_action="errors", errors=read.errors)
            return
        ack()
        assert origin is not None
        self.schedules.command(
            team_id, user_id, origin, read.text, ChannelReply(self.client, user_id, origin)
        )

    # The shortcut ------------------------------------------------------------------------------------

    def start_from_shortcut(self, shortcut: Shortcut) -> None:
        """A personal assessment in the person's DM, its report kept there, and word there of how it went."""
        team_id, user_id = shortcut.team_id, shortcut.user_id
        try:
            dm = self.client.conversations_open(users=user_id)["channel"]["id"]
        except SLACK_FAILURES as error:
            log.warning("the shortcut could not open a DM: %s", why_undelivered(error))
            return
        self.assessments.start(
            team_id, user_id, dm, None, DmReply(self.client, dm), started_note=shortcut_started_text
        )
