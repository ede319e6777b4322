"""Block Kit messages, built with slack_sdk's models so Slack's field limits are checked as they render.

Every builder returns a ``Message`` (fallback text plus blocks as dicts). ``check_message`` adds the limits
slack_sdk does not enforce (50 blocks, 25 elements per actions block, unique ids).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.engine.answers import choices, encode_answer
from bot.engine.bank import QuestionBank
from bot.engine.conversation import AskQuestion
from bot.engine.progress import SCORE_BAR_CELLS, bar, progress_line
from bot.engine.scoring import DimensionResult, Report
from bot.slack.values import (
    ANSWER_ACTION,
    BACK_ACTION,
    CANCEL_ACTION,
    RESUME_ACTION,
    START_OVER_ACTION,
    QuestionButton,
    SessionButton,
)

MAX_BLOCKS = 50
MAX_ACTIONS_ELEMENTS = 25
MAX_SECTION_TEXT = 3000
MAX_FALLBACK_TEXT = 4000
LEVEL_EMOJI = {
    1: ":red_circle:",
    2: ":large_orange_circle:",
    3: ":large_yellow_circle:",
    4: ":large_green_circle:",
}
COMMAND = "/mlops-compass"


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


class BlockLimitError(ValueError):
    pass


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _render(text: str, blocks: Sequence[Block]) -> Message:
    message = Message(text=text[:MAX_FALLBACK_TEXT], blocks=[block.to_dict() for block in blocks])
    check_message(message)
    return message


def check_message(message: Message) -> None:
    """Limits slack_sdk's models leave to the server; raises BlockLimitError."""
    if len(message.blocks) > MAX_BLOCKS:
        raise BlockLimitError(f"{len(message.blocks)} blocks; Slack allows {MAX_BLOCKS}")
    block_ids = [b["block_id"] for b in message.blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        raise BlockLimitError(f"duplicate block_id in {block_ids}")
    for block in message.blocks:
        if block["type"] == "actions":
            elements = block["elements"]
            if len(elements) > MAX_ACTIONS_ELEMENTS:
                raise BlockLimitError(f"actions block with {len(elements)} elements")
            action_ids = [e["action_id"] for e in elements]
            if len(action_ids) != len(set(action_ids)):
                raise BlockLimitError(f"duplicate action_id in one block: {action_ids}")
        if block["type"] == "section" and len(block.get("text", {}).get("text", "")) > MAX_SECTION_TEXT:
            raise BlockLimitError("section text over 3000 characters")
        # slack_sdk's own checks overlap ours; one error type lets a caller catch every refusal.
        try:
            Block.parse(block).to_dict()  # type: ignore[union-attr]
        except SlackObjectFormationError as error:
            raise BlockLimitError(str(error)) from error


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[:MAX_SECTION_TEXT])


def _context(text: str, block_id: str | None = None) -> ContextBlock:
    return ContextBlock(elements=[_mrkdwn(text)], block_id=block_id)


# Questions ---------------------------------------------------------------------------------------

MAX_BUTTON_LABEL = 75
CHOSEN_MARK = "✓ "


def _chosen_label(label: str) -> str:
    # A bank label may use the whole button limit; the mark must not push it over.
    marked = CHOSEN_MARK + label
    if len(marked) <= MAX_BUTTON_LABEL:
        return marked
    return marked[: MAX_BUTTON_LABEL - 1] + "…"


def question_message(bank: QuestionBank, ask: AskQuestion, owner: str, session_id: str) -> Message:
    question = ask.question
    dimension = bank.dimension(question.dimension)
    answer_buttons = []
    for position, (answer, label) in enumerate(choices(question)):
        value = QuestionButton(u=owner, s=session_id, q=question.id, a=encode_answer(answer))
        chosen = ask.previous_answer == answer
        answer_buttons.append(
            ButtonElement(
                text=PlainTextObject(text=_chosen_label(label) if chosen else label, emoji=True),
                action_id=f"{ANSWER_ACTION}:{position}",
                value=value.encode(),
                style="primary" if chosen else None,
            )
        )
    navigation = QuestionButton(u=owner, s=session_id, q=question.id).encode()
    controls = []
    if ask.number > 1:
        controls.append(ButtonElement(text="← Back", action_id=BACK_ACTION, value=navigation))
    controls.append(
        ButtonElement(
            text="Cancel",
            action_id=CANCEL_ACTION,
            value=navigation,
            style="danger",
            confirm=ConfirmObject(
                title="Cancel this assessment?",
                text="Your answers so far will be discarded.",
                confirm="Cancel assessment",
                deny="Keep going",
            ),
        )
    )
    blocks: list[Block] = [
        _context(f"*{escape(dimension.name)}*  ·  {escape(bank.title)}", block_id="dimension"),
        SectionBlock(text=_mrkdwn(f"*{escape(question.text)}*"), block_id="question"),
        _context(f":bulb: _Why it matters:_ {escape(question.why)}", block_id="why"),
        ActionsBlock(elements=answer_buttons, block_id=f"answers-{question.id}"),
        _context(f"`{progress_line(ask.number, ask.total)}`", block_id="progress"),
        ActionsBlock(elements=controls, block_id=f"controls-{question.id}"),
    ]
    fallback = f"Question {ask.number} of {ask.total}: {escape(question.text)}"
    return _render(fallback, blocks)


def answered_message(text: str) -> Message:
    return _render(text, [SectionBlock(text=_mrkdwn(text))])


# Report ------------------------------------------------------------------------------------------


def _level_text(level: int | None, names: dict[int, str] | Any) -> str:
    if level is None:
        return "not enough answers"
    return f"{LEVEL_EMOJI[level]} Level {level} · {escape(names.get(level, ''))}"


def _dimension_text(result: DimensionResult, names: dict[int, str] | Any) -> str:
    if result.score is None:
        body = f"*{escape(result.name)}*\n`{bar(0, SCORE_BAR_CELLS)}` not enough answers to score"
    else:
        level = _level_text(result.level, names)
        if result.level_is_uncertain:
            other = result.level_high if result.level_high != result.level else result.level_low
            level += f" _(could be {other})_"
        body = (
            f"*{escape(result.name)}*\n`{bar(result.score / 100, SCORE_BAR_CELLS)}` "
            f"{result.score:.0f}/100  {level}  ·  confidence {result.confidence:.0%}"
        )
    if result.gate is not None:
        body += (
            f"\n:no_entry: Held at level {result.level} (score alone: {result.uncapped_level}) by a "
            f"production-safety gate: _{escape(result.gate.question_text)}_"
        )
    return body


def report_message(report: Report, bank: QuestionBank, user_id: str | None = None) -> Message:
    names = dict(report.level_names)
    who = f" for <@{user_id}>" if user_id else ""
    if report.overall_level is None or report.overall_score is None:
        overall = "Not enough answers to place the practice on a level."
    else:
        overall = (
            f"*Overall: {_level_text(report.overall_level, names)}*  ·  "
            f"score {report.overall_score:.0f}/100\n"
            f"_Overall level = the {report.overall_level_rule}'s level: a team can rely only on its "
            f"weakest practice area._"
        )
    blocks: list[Block] = [
        HeaderBlock(text=f"MLOps maturity report · {bank.title}"[:150], block_id="header"),
        SectionBlock(text=_mrkdwn(f"Assessment{who}.\n{overall}"), block_id="overall"),
        DividerBlock(block_id="divider-dimensions"),
    ]
    for result in report.dimensions:
        blocks.append(
            SectionBlock(text=_mrkdwn(_dimension_text(result, names)), block_id=f"dim-{result.dimension_id}")
        )
    blocks.append(DividerBlock(block_id="divider-advice"))
    if report.recommendation and report.focus_dimension_id:
        focus = report.dimension(report.focus_dimension_id)
        blocks.append(
            SectionBlock(
                text=_mrkdwn(
                    f":dart: *Recommendation: {escape(focus.name)} (level {focus.level})*\n"
                    f"{escape(report.recommendation)}"
                ),
                block_id="recommendation",
            )
        )
    if report.next_steps:
        lines = []
        for rank, step in enumerate(report.next_steps, start=1):
            tools = f"  _Tools: {escape(', '.join(step.tools))}_" if step.tools else ""
            lines.append(f"*{rank}.* {escape(step.improvement)}{tools}")
        blocks.append(SectionBlock(text=_mrkdwn("*Next Steps*\n" + "\n".join(lines)), block_id="next-steps"))
    blocks.append(
        _context(
            f"Answered {report.answered} of {report.total_questions} · bank `{escape(report.bank_id)}` "
            f"v{escape(report.bank_version)} · Run `{COMMAND}` to take it yourself",
            block_id="footer",
        )
    )
    level = f"level {report.overall_level}" if report.overall_level else "no level yet"
    return _render(f"MLOps maturity report{who}: {level}", blocks)


# Conversation notices ----------------------------------------------------------------------------


def in_progress_message(
    owner: str, answered: int, total: int, bank_id: str, session_id: str | None = None
) -> Message:
    resume = SessionButton(u=owner).encode()
    start_over = SessionButton(u=owner, b=bank_id, s=session_id).encode()
    blocks: list[Block] = [
        SectionBlock(
            text=_mrkdwn(
                f"You already have an assessment in progress ({answered} of {total} answered). "
                "Pick up where you left off, or start over?"
            )
        ),
        ActionsBlock(
            elements=[
                ButtonElement(text="Resume", action_id=RESUME_ACTION, value=resume, style="primary"),
                ButtonElement(
                    text="Start over",
                    action_id=START_OVER_ACTION,
                    value=start_over,
                    confirm=ConfirmObject(
                        title="Start over?",
                        text="Your answers so far will be discarded.",
                        confirm="Start over",
                        deny="Keep them",
                    ),
                ),
            ]
        ),
    ]
    return _render("You already have an assessment in progress.", blocks)


def bank_changed_message(
    owner: str, bank_id: str, started_with: str, current: str, session_id: str | None = None
) -> Message:
    blocks: list[Block] = [
        SectionBlock(
            text=_mrkdwn(
                f"The question bank was updated since you started (you began on {escape(started_with)}, "
                f"it is now {escape(current)}). Your earlier answers belong to the old questions, so "
                "start over to take the current version."
            )
        ),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Start over",
                    action_id=START_OVER_ACTION,
                    value=SessionButton(u=owner, b=bank_id, s=session_id).encode(),
                    style="primary",
                )
            ]
        ),
    ]
    return _render("The question bank changed since you started.", blocks)


def text_message(text: str) -> Message:
    return _render(text, [SectionBlock(text=_mrkdwn(text))])


def help_message(banks: Sequence[QuestionBank], default_bank: str) -> Message:
    bank_list = ", ".join(f"`{escape(b.id)}`" for b in banks)
    text = (
        "*MLOps Compass* measures how mature your MLOps practice is and tells you what to do next.\n"
        f"• `{COMMAND}` — start an assessment (about 10 minutes) in a DM; the report comes back here\n"
        f"• `{COMMAND} start [bank]` — start with a specific question bank ({bank_list}; default "
        f"`{escape(default_bank)}`)\n"
        f"• `{COMMAND} resume` — send me the current question again\n"
        f"• `{COMMAND} cancel` — discard the assessment in progress\n"
        f"• `{COMMAND} banks` — list the question banks\n"
        f"• `{COMMAND} help` — this message"
    )
    return text_message(text)


def banks_message(banks: Sequence[QuestionBank]) -> Message:
    lines = [
        f"• `{escape(b.id)}` *{escape(b.title)}* v{escape(b.version)} — {len(b.questions)} questions, "
        f"about {b.estimated_minutes} min"
        for b in banks
    ]
    return text_message("*Question banks*\n" + "\n".join(lines))
