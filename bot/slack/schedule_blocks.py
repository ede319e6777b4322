"""Block Kit for reminder schedules: what `schedule` answers, the reminder the clock posts in a channel,
and the DMs the clock sends (a paused schedule, an unfinished assessment, an expired one)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock, SectionBlock

from bot.engine.schedule import from_timestamp, local_time_text
from bot.slack.blocks import COMMAND, Message, _mrkdwn, _render, escape, text_message
from bot.slack.values import RESUME_ACTION, SessionButton, Token, _Value
from bot.store.schedules import PauseReason, ScheduleRecord
from bot.store.sessions import ResultRecord

START_FROM_REMINDER_ACTION = "schedule_start"
# Every reminder carries this in its message metadata, so a clock that cannot tell whether its post
# reached Slack can find it in the channel instead of posting it twice.
REMINDER_EVENT = "mlops_compass_reminder"
PAUSE_REASONS: dict[PauseReason, str] = {
    "is_archived": "the channel was archived",
    "channel_not_found": "the channel was deleted, or I can no longer see it",
    "not_in_channel": "I was removed from the channel",
    "creator_forgotten": "the person who scheduled it asked to be forgotten; whoever resumes it owns it",
}
KIND_WORDS = {"quarterly": "quarterly", "monthly": "monthly", "cron": "recurring"}


class StartButton(_Value):
    """Start, on a reminder: which schedule, and which bank to start."""

    s: Token
    b: Token


@dataclass(frozen=True)
class ListedSchedule:
    record: ScheduleRecord
    next_run: int | None


def what(record: ScheduleRecord, bank_title: str) -> str:
    """'quarterly MLOps Quarterly Pulse (a team run)'."""
    team = " (a team run)" if record.team_run else ""
    return f"{KIND_WORDS[record.kind]} {escape(bank_title)}{team}"


def _next_text(next_run: int | None, time_zone: str) -> str:
    if next_run is None:
        return "not on the clock"
    return local_time_text(from_timestamp(next_run), time_zone)


def created_message(record: ScheduleRecord, bank_title: str, next_run: int, zone_note: str | None) -> Message:
    text = (
        f"<@{record.creator_id}> scheduled a {what(record, bank_title)} reminder in this channel: "
        f"{escape(record.rule.words())}.\n"
        f"First reminder: *{_next_text(next_run, record.time_zone)}*. Id `{record.schedule_id}`: "
        f"`{COMMAND} schedule list` shows it, `{COMMAND} schedule cancel {record.schedule_id}` removes it."
    )
    if zone_note:
        text += f"\n_{escape(zone_note)}_"
    return text_message(text)


def list_message(
    channel_id: str, entries: Sequence[ListedSchedule], bank_titles: dict[str, str], viewer_zone: str
) -> Message:
    if not entries:
        return text_message(
            f"No reminders are scheduled in <#{channel_id}>. "
            f"`{COMMAND} schedule quarterly` adds one for the first Monday of each quarter."
        )
    lines = [f"*Reminders in <#{channel_id}>* (times in your zone, {escape(viewer_zone)})"]
    for entry in entries:
        record = entry.record
        title = bank_titles.get(record.bank_id, record.bank_id)
        line = (
            f"• `{record.schedule_id}` {what(record, title)}: {escape(record.rule.words())} · "
            f"cron `{record.cron}` · by <@{record.creator_id}>\n"
        )
        if record.paused is not None:
            line += (
                f"   :double_vertical_bar: *paused*: {PAUSE_REASONS[record.paused]}. "
                f"`{COMMAND} schedule resume {record.schedule_id}` resumes it."
            )
        elif entry.next_run is None:
            line += f"   not on the clock: `{COMMAND} schedule resume {record.schedule_id}` puts it back."
        else:
            line += f"   next: *{_next_text(entry.next_run, viewer_zone)}*"
        lines.append(line)
    return text_message("\n".join(lines))


def last_result_text(result: ResultRecord | None, time_zone: str) -> str:
    if result is None:
        return "No assessment result has been reported in this channel yet: this one sets the baseline."
    overall = result.report.get("overall", {})
    label = overall.get("label") or "no level"
    finished = datetime.fromtimestamp(result.finished_at, ZoneInfo(time_zone))
    title = result.report.get("title", "").removeprefix("MLOps maturity report · ") or result.bank_id
    return (
        f"Last result reported here: *{escape(str(label))}* on {finished:%a} {finished.day} "
        f"{finished:%b %Y} ({escape(str(title))}, by <@{result.respondent.user_id}>)."
    )


def reminder_message(
    record: ScheduleRecord, bank_title: str, last: ResultRecord | None, team_note: str | None = None
) -> Message:
    """The reminder in the channel, with a Start button (or, for a team schedule that could not open a
    team run, a note saying so)."""
    team = " as a team run" if record.team_run else ""
    heading = (
        f":calendar: It's time for this channel's {KIND_WORDS[record.kind]} assessment{team}: "
        f"*{escape(bank_title)}*."
    )
    blocks: list[Block] = [
        SectionBlock(text=_mrkdwn(heading), block_id="reminder"),
        SectionBlock(text=_mrkdwn(last_result_text(last, record.time_zone)), block_id="last-result"),
    ]
    if team_note:
        blocks.append(ContextBlock(elements=[_mrkdwn(escape(team_note))], block_id="team-note"))
    blocks.append(
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Start",
                    action_id=START_FROM_REMINDER_ACTION,
                    value=StartButton(s=record.schedule_id, b=record.bank_id).encode(),
                    style="primary",
                )
            ],
            block_id="start",
        )
    )
    blocks.append(
        ContextBlock(
            elements=[
                _mrkdwn(
                    f"Reminder `{record.schedule_id}` · {escape(record.rule.words())} · "
                    f"`{COMMAND} schedule list`"
                )
            ],
            block_id="schedule",
        )
    )
    return _render(heading, blocks)


def reminder_metadata(record: ScheduleRecord, run: int) -> dict[str, object]:
    return {"event_type": REMINDER_EVENT, "event_payload": {"schedule": record.schedule_id, "run": run}}


def paused_message(record: ScheduleRecord, reason: PauseReason) -> Message:
    return text_message(
        f":double_vertical_bar: I paused the reminder `{record.schedule_id}` for <#{record.channel_id}> "
        f"because {PAUSE_REASONS[reason]}, so I can't post there. I won't try again until it is resumed: "
        f"once I can post there (`/invite @MLOps Compass`), type `{COMMAND} schedule resume "
        f"{record.schedule_id}` in that channel, or `{COMMAND} schedule cancel {record.schedule_id}`."
    )


def unfinished_message(user_id: str, progress: str) -> Message:
    """`progress`: how far it got, "answered 12 questions, at most 19 to go" (bot/usecases/personal.py)."""
    text = (
        f"You started an MLOps assessment and {escape(progress)}, then it went quiet for a day. Pick up "
        "where you left off?"
    )
    return _resume_message("You have an unfinished MLOps assessment.", text, SessionButton(u=user_id))


def unfinished_in_run_message(user_id: str, progress: str, run_id: str, run_channel: str) -> Message:
    """A team run member's answers went quiet while the run is open: Resume sends their current question
    in that run again."""
    text = (
        f"You took part in the team run in <#{run_channel}> and {escape(progress)}, then it went quiet for a "
        "day. Your answers count for the team once you finish, while the run is open. Pick up where you "
        "left off?"
    )
    button = SessionButton(u=user_id, r=run_id)
    return _resume_message("You have unfinished answers in a team run.", text, button)


def _resume_message(heading: str, text: str, button: SessionButton) -> Message:
    blocks: list[Block] = [
        SectionBlock(text=_mrkdwn(text), block_id="unfinished"),
        ActionsBlock(
            elements=[
                ButtonElement(text="Resume", action_id=RESUME_ACTION, value=button.encode(), style="primary")
            ],
            block_id="resume",
        ),
    ]
    return _render(heading, blocks)


def expired_message() -> Message:
    return text_message(
        "Your unfinished MLOps assessment has expired after a long silence, so its answers are gone. "
        f"Type `{COMMAND}` whenever you want to start a new one."
    )


def expired_in_run_message(run_channel: str) -> Message:
    return text_message(
        f"Your unfinished answers in the team run in <#{run_channel}> have expired after a long silence, "
        "so they are gone. The run is still open: *Take part* on its message starts afresh."
    )
