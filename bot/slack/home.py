"""The App Home tab: your latest result and trend, an assessment in progress with Resume, a Start button
per bank, team runs open in your channels with Take part, and the latest team results of your channels.

The view is built with slack_sdk's models (`View` checks Slack's 100-block limit and field limits as it
renders); `home_view` refuses anything Slack would.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.engine.catalog import BankCatalog, UnknownBank
from bot.engine.history import day, moment_text
from bot.slack.blocks import (
    COMMAND,
    MAX_BUTTON_TEXT_SHOWN,
    MAX_SECTION_TEXT,
    BlockLimitError,
    check_elements,
    escape,
)
from bot.slack.history_blocks import result_line, trend_lines
from bot.slack.team_blocks import TeamButton
from bot.slack.values import SessionButton
from bot.store.team_runs import TeamRunStore
from bot.usecases.history import HomeData, OpenRunsLookup, OpenTeamRun

MAX_HOME_BLOCKS = 100
HOME_RESUME_ACTION = "home_resume"
HOME_START_ACTION = "home_start"  # one per bank: "home_start:<index>"
# One per bank, "home_start_full:<index>": a full run, every question.
HOME_START_FULL_ACTION = "home_start_full"
# Take part from the Home tab: the team run's own button, answered in the DM (Home clicks have no
# response_url).
HOME_TAKE_PART_ACTION = "home_take_part"
MAX_BUTTONS_PER_ROW = 5
MAX_ACCESSIBILITY_LABEL = 75
MAX_OPEN_RUNS = 10


def open_team_runs(runs: TeamRunStore, catalog: BankCatalog) -> OpenRunsLookup:
    """The team runs open in the person's channels, each with a Take part button for the Home tab."""

    def lookup(team_id: str, user_id: str, channel_ids: Sequence[str]) -> list[OpenTeamRun]:
        found = []
        for channel_id in channel_ids:
            run = runs.open_in(team_id, channel_id)
            if run is None:
                continue
            try:
                title = catalog.by_id(run.bank_id).title
            except UnknownBank:
                title = run.bank_id
            found.append(
                OpenTeamRun(
                    channel_id=channel_id,
                    bank_title=title,
                    answered=runs.respondent_count(team_id, run.run_id),
                    closes_at=run.deadline,
                    take_part_action_id=HOME_TAKE_PART_ACTION,
                    take_part_value=TeamButton(r=run.run_id).encode(),
                )
            )
        return found

    return lookup


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[:MAX_SECTION_TEXT])


def _start_button(user_id: str, index: int, bank_id: str, bank_title: str) -> ButtonElement:
    """A bank's Start button: "Start <title>", or "Start <id>" where a client would cut the title (the
    section above names both); a screen reader hears the whole title either way."""
    whole = f"Start {bank_title}"
    shown = whole if len(whole) <= MAX_BUTTON_TEXT_SHOWN else f"Start {bank_id}"[:MAX_BUTTON_TEXT_SHOWN]
    return ButtonElement(
        text=shown,
        action_id=f"{HOME_START_ACTION}:{index}",
        value=SessionButton(u=user_id, b=bank_id).encode(),
        accessibility_label=whole[:MAX_ACCESSIBILITY_LABEL],
    )


def _start_full_button(user_id: str, index: int, bank_id: str, bank_title: str) -> ButtonElement:
    """A bank's button for a full run: "Every question: <id>"."""
    return ButtonElement(
        text=f"Every question: {bank_id}"[:MAX_BUTTON_TEXT_SHOWN],
        action_id=f"{HOME_START_FULL_ACTION}:{index}",
        value=SessionButton(u=user_id, b=bank_id, m="full").encode(),
        accessibility_label=f"Start {bank_title}, every question"[:MAX_ACCESSIBILITY_LABEL],
    )


def home_blocks(data: HomeData) -> list[Block]:
    blocks: list[Block] = [
        HeaderBlock(text="MLOps Compass", block_id="home-header"),
        ContextBlock(
            elements=[
                _mrkdwn(
                    f"How mature your MLOps practice is, and how it moves. `{COMMAND} help` lists commands."
                )
            ],
            block_id="home-about",
        ),
        DividerBlock(block_id="home-divider-yours"),
    ]
    history = data.history
    if history.results and history.trends is not None:
        latest = history.results[0]
        level = "no level yet" if latest.overall_level is None else f"Level {latest.overall_level}"
        blocks.append(
            SectionBlock(
                text=_mrkdwn(
                    f"*Your latest result* · {escape(latest.bank_title)}, "
                    f"{escape(moment_text(latest.finished_at))}\n"
                    f"*{level}*"
                    + ("" if latest.overall_score is None else f" · score {latest.overall_score:.1f}")
                ),
                block_id="home-latest",
            )
        )
        blocks.append(
            SectionBlock(
                text=_mrkdwn(
                    f"*Your trend* ({len(history.trends.results)} comparable, "
                    f"{escape(history.trends.span_text)})\n" + "\n".join(trend_lines(history.trends))
                ),
                block_id="home-trend",
            )
        )
    else:
        blocks.append(
            SectionBlock(
                text=_mrkdwn(
                    "*No results yet.* Take an assessment below: your result and its trend show here."
                ),
                block_id="home-latest",
            )
        )
    if data.in_progress is not None:
        progress = data.in_progress
        blocks.append(
            SectionBlock(
                text=_mrkdwn(
                    f"*In progress:* {escape(progress.bank_title)}, {escape(progress.progress.text)}"
                ),
                accessory=ButtonElement(
                    text="Resume",
                    action_id=HOME_RESUME_ACTION,
                    value=SessionButton(u=data.user_id).encode(),
                    style="primary",
                ),
                block_id="home-in-progress",
            )
        )
    start_buttons = [
        _start_button(data.user_id, index, bank.id, bank.title) for index, bank in enumerate(data.banks)
    ]
    full_buttons = [
        _start_full_button(data.user_id, index, bank.id, bank.title) for index, bank in enumerate(data.banks)
    ]
    if start_buttons:
        descriptions = "\n".join(
            f"• *{escape(b.title)}* (`{escape(b.id)}`): {escape(b.length)}; every question: "
            f"{escape(b.full_length)}"
            for b in data.banks
        )
        about = (
            "*Take an assessment* (questions come by DM). *Start* asks only the questions that can still "
            "change a level and offers to stop once your overall level is settled; *Every question* asks "
            "them all, for exact scores."
        )
        blocks.append(SectionBlock(text=_mrkdwn(f"{about}\n{descriptions}"), block_id="home-banks"))
        for kind, buttons in (("start", start_buttons), ("start-full", full_buttons)):
            for row in range(0, len(buttons), MAX_BUTTONS_PER_ROW):
                blocks.append(
                    ActionsBlock(
                        elements=buttons[row : row + MAX_BUTTONS_PER_ROW], block_id=f"home-{kind}-{row}"
                    )
                )
    blocks.append(DividerBlock(block_id="home-divider-teams"))
    if data.open_runs:
        blocks.append(SectionBlock(text=_mrkdwn("*Team runs open in your channels*"), block_id="home-runs"))
        for index, run in enumerate(data.open_runs[:MAX_OPEN_RUNS]):
            closes = day(run.closes_at, time.time())
            blocks.append(
                SectionBlock(
                    text=_mrkdwn(
                        f"<#{run.channel_id}> · {escape(run.bank_title)} · {run.answered} answered · "
                        f"closes {closes}"
                    ),
                    accessory=ButtonElement(
                        text="Take part", action_id=run.take_part_action_id, value=run.take_part_value
                    ),
                    block_id=f"home-run-{index}",
                )
            )
    if data.channel_results:
        lines = [f"• <#{channel}> {result_line(result)}" for channel, result in data.channel_results]
        blocks.append(
            SectionBlock(
                text=_mrkdwn("*Latest team results in your channels*\n" + "\n".join(lines)),
                block_id="home-team-results",
            )
        )
    if not data.open_runs and not data.channel_results:
        blocks.append(
            ContextBlock(
                elements=[_mrkdwn("No team runs or team results in your channels yet.")],
                block_id="home-no-teams",
            )
        )
    return blocks


def home_view(data: HomeData) -> dict[str, Any]:
    """The Home tab as `views.publish` takes it; raises BlockLimitError for anything Slack would refuse."""
    blocks = home_blocks(data)
    if len(blocks) > MAX_HOME_BLOCKS:
        raise BlockLimitError(f"{len(blocks)} blocks; a Home tab allows {MAX_HOME_BLOCKS}")
    try:
        view = View(type="home", blocks=blocks, callback_id="mlops-compass-home").to_dict()
        for block in view["blocks"]:
            # What a client would show badly, as in every message: buttons cut short or unnamed to a reader.
            check_elements([*block.get("elements", []), block.get("accessory") or {}])
        return view
    except SlackObjectFormationError as error:
        raise BlockLimitError(str(error)) from error
