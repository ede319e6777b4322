"""The messages of a team workshop: the parent message in the channel, one message per question in its
thread (each option followed by who chose it), and the team's report with where the team disagreed and
what nobody knew. Every vote is shown with its voter's name: the workshop says so at its start."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.engine import workshop as rules
from bot.engine.answers import Answer, choices, decode_answer, encode_answer
from bot.engine.bank import AskedQuestion, QuestionBank
from bot.slack.blocks import COMMAND, Message, check_message, escape
from bot.slack.values import InvalidButton
from bot.store.workshops import WorkshopRecord

VOTE_ACTION = "workshop_vote"  # followed by the option's position: one action id per option
SETTLE_ACTION = "workshop_settle"
SETTLE_AS_ACTION = "workshop_settle_as"
SKIP_ACTION = "workshop_skip"
BACK_ACTION = "workshop_back"
PAUSE_ACTION = "workshop_pause"
RESUME_ACTION = "workshop_resume"
HAND_OVER_ACTION = "workshop_hand_over"
OPEN_WORKSHOP = (
    ":busts_in_silhouette: *This is an open workshop, not an anonymous survey:* every vote is shown with "
    f"the voter's name. For private answers and one anonymous team report, use `{COMMAND} team`."
)
MAX_SELECT_OPTION_TEXT = 75
MAX_SECTION_TEXT = 3000


@dataclass(frozen=True)
class WorkshopButton:
    """What a workshop button carries: the workshop, the question it was shown with, and (on the team
    answer's button) the answer it said."""

    workshop_id: str
    question_id: str
    answer: Answer | None = None

    def encode(self) -> str:
        code = "" if self.answer is None else str(encode_answer(self.answer))
        return f"{self.workshop_id}|{self.question_id}|{code}"

    @classmethod
    def decode(cls, value: str | None) -> WorkshopButton:
        parts = (value or "").split("|")
        if len(parts) != 3 or not parts[0]:
            raise InvalidButton(f"not a workshop button: {value!r}")
        workshop_id, question_id, code = parts
        try:
            answer = None if code == "" else decode_answer(int(code) if code.lstrip("-").isdigit() else code)
        except ValueError as error:
            raise InvalidButton(f"not a workshop answer: {code!r}") from error
        return cls(workshop_id, question_id, answer)


def who(user_id: str) -> str:
    return f"<@{user_id}>"


def _section(text: str, block_id: str, accessory: dict[str, Any] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "section",
        "block_id": block_id,
        "text": {"type": "mrkdwn", "text": text[:MAX_SECTION_TEXT]},
    }
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _context(text: str, block_id: str) -> dict[str, Any]:
    return {"type": "context", "block_id": block_id, "elements": [{"type": "mrkdwn", "text": text}]}


def _button(text: str, action_id: str, value: str, label: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if label is not None:
        button["accessibility_label"] = label
    return button


def _message(text: str, blocks: list[dict[str, Any]]) -> Message:
    message = Message(text=text, blocks=blocks)
    check_message(message)
    return message


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1].rstrip()}…"


# The parent message --------------------------------------------------------------------------------


def workshop_message(workshop: WorkshopRecord, bank: QuestionBank, state: rules.WorkshopState) -> Message:
    """The workshop's message in the channel; its questions are in its thread."""
    if not workshop.is_open:
        status = "Finished: the team's report is in the thread." if state.finished else "Closed."
    elif state.paused:
        status = f"Paused by {who(state.facilitator)}; the open question waits in the thread."
    else:
        status = f"Settled {len(state.settled)} so far; the open question is in the thread: vote there."
    return _message(
        f"Team workshop: {bank.title}. An open workshop: votes are shown with names.",
        [
            _section(
                f"*Team workshop: {escape(bank.title)}* · facilitated by {who(state.facilitator)}", "title"
            ),
            _section(OPEN_WORKSHOP, "open"),
            _context(escape(status), "status"),
        ],
    )


def opened_note() -> Message:
    return _message(
        "The workshop is open: its first question is in the thread of its message.",
        [_section("The workshop is open: its first question is in the thread of its message.", "opened")],
    )


# A question ------------------------------------------------------------------------------------------


def _voters(answer: Answer, votes: dict[str, Answer]) -> str:
    names = sorted(user for user, vote in votes.items() if vote == answer)
    return ", ".join(who(user) for user in names) if names else "_nobody yet_"


def _option_lines(question: AskedQuestion, votes: dict[str, Answer]) -> list[str]:
    return [f"*{escape(label)}* — {_voters(answer, votes)}" for answer, label in choices(question)]


def question_message(
    workshop: WorkshopRecord, bank: QuestionBank, state: rules.WorkshopState, question: AskedQuestion
) -> Message:
    """The open question: each option with who chose it and its Vote button; the facilitator's controls."""
    votes = dict(state.votes.get(question.id, {}))
    number = len(state.settled) + len(state.skipped) + 1
    head = f"*Question {number}:* {escape(question.text)}"
    blocks: list[dict[str, Any]] = [_section(head, "question")]
    for position, ((answer, label), line) in enumerate(
        zip(choices(question), _option_lines(question, votes), strict=True)
    ):
        value = WorkshopButton(workshop.workshop_id, question.id, answer).encode()
        vote = _button("Vote", f"{VOTE_ACTION}_{position}", value, f"Vote: {_short(label, 60)}")
        blocks.append(_section(line, f"option-{position}", None if state.paused else vote))
    blocks.append(_context(escape(rules.describe_default(question, votes)), "default"))
    blocks.append(_controls(workshop, state, question, votes))
    blocks.append(_context(f"Facilitator: {who(state.facilitator)} · votes are shown with names", "who"))
    text = f"Workshop question {number}: {question.text}"
    return _message(text[:3000], blocks)


def _controls(
    workshop: WorkshopRecord, state: rules.WorkshopState, question: AskedQuestion, votes: dict[str, Answer]
) -> dict[str, Any]:
    plain = WorkshopButton(workshop.workshop_id, question.id).encode()
    if state.paused:
        return {
            "type": "actions",
            "block_id": "controls",
            "elements": [_button("Resume", RESUME_ACTION, plain)],
        }
    elements: list[dict[str, Any]] = []
    default = rules.team_answer(question, votes)
    text = rules.default_button_text(question, votes)
    if default is not None and text is not None:
        value = WorkshopButton(workshop.workshop_id, question.id, default).encode()
        elements.append(
            _button(text, SETTLE_ACTION, value, "Settle with the team's answer") | {"style": "primary"}
        )
    elements.append(
        {
            "type": "static_select",
            "action_id": SETTLE_AS_ACTION,
            "placeholder": {"type": "plain_text", "text": "Settle as…"},
            "options": [
                {
                    "text": {"type": "plain_text", "text": _short(label, MAX_SELECT_OPTION_TEXT)},
                    "value": WorkshopButton(workshop.workshop_id, question.id, answer).encode(),
                }
                for answer, label in choices(question)
            ],
        }
    )
    elements.append(_button("Skip", SKIP_ACTION, plain))
    if state.settled or state.skipped:
        elements.append(_button("Back", BACK_ACTION, plain))
    elements.append(_button("Pause", PAUSE_ACTION, plain))
    elements.append(
        {
            "type": "users_select",
            "action_id": HAND_OVER_ACTION,
            "placeholder": {"type": "plain_text", "text": "Hand facilitation to…"},
        }
    )
    return {"type": "actions", "block_id": "controls", "elements": elements}


def settled_message(question: AskedQuestion, state: rules.WorkshopState, note: str) -> Message:
    """A question's message once the workshop moved on: its votes with names, and what became of it."""
    votes = dict(state.votes.get(question.id, {}))
    return _message(
        f"{question.text}: {note}"[:3000],
        [
            _section(f"{escape(question.text)}", "question"),
            _section("\n".join(_option_lines(question, votes)), "votes"),
            _context(escape(note), "settled"),
        ],
    )


def settled_note(question: AskedQuestion, state: rules.WorkshopState, by: str) -> str:
    answer = state.settled.get(question.id)
    if answer is not None:
        return f"Settled by the facilitator as: {rules.answer_label(question, answer)}."
    if question.id in state.skipped:
        return "Skipped: left unanswered."
    return f"Reopened later by {by}."


def finished_message(bank: QuestionBank) -> Message:
    text = f"Every question that could change a level of {bank.title} is settled: the team's report follows."
    return _message(text, [_section(escape(text), "finished")])


# The report's thread ------------------------------------------------------------------------------


def agenda_message(bank: QuestionBank, splits: Sequence[rules.Split], unknown: Sequence[str]) -> Message:
    """Where the team disagreed (the split questions, with the rungs and who chose each) and what nobody
    knew: the agenda for the next conversation."""
    blocks: list[dict[str, Any]] = [_section("*Where the team disagreed*", "disagreed-title")]
    if splits:
        for index, found in enumerate(splits):
            question = bank.question(found.question_id)
            positions = "\n".join(
                f"• {escape(p.label)}: {', '.join(who(u) for u in p.voters)}" for p in found.positions
            )
            apart = f" ({found.rungs_apart} rungs apart)" if found.rungs_apart > 1 else ""
            blocks.append(_section(f"*{escape(question.text)}*{apart}\n{positions}", f"split-{index}"))
    else:
        blocks.append(_context("Nowhere: every settled question's votes agreed.", "agreed"))
    blocks.append(_section("*What nobody knew*", "unknown-title"))
    lines = [f"• {escape(bank.question(qid).text)}" for qid in unknown]
    blocks.append(_section("\n".join(lines) if lines else "_Nothing was settled as Don't know._", "unknown"))
    split_ids = ", ".join(s.question_id for s in splits) or "none"
    return _message(
        f"Where the team disagreed: {split_ids}. What nobody knew: {len(unknown)} question(s).", blocks[:50]
    )
