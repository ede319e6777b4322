"""Block Kit messages, built with slack_sdk's models so Slack's field limits are checked as they render.

Every builder returns a ``Message`` (fallback text plus blocks as dicts). ``check_message`` adds the limits
slack_sdk does not enforce (50 blocks, 25 elements per actions block, 10 radio options, unique ids).
Question messages, sent on every click, are the exception: each bank's are built and checked this way
once, as templates, and a click fills in its session's values (``question_message``).
"""

from __future__ import annotations

import re
import threading
import weakref
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
from bot.engine.bank import AskedQuestion, QuestionBank
from bot.engine.conversation import AskQuestion, OfferStop
from bot.engine.overview import counted, length
from bot.engine.progress import SCORE_BAR_CELLS, bar, progress_line
from bot.engine.report_view import DimensionNote, DimensionView, LevelView, ReportView, StepView, build_view
from bot.engine.scoring import Report
from bot.slack.values import (
    ANSWER_ACTION,
    ANSWER_LEFT_OUT_ACTION,
    BACK_ACTION,
    CANCEL_ACTION,
    KEEP_GOING_ACTION,
    OTHER_ANSWER_ACTION,
    RESUME_ACTION,
    START_OVER_ACTION,
    STOP_HERE_ACTION,
    QuestionButton,
    SessionButton,
)

MAX_BLOCKS = 50
MAX_ACTIONS_ELEMENTS = 25
MAX_RADIO_OPTIONS = 10
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
        options = len(element.get("options") or ())
        if element.get("type") == "radio_buttons" and options > MAX_RADIO_OPTIONS:
            raise BlockLimitError(f"{options} radio options; Slack allows {MAX_RADIO_OPTIONS}")
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


def question_count(ask: AskQuestion) -> str:
    """ "Question 5 of 31", or "Question 5 of at most 31" where the rest depends on the answers."""
    return f"Question {ask.number} of {ask.total if ask.total_is_exact else f'at most {ask.total}'}"


def _progress(ask: AskQuestion) -> str:
    return f"`{progress_line(ask.number, ask.total, ask.total_is_exact)}`"


def danger_button(
    text: str, action_id: str, value: str, asked: tuple[str, str, str, str], label: str | None = None
) -> ButtonElement:
    """A button that undoes or ends something, asked first: `asked` is the confirmation's title, its
    question, and the words of its two buttons."""
    title, question, confirm, deny = asked
    return ButtonElement(
        text=text,
        action_id=action_id,
        value=value,
        style="danger",
        accessibility_label=label,
        confirm=ConfirmObject(title=title, text=question, confirm=confirm, deny=deny),
    )


def _cancel_button(navigation: str) -> ButtonElement:
    asked = (
        "Cancel this assessment?",
        "Your answers so far will be discarded.",
        "Cancel assessment",
        "Keep going",
    )
    return danger_button("Cancel", CANCEL_ACTION, navigation, asked, "Cancel this assessment")


def _back_button(navigation: str, to: str = "the previous question") -> ButtonElement:
    return ButtonElement(
        text="← Back", action_id=BACK_ACTION, value=navigation, accessibility_label=f"Back to {to}"
    )


def _question_blocks(
    bank: QuestionBank, ask: AskQuestion, value_for: Callable[[Answer], str], navigation: str
) -> tuple[str, list[Block]]:
    """A question message as slack_sdk's models: the fallback text and the blocks."""
    question = ask.question
    section = bank.section_name(question)
    offered = choices(question)
    graded = [(answer, label) for answer, label in offered if isinstance(answer, OptionChoice)]
    # "Not applicable" and "Don't know" are not points on the scale, so they stand apart from it.
    other = [(answer, label) for answer, label in offered if not isinstance(answer, OptionChoice)]
    controls = [_back_button(navigation)] if ask.number > 1 else []
    controls.append(_cancel_button(navigation))
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
        _context(_progress(ask), block_id="progress"),
        ActionsBlock(elements=controls, block_id=f"controls-{question.id}"),
    ]
    if ask.count_note:
        # Just above the count it explains.
        blocks.insert(-2, _count_note(ask.count_note))
    return f"{question_count(ask)}: {escape(question.text)}", blocks


def _count_note(note: str) -> ContextBlock:
    return _context(f":information_source: {escape(note)}", block_id="count-note")


def question_message_from_models(
    bank: QuestionBank, ask: AskQuestion, owner: str, session_id: str, run_id: str | None = None
) -> Message:
    """A question message built through slack_sdk's models and checked against Slack's limits: what
    `question_message` must equal. Costly, so it runs when a bank is prepared and in tests, not per click."""
    base = QuestionButton(u=owner, s=session_id, q=ask.question.id, r=run_id)
    text, built = _question_blocks(
        bank, ask, lambda answer: base.model_copy(update={"a": encode_answer(answer)}).encode(), base.encode()
    )
    return _render(text, built)


Json = dict[str, Any]


@dataclass(frozen=True)
class QuestionTemplate:
    """One question's message made once from the models; a click fills in only the session's values (who,
    which session and run, the progress, the option already chosen)."""

    question_id: str
    question_text: str
    head: tuple[Json, ...]  # section and bank, the question, why it matters
    answers: Json  # the actions block of the graded options
    graded: tuple[tuple[Answer, Json], ...]  # each graded option, without its value
    note: Json
    other_answers: Json
    other: tuple[tuple[Answer, Json], ...]
    progress: Json
    count_note: Json  # shown above the progress when the number of questions that apply changed
    controls: Json
    back: Json  # without its value
    cancel: Json

    @classmethod
    def of(cls, bank: QuestionBank, question: AskedQuestion) -> QuestionTemplate:
        # Built as the second question, so the Back button is there to take; no option chosen.
        sample = AskQuestion(question=question, number=2, total=2, previous_answer=None)
        offered = choices(question)
        _, built = _question_blocks(bank, sample, lambda answer: "", "")
        head, answers, note, other_answers, progress, controls = (
            built[:3],
            built[3].to_dict(),
            built[4].to_dict(),
            built[5].to_dict(),
            built[6].to_dict(),
            built[7].to_dict(),
        )
        graded = [a for a, _ in offered if isinstance(a, OptionChoice)]
        other = [a for a, _ in offered if not isinstance(a, OptionChoice)]
        back, cancel = controls["elements"]
        return cls(
            question_id=question.id,
            question_text=escape(question.text),
            head=tuple(block.to_dict() for block in head),
            answers=answers,
            graded=tuple(zip(graded, answers["elements"][0]["options"], strict=True)),
            note=note,
            other_answers=other_answers,
            other=tuple(zip(other, other_answers["elements"][0]["options"], strict=True)),
            progress=progress,
            count_note=_count_note("").to_dict(),
            controls=controls,
            back=back,
            cancel=cancel,
        )

    def render(self, ask: AskQuestion, owner: str, session_id: str, run_id: str | None) -> Message:
        base = QuestionButton(u=owner, s=session_id, q=self.question_id, r=run_id)
        navigation = base.encode()

        def radio(block: Json, options: tuple[tuple[Answer, Json], ...]) -> Json:
            filled = [
                (answer, {**option, "value": base.model_copy(update={"a": encode_answer(answer)}).encode()})
                for answer, option in options
            ]
            element = {**block["elements"][0], "options": [option for _, option in filled]}
            element.pop("initial_option", None)
            chosen = next((option for answer, option in filled if answer == ask.previous_answer), None)
            if chosen is not None:
                element["initial_option"] = chosen
            return {**block, "elements": [element]}

        controls = [{**self.cancel, "value": navigation}]
        if ask.number > 1:
            controls.insert(0, {**self.back, "value": navigation})
        progress_text = {**self.progress["elements"][0], "text": _progress(ask)}
        blocks = [
            *self.head,
            radio(self.answers, self.graded),
            self.note,
            radio(self.other_answers, self.other),
            {**self.progress, "elements": [progress_text]},
            {**self.controls, "elements": controls},
        ]
        if ask.count_note:
            note_text = {
                **self.count_note["elements"][0],
                "text": f":information_source: {escape(ask.count_note)}",
            }
            blocks.insert(-2, {**self.count_note, "elements": [note_text]})
        text = f"{question_count(ask)}: {self.question_text}"
        return Message(text=text[:MAX_FALLBACK_TEXT], blocks=blocks)


# Session values at least as long as the app's: the store's session and run ids have 12 characters, and
# Slack's user ids about 11. Slack holds an option's value to 150 characters.
_LONGEST_USER = "U" + "0" * 19
_LONGEST_TOKEN = "x" * 12


def check_question_messages(bank: QuestionBank) -> None:
    """Every question of `bank` as the models build it, with the longest session values, first and later
    in the assessment, with each option chosen: raises BlockLimitError for the first that breaks Slack's
    limits."""
    for question in bank.questions:
        total = len(bank.questions)
        # The first question is the later one less its Back button, so only later ones need each option;
        # an adaptive run's count ("of at most 60") is the longer.
        asks = [AskQuestion(question, 1, total, None, total_is_exact=False)] + [
            AskQuestion(question, 2, total, answer, total_is_exact=False)
            for answer in [None, *(a for a, _ in choices(question))]
        ]
        for ask in asks:
            try:
                question_message_from_models(bank, ask, _LONGEST_USER, _LONGEST_TOKEN, _LONGEST_TOKEN)
            except (BlockLimitError, SlackObjectFormationError) as error:
                raise BlockLimitError(f"question {question.id}: {error}") from None


class _BankTemplates:
    def __init__(self, bank: QuestionBank):
        self.bank = weakref.ref(bank)
        self.questions = {question.id: QuestionTemplate.of(bank, question) for question in bank.questions}


_TEMPLATES: dict[int, _BankTemplates] = {}
_TEMPLATES_LOCK = threading.Lock()


def prepare_question_messages(bank: QuestionBank) -> dict[str, QuestionTemplate]:
    """The templates of `bank`'s question messages, made (and checked against Slack's limits) the first
    time the bank is seen. Raises BlockLimitError for a bank whose messages Slack would refuse."""
    found = _TEMPLATES.get(id(bank))
    if found is not None and found.bank() is bank:
        return found.questions
    with _TEMPLATES_LOCK:
        found = _TEMPLATES.get(id(bank))
        if found is not None and found.bank() is bank:
            return found.questions
        check_question_messages(bank)
        made = _BankTemplates(bank)
        _TEMPLATES[id(bank)] = made
        # A bank that goes away (a test's, a reloaded file's) takes its templates with it.
        weakref.finalize(bank, _TEMPLATES.pop, id(bank), None)
        return made.questions


def question_message(
    bank: QuestionBank, ask: AskQuestion, owner: str, session_id: str, run_id: str | None = None
) -> Message:
    """The message that asks `ask`, from the bank's templates: the models and the limit checks ran once
    when the bank was prepared, not on every click. Its blocks share the template's unchanging dicts, so
    the message is only read and sent, never changed in place."""
    return prepare_question_messages(bank)[ask.question.id].render(ask, owner, session_id, run_id)


def answered_message(text: str) -> Message:
    return _render(text, [SectionBlock(text=_mrkdwn(text))])


# The offer to stop ----------------------------------------------------------------------------------


def joined(names: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C" """
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def settled_text(bank: QuestionBank, offer: OfferStop) -> str:
    """ "Your overall level is settled: 2 · Repeatable — Monitoring & Governance holds it" """
    name = bank.level_info(offer.overall_level).name
    text = f"Your overall level is settled: {offer.overall_level} · {name}"
    if offer.holding:
        text += f" — {joined(offer.holding)} {'holds' if len(offer.holding) == 1 else 'hold'} it"
    return text


def keep_going_label(offer: OfferStop) -> str:
    return f"Keep going: ≤ {offer.at_most_left} more"


def offer_stop_message(bank: QuestionBank, offer: OfferStop, buttons: QuestionButton) -> Message:
    """The overall level is settled: stop here for the report now, or keep going for every dimension's
    level. `buttons` names the session, the question Back returns to and the conversation's revision, so
    a click on an offer the person has moved past is refused."""
    value = buttons.encode()
    more = counted(offer.at_most_left, "more question")
    choice = (
        "*Stop here* and your report comes now: this overall level, with each dimension whose level is not "
        f"settled yet shown as the range it could still be in. *Keep going* for every dimension's level: "
        f"{more} at most."
    )
    settled = settled_text(bank, offer)
    blocks: list[Block] = [
        _context(f"*{escape(bank.title)}*", block_id="bank"),
        SectionBlock(text=_mrkdwn(f":dart: *{escape(settled)}.*"), block_id="settled"),
        SectionBlock(text=_mrkdwn(choice), block_id="choice"),
        _context(f"You have answered {counted(offer.answered, 'question')}.", block_id="progress"),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text=keep_going_label(offer),
                    action_id=KEEP_GOING_ACTION,
                    value=value,
                    style="primary",
                    accessibility_label=f"Keep going: at most {more}",
                ),
                ButtonElement(text="Stop here", action_id=STOP_HERE_ACTION, value=value),
                _back_button(value, "the last question you answered"),
                _cancel_button(value),
            ],
            block_id="offer-stop",
        ),
    ]
    return _render(f"{settled}. Stop here, or keep going?", blocks)


# Report ------------------------------------------------------------------------------------------

COLOUR_EMOJI = {
    "red": ":red_circle:",
    "orange": ":large_orange_circle:",
    "yellow": ":large_yellow_circle:",
    "green": ":large_green_circle:",
    "grey": ":white_circle:",
}
MAX_FIELD_TEXT = 2000
# What holds a dimension back is the team's to change; a ceiling is only how far the bank can measure.
NOTE_EMOJI = {"held": ":no_entry:", "ceiling": ":information_source:"}


def _level_text(level: LevelView) -> str:
    return f"{COLOUR_EMOJI.get(level.colour, '')} {escape(level.label)}".strip()


def score_bar(score: float | None, score_range: tuple[float, float] | None) -> str:
    """The score as a bar; where it is a range (some practices were not asked), ▒ spans what the unasked
    practices allow."""
    if score is not None or score_range is None:
        return bar((score or 0.0) / 100, SCORE_BAR_CELLS)
    low, high = (round(max(0.0, min(100.0, end)) / 100 * SCORE_BAR_CELLS) for end in score_range)
    return "▓" * low + "▒" * (high - low) + "░" * (SCORE_BAR_CELLS - high)


def _dimension_field(dimension: DimensionView, score_range: tuple[float, float] | None) -> str:
    level = _level_text(dimension.level)
    if dimension.range_text:
        level += f" _({escape(dimension.range_text)})_"
    lines = [
        f"*{escape(dimension.name)}*",
        level,
        f"`{score_bar(dimension.score, score_range)}` {escape(dimension.score_text)}",
        escape(dimension.confidence_text),
        *(_note_text(note) for note in dimension.notes),
    ]
    return "\n".join(lines)[:MAX_FIELD_TEXT]


def _note_text(note: DimensionNote) -> str:
    return f"{NOTE_EMOJI[note.kind]} {escape(note.text)}"


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


@dataclass(frozen=True)
class LeftOutOffer:
    """What a report's button for the questions it left out asks, and its value (the result)."""

    questions: int
    outcomes: int  # of `questions`, those on delivery outcomes, which no level counts
    value: str

    @property
    def label(self) -> str:
        return f"Answer the {self.questions} left out"


def _not_asked_block(view: ReportView, left_out: LeftOutOffer | None) -> SectionBlock:
    """The engine's line on the practices not asked; with `left_out` (the DM copy, its owner's), the
    button that asks them."""
    text = escape(view.not_asked_text or "")
    if left_out is None:
        return SectionBlock(text=_mrkdwn(f":information_source: {text}"), block_id="not-asked")
    if left_out.outcomes:
        text += (
            f" *{escape(left_out.label)}* also asks the {counted(left_out.outcomes, 'question')} on "
            "delivery outcomes, which no level counts."
        )
    button = ButtonElement(
        text=left_out.label,
        action_id=ANSWER_LEFT_OUT_ACTION,
        value=left_out.value,
        accessibility_label=f"Answer the {counted(left_out.questions, 'question')} left out",
    )
    return SectionBlock(text=_mrkdwn(f":information_source: {text}"), accessory=button, block_id="not-asked")


def _summary_blocks(
    view: ReportView, who: str, report: Report, left_out: LeftOutOffer | None = None
) -> list[Block]:
    """What a lead reads in ten seconds: the level, what holds it, the one recommendation, the
    dimensions side by side with what a level number means, and what was not asked."""
    overall = _level_text(view.overall)
    if view.overall_range_text:
        overall += f" _({escape(view.overall_range_text)})_"
    # An inexact score's text is a sentence of its own ("score 40.0 to 70.0/100 (…)").
    scored = view.overall_score_text if view.overall_score is None else f"score {view.overall_score_text}"
    headline = f"*Overall: {overall}*  ·  {escape(scored)}\n{escape(view.headline)}"
    blocks: list[Block] = [
        HeaderBlock(text=view.title[:150], block_id="header"),
        SectionBlock(text=_mrkdwn(f"Assessment{who}.\n{headline}"), block_id="overall"),
    ]
    if view.recommendation:
        recommended = [escape(view.recommendation.heading), *_step_lines(view.recommendation.items)]
        blocks += _sections("recommendation", ":dart: Recommendation", recommended)
    ranges = [d.score_range for d in report.dimensions]
    fields = [_mrkdwn(_dimension_field(d, r)) for d, r in zip(view.dimensions, ranges, strict=True)]
    blocks.append(SectionBlock(fields=fields[:10], block_id="dimensions"))
    blocks.append(_context(f"_{escape(view.level_meaning_text)}_", block_id="level-meaning"))
    if view.not_asked_text:
        blocks.append(_not_asked_block(view, left_out))
    if view.level_score_text:
        blocks.append(_context(f"_{escape(view.level_score_text)}_", block_id="level-and-score"))
    return blocks


def _detail_blocks(view: ReportView) -> list[Block]:
    blocks: list[Block] = []
    if view.next_steps:
        blocks += _sections("next-steps", "Next Steps", _step_lines(view.next_steps))
    for block_id, title, items in (
        ("find-out", "Find out", view.find_out),
        ("to-answer", "Questions that could still change a level", view.to_answer),
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


def report_message(
    report: Report, user_id: str | None = None, left_out: LeftOutOffer | None = None
) -> Message:
    """The whole report in one message: the copy in the person's DM, with `left_out` the button that asks
    the questions it left out."""
    view = build_view(report)
    who = f" for <@{user_id}>" if user_id else ""
    blocks = [
        *_summary_blocks(view, who, report, left_out),
        DividerBlock(block_id="divider-details"),
        *_detail_blocks(view),
    ]
    blocks.append(_take_it_yourself())
    return _render(f"MLOps maturity report{who}: {_level_fallback(view)}", blocks)


def report_summary_message(report: Report, user_id: str | None = None) -> Message:
    """The report as a channel reads it at a glance; its details follow as a thread reply."""
    view = build_view(report)
    who = f" for <@{user_id}>" if user_id else ""
    blocks = [*_summary_blocks(view, who, report), _take_it_yourself()]
    return _render(f"MLOps maturity report{who}: {_level_fallback(view)}", blocks)


def report_details_message(report: Report, user_id: str | None = None) -> Message:
    """Next Steps and the rest of the report, for the thread under the summary."""
    view = build_view(report)
    who = f" for <@{user_id}>" if user_id else ""
    return _render(f"Next Steps and details of the MLOps maturity report{who}", _detail_blocks(view))


# Conversation notices ----------------------------------------------------------------------------


def in_progress_message(owner: str, progress: str, start_over: SessionButton) -> Message:
    """`progress`: how far the assessment in progress got ("answered 3 questions, at most 20 to go").
    `start_over` starts what was asked for instead (its bank, a full run, a result's left-out questions)."""
    resume = SessionButton(u=owner).encode()
    blocks: list[Block] = [
        SectionBlock(
            text=_mrkdwn(
                f"You already have an assessment in progress ({escape(progress)}). "
                "Pick up where you left off, or start over?"
            )
        ),
        ActionsBlock(
            elements=[
                ButtonElement(text="Resume", action_id=RESUME_ACTION, value=resume, style="primary"),
                ButtonElement(
                    text="Start over",
                    action_id=START_OVER_ACTION,
                    value=start_over.encode(),
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
        f"{length(b)}"
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
