"""Block Kit for team runs: the run's message in the channel, the team report, the nudge, and the notes a
person gets. The team report lays out the engine's ``TeamReportView`` only, which holds no user id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.engine.bank import QuestionBank
from bot.engine.team_view import SplitView, TeamDimensionView, TeamReportView
from bot.slack.blocks import (
    COMMAND,
    Message,
    _context,
    _mrkdwn,
    _render,
    _sections,
    _step_lines,
    danger_button,
    escape,
    text_message,
)
from bot.slack.values import Token, _Value
from bot.store.team_runs import CLOSED_BY_DEADLINE, FORGOTTEN, RunRecord
from bot.usecases.personal import asked_length, member_asking

TAKE_PART_ACTION = "team_take_part"
NUDGE_ACTION = "team_nudge"
CLOSE_ACTION = "team_close"
TEAM_ACTIONS = (TAKE_PART_ACTION, NUDGE_ACTION, CLOSE_ACTION)


class TeamButton(_Value):
    """A button on a run's message or a nudge: which run it acts on."""

    r: Token


def when(timestamp: float) -> str:
    """A time every reader sees in their own time zone, with UTC for clients that cannot."""
    fallback = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(timestamp)}^{{date_short_pretty}} at {{time}}|{fallback}>"


def member_length(bank: QuestionBank) -> str:
    """How long a member's part takes: as measured where members are asked adaptively, every question
    where the team report counts a dimension by score."""
    return asked_length(bank, member_asking(bank))


def who(user_id: str | None) -> str:
    """A person a run names (its starter, who closed it), or what stands for one who asked to be
    forgotten."""
    if user_id is None or user_id == FORGOTTEN:
        return "a former member (forgotten at their request)"
    return f"<@{user_id}>"


def _count_text(answered: int) -> str:
    return f"*{answered} answered*"


def run_message(run: RunRecord, bank: QuestionBank, answered: int) -> Message:
    """The run's message while it is open: who started it, the bank, the deadline, the live count."""
    value = TeamButton(r=run.run_id).encode()
    intro = (
        f"{who(run.starter_id)} started an anonymous team survey: *{escape(bank.title)}* "
        f"({member_length(bank)}). "
        "Each of you answers privately in a DM; the team gets one report of how many of you are at each "
        "band per dimension, built so that nobody, not even the others together, can tell what one person "
        f"answered. Closes {when(run.deadline)}. "
        f"To answer together with names shown instead, `{COMMAND} workshop` runs an open workshop."
    )
    blocks: list[Block] = [
        HeaderBlock(text="Team MLOps assessment", block_id="header"),
        SectionBlock(text=_mrkdwn(intro), block_id="intro"),
        _context(f"{_count_text(answered)} so far", block_id="count"),
        ActionsBlock(
            block_id="run-actions",
            elements=[
                ButtonElement(text="Take part", action_id=TAKE_PART_ACTION, value=value, style="primary"),
                ButtonElement(text="Nudge", action_id=NUDGE_ACTION, value=value),
                danger_button(
                    "Close & show results",
                    CLOSE_ACTION,
                    value,
                    (
                        "Close this team run?",
                        "Nobody can answer after this; the team report is posted here.",
                        "Close & show results",
                        "Keep it open",
                    ),
                ),
            ],
        ),
        _context(
            f"Nudge: {who(run.starter_id)} only, once a day. Close & show results: {who(run.starter_id)} "
            "or a workspace admin.",
            block_id="who",
        ),
    ]
    return _render(f"Team MLOps assessment: {answered} answered so far", blocks)


def closed_run_message(run: RunRecord, bank_title: str, answered: int) -> Message:
    closed_at = when(run.closed_at or run.deadline)
    how = "at its deadline" if run.closed_by == CLOSED_BY_DEADLINE else f"by {who(run.closed_by)}"
    text = (
        f"{who(run.starter_id)}'s team assessment ({escape(bank_title)}) closed {how} {closed_at} with "
        f"{_count_text(answered)}. The team report is posted below."
    )
    blocks: list[Block] = [
        HeaderBlock(text="Team MLOps assessment · closed", block_id="header"),
        SectionBlock(text=_mrkdwn(text), block_id="intro"),
        _context(f"{_count_text(answered)} · closed", block_id="count"),
    ]
    return _render(f"Team MLOps assessment closed: {answered} answered", blocks)


# The team report ------------------------------------------------------------------------------------


def _dimension_field(dimension: TeamDimensionView) -> str:
    lines = [f"*{escape(dimension.name)}*"]
    if dimension.shown:
        lines += [escape(dimension.bands_text or ""), f"_{escape(dimension.position_text or '')}_"]
    else:
        lines.append(f":lock: _{escape(dimension.withheld_text or '')}_")
    return "\n".join(lines)


def _split_lines(splits: Sequence[SplitView]) -> list[str]:
    return [f"• *{escape(split.dimension)}:* {escape(split.detail)}" for split in splits]


def team_report_message(view: TeamReportView) -> Message:
    blocks: list[Block] = [HeaderBlock(text=view.title[:150], block_id="header")]
    if view.withheld:
        summary = f"*{escape(view.count_text)}*\n:lock: {escape(view.withheld_text or '')}"
        blocks.append(SectionBlock(text=_mrkdwn(summary), block_id="overall"))
        blocks.append(_context(escape(view.footer), block_id="footer"))
        return _render(f"Team MLOps report: {view.count_text}; results withheld", blocks)
    overall = f"*{escape(view.count_text)}*\n{escape(view.headline or '')}"
    blocks += [
        SectionBlock(text=_mrkdwn(overall), block_id="overall"),
        SectionBlock(
            fields=[_mrkdwn(_dimension_field(d)) for d in view.dimensions][:10], block_id="dimensions"
        ),
        _context(escape(view.method_text), block_id="method"),
        DividerBlock(block_id="divider-splits"),
    ]
    if view.splits:
        title = ":left_right_arrow: Where the team differs (talk these through first)"
        blocks += _sections("splits", title, _split_lines(view.splits))
    else:
        nothing = "in every dimension shown, all members are on the same side."
        blocks += _sections("splits", ":left_right_arrow: Where the team differs", [nothing])
    if view.recommendation:
        blocks.append(DividerBlock(block_id="divider-advice"))
        recommended = [escape(view.recommendation.heading), *_step_lines(view.recommendation.items)]
        blocks += _sections("recommendation", ":dart: Recommendation", recommended)
    blocks.append(_context(escape(view.footer), block_id="footer"))
    return _render(f"Team MLOps report: {view.count_text}; {view.headline or ''}".strip(), blocks)


# Notes to people ---------------------------------------------------------------------------------------


def nudge_message(run: RunRecord, bank: QuestionBank) -> Message:
    text = (
        f"{who(run.starter_id)} asked the team in <#{run.channel_id}> to take the MLOps assessment "
        f"*{escape(bank.title)}* ({member_length(bank)}). Your answers stay private: the team sees only "
        f"the aggregate. It closes {when(run.deadline)}."
    )
    blocks: list[Block] = [
        SectionBlock(text=_mrkdwn(text), block_id="nudge"),
        ActionsBlock(
            block_id="nudge-actions",
            elements=[
                ButtonElement(
                    text="Take part",
                    action_id=TAKE_PART_ACTION,
                    value=TeamButton(r=run.run_id).encode(),
                    style="primary",
                )
            ],
        ),
    ]
    return _render(
        f"A reminder: the team assessment in #{run.channel_id} is waiting for your answers.", blocks
    )


def closed_note(run: RunRecord, report_posted: bool = True) -> Message:
    """`report_posted`: Slack confirmed the report's post in the run's channel."""
    closed = when(run.closed_at or run.deadline)
    report = (
        f"its report is in <#{run.channel_id}>"
        if report_posted
        else f"its report is saved but not yet posted in <#{run.channel_id}>"
    )
    return text_message(
        f"This team run closed {closed}, so nothing was changed; {report}. "
        f"Start a new one with `{COMMAND} team`."
    )


def opened_note(run: RunRecord) -> Message:
    return text_message(
        f"Your team run is posted in this channel and closes {when(run.deadline)}. Take part like everyone "
        "else; *Nudge* (once a day) and *Close & show results* are yours."
    )


def already_open_note(run: RunRecord) -> Message:
    return text_message(
        f"There is already an open team run in this channel, started by {who(run.starter_id)} and closing "
        f"{when(run.deadline)}, so I didn't start another. Take part in it, or close it first with "
        "*Close & show results*."
    )


def close_refused_note(run: RunRecord) -> Message:
    return text_message(
        f"Only {who(run.starter_id)}, who started this team run, or a workspace admin can close it, so it "
        "stays open and nothing was changed."
    )


def nudge_refused_note(run: RunRecord) -> Message:
    return text_message(
        f"Only {who(run.starter_id)}, who started this team run, can nudge the channel, so nobody was "
        "messaged."
    )


def nudged_recently_note(seconds_left: int) -> Message:
    hours = max(1, round(seconds_left / 3600))
    return text_message(
        "The channel was nudged less than a day ago, so nobody was messaged this time. "
        f"You can nudge again in about {hours} hour{'s' if hours != 1 else ''}."
    )


def nudged_note(sent: int, failed: int, answered: int, skipped: int) -> Message:
    if sent == 0 and failed == 0:
        lead = "Everyone in the channel has answered already, so nobody was messaged."
    else:
        lead = f"I sent a reminder to {sent} {'person' if sent == 1 else 'people'} who haven't answered yet."
    details = [f"{answered} already answered"]
    if skipped:
        details.append(f"{skipped} bots or deactivated accounts skipped")
    if failed:
        details.append(f"{failed} could not be messaged")
    return text_message(f"{lead} ({'; '.join(details)}.)")


def take_part_text(bank: QuestionBank, retake: bool) -> str:
    text = (
        f"I've sent the first question to our DM ({member_length(bank)}). Your answers "
        "stay private: the team sees only the aggregate."
    )
    if retake:
        text += (
            " When you finish, your new answers replace your earlier ones; until then the earlier ones count."
        )
    return text


def counted_note(run: RunRecord, answered: int, replaced: bool) -> Message:
    lead = "Your new answers replace your earlier ones" if replaced else "Your answers are counted"
    return text_message(
        f"{lead} in the team run in <#{run.channel_id}> ({answered} answered so far). The team report "
        f"comes to <#{run.channel_id}> when the run closes; it shows only the team's aggregate. The report "
        "above is your own."
    )


def not_counted_note(run: RunRecord | None) -> Message:
    where = f"in <#{run.channel_id}> " if run is not None else ""
    return text_message(
        f"The team run {where}had closed before you finished, so these answers were not counted in it. "
        "The report above is your own and is kept."
    )
