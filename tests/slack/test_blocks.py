"""Every message the app can send, rendered from the shipped banks and held to Slack's limits.

slack_sdk checks some limits as a message is built; Slack itself refuses the rest (block count,
elements per actions block, unique ids) with an error the person never sees. Each message here is
checked against both, and its content against the engine's figures it claims to show.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import yaml

from bot.engine.answers import (
    DONT_KNOW_LABEL,
    Answer,
    DontKnow,
    NotApplicable,
    OptionChoice,
    choices,
    encode_answer,
)
from bot.engine.bank import Question, QuestionBank, parse_bank
from bot.engine.catalog import BankCatalog
from bot.engine.conversation import AskQuestion
from bot.engine.progress import progress_line
from bot.engine.scoring import GATE_PASS_VALUE, Report, score
from bot.slack import blocks
from bot.slack.blocks import BlockLimitError, Message, check_message
from bot.slack.values import (
    ANSWER_ACTION_PATTERN,
    BACK_ACTION,
    CANCEL_ACTION,
    RESUME_ACTION,
    START_OVER_ACTION,
    QuestionButton,
    SessionButton,
)

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
            texts.append(b["text"]["text"])
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
            assert len(b["text"]["text"]) <= 3000
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= 150
        if b["type"] == "actions":
            elements = b["elements"]
            assert 1 <= len(elements) <= 25
            action_ids = [e["action_id"] for e in elements]
            assert len(action_ids) == len(set(action_ids)), action_ids
            for element in elements:
                assert element["type"] == "button"
                assert 1 <= len(element["text"]["text"]) <= 75, element["text"]["text"]
                assert len(element["value"]) <= 2000
                assert element.get("style") in (None, "primary", "danger")


# Questions ---------------------------------------------------------------------------------------

QUESTION_CASES = [
    pytest.param(bank, index, id=f"{bank.id}-{question.id}")
    for bank in BANKS
    for index, question in enumerate(bank.questions)
]


def ask(question: Question, number: int, total: int, previous: Answer | None = None) -> AskQuestion:
    return AskQuestion(question=question, number=number, total=total, previous_answer=previous)


def assert_question_message(
    message: Message, bank: QuestionBank, question: Question, number: int, previous: Answer | None
) -> None:
    assert_sendable(message)
    total = len(bank.questions)
    assert message.text.startswith(f"Question {number} of {total}: ")
    assert blocks.escape(question.text) in text_of(message, "question")
    assert blocks.escape(bank.dimension(question.dimension).name) in text_of(message, "dimension")

    offered = choices(question)
    answer_buttons = buttons(message, "answers-")
    assert len(answer_buttons) == len(offered)
    decoded = [QuestionButton.decode(b["value"]) for b in answer_buttons]
    assert all(isinstance(d, QuestionButton) for d in decoded)
    assert [(d.u, d.s, d.q) for d in decoded] == [(OWNER, SESSION, question.id)] * len(offered)
    assert [d.a for d in decoded] == [encode_answer(answer) for answer, _ in offered]
    assert all(ANSWER_ACTION_PATTERN.match(b["action_id"]) for b in answer_buttons)

    labels = [b["text"]["text"] for b in answer_buttons]
    assert labels[-1].removeprefix("✓ ") == DONT_KNOW_LABEL
    assert [d.a for d in decoded].count("dk") == 1
    assert ("na" in [d.a for d in decoded]) == (question.not_applicable is not None)
    if question.not_applicable is not None:
        na_label = labels[[d.a for d in decoded].index("na")]
        assert na_label.removeprefix("✓ ") == question.not_applicable

    marked = [b for b in answer_buttons if b["text"]["text"].startswith("✓ ")]
    styled = [b for b in answer_buttons if "style" in b]
    if previous is None:
        assert marked == [] and styled == []
        assert labels == [label for _, label in offered]
    else:
        assert marked == styled and len(marked) == 1
        assert marked[0]["style"] == "primary"
        assert QuestionButton.decode(marked[0]["value"]).a == encode_answer(previous)

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
        "recommendations": {"ops": {n: f"Advice {n}." for n in (1, 2, 3, 4)}},
    }
    return parse_bank(yaml.safe_dump(document), "synthetic.yaml")


def test_the_longest_label_a_bank_allows_still_renders_when_chosen() -> None:
    longest = "x" * 75
    bank = synthetic_bank(options=[{"label": longest, "value": 0.0}, {"label": "Yes", "value": 1.0}])
    question = bank.questions[0]
    message = blocks.question_message(bank, ask(question, 2, 3, OptionChoice(0)), OWNER, SESSION)
    assert_sendable(message)
    chosen = buttons(message, "answers-")[0]
    assert chosen["text"]["text"].startswith("✓ x")
    assert chosen["style"] == "primary"
    assert QuestionButton.decode(chosen["value"]).a == 0


# Reports -----------------------------------------------------------------------------------------


def best(question: Question) -> Answer:
    return OptionChoice(len(question.options) - 1)


def all_best(bank: QuestionBank) -> dict[str, Answer]:
    return {q.id: best(q) for q in bank.questions}


def all_worst(bank: QuestionBank) -> dict[str, Answer]:
    return {q.id: OptionChoice(0) for q in bank.questions}


def all_dont_know(bank: QuestionBank) -> dict[str, Answer]:
    return {q.id: DontKnow() for q in bank.questions}


def held_by_a_gate(bank: QuestionBank) -> dict[str, Answer]:
    """Best answers except one failing production-safety practice that holds its dimension back."""
    for question in bank.questions:
        if not question.is_gate:
            continue
        for index, option in enumerate(question.options):
            if option.value >= GATE_PASS_VALUE:
                continue
            answers = {**all_best(bank), question.id: OptionChoice(index)}
            if score(bank, answers).dimension(question.dimension).gate is not None:
                return answers
    raise AssertionError(f"no answers in {bank.id} where a gate holds a dimension back")


def unsure_in_first_dimension(bank: QuestionBank) -> dict[str, Answer]:
    """Best answers, except "don't know" for all but one question of the first dimension."""
    unsure = bank.questions_in(bank.dimensions[0].id)[1:]
    return {**all_best(bank), **{q.id: DontKnow() for q in unsure}}


SCENARIOS: dict[str, Callable[[QuestionBank], dict[str, Answer]]] = {
    "all-best": all_best,
    "all-worst": all_worst,
    "gated": held_by_a_gate,
    "all-dont-know": all_dont_know,
    "level-range": unsure_in_first_dimension,
}
REPORT_CASES = [pytest.param(bank, name, id=f"{bank.id}-{name}") for bank in BANKS for name in SCENARIOS]


def assert_report_message(message: Message, report: Report, bank: QuestionBank) -> None:
    assert_sendable(message)
    assert buttons(message) == [], "a report is final; it offers nothing to click"
    names = dict(report.level_names)
    overall = text_of(message, "overall")
    assert f"<@{OWNER}>" in overall and f"<@{OWNER}>" in message.text
    if report.overall_level is None:
        assert "Not enough answers to place the practice on a level." in overall
        assert message.text.endswith("no level yet")
    else:
        assert report.overall_score is not None
        assert (
            f"Overall: {blocks.LEVEL_EMOJI[report.overall_level]} Level {report.overall_level} · " in overall
        )
        assert blocks.escape(names[report.overall_level]) in overall
        assert f"score {round(report.overall_score)}/100" in overall
        assert message.text.endswith(f"level {report.overall_level}")

    for result in report.dimensions:
        text = text_of(message, f"dim-{result.dimension_id}")
        assert blocks.escape(result.name) in text
        if result.score is None:
            assert "not enough answers to score" in text
            assert "Level" not in text
        else:
            assert f"{round(result.score)}/100" in text
            assert f"Level {result.level} · " in text
            assert f"confidence {result.confidence:.0%}" in text
        assert ("could be" in text) == (result.score is not None and result.level_is_uncertain)
        if result.gate is None:
            assert "Held at level" not in text
        else:
            assert f"Held at level {result.level} (score alone: {result.uncapped_level})" in text
            assert blocks.escape(result.gate.question_text) in text

    ids = [b.get("block_id") for b in message.blocks]
    assert ("recommendation" in ids) == bool(report.recommendation)
    if report.recommendation:
        assert report.focus_dimension_id is not None
        focus = report.dimension(report.focus_dimension_id)
        recommendation = text_of(message, "recommendation")
        assert f"{blocks.escape(focus.name)} (level {focus.level})" in recommendation
        assert blocks.escape(report.recommendation) in recommendation
    assert ("next-steps" in ids) == bool(report.next_steps)
    if report.next_steps:
        steps = text_of(message, "next-steps").splitlines()[1:]
        assert len(steps) == len(report.next_steps)
        for rank, (line, step) in enumerate(zip(steps, report.next_steps, strict=True), start=1):
            assert line.startswith(f"*{rank}.* {blocks.escape(step.improvement)}")
    footer = text_of(message, "footer")
    assert f"Answered {report.answered} of {report.total_questions}" in footer
    assert f"`{bank.id}` v{bank.version}" in footer


@pytest.mark.parametrize(("bank", "scenario"), REPORT_CASES)
def test_report_message_shows_the_reports_figures(bank: QuestionBank, scenario: str) -> None:
    report = score(bank, SCENARIOS[scenario](bank))
    message = blocks.report_message(report, bank, OWNER)
    assert_report_message(message, report, bank)


@pytest.mark.parametrize("bank", BANKS, ids=lambda b: b.id)
def test_the_scenarios_show_what_they_are_named_for(bank: QuestionBank) -> None:
    def rendered(scenario: str) -> tuple[Report, Message]:
        report = score(bank, SCENARIOS[scenario](bank))
        return report, blocks.report_message(report, bank, OWNER)

    report, message = rendered("all-best")
    assert report.overall_level == 4
    assert f"Level 4 · {blocks.escape(bank.level_info(4).name)}" in text_of(message, "overall")
    assert all("Level 4 · " in text_of(message, f"dim-{d.id}") for d in bank.dimensions)

    report, message = rendered("all-worst")
    assert report.overall_level == 1
    assert all("Level 1 · " in text_of(message, f"dim-{d.id}") for d in bank.dimensions)

    report, message = rendered("gated")
    held = [d for d in report.dimensions if d.gate is not None]
    assert held and all("Held at level" in text_of(message, f"dim-{d.dimension_id}") for d in held)

    report, message = rendered("all-dont-know")
    assert report.overall_level is None and report.overall_score is None
    assert all("not enough answers" in text_of(message, f"dim-{d.id}") for d in bank.dimensions)

    report, message = rendered("level-range")
    first = report.dimensions[0]
    assert first.level_is_uncertain
    other = first.level_high if first.level_high != first.level else first.level_low
    assert f"_(could be {other})_" in text_of(message, f"dim-{first.dimension_id}")


def test_a_report_without_a_user_names_nobody() -> None:
    bank = CATALOG.get("mlops")
    message = blocks.report_message(score(bank, all_best(bank)), bank)
    assert_sendable(message)
    assert "<@" not in text_of(message, "overall") and "<@" not in message.text


# Notices -----------------------------------------------------------------------------------------


def test_in_progress_message_offers_resume_or_start_over_with_the_requested_bank() -> None:
    message = blocks.in_progress_message(OWNER, 3, 20, "pulse")
    assert_sendable(message)
    assert "3 of 20 answered" in message.blocks[0]["text"]["text"]
    resume, start_over = buttons(message)
    assert resume["action_id"] == RESUME_ACTION and resume["style"] == "primary"
    assert SessionButton.decode(resume["value"]) == SessionButton(u=OWNER)
    assert start_over["action_id"] == START_OVER_ACTION
    assert SessionButton.decode(start_over["value"]) == SessionButton(u=OWNER, b="pulse")
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
    message = blocks.help_message(BANKS, "mlops")
    assert_sendable(message)
    (text,) = mrkdwn_texts(message)
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
        assert f"{len(bank.questions)} questions, about {bank.estimated_minutes} min" in line


@pytest.mark.parametrize("builder", [blocks.text_message, blocks.answered_message])
def test_plain_notices_are_cut_to_slacks_limits(builder: Callable[[str], Message]) -> None:
    message = builder("a" * 5000)
    assert_sendable(message)
    assert len(message.blocks[0]["text"]["text"]) == 3000
    assert len(message.text) == 4000


@pytest.mark.parametrize("builder", [blocks.text_message, blocks.answered_message])
def test_a_short_notice_is_sent_whole(builder: Callable[[str], Message]) -> None:
    message = builder("Assessment cancelled after 3 answer(s).")
    assert_sendable(message)
    assert message.text == message.blocks[0]["text"]["text"] == "Assessment cancelled after 3 answer(s)."


# Escaping ----------------------------------------------------------------------------------------

HOSTILE = "<!channel> & <@U1>"
ESCAPED = "&lt;!channel&gt; &amp; &lt;@U1&gt;"


def hostile_bank() -> QuestionBank:
    """The mlops bank with author text that mrkdwn would otherwise read as mentions and entities."""
    bank = CATALOG.get("mlops")
    gate = next(q for q in bank.questions if q.is_gate)
    questions = [
        q.model_copy(update={"text": f"{q.text} {HOSTILE}", "why": HOSTILE, "improvement": HOSTILE})
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
            "recommendations": {
                d: dict.fromkeys(by_level, HOSTILE) for d, by_level in bank.recommendations.items()
            },
        }
    )


def assert_escaped(texts: list[str]) -> None:
    joined = "\n".join(texts)
    assert ESCAPED in joined
    for raw in ("<!channel>", "<@U1>", " & "):
        assert raw not in joined, f"{raw!r} reached Slack unescaped"


def test_question_text_from_a_bank_is_escaped() -> None:
    bank = hostile_bank()
    question = next(q for q in bank.questions if q.is_gate)
    message = blocks.question_message(bank, ask(question, 1, len(bank.questions)), OWNER, SESSION)
    assert_sendable(message)
    for block_id in ("question", "why", "dimension"):
        assert_escaped([text_of(message, block_id)])
    # The fallback is mrkdwn too: it is what a notification shows.
    assert_escaped([message.text])


def test_report_text_from_a_bank_is_escaped() -> None:
    bank = hostile_bank()
    gate = next(q for q in bank.questions if q.is_gate)
    answers = {**all_best(bank), gate.id: OptionChoice(0)}
    # Only answers worse than the best lead to next steps, and only the hostile question's has one.
    report = score(bank, answers)
    assert report.dimension(gate.dimension).gate is not None
    message = blocks.report_message(report, bank, OWNER)
    assert_sendable(message)
    dimension_text = text_of(message, f"dim-{gate.dimension}")
    assert_escaped([dimension_text])
    assert_escaped([text_of(message, "overall")])
    assert_escaped([text_of(message, "recommendation")])
    assert_escaped([text_of(message, "next-steps")])


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
    kinds = [QuestionButton.decode(b["value"]).a for b in buttons(message, "answers-")]
    assert kinds == [*range(len(question.options)), "na", "dk"]
    assert choices(question)[-2] == (NotApplicable(), question.not_applicable)
