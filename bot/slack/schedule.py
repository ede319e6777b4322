"""`/mlops-compass schedule …` in Slack: creating, listing, cancelling and resuming reminder schedules,
and the Start button on a reminder. The use cases are bot/usecases/schedules.py; this asks Slack what only
Slack knows (the channel, the person's time zone and role) and presents what they return.

Listeners acknowledge Slack first and call in here afterwards. A refusal is an ephemeral note to the
person who typed or clicked, and changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.engine.catalog import BankCatalog, UnknownBank
from bot.engine.schedule import (
    BadSchedule,
    from_timestamp,
    local_time_text,
)
from bot.slack import blocks, schedule_blocks
from bot.slack.assessment import AssessmentFlow
from bot.slack.payloads import BlockAction
from bot.slack.replies import UNAVAILABLE, UNRECOGNISED_BUTTON, Respond, ephemeral
from bot.slack.values import InvalidButton
from bot.store.schedules import (
    MAX_SCHEDULES_PER_CHANNEL,
    ScheduleRecord,
    ScheduleStore,
    TooManySchedules,
    TooManySchedulesOfOne,
)
from bot.store.sessions import StoreUnavailable
from bot.usecases import schedules
from bot.usecases.schedules import FALLBACK_ZONE

log = logging.getLogger(__name__)

COMMAND = blocks.COMMAND
IN_A_DM = "Reminders are for a channel: type `/mlops-compass schedule …` in the channel they are for."
NOT_IN_CHANNEL = (
    "I'm not in this channel, so I couldn't post its reminders and nothing was scheduled. Invite me with "
    "`/invite @MLOps Compass`, then schedule again."
)
ARCHIVED = "This channel is archived, so nothing was scheduled."


class ScheduleFlow:
    def __init__(
        self,
        store: ScheduleStore,
        catalog: BankCatalog,
        assessments: AssessmentFlow,
        client: WebClient,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.catalog = catalog
        self.assessments = assessments
        self.client = client
        self.clock = clock

    def command(self, team_id: str, user_id: str, channel_id: str, text: str, respond: Respond) -> None:
        """Everything after `schedule`."""
        words = text.split()
        action = words[0].lower() if words else ""
        try:
            if action == "list" and len(words) == 1:
                self.list(team_id, user_id, channel_id, respond)
            elif action in ("cancel", "resume"):
                if len(words) != 2:
                    ephemeral(respond, blocks.text_message(f"Say which: `{COMMAND} schedule {action} ID`."))
                elif action == "cancel":
                    self.cancel(team_id, user_id, channel_id, words[1], respond)
                else:
                    self.resume(team_id, user_id, channel_id, words[1], respond)
            else:
                self.create(team_id, user_id, channel_id, text, respond)
        except StoreUnavailable:
            ephemeral(respond, blocks.text_message(UNAVAILABLE))

    # Create -----------------------------------------------------------------------------------------

    def create(self, team_id: str, user_id: str, channel_id: str, text: str, respond: Respond) -> None:
        if channel_id.startswith("D"):
            ephemeral(respond, blocks.text_message(IN_A_DM))
            return
        try:
            request = schedules.parse(self.catalog, text)
        except (BadSchedule, UnknownBank) as error:
            ephemeral(respond, blocks.text_message(blocks.escape(str(error))))
            return
        refusal = self._cannot_post(channel_id)
        if refusal is not None:
            ephemeral(respond, blocks.text_message(refusal))
            return
        zone, zone_note = self._zone_of(user_id)
        try:
            record, first_run = schedules.create(
                self.store, request, team_id, channel_id, user_id, zone, self.clock()
            )
        except BadSchedule as error:
            ephemeral(respond, blocks.text_message(blocks.escape(str(error))))
            return
        except TooManySchedulesOfOne as refused:
            text = (
                f"You have {refused.limit} reminder schedules already, the most one person may have, so "
                f"none was created. Cancel one of yours first (`{COMMAND} schedule list` in its channel "
                "shows it)."
            )
            ephemeral(respond, blocks.text_message(text))
            return
        except TooManySchedules:
            ephemeral(
                respond,
                blocks.text_message(
                    f"This channel has {MAX_SCHEDULES_PER_CHANNEL} reminders already; cancel one first "
                    f"(`{COMMAND} schedule list` shows them)."
                ),
            )
            return
        log.info("schedule created", extra={"team": team_id, "kind": record.rule.kind})
        message = schedule_blocks.created_message(record, request.bank.title, first_run, zone_note)
        respond(response_type="in_channel", replace_original=False, **message.as_kwargs())

    def _cannot_post(self, channel_id: str) -> str | None:
        """Why reminders could not be posted in the channel, or None when they can (or Slack won't say)."""
        try:
            channel = self.client.conversations_info(channel=channel_id)["channel"]
        except SlackApiError as error:
            code = error.response.get("error") if error.response is not None else None
            if code == "channel_not_found":  # a private channel the bot is not in
                return NOT_IN_CHANNEL
            log.warning("could not check channel %s before scheduling: %s", channel_id, code)
            return None
        if channel.get("is_archived"):
            return ARCHIVED
        if channel.get("is_member") is False:
            return NOT_IN_CHANNEL
        return None

    def _user(self, user_id: str) -> dict[str, Any]:
        try:
            user = self.client.users_info(user=user_id)["user"]
        except SlackApiError as error:
            log.warning("users.info failed for a schedule command: %s", error.response.get("error"))
            return {}
        return user if isinstance(user, dict) else {}

    def _zone_of(self, user_id: str) -> tuple[str, str | None]:
        zone = schedules.zone_of(self._user(user_id).get("tz"))
        if zone is not None:
            return zone, None
        return (
            FALLBACK_ZONE,
            f"Slack didn't tell me your time zone, so this schedule runs on {FALLBACK_ZONE}.",
        )

    # List, cancel, resume ---------------------------------------------------------------------------

    def list(self, team_id: str, user_id: str, channel_id: str, respond: Respond) -> None:
        entries = [
            schedule_blocks.ListedSchedule(record, next_run)
            for record, next_run in self.store.in_channel(team_id, channel_id)
        ]
        zone, _ = self._zone_of(user_id)
        titles = {bank.id: bank.title for bank in self.catalog.banks}
        ephemeral(respond, schedule_blocks.list_message(channel_id, entries, titles, zone))

    def cancel(self, team_id: str, user_id: str, channel_id: str, schedule_id: str, respond: Respond) -> None:
        record = self._find(team_id, schedule_id, respond)
        if record is None:
            return
        if not schedules.may_cancel(record, user_id, self._is_admin(user_id)):
            ephemeral(
                respond,
                blocks.text_message(
                    f"Only <@{record.creator_id}>, who scheduled `{record.schedule_id}`, or a workspace "
                    "admin can cancel it; nothing changed."
                ),
            )
            return
        if not self.store.cancel(record):
            ephemeral(respond, blocks.text_message(f"`{record.schedule_id}` was already cancelled."))
            return
        text = (
            f"<@{user_id}> cancelled the reminder `{record.schedule_id}` for <#{record.channel_id}> "
            f"({blocks.escape(record.rule.words())}); no more reminders come from it."
        )
        response_type = "in_channel" if channel_id == record.channel_id else "ephemeral"
        respond(response_type=response_type, replace_original=False, **blocks.text_message(text).as_kwargs())

    def resume(self, team_id: str, user_id: str, channel_id: str, schedule_id: str, respond: Respond) -> None:
        record = self._find(team_id, schedule_id, respond)
        if record is None:
            return
        if schedules.is_running(self.store, record):
            ephemeral(respond, blocks.text_message(f"`{schedule_id}` is not paused; nothing changed."))
            return
        refusal = self._cannot_post(record.channel_id)
        if refusal is not None:
            ephemeral(
                respond,
                blocks.text_message(
                    f"`{schedule_id}` stays paused: "
                    + ("its channel is archived." if refusal == ARCHIVED else "I'm still not in its channel.")
                ),
            )
            return
        next_run = schedules.resume(self.store, record, user_id, self.clock())
        if next_run is None:
            ephemeral(respond, blocks.text_message(f"`{schedule_id}` was cancelled meanwhile."))
            return
        zone, _ = self._zone_of(user_id)
        when = local_time_text(from_timestamp(next_run), zone)
        text = (
            f"<@{user_id}> resumed the reminder `{schedule_id}` for <#{record.channel_id}>: next on "
            f"*{when}* (your time)."
        )
        response_type = "in_channel" if channel_id == record.channel_id else "ephemeral"
        respond(response_type=response_type, replace_original=False, **blocks.text_message(text).as_kwargs())

    def _find(self, team_id: str, schedule_id: str, respond: Respond) -> ScheduleRecord | None:
        record = schedules.find(self.store, team_id, schedule_id)
        if record is None:
            shown = blocks.escape(schedule_id)[:20]
            ephemeral(
                respond,
                blocks.text_message(
                    f"There is no reminder `{shown}` in this workspace; `{COMMAND} schedule list` shows "
                    "a channel's reminders."
                ),
            )
        return record

    def _is_admin(self, user_id: str) -> bool:
        user = self._user(user_id)
        return bool(user.get("is_admin") or user.get("is_owner"))

    # The Start button ---------------------------------------------------------------------------------

    def start_from_reminder(self, click: BlockAction, respond: Respond) -> None:
        team_id, user_id = click.team_id, click.user_id
        try:
            button = schedule_blocks.StartButton.decode(click.value)
        except InvalidButton:
            ephemeral(respond, blocks.text_message(UNRECOGNISED_BUTTON))
            return
        channel_id = click.shown_in
        if channel_id is None:
            ephemeral(respond, blocks.text_message(UNRECOGNISED_BUTTON))
            return
        self.assessments.start(team_id, user_id, channel_id, button.b, respond)
