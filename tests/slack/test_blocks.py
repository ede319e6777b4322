"""Every message the app can send, rendered from the shipped banks and held to Slack's limits.

slack_sdk checks some limits as a message is built; Slack itself refuses the rest (block count,
elements per actions block, unique ids) with an error the person never sees. Each message here is
checked against both, and its content against the engine's figures it claims to show.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.engine.answers import (
    DONT_KNOW_LABEL,
    Answer,
    DontKnow,
    NotApplicable,
    OptionChoice,
    choices,
    encode_answer,
)
from bot.engine.bank import AskedQuestion, MeasuredLength, QuestionBank, parse_bank
from bot.engine.catalog import BankCatalog
from bot.engine.conversation import AskQuestion, OfferStop
from bot.engine.overview import full_length, length, settled_after
from bot.engine.progress import SCORE_BAR_CELLS, progress_line
from bot.engine.report_view import DimensionNote, build_view
from bot.engine.scoring import Report, score
from bot.slack import blocks, subcommands
from bot.slack.assessment import started_text
from bot.slack.blocks import BlockLimitError, Message, check_message
from bot.slack.values import (
    ANSWER_ACTION,
    ANSWER_ACTION_PATTERN,
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
from playground.demo import demo_answers
from tests.golden_reports import LEVEL_ABOVE_LOWER_SCORE, PULSE, PULSE_EXAMPLE, answered
from tests.slack.adaptive_runs import take
from tests.terminal.report_figures import slack_text

CATALOG = BankCatalog.from_directory()
BANKS = CATALOG.banks
OWNER = "U0ALICE"
SESSION = "3f2a9c1b7d4e"
PROGRESS = re.compile(r"^Question (\d+) of (\d+) ([▓░]+) (\d+)%$")


# Reading a rendered message ----------------------------------------------------------------------


def block(message: Message, block_id: str) -> dict[str, Any]:
    found = [b for b in message.blocks if b.get("block_id") == block_id]
    assert len(found) == 1, f"{block_id!r} in {[b.get('block_id') for b in message.blocks]}"
    return found[0]


def text_of(message: Message, block_id: str) -> str:
    found = block(message, block_id)
    if found["type"] == "context":
        return found["elements"][0]["text"]
    return found["text"]["text"]


def radio(message: Message, block_prefix: str) -> dict[str, Any]:
    (group,) = [
        element
        for b in message.blocks
        if b["type"] == "actions" and b.get("block_id", "").startswith(block_prefix)
        for element in b["elements"]
    ]
    assert group["type"] == "radio_buttons"
    return group


def buttons(message: Message, block_prefix: str = "") -> list[dict[str, Any]]:
    return [
        element
        for b in message.blocks
        if b["type"] == "actions" and b.get("block_id", "").startswith(block_prefix)
        for element in b["elements"]
    ]


def mrkdwn_texts(message: Message) -> list[str]:
    texts = []
    for b in message.blocks:
        if b["type"] == "section":
            texts.extend([b["text"]["text"]] if "text" in b else [])
            texts.extend(f["text"] for f in b.get("fields", []))
        elif b["type"] == "context":
            texts.extend(e["text"] for e in b["elements"] if e.get("type") == "mrkdwn")
    return texts


def assert_sendable(message: Message) -> None:
    """Everything Slack would refuse, checked independently of check_message."""
    check_message(message)
    assert message.text, "a message needs fallback text for notifications"
    assert len(message.text) <= blocks.MAX_FALLBACK_TEXT
    assert 1 <= len(message.blocks) <= 50
    block_ids = [b["block_id"] for b in message.blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)), block_ids
    for b in message.blocks:
        if b["type"] == "section":
            assert "text" in b or "fields" in b
            assert len(b.get("text", {}).get("text", "")) <= 3000
            assert len(b.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in b.get("fields", []))
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= 150
        if b["type"] == "actions":
            elements = b["elements"]
            assert 1 <= len(elements) <= 25
            action_ids = [e["action_id"] for e in elements]
            assert len(action_ids) == len(set(action_ids)), action_ids
            for element in elements:
                assert element["type"] in ("button", "radio_buttons")
                if element["type"] == "button":
                    # Slack shows a button's text only up to about 30 characters.
                    assert 1 <= len(element["text"]["text"]) <= 30, element["text"]["text"]
                    assert len(element["value"]) <= 2000
                    assert element.get("style") in (None, "primary", "danger")
                else:
                    assert 1 <= len(element["options"]) <= 10
                    for option in element["options"]:
                        assert 1 <= len(option["text"]["text"]) <= 75
                        assert len(option["value"]) <= 150


# Questions ---------------------------------------------------------------------------------------

QUESTION_CASES = [
    pytest.param(bank, index, id=f"{bank.id}-{question.id}")
    for bank in BANKS
    for index, question in enumerate(bank.questions)
]


def ask(question: AskedQuestion, number: int, total: int, previous: Answer | None = None) -> AskQuestion:
    return AskQuestion(question=question, number=number, total=total, previous_answer=previous)


def assert_question_message(
    message: Message, bank: QuestionBank, question: AskedQuestion, number: int, previous: Answer | None
) -> None:
    assert_sendable(message)
    total = len(bank.questions)
    assert message.text.startswith(f"Question {number} of {total}: ")
    assert blocks.escape(question.text) in text_of(message, "question")
    assert blocks.escape(bank.section_name(question)) in text_of(message, "dimension")

    offered = choices(question)
    graded = radio(message, "answers-")
    other = radio(message, "other-answers-")
    # The scale is one radio group; "Not applicable" and "Don't know" stand apart in a group of their own.
    assert graded["action_id"] == ANSWER_ACTION and other["action_id"] == OTHER_ANSWER_ACTION
    options = graded["options"] + other["options"]
    assert len(options) == len(offered)
    decoded = [QuestionButton.decode(o["value"]) for o in options]
    assert [(d.u, d.s, d.q) for d in decoded] == [(OWNER, SESSION, question.id)] * len(offered)
    assert [d.a for d in decoded] == [encode_answer(answer) for answer, _ in offered]
    assert all(isinstance(d.a, int) for d in decoded[: len(graded["options"])])
    assert all(ANSWER_ACTION_PATTERN.match(group["action_id"]) for group in (graded, other))
    # Every option is shown whole: the labels are the bank's, never cut.
    assert [o["text"]["text"] for o in options] == [label for _, label in offered]
    assert other["options"][-1]["text"]["text"] == DONT_KNOW_LABEL
    assert ("na" in [d.a for d in decoded]) == (question.not_applicable is not None)

    chosen = [group["initial_option"] for group in (graded, other) if "initial_option" in group]
    if previous is None:
        assert chosen == []
    else:
        assert len(chosen) == 1
        assert QuestionButton.decode(chosen[0]["value"]).a == encode_answer(previous)

    controls = buttons(message, "controls-")
    expected_controls = [CANCEL_ACTION] if number == 1 else [BACK_ACTION, CANCEL_ACTION]
    assert [c["action_id"] for c in controls] == expected_controls
    for control in controls:
        navigation = QuestionButton.decode(control["value"])
        assert navigation == QuestionButton(u=OWNER, s=SESSION, q=question.id)
    cancel = controls[-1]
    assert cancel["style"] == "danger" and "confirm" in cancel, "discarding answers needs a confirmation"

    progress = text_of(message, "progress").strip("`")
    assert progress == progress_line(number, total)
    matched = PROGRESS.match(progress)
    assert matched is not None, progress
    assert (int(matched[1]), int(matched[2]), int(matched[4])) == (number, total, round(100 * number / total))


@pytest.mark.parametrize(("bank", "index"), QUESTION_CASES)
def test_every_question_renders_as_the_first_one(bank: QuestionBank, index: int) -> None:
    question = bank.questions[index]
    message = blocks.question_message(bank, ask(question, 1, len(bank.questions)), OWNER, SESSION)
    assert_question_message(message, bank, question, 1, None)


@pytest.mark.parametrize(("bank", "index"), QUESTION_CASES)
def test_every_question_renders_later_with_each_possible_previous_answer(
    bank: QuestionBank, index: int
) -> None:
    question = bank.questions[index]
    total = len(bank.questions)
    number = max(index + 1, 2)
    for previous, _ in choices(question):
        message = blocks.question_message(bank, ask(question, number, total, previous), OWNER, SESSION)
        assert_question_message(message, bank, question, number, previous)


def test_back_to_the_first_question_marks_its_answer_but_offers_no_back() -> None:
    bank = CATALOG.get("mlops")
    question = bank.questions[0]
    message = blocks.question_message(
        bank, ask(question, 1, len(bank.questions), OptionChoice(1)), OWNER, SESSION
    )
    assert_question_message(message, bank, question, 1, OptionChoice(1))


@pytest.mark.parametrize(
    ("number", "total", "expected"),
    [
        (5, 20, "Question 5 of 20 ▓▓▓░░░░░░░░░ 25%"),
        (1, 20, "Question 1 of 20 ▓░░░░░░░░░░░ 5%"),
        (1, 3, "Question 1 of 3 ▓▓▓▓░░░░░░░░ 33%"),
        (20, 20, "Question 20 of 20 ▓▓▓▓▓▓▓▓▓▓▓▓ 100%"),
        (0, 0, "Question 0 of 0 ░░░░░░░░░░░░ 0%"),
    ],
)
def test_progress_line(number: int, total: int, expected: str) -> None:
    assert progress_line(number, total) == expected


def synthetic_bank(**question_fields: Any) -> QuestionBank:
    """A minimal valid bank, parsed as an author's file would be, with the first question adjusted."""
    levels = [{"level": n, "name": f"Level {n}", "meaning": f"Meaning {n}."} for n in (1, 2, 3, 4)]
    questions = [
        {
            "id": f"q{n}",
            "dimension": "ops",
            "level": n,
            "weight": 1,
            "text": f"Question {n}?",
            "why": "Because.",
            "options": [{"label": "No", "value": 0.0}, {"label": "Yes", "value": 1.0}],
            "improvement": "Do it.",
        }
        for n in (1, 2, 3)
    ]
    questions[0].update(question_fields)
    document = {
        "id": "synthetic",
        "title": "Synthetic",
        "version": "1",
        "description": "A bank for rendering tests.",
        "levels": levels,
        "dimensions": [{"id": "ops", "name": "Ops", "description": "Ops."}],
        "questions": questions,
        "reviewed": "2026-11",
    }
    return parse_bank(yaml.safe_dump(document), "synthetic.yaml")


def test_the_longest_label_a_bank_allows_still_renders_when_chosen() -> None:
    longest = "x" * 75
    bank = synthetic_bank(options=[{"label": longest, "value": 0.0}, {"label": "Yes", "value": 1.0}])
    question = bank.questions[0]
    message = blocks.question_message(bank, ask(question, 2, 3, OptionChoice(0)), OWNER, SESSION)
    assert_sendable(message)
    chosen = radio(message, "answers-")["initial_option"]
    assert chosen["text"]["text"] == longest
    assert QuestionButton.decode(chosen["value"]).a == 0


# Reports -----------------------------------------------------------------------------------------


def best(question: AskedQuestion) -> Answer:
    return OptionChoice(len(question.options) - 1)


def all_best(bank: QuestionBank) -> dict[str, Answer]:
    return {q.id: best(q) for q in bank.questions}


def all_worst(bank: QuestionBank) -> dict[str, Answer]:
    return {q.id: OptionChoice(0) for q in bank.questions}


def all_dont_know(bank: QuestionBank) -> dict[str, Answer]:
    return {q.id: DontKnow() for q in bank.questions}


def held_by_a_gate(bank: QuestionBank) -> dict[str, Answer]:
    """Best answers except one gate answered "not in place", which holds its dimension below its level."""
    gate = next(q for q in bank.practices if q.gate)
    return {**all_best(bank), gate.id: OptionChoice(0)}


def unsure_in_first_dimension(bank: QuestionBank) -> dict[str, Answer]:
    """Best answers, except "don't know" for one gate of the first dimension: a level range."""
    gate = next(q for q in bank.questions_in(bank.dimensions[0].id) if q.gate)
    return {**all_best(bank), gate.id: DontKnow()}


SCENARIOS: dict[str, Callable[[QuestionBank], dict[str, Answer]]] = {
    "all-best": all_best,
    "all-worst": all_worst,
    "gated": held_by_a_gate,
    "all-dont-know": all_dont_know,
    "level-range": unsure_in_first_dimension,
    "nothing-answered": lambda bank: {},
}
REPORT_CASES = [pytest.param(bank, name, id=f"{bank.id}-{name}") for bank in BANKS for name in SCENARIOS]


COMMAND_HINT = f"Run `{blocks.COMMAND}` to take it yourself"


def assert_report_message(message: Message, report: Report) -> None:
    """The layout: what each block holds. The words themselves are the view's; the facts test in
    tests/terminal/test_report_facts.py checks that every front end states all of them."""
    assert_sendable(message)
    view = build_view(report)
    assert buttons(message) == [], "a report is final; it offers nothing to click"
    overall = text_of(message, "overall")
    assert f"<@{OWNER}>" in overall and f"<@{OWNER}>" in message.text
    assert blocks.escape(view.overall.label) in overall and view.overall_score_text in overall
    assert message.text.endswith(view.overall.label if view.overall.level else "no level yet")
    (dimensions,) = [b for b in message.blocks if b.get("block_id") == "dimensions"]
    assert len(dimensions["fields"]) == len(view.dimensions) <= 10
    for field, dimension in zip(dimensions["fields"], view.dimensions, strict=True):
        assert field["text"].startswith(f"*{blocks.escape(dimension.name)}*")
        assert blocks.escape(dimension.level.label) in field["text"]
        assert dimension.score_text in field["text"] and dimension.confidence_text in field["text"]
        assert blocks.COLOUR_EMOJI[dimension.level.colour] in field["text"]
        for note in dimension.notes:
            assert f"{blocks.NOTE_EMOJI[note.kind]} {blocks.escape(note.text)}" in field["text"]
    ids = [b.get("block_id") for b in message.blocks]
    assert ("recommendation-0" in ids) == bool(view.recommendation)
    assert ("next-steps-0" in ids) == bool(view.next_steps)
    assert ("level-and-score" in ids) == bool(view.level_score_text)
    assert blocks.escape(view.footer) in text_of(message, "rule-and-footer")
    assert COMMAND_HINT in text_of(message, "footer")


@pytest.mark.parametrize(("bank", "scenario"), REPORT_CASES)
def test_report_message_lays_out_the_report_view(bank: QuestionBank, scenario: str) -> None:
    report = score(bank, SCENARIOS[scenario](bank))
    assert_report_message(blocks.report_message(report, OWNER), report)


@pytest.mark.parametrize(("bank", "scenario"), REPORT_CASES)
def test_the_channel_summary_and_its_thread_reply_make_up_the_whole_report(
    bank: QuestionBank, scenario: str
) -> None:
    report = score(bank, SCENARIOS[scenario](bank))
    whole = blocks.report_message(report, OWNER)
    summary = blocks.report_summary_message(report, OWNER)
    details = blocks.report_details_message(report, OWNER)
    assert_sendable(summary)
    assert_sendable(details)
    ids = [b.get("block_id") for b in summary.blocks]
    # The headline first, the one recommendation next, then the dimensions side by side.
    assert ids[:2] == ["header", "overall"]
    if build_view(report).recommendation:
        assert ids[2] == "recommendation-0"
    assert "next-steps-0" not in ids and "dimensions" in ids
    assert [b for b in whole.blocks if b.get("block_id") != "divider-details"] == [
        *summary.blocks[:-1],
        *details.blocks,
        summary.blocks[-1],
    ]
    assert details.text.startswith("Next Steps and details of the MLOps maturity report")


@pytest.mark.parametrize("bank", BANKS, ids=lambda b: b.id)
def test_the_scenarios_show_what_they_are_named_for(bank: QuestionBank) -> None:
    def rendered(scenario: str) -> tuple[Report, Message]:
        report = score(bank, SCENARIOS[scenario](bank))
        return report, blocks.report_message(report, OWNER)

    report, message = rendered("all-best")
    assert report.overall_level == min(bank.level_ceiling(d.id) for d in bank.dimensions)
    assert "Next Steps" not in json.dumps(message.blocks)

    report, message = rendered("all-worst")
    assert report.overall_level == 1
    assert text_of(message, "next-steps-0").startswith("*Next Steps*\n*1.* :no_entry: ")

    report, message = rendered("gated")
    assert ":no_entry: Held at level" in json.dumps(
        block(message, "dimensions")["fields"], ensure_ascii=False
    )

    report, message = rendered("all-dont-know")
    # "Don't know" counts as not in place: level 1 everywhere, the range says how high it could go.
    assert report.overall_level == 1 and report.overall_score == 0.0
    assert "Find out" in text_of(message, "find-out-0")

    report, message = rendered("level-range")
    assert "_(could be " in json.dumps(message.blocks)


def note_line(note: DimensionNote) -> str:
    return f"{blocks.NOTE_EMOJI[note.kind]} {blocks.escape(note.text)}"


@pytest.mark.parametrize(
    "answers_file", [LEVEL_ABOVE_LOWER_SCORE, PULSE_EXAMPLE], ids=["held", "ceiling-only"]
)
def test_each_note_is_in_its_own_dimensions_field_and_nowhere_else(answers_file: Path) -> None:
    report = answered(PULSE, answers_file)
    view = build_view(report)
    for message in (blocks.report_message(report, OWNER), blocks.report_summary_message(report, OWNER)):
        fields = [field["text"] for field in block(message, "dimensions")["fields"]]
        everything = slack_text(message.__dict__)
        for field, dimension in zip(fields, view.dimensions, strict=True):
            assert dimension.notes
            for note in dimension.notes:
                assert note_line(note) in field
                assert everything.count(blocks.escape(note.text)) == 1, note.text


def test_a_ceiling_is_marked_apart_from_what_holds_a_dimension() -> None:
    report = answered(PULSE, PULSE_EXAMPLE)
    data, _, _, team = (
        field["text"] for field in block(blocks.report_message(report), "dimensions")["fields"]
    )
    # Team & Culture has too few answers for a level: nothing holds it, the bank only measures up to 2.
    assert team.endswith("\n:information_source: this bank measures Team &amp; Culture up to level 2")
    assert ":no_entry:" not in team
    assert ":no_entry: Held at level 2 of 3 by practices not in place:" in data
    assert data.endswith("\n:information_source: this bank measures Data &amp; Experimentation up to level 3")


def test_the_level_score_line_follows_the_dimensions_once_only_where_levels_and_scores_disagree() -> None:
    report = answered(PULSE, LEVEL_ABOVE_LOWER_SCORE)
    line = build_view(report).level_score_text
    assert line is not None
    for message in (blocks.report_message(report, OWNER), blocks.report_summary_message(report, OWNER)):
        ids = [b.get("block_id") for b in message.blocks]
        # What a level number means comes first, right under the levels it explains.
        assert ids[ids.index("dimensions") + 1 : ids.index("dimensions") + 3] == [
            "level-meaning",
            "level-and-score",
        ]
        assert text_of(message, "level-and-score") == f"_{blocks.escape(line)}_"
    assert "level-and-score" not in json.dumps(blocks.report_details_message(report, OWNER).blocks)
    agreeing = blocks.report_message(answered(PULSE, PULSE_EXAMPLE), OWNER)
    assert "level-and-score" not in [b.get("block_id") for b in agreeing.blocks]


def test_a_report_without_a_user_names_nobody() -> None:
    bank = CATALOG.get("mlops")
    message = blocks.report_message(score(bank, all_best(bank)))
    assert_sendable(message)
    assert "<@" not in text_of(message, "overall") and "<@" not in message.text


def test_a_long_list_is_split_across_sections_without_cutting_a_line() -> None:
    bank = CATALOG.get("mlops")
    message = blocks.report_message(score(bank, {"ci_tests": OptionChoice(0)}))
    assert_sendable(message)
    parts = [b for b in message.blocks if str(b.get("block_id", "")).startswith("to-answer-")]
    assert len(parts) >= 2
    listed = "\n".join(p["text"]["text"] for p in parts)
    for qid, text in score(bank, {"ci_tests": OptionChoice(0)}).to_answer:
        assert f"• {blocks.escape(text)}" in listed, qid


# Notices -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "requested",
    [SessionButton(u=OWNER, b="pulse"), SessionButton(u=OWNER, b="mlops", m="full", s=SESSION)],
    ids=["pulse", "mlops-full"],
)
def test_in_progress_message_offers_resume_or_start_over_with_what_was_asked_for(
    requested: SessionButton,
) -> None:
    progress = "answered 3 questions, at most 20 to go"
    message = blocks.in_progress_message(OWNER, progress, requested)
    assert_sendable(message)
    assert f"({progress})" in message.blocks[0]["text"]["text"]
    resume, start_over = buttons(message)
    assert resume["action_id"] == RESUME_ACTION and resume["style"] == "primary"
    assert SessionButton.decode(resume["value"]) == SessionButton(u=OWNER)
    assert start_over["action_id"] == START_OVER_ACTION
    assert SessionButton.decode(start_over["value"]) == requested
    assert "confirm" in start_over, "starting over discards answers, so it asks first"


def test_bank_changed_message_names_both_versions_and_offers_start_over() -> None:
    message = blocks.bank_changed_message(OWNER, "mlops", "mlops 1.0.0", "mlops 9.9.9")
    assert_sendable(message)
    text = message.blocks[0]["text"]["text"]
    assert "mlops 1.0.0" in text and "mlops 9.9.9" in text
    (start_over,) = buttons(message)
    assert start_over["action_id"] == START_OVER_ACTION
    assert SessionButton.decode(start_over["value"]) == SessionButton(u=OWNER, b="mlops")


def test_help_message_lists_every_subcommand_and_bank() -> None:
    message = subcommands.help_message(BANKS, CATALOG.get("mlops"))
    assert_sendable(message)
    (text,) = mrkdwn_texts(message)
    mlops = CATALOG.get("mlops")
    assert f"`{blocks.COMMAND}` — start an assessment in a DM, asking only the questions that" in text
    assert f"({length(mlops)})" in text
    assert (
        f"`{blocks.COMMAND} start full [bank]` — every question that applies ({full_length(mlops)})" in text
    )
    for subcommand in ("start [bank]", "resume", "cancel", "banks", "help"):
        assert f"`{blocks.COMMAND} {subcommand}`" in text
    for bank in BANKS:
        assert f"`{bank.id}`" in text
    assert "default `mlops`" in text


def test_banks_message_describes_every_bank() -> None:
    message = blocks.banks_message(BANKS)
    assert_sendable(message)
    lines = mrkdwn_texts(message)[0].splitlines()[1:]
    assert len(lines) == len(BANKS)
    for line, bank in zip(lines, BANKS, strict=True):
        assert f"`{bank.id}`" in line and f"v{bank.version}" in line
        assert line.endswith(f"— {length(bank)}")
        assert f"(reviewed {bank.reviewed})" in line


@pytest.mark.parametrize("builder", [blocks.text_message, blocks.answered_message])
def test_plain_notices_are_cut_to_slacks_limits(builder: Callable[[str], Message]) -> None:
    message = builder("a" * 5000)
    assert_sendable(message)
    assert len(message.blocks[0]["text"]["text"]) == 3000
    assert len(message.text) == 4000


@pytest.mark.parametrize("builder", [blocks.text_message, blocks.answered_message])
def test_a_short_notice_is_sent_whole(builder: Callable[[str], Message]) -> None:
    message = builder("Assessment cancelled: answered 3 of the 32 questions that apply.")
    assert_sendable(message)
    assert (
        message.text
        == message.blocks[0]["text"]["text"]
        == "Assessment cancelled: answered 3 of the 32 questions that apply."
    )


# Escaping ----------------------------------------------------------------------------------------

HOSTILE = "<!channel> & <@U1>"
ESCAPED = "&lt;!channel&gt; &amp; &lt;@U1&gt;"


def hostile_bank() -> QuestionBank:
    """The mlops bank with author text that mrkdwn would otherwise read as mentions and entities."""
    bank = CATALOG.get("mlops")
    gate = next(q for q in bank.practices if q.gate)
    questions = [
        q.model_copy(
            update={
                "text": f"{q.text} {HOSTILE}",
                "name": f"{q.name} {HOSTILE}",
                "why": HOSTILE,
                "improvement": HOSTILE,
            }
        )
        if q.id == gate.id
        else q
        for q in bank.questions
    ]
    dimensions = [d.model_copy(update={"name": f"{d.name} {HOSTILE}"}) for d in bank.dimensions]
    levels = [info.model_copy(update={"name": f"{info.name} {HOSTILE}"}) for info in bank.levels]
    return bank.model_copy(
        update={
            "title": f"Bank {HOSTILE}",
            "questions": questions,
            "dimensions": dimensions,
            "levels": levels,
        }
    )


def assert_escaped(texts: list[str]) -> None:
    joined = "\n".join(texts)
    assert ESCAPED in joined
    for raw in ("<!channel>", "<@U1>", " & "):
        assert raw not in joined, f"{raw!r} reached Slack unescaped"


def test_question_text_from_a_bank_is_escaped() -> None:
    bank = hostile_bank()
    question = next(q for q in bank.practices if q.gate)
    message = blocks.question_message(bank, ask(question, 1, len(bank.questions)), OWNER, SESSION)
    assert_sendable(message)
    for block_id in ("question", "why", "dimension"):
        assert_escaped([text_of(message, block_id)])
    # The fallback is mrkdwn too: it is what a notification shows.
    assert_escaped([message.text])


def test_report_text_from_a_bank_is_escaped() -> None:
    bank = hostile_bank()
    gate = next(q for q in bank.practices if q.gate)
    answers = {**all_best(bank), gate.id: OptionChoice(0)}
    # Only answers worse than the best lead to next steps, and only the hostile question's has one.
    report = score(bank, answers)
    assert report.dimension(gate.dimension).holding_gates
    message = blocks.report_message(report, OWNER)
    assert_sendable(message)
    dimensions = json.dumps(block(message, "dimensions"))
    # The gate's note, in the bank's own words, is in its dimension's field.
    assert ":no_entry: Held at level" in dimensions
    assert_escaped([dimensions])
    assert_escaped([text_of(message, "recommendation-0")])
    assert_escaped([text_of(message, "next-steps-0")])


def test_bank_titles_in_listings_are_escaped() -> None:
    bank = hostile_bank()
    assert_escaped(mrkdwn_texts(blocks.banks_message([bank])))


# check_message's own limits ----------------------------------------------------------------------


def divider(block_id: str) -> dict[str, Any]:
    return {"type": "divider", "block_id": block_id}


def button(action_id: str) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": "x"}, "action_id": action_id}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("blocks_", "accepted"),
    [
        pytest.param([divider(f"d{n}") for n in range(50)], True, id="50-blocks"),
        pytest.param([divider(f"d{n}") for n in range(51)], False, id="51-blocks"),
        pytest.param([divider("same"), divider("other"), divider("same")], False, id="duplicate-block-id"),
        pytest.param(
            [{"type": "actions", "elements": [button(f"a{n}") for n in range(25)]}], True, id="25-elements"
        ),
        pytest.param(
            [{"type": "actions", "elements": [button(f"a{n}") for n in range(26)]}], False, id="26-elements"
        ),
        pytest.param(
            [{"type": "actions", "elements": [button("answer"), button("answer")]}],
            False,
            id="duplicate-action-id",
        ),
        pytest.param(
            [
                {"type": "actions", "block_id": "one", "elements": [button("answer")]},
                {"type": "actions", "block_id": "two", "elements": [button("answer")]},
            ],
            True,
            id="same-action-id-in-two-blocks",
        ),
        pytest.param(
            [
                {
                    "type": "actions",
                    "elements": [{**button("a"), "text": {"type": "plain_text", "text": "x" * 76}}],
                }
            ],
            False,
            id="button-label-76",
        ),
        pytest.param([section("x" * 3000)], True, id="section-3000"),
        pytest.param([section("x" * 3001)], False, id="section-3001"),
    ],
)
def test_check_message_enforces_the_limits_slack_sdk_leaves_to_slack(
    blocks_: list[Mapping[str, Any]], accepted: bool
) -> None:
    message = Message(text="t", blocks=[dict(b) for b in blocks_])
    if accepted:
        check_message(message)
    else:
        with pytest.raises(BlockLimitError):
            check_message(message)


def test_answers_of_every_kind_are_offered_in_display_order() -> None:
    bank = CATALOG.get("mlops")
    question = next(q for q in bank.questions if q.not_applicable)
    message = blocks.question_message(bank, ask(question, 1, len(bank.questions)), OWNER, SESSION)
    options = radio(message, "answers-")["options"] + radio(message, "other-answers-")["options"]
    kinds = [QuestionButton.decode(o["value"]).a for o in options]
    assert kinds == [*range(len(question.options)), "na", "dk"]
    assert choices(question)[-2] == (NotApplicable(), question.not_applicable)


@pytest.mark.parametrize(
    ("element", "problem"),
    [
        (
            {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "x" * 31}},
            "Slack shows about 30",
        ),
        (
            {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "← Back"}},
            "accessibility_label",
        ),
        (
            {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "OK"}},
            "accessibility_label",
        ),
    ],
)
def test_check_message_refuses_what_a_real_client_would_show_badly(
    element: dict[str, Any], problem: str
) -> None:
    with pytest.raises(BlockLimitError, match=problem):
        check_message(Message(text="t", blocks=[{"type": "actions", "elements": [element]}]))


def test_check_message_accepts_plain_short_buttons_and_labelled_symbols_and_wants_notification_text() -> None:
    labelled = {
        "type": "button",
        "action_id": "b",
        "text": {"type": "plain_text", "text": "← Back"},
        "accessibility_label": "Back to the previous question",
    }
    plain = {
        "type": "button",
        "action_id": "a",
        "text": {"type": "plain_text", "text": "Close & show results"},
    }
    check_message(Message(text="t", blocks=[{"type": "actions", "elements": [plain, labelled]}]))
    with pytest.raises(BlockLimitError, match="notification text"):
        check_message(Message(text=" ", blocks=[{"type": "divider"}]))


def test_a_question_says_why_the_count_changed_just_above_it() -> None:
    bank = BANKS[0]
    question = bank.questions[1]
    plain = blocks.question_message(bank, ask(question, 2, 27), OWNER, SESSION)
    assert "count-note" not in [b["block_id"] for b in plain.blocks if "block_id" in b]
    noted = AskQuestion(question, 2, 27, None, "5 questions about LLM features no longer apply")
    message = blocks.question_message(bank, noted, OWNER, SESSION)
    assert_sendable(message)
    ids = [b.get("block_id") for b in message.blocks]
    assert ids.index("count-note") == ids.index("progress") - 1
    text = message.blocks[ids.index("count-note")]["elements"][0]["text"]
    assert text == ":information_source: 5 questions about LLM features no longer apply"


# Adaptive runs: the offer to stop, and reports with what was not asked ---------------------------


def measured(bank: QuestionBank, median: int, p90: int, overall: int) -> QuestionBank:
    """`bank` as the benchmark leaves it once it has measured how many questions an adaptive run asks."""
    return bank.model_copy(update={"asked": MeasuredLength(median=median, p90=p90, overall_median=overall)})


OFFER_CASES = [
    pytest.param(bank, name, id=f"{bank.id}-{name}")
    for bank in BANKS
    for name in SCENARIOS
    if name != "nothing-answered" and take(bank, SCENARIOS[name](bank), stop=True).offer is not None
]


def offer_buttons(revision: int = 7) -> QuestionButton:
    return QuestionButton(u=OWNER, s=SESSION, q="data_validation", n=revision)


@pytest.mark.parametrize(("bank", "scenario"), OFFER_CASES)
def test_the_offer_to_stop_names_the_settled_level_what_stopping_gives_and_the_ways_on(
    bank: QuestionBank, scenario: str
) -> None:
    run = take(bank, SCENARIOS[scenario](bank), stop=True)
    assert run.offer is not None
    message = blocks.offer_stop_message(bank, run.offer, offer_buttons())
    assert_sendable(message)
    level = run.offer.overall_level
    settled = text_of(message, "settled")
    assert f"Your overall level is settled: {level} · {blocks.escape(bank.level_info(level).name)}" in settled
    for name in run.offer.holding:
        assert blocks.escape(name) in settled
    assert run.offer.holding, "an overall level settled is held by some dimension's settled level"
    choice = text_of(message, "choice")
    assert "*Stop here*" in choice and "not settled" in choice and f"{run.offer.at_most_left} more" in choice
    assert text_of(message, "progress") == f"You have answered {run.answered_at_offer} questions."
    keep, stop, back, cancel = buttons(message, "offer-stop")
    assert [keep["action_id"], stop["action_id"], back["action_id"], cancel["action_id"]] == [
        KEEP_GOING_ACTION,
        STOP_HERE_ACTION,
        BACK_ACTION,
        CANCEL_ACTION,
    ]
    assert keep["text"]["text"] == f"Keep going: ≤ {run.offer.at_most_left} more"
    assert keep["accessibility_label"] == f"Keep going: at most {run.offer.at_most_left} more questions"
    for button in (keep, stop, back, cancel):
        assert QuestionButton.decode(button["value"]) == offer_buttons()


@pytest.mark.parametrize(
    ("holding", "said"),
    [
        ((), "Your overall level is settled: 2 · Repeatable / Automated"),
        (("Team",), "Your overall level is settled: 2 · Repeatable / Automated — Team holds it"),
        (
            ("Data", "Team"),
            "Your overall level is settled: 2 · Repeatable / Automated — Data and Team hold it",
        ),
        (("A", "B", "C"), "Your overall level is settled: 2 · Repeatable / Automated — A, B and C hold it"),
    ],
)
def test_the_dimensions_holding_a_settled_level_are_joined_as_a_sentence(
    holding: tuple[str, ...], said: str
) -> None:
    bank = CATALOG.get("mlops")
    assert bank.level_info(2).name == "Repeatable / Automated"
    assert blocks.settled_text(bank, OfferStop(2, holding, 5, 10)) == said


@given(most=st.integers(1, 9999))
def test_the_keep_going_button_stays_within_what_slack_shows(most: int) -> None:
    label = blocks.keep_going_label(OfferStop(1, ("A",), most, 3))
    assert len(label) <= blocks.MAX_BUTTON_TEXT_SHOWN and str(most) in label


@pytest.mark.parametrize(
    ("score", "score_range", "shown"),
    [
        (60.0, None, "▓▓▓▓▓▓░░░░"),
        (None, (30.0, 70.0), "▓▓▓▒▒▒▒░░░"),
        (None, (0.0, 100.0), "▒▒▒▒▒▒▒▒▒▒"),
        (None, (45.0, 45.0), "▓▓▓▓░░░░░░"),
        (None, None, "░░░░░░░░░░"),
    ],
)
def test_a_score_bar_shades_the_range_the_unasked_practices_allow(
    score: float | None, score_range: tuple[float, float] | None, shown: str
) -> None:
    assert blocks.score_bar(score, score_range) == shown


@given(low=st.floats(0, 100), span=st.floats(0, 100))
def test_a_range_bar_is_full_width_and_shades_from_the_low_end_to_the_high(low: float, span: float) -> None:
    high = min(100.0, low + span)
    shown = blocks.score_bar(None, (low, high))
    assert len(shown) == SCORE_BAR_CELLS
    assert re.fullmatch(r"▓*▒*░*", shown)
    assert shown.count("▓") == round(low / 10) and shown.count("▓") + shown.count("▒") == round(high / 10)


@pytest.mark.parametrize(("bank", "scenario"), OFFER_CASES)
def test_a_report_stopped_at_the_settled_level_shows_ranges_and_what_is_not_settled(
    bank: QuestionBank, scenario: str
) -> None:
    report = take(bank, SCENARIOS[scenario](bank), stop=True).report
    view = build_view(report)
    message = blocks.report_message(report, OWNER)
    assert_report_message(message, report)
    unsettled = [d for d in view.dimensions if d.level.level is None and d.level.range is not None]
    assert unsettled, "a run stopped at the offer leaves some dimension's level open"
    overall = text_of(message, "overall")
    assert "not settled yet" in overall.lower() and view.overall.label in overall
    assert "score score" not in overall and blocks.escape(view.overall_score_text) in overall
    fields = block(message, "dimensions")["fields"]
    for dimension in unsettled:
        field = next(f["text"] for f in fields if f["text"].startswith(f"*{blocks.escape(dimension.name)}*"))
        low, high = dimension.level.range or (0, 0)
        assert f"Level {low} to {high} · not settled" in field and dimension.confidence_text in field
    # The questions that could still settle a level are offered with the rest left out.
    assert view.not_asked_text is not None and view.not_asked_text.endswith("more Next Steps.")
    assert blocks.escape(view.not_asked_text) in text_of(message, "not-asked")


def kept_going(bank: QuestionBank) -> Report:
    """The demo team's adaptive run, kept going past the offer to the end."""
    return take(bank, demo_answers(bank), stop=False).report


def test_a_report_says_once_what_a_level_means_near_the_levels() -> None:
    report = kept_going(CATALOG.get("mlops"))
    meaning = f"_{blocks.escape(build_view(report).level_meaning_text)}_"
    for message in (blocks.report_message(report, OWNER), blocks.report_summary_message(report, OWNER)):
        assert json.dumps(message.blocks).count(json.dumps(meaning)[1:-1]) == 1
        assert text_of(message, "level-meaning") == meaning


def test_the_owners_copy_offers_to_answer_what_was_left_out_and_the_channels_copy_only_says_it() -> None:
    bank = CATALOG.get("mlops")
    report = kept_going(bank)
    view = build_view(report)
    assert view.not_asked_text is not None
    offer = blocks.LeftOutOffer(len(view.not_asked) + 4, 4, SessionButton(u=OWNER, i="r" * 32).encode())
    whole = blocks.report_message(report, OWNER, offer)
    assert_sendable(whole)
    line = block(whole, "not-asked")
    assert line["text"]["text"].startswith(f":information_source: {blocks.escape(view.not_asked_text)}")
    assert "also asks the 4 questions on delivery outcomes" in line["text"]["text"]
    button = line["accessory"]
    assert button["text"]["text"] == f"Answer the {offer.questions} left out"
    assert len(button["text"]["text"]) <= blocks.MAX_BUTTON_TEXT_SHOWN
    assert button["accessibility_label"] == f"Answer the {offer.questions} questions left out"
    assert button["action_id"] == ANSWER_LEFT_OUT_ACTION and button["value"] == offer.value
    summary = blocks.report_summary_message(report, OWNER)
    assert "accessory" not in block(summary, "not-asked")
    assert blocks.escape(view.not_asked_text) in text_of(summary, "not-asked")


def test_a_report_with_nothing_left_out_has_no_line_about_it() -> None:
    bank = CATALOG.get("mlops")
    message = blocks.report_message(score(bank, all_best(bank)), OWNER)
    assert "not-asked" not in [b.get("block_id") for b in message.blocks]


def test_a_question_of_an_adaptive_run_counts_at_most_and_a_full_runs_exactly() -> None:
    bank = CATALOG.get("mlops")
    question = bank.questions[3]
    for exact, counted in ((False, "Question 4 of at most 31"), (True, "Question 4 of 31")):
        ask = AskQuestion(question, 4, 31, None, total_is_exact=exact)
        message = blocks.question_message(bank, ask, OWNER, SESSION)
        assert message == blocks.question_message_from_models(bank, ask, OWNER, SESSION)
        assert message.text.startswith(f"{counted}: ")
        assert text_of(message, "progress") == f"`{progress_line(4, 31, exact)}`"


def test_help_and_the_start_note_say_when_a_measured_banks_overall_level_is_settled() -> None:
    bank = measured(CATALOG.get("mlops"), median=30, p90=38, overall=11)
    settled = settled_after(bank)
    assert settled is not None
    (text,) = mrkdwn_texts(subcommands.help_message([bank], bank))
    assert (
        f"({length(bank)}); your overall level is usually settled {settled}, and you can stop there" in text
    )
    assert started_text(bank).endswith(
        f"Your overall level is usually settled {settled}, and you can stop there."
    )
    assert length(bank) in started_text(bank)
    never_measured = CATALOG.get("pulse")
    assert settled_after(never_measured) is None
    assert (
        started_text(never_measured)
        == f":compass: I've sent the first question to our DM ({length(never_measured)})."
    )
