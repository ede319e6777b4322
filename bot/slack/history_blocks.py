"""Block Kit for results over time: the changes a report shows, `history`, `export` and `forget me`."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.engine.history import Changes, ResultSummary, Trend, Trends, moment_text
from bot.slack.blocks import COMMAND, MAX_BLOCKS, MAX_SECTION_TEXT, Message, check_message, escape
from bot.slack.values import SessionButton

FORGET_CONFIRM_ACTION = "forget_confirm"
FORGET_CANCEL_ACTION = "forget_cancel"
CHANGES_BLOCK_ID = "changes"
LISTED_RESULTS = 10


def render(text: str, blocks: Sequence[Block]) -> Message:
    message = Message(text=text[:4000], blocks=[block.to_dict() for block in blocks])
    check_message(message)
    return message


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[:MAX_SECTION_TEXT])


def changes_block(changes: Changes, whose: str = "your") -> Block:
    """What changed since the previous comparable result, or why there is no comparison."""
    if not changes.compared or changes.previous is None:
        return ContextBlock(
            elements=[_mrkdwn(f":hourglass: {escape(changes.reason or '')}")], block_id=CHANGES_BLOCK_ID
        )
    lines = "\n".join(f"• {escape(line)}" for line in changes.lines)
    when = escape(moment_text(changes.previous.finished_at))
    heading = f"*:chart_with_upwards_trend: Since {whose} previous result* ({when})"
    return SectionBlock(text=_mrkdwn(f"{heading}\n{lines}"), block_id=CHANGES_BLOCK_ID)


def with_changes(message: Message, changes: Changes, whose: str = "your") -> Message:
    """The report with its changes right under the headline, within Slack's limits: what moved since last
    time is part of what a lead reads first."""
    if len(message.blocks) >= MAX_BLOCKS:
        return message
    block = changes_block(changes, whose).to_dict()
    ids = [b.get("block_id") for b in message.blocks]
    position = ids.index("overall") + 1 if "overall" in ids else len(message.blocks)
    updated = Message(message.text, [*message.blocks[:position], block, *message.blocks[position:]])
    check_message(updated)
    return updated


def _trend_line(trend: Trend) -> str:
    if trend.counts:
        detail = trend.counts_text
    elif trend.levels and any(level is not None for level in trend.levels):
        detail = f"levels {trend.levels_text}"
    else:
        detail = " → ".join("–" if s is None else f"{s:.1f}" for s in trend.scores)
    return f"`{trend.spark}` *{escape(trend.name)}*: {escape(detail)}"


def result_line(result: ResultSummary) -> str:
    if result.is_team:
        return team_result_line(result)
    level = "no level yet" if result.overall_level is None else f"Level {result.overall_level}"
    score = "" if result.overall_score is None else f" · score {result.overall_score:.1f}"
    pulse = "" if result.pulse_index is None else f" · pulse {result.pulse_index:.1f}"
    bank = f"{escape(result.bank_id)} v{escape(result.bank_version)}"
    workshop = " · workshop (named votes)" if result.kind == "workshop" else ""
    return f"{escape(moment_text(result.finished_at))} · {bank}{workshop} · {level}{score}{pulse}"


def team_result_line(result: ResultSummary) -> str:
    """ "4 Dec 2026 15:00 UTC · pulse v3.0.0 · 6 answered · Data: 4 of 6 at Level 3 or above; …" """
    bank = f"{escape(result.bank_id)} v{escape(result.bank_version)}"
    bands = "; ".join(f"{escape(d.name)}: {escape(d.band_line or '')}" for d in result.dimensions)
    return (
        f"{escape(moment_text(result.finished_at))} · {bank} · survey (anonymous) · "
        f"{result.respondents} answered · {bands}"
    )


def trend_lines(found: Trends) -> list[str]:
    overall = [] if found.overall is None else [_trend_line(found.overall)]
    lines = [*overall, *(_trend_line(t) for t in found.dimensions)]
    if found.pulse is not None:
        lines.append(_trend_line(found.pulse))
    return lines


def history_message(
    title: str, results: Sequence[ResultSummary], found: Trends | None, kept_note: str, empty_text: str
) -> Message:
    if not results or found is None:
        return render(empty_text, [SectionBlock(text=_mrkdwn(empty_text))])
    count = f"{len(results)} result" + ("" if len(results) == 1 else "s")
    bank = f"{escape(found.bank_title)} ({escape(found.bank_id)})"
    span = f"{len(found.results)} on {bank}, {escape(found.span_text)}"
    shown = results[:LISTED_RESULTS]
    more = f"\n…and {len(results) - len(shown)} older" if len(results) > len(shown) else ""
    blocks: list[Block] = [
        HeaderBlock(text=title[:150], block_id="history-header"),
        SectionBlock(
            text=_mrkdwn(f"*Trend* over {span}:\n" + "\n".join(trend_lines(found))), block_id="history-trends"
        ),
        SectionBlock(
            text=_mrkdwn(
                f"*{count}, newest first*\n" + "\n".join(f"• {result_line(r)}" for r in shown) + more
            ),
            block_id="history-results",
        ),
        ContextBlock(elements=[_mrkdwn(kept_note)], block_id="history-kept"),
    ]
    return render(f"{title}: {count}", blocks)


def kept_note(keep: int, retention_days: int) -> str:
    years = retention_days / 365
    age = f"{years:g} years" if retention_days % 365 == 0 else f"{retention_days} days"
    return (
        f"Kept: the newest {keep} results, each for {age}. `{COMMAND} export` sends them to you as CSV; "
        f"`{COMMAND} forget me` deletes yours."
    )


def forget_confirm_message(user_id: str) -> Message:
    value = SessionButton(u=user_id).encode()
    text = (
        "*Delete your MLOps Compass data?* This deletes your assessment in progress, your results and "
        "your history, your answers in team runs (the team's anonymous counts stay) and the schedules you "
        "created. It cannot be undone. Reports already posted in channels stay there."
    )
    blocks: list[Block] = [
        SectionBlock(text=_mrkdwn(text), block_id="forget-question"),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Delete my data", action_id=FORGET_CONFIRM_ACTION, value=value, style="danger"
                ),
                ButtonElement(text="Keep it", action_id=FORGET_CANCEL_ACTION, value=value),
            ],
            block_id="forget-buttons",
        ),
    ]
    return render("Delete your MLOps Compass data?", blocks)
