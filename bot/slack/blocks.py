"""Block Kit messages, built with slack_sdk's models so Slack's field limits are checked as they render.

Every builder returns a ``Message`` (fallback text plus blocks as dicts). ``check_message`` adds the limits
slack_sdk does not enforce (50 blocks, 25 elements per actions block, unique ids).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
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
    Option,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
)

from bot.engine.answers import Answer, OptionChoice, choices, encode_answer
from bot.engine.bank import QuestionBank
from bot.engine.conversation import AskQuestion
from bot.engine.progress import SCORE_BAR_CELLS, bar, progress_line
from bot.engine.report_view import DimensionView, LevelView, ReportView, StepView, build_view
from bot.engine.scoring import Report
from bot.slack.values import (
    ANSWER_ACTION,
    BACK_ACTION,
    CANCEL_ACTION,
    OTHER_ANSWER_ACTION,
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


# Slack's Block Kit reference: a button's text "may truncate with ~30 characters" (75 at most), so a
# longer text reads as "Some projects in Git; many not…" in a real client.
MAX_BUTTON_TEXT_SHOWN = 30
_PLAIN_WORDS = re.compile(r"^[A-Za-z][a-z]*( [A-Za-z&][a-z]*)*$")


def needs_accessibility_label(text: str) -> bool:
    """A button text a screen reader would read badly: an emoji, a symbol or an abbreviation, anything
    but plain words."""
    return not _PLAIN_WORDS.match(text)


def check_elements(elements: Sequence[dict[str, Any]]) -> None:
    """What a person would see badly, which Slack itself accepts: button texts cut short, and buttons
    that say nothing to a screen reader."""
    for element in elements:
        if element.get("type") != "button":
            continue
        text = element["text"]["text"]
        if len(text) > MAX_BUTTON_TEXT_SHOWN:
            raise BlockLimitError(
                f"button text {text!r} is {len(text)} characters; Slack shows about {MAX_BUTTON_TEXT_SHOWN}"
            )
        if needs_accessibility_label(text) and not element.get("accessibility_label"):
            raise BlockLimitError(f"button {text!r} needs an accessibility_label")


def check_message(message: Message) -> None:
    """Limits slack_sdk's models leave to the server, and what a real client would show badly; raises
    BlockLimitError."""
    if not message.text.strip():
        raise BlockLimitError("a message needs notification text, for notifications and screen readers")
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
            check_elements(elements)
        if block["type"] == "section" and isinstance(block.get("accessory"), dict):
            check_elements([block["accessory"]])
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

# Options are radio buttons, not buttons: Slack shows a button's text only up to about 30 characters
# ("may truncate with ~30 characters"), while a radio option shows its whole text (75 at most) on
# desktop and mobile, and choosing one sends block_actions at once, so an answer is still one click.
MAX_OPTION_TEXT = 75
OTHER_ANSWERS = "If none of these fits:"


def _radio_group(
    action_id: str,
    offered: Sequence[tuple[Answer, str]],
    previous: Answer | None,
    value_for: Callable[[Answer], str],
) -> RadioButtonsElement:
    options = [
        Option(value=value_for(answer), text=PlainTextObject(text=label[:MAX_OPTION_TEXT], emoji=True))
        for answer, label in offered
    ]
    chosen = next(
        (option for option, (answer, _) in zip(options, offered, strict=True) if answer == previous), None
    )
    return RadioButtonsElement(action_id=action_id, options=options, initial_option=chosen)


def question_message(
    bank: QuestionBank, ask: AskQuestion, owner: str, session_id: str, run_id: str | None = None
) -> Message:
    question = ask.question
    section = bank.section_name(question)

    def value_for(answer: Answer) -> str:
        return QuestionButton(
            u=owner, s=session_id, q=question.id, a=encode_answer(answer), r=run_id
        ).encode()

    offered = choices(question)
    graded = [(answer, label) for answer, label in offered if isinstance(answer, OptionChoice)]
    # "Not applicable" and "Don't know" are not points on the scale, so they stand apart from it.
    other = [(answer, label) for answer, label in offered if not isinstance(answer, OptionChoice)]
    navigation = QuestionButton(u=owner, s=session_id, q=question.id, r=run_id).encode()
    controls = []
    if ask.number > 1:
        controls.append(
            ButtonElement(
                text="← Back",
                action_id=BACK_ACTION,
                value=navigation,
                accessibility_label="Back to the previous question",
            )
        )
    controls.append(
        ButtonElement(
            text="Cancel",
            action_id=CANCEL_ACTION,
            value=navigation,
            style="danger",
            accessibility_label="Cancel this assessment",
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
        ActionsBlock(
            elements=[_radio_group(ANSWER_ACTION, graded, ask.previous_answer, value_for)],
            block_id=f"answers-{question.id}",
        ),
        _context(OTHER_ANSWERS, block_id="other-answers-note"),
        ActionsBlock(
            elements=[_radio_group(OTHER_ANSWER_ACTION, other, ask.previous_answer, value_for)],
            block_id=f"other-answers-{question.id}",
        ),
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


def _summary_blocks(view: ReportView, who: str) -> list[Block]:
    """What a lead reads in ten seconds: the level, what holds it, the one recommendation, the
    dimensions side by side."""
    overall = _level_text(view.overall)
    if view.overall_range_text:
        overall += f" _({escape(view.overall_range_text)})_"
    headline = f"*Overall: {overall}*  ·  score {escape(view.overall_score_text)}\n{escape(view.headline)}"
    blocks: list[Block] = [
        HeaderBlock(text=view.title[:150], block_id="header"),
        SectionBlock(text=_mrkdwn(f"Assessment{who}.\n{headline}"), block_id="overall"),
    ]
    if view.recommendation:
        recommended = [escape(view.recommendation.heading), *_step_lines(view.recommendation.items)]
        blocks += _sections("recommendation", ":dart: Recommendation", recommended)
    blocks.append(
        SectionBlock(
            fields=[_mrkdwn(_dimension_field(d)) for d in view.dimensions][:10], block_id="dimensions"
        )
    )
    notes = [note for d in view.dimensions for note in (d.gate_text, d.ceiling_text) if note]
    if notes:
        blocks.append(_context("\n".join(f":no_entry: {escape(n)}" for n in notes), block_id="gates"))
    return blocks


def _detail_blocks(view: ReportView) -> list[Block]:
    blocks: list[Block] = []
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
    blocks.append(_context(f"_{escape(view.rule_text)}_\n{footer}", block_id="rule-and-footer"))
    return blocks


def _take_it_yourself() -> ContextBlock:
    return _context(f"Run `{COMMAND}` to take it yourself", block_id="footer")


def _level_fallback(view: ReportView) -> str:
    return view.overall.label if view.overall.level else "no level yet"


def report_message(report: Report, user_id: str | None = None) -> Message:
    """The whole report in one message: the copy in the person's DM."""
    view = build_view(report)
    who = f" for <@{user_id}>" if user_id else ""
    blocks = [*_summary_blocks(view, who), DividerBlock(block_id="divider-details"), *_detail_blocks(view)]
    blocks.append(_take_it_yourself())
    return _render(f"MLOps maturity report{who}: {_level_fallback(view)}", blocks)


def report_summary_message(report: Report, user_id: str | None = None) -> Message:
    """The report as a channel reads it at a glance; its details follow as a thread reply."""
    view = build_view(report)
    who = f" for <@{user_id}>" if user_id else ""
    blocks = [*_summary_blocks(view, who), _take_it_yourself()]
    return _render(f"MLOps maturity report{who}: {_level_fallback(view)}", blocks)


def report_details_message(report: Report, user_id: str | None = None) -> Message:
    """Next Steps and the rest of the report, for the thread under the summary."""
    view = build_view(report)
    who = f" for <@{user_id}>" if user_id else ""
    return _render(f"Next Steps and details of the MLOps maturity report{who}", _detail_blocks(view))


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


def banks_message(banks: Sequence[QuestionBank]) -> Message:
    lines = [
        f"• `{escape(b.id)}` *{escape(b.title)}* v{escape(b.version)} (reviewed {escape(b.reviewed)}) — "
        f"up to {len(b.questions)} questions, about {b.estimated_minutes} min"
        for b in banks
    ]
    return text_message("*Question banks*\n" + "\n".join(lines))


def text_with_button(text: str, label: str, action_id: str, value: str) -> Message:
    return _render(
        text,
        [
            SectionBlock(text=_mrkdwn(text)),
            ActionsBlock(elements=[ButtonElement(text=label, action_id=action_id, value=value)]),
        ],
    )
