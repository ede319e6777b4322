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
from bot.engine.report_view import DimensionView, LevelView, StepView, build_view
from bot.engine.scoring import Report
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


def question_message(
    bank: QuestionBank, ask: AskQuestion, owner: str, session_id: str, run_id: str | None = None
) -> Message:
    question = ask.question
    section = bank.section_name(question)
    answer_buttons = []
    for position, (answer, label) in enumerate(choices(question)):
        value = QuestionButton(u=owner, s=session_id, q=question.id, a=encode_answer(answer), r=run_id)
        chosen = ask.previous_answer == answer
        answer_buttons.append(
            ButtonElement(
                text=PlainTextObject(text=_chosen_label(label) if chosen else label, emoji=True),
                action_id=f"{ANSWER_ACTION}:{position}",
                value=value.encode(),
                style="primary" if chosen else None,
            )
        )
    navigation = QuestionButton(u=owner, s=session_id, q=question.id, r=run_id).encode()
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
        _context(f"*{escape(section)}*  ·  {escape(bank.title)}", block_id="dimension"),
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

COLOUR_EMOJI = {
    "red": ":red_circle:",
    "orange": ":large_orange_circle:",
    "yellow": ":large_yellow_circle:",
    "green": ":large_green_circle:",
    "grey": ":white_circle:",
}
MAX_FIELD_TEXT = 2000


def _level_text(level: LevelView) -> str:
    return f"{COLOUR_EMOJI.get(level.colour, '')} {escape(level.label)}".strip()


def _dimension_field(dimension: DimensionView) -> str:
    level = _level_text(dimension.level)
    if dimension.range_text:
        level += f" _({escape(dimension.range_text)})_"
    fraction = (dimension.score or 0.0) / 100
    lines = [
        f"*{escape(dimension.name)}*",
        level,
        f"`{bar(fraction, SCORE_BAR_CELLS)}` {escape(dimension.score_text)}",
        escape(dimension.confidence_text),
    ]
    return "\n".join(lines)[:MAX_FIELD_TEXT]


def _sections(block_id: str, title: str, lines: Sequence[str]) -> list[Block]:
    """A titled list as as many sections as Slack's 3000-character limit needs, never cutting a line."""
    blocks: list[Block] = []
    chunk = f"*{title}*"
    for line in lines:
        if len(chunk) + 1 + len(line) > MAX_SECTION_TEXT:
            blocks.append(SectionBlock(text=_mrkdwn(chunk), block_id=f"{block_id}-{len(blocks)}"))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    blocks.append(SectionBlock(text=_mrkdwn(chunk), block_id=f"{block_id}-{len(blocks)}"))
    return blocks


def _step_lines(steps: Sequence[StepView]) -> list[str]:
    lines = []
    for rank, step in enumerate(steps, start=1):
        tools = f"  _Tools: {escape(', '.join(step.tools))}_" if step.tools else ""
        mark = ":no_entry: " if step.kind == "gate" else ":mag: " if step.kind == "find_out" else ""
        lines.append(f"*{rank}.* {mark}{escape(step.text)}{tools}")
    return lines


def report_message(report: Report, user_id: str | None = None) -> Message:
    view = build_view(report)
    who = f" for <@{user_id}>" if user_id else ""
    overall = _level_text(view.overall)
    if view.overall_range_text:
        overall += f" _({escape(view.overall_range_text)})_"
    headline = (
        f"Assessment{who}.\n*Overall: {overall}*  ·  score {escape(view.overall_score_text)}\n"
        f"{escape(view.headline)}\n_{escape(view.rule_text)}_"
    )
    blocks: list[Block] = [
        HeaderBlock(text=view.title[:150], block_id="header"),
        SectionBlock(text=_mrkdwn(headline), block_id="overall"),
        SectionBlock(
            fields=[_mrkdwn(_dimension_field(d)) for d in view.dimensions][:10], block_id="dimensions"
        ),
    ]
    notes = [note for d in view.dimensions for note in (d.gate_text, d.ceiling_text) if note]
    if notes:
        blocks.append(_context("\n".join(f":no_entry: {escape(n)}" for n in notes), block_id="gates"))
    blocks.append(DividerBlock(block_id="divider-advice"))
    if view.recommendation:
        recommended = [escape(view.recommendation.heading), *_step_lines(view.recommendation.items)]
        blocks += _sections("recommendation", ":dart: Recommendation", recommended)
    if view.next_steps:
        blocks += _sections("next-steps", "Next Steps", _step_lines(view.next_steps))
    for block_id, title, items in (
        ("find-out", "Find out", view.find_out),
        ("to-answer", "Answer these to get a level", view.to_answer),
        ("outcomes", "Delivery outcomes", view.outcomes),
        ("disagreements", "Outcomes and practices disagree", view.disagreements),
    ):
        if items:
            blocks += _sections(block_id, title, [f"• {escape(item)}" for item in items])
    footer = escape(view.footer)
    if view.pulse_text:
        footer = f"{escape(view.pulse_text)} · {footer}"
    blocks.append(_context(f"{footer} · Run `{COMMAND}` to take it yourself", block_id="footer"))
    level = view.overall.label if view.overall.level else "no level yet"
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
        f"• `{COMMAND} team [bank] [closes in N days]` — a team assessment in this channel: private "
        "answers, one team report (default: closes in 7 days)\n"
        f"• `{COMMAND} history` — your results over time; `history #channel` — a channel's team results\n"
        f"• `{COMMAND} export` — your history as a CSV file in a DM (in a channel, with its team results)\n"
        f"• `{COMMAND} forget me` — delete your data, after you confirm\n"
        f"• `{COMMAND} banks` — list the question banks\n"
        f"• `{COMMAND} help` — this message"
    )
    return text_message(text)


def banks_message(banks: Sequence[QuestionBank]) -> Message:
    lines = [
        f"• `{escape(b.id)}` *{escape(b.title)}* v{escape(b.version)} (reviewed {escape(b.reviewed)}) — "
        f"up to {len(b.questions)} questions, about {b.estimated_minutes} min"
        for b in banks
    ]
    return text_message("*Question banks*\n" + "\n".join(lines))
