"""The assessment as AssessmentFlow runs it: the real store (fakeredis and a real Redis), the shipped
banks, and slack_sdk's WebClient talking HTTP to a fake Slack Web API.

Clicks are built the way Bolt hands them over, with values read back from the buttons of the messages
the flow posted, so a test can only press what a person could press.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot.engine.answers import Answer, decode_answer, encode_answer
from bot.engine.catalog import BankCatalog
from bot.engine.conversation import AskQuestion, Conversation, OfferStop, Phase, Prompt, prompt_for
from bot.engine.progress import progress_line
from bot.engine.report_view import build_view
from bot.engine.scoring import applicable_questions, score
from bot.slack import blocks
from bot.slack.app import CONNECTION_RETRIES
from bot.slack.assessment import (
    REPORT_ON_ITS_WAY,
    AssessmentFlow,
    full_started_text,
    left_out_started_text,
    started_text,
)
from bot.slack.delivery.run import ReportDelivery
from bot.slack.payloads import BlockAction
from bot.slack.replies import BUSY
from bot.slack.values import (
    ANSWER_ACTION_PATTERN,
    ANSWER_LEFT_OUT_ACTION,
    BACK_ACTION,
    KEEP_GOING_ACTION,
    RESUME_ACTION,
    START_OVER_ACTION,
    STOP_HERE_ACTION,
    QuestionButton,
    SessionButton,
)
from bot.store.connection import connect
from bot.store.sessions import Respondent, SessionRecord, SessionStore
from bot.usecases.personal import left_out
from bot.usecases.personal import progress as run_progress
from playground.demo import demo_answers
from playground.fakeslack import FakeSlack, RecordedCall
from playground.fakeslack.workspace import Button, buttons_of
from tests.slack.conftest import Responses
from tests.slack.wiring import assessment_flow, wired_flows

USER = "U0ALICE"
OTHER = "U0BOB"
ORIGIN = "C0GENERAL"
CATALOG = BankCatalog.from_directory()
BANK = CATALOG.get("mlops")
PULSE = CATALOG.get("pulse")


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-t", base_url=fake.base_url)


@pytest.fixture
def flow(store: SessionStore, client: WebClient) -> AssessmentFlow:
    return assessment_flow(store, CATALOG, "mlops", client)


@pytest.fixture
def dm(fake: FakeSlack) -> str:
    return fake.dm_channel_id(USER)


@pytest.fixture
def alice(team_id: str) -> Respondent:
    return Respondent(team_id=team_id, user_id=USER)


# Clicking ----------------------------------------------------------------------------------------


def body_for(team_id: str, user: str, channel: str, message_ts: str | None) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": team_id},
        "user": {"id": user, "team_id": team_id},
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
    }


def action_for(button: Button) -> dict[str, Any]:
    """The action as Bolt hands it over: a radio option comes as the option chosen."""
    if button.element_type == "radio_buttons":
        return {
            "type": "radio_buttons",
            "action_id": button.action_id,
            "block_id": button.block_id,
            "selected_option": {"text": {"type": "plain_text", "text": button.label}, "value": button.value},
        }
    return {
        "type": "button",
        "action_id": button.action_id,
        "block_id": button.block_id,
        "value": button.value,
    }


def press(
    flow: AssessmentFlow,
    team_id: str,
    channel: str,
    message: dict[str, Any],
    button: Button,
    respond: Responses,
    clicker: str = USER,
    clicked_at: float | None = None,
) -> None:
    """`clicked_at`: when Slack says the click happened (its action_ts)."""
    action = action_for(button)
    if clicked_at is not None:
        action["action_ts"] = f"{clicked_at:.6f}"
    flow.click(BlockAction.of(body_for(team_id, clicker, channel, message["ts"]), action), respond)


def answer_buttons(message: dict[str, Any]) -> list[Button]:
    return [b for b in buttons_of(message) if ANSWER_ACTION_PATTERN.match(b.action_id)]


def code_of(button: Button) -> int | str | None:
    return QuestionButton.decode(button.value).a


def answer_code(button: Button) -> int | str:
    code = code_of(button)
    assert code is not None, button
    return code


def option_number(button: Button) -> int:
    code = code_of(button)
    return code if isinstance(code, int) else -1


def option(message: dict[str, Any], code: int | str) -> Button:
    return next(b for b in answer_buttons(message) if code_of(b) == code)


def best(message: dict[str, Any]) -> Button:
    return max((b for b in answer_buttons(message) if isinstance(code_of(b), int)), key=option_number)


def shown_question(message: dict[str, Any]) -> str:
    question_id = QuestionButton.decode(answer_buttons(message)[0].value).q
    assert question_id is not None
    return question_id


def progress(message: dict[str, Any]) -> str:
    return next(b for b in message["blocks"] if b.get("block_id") == "progress")["elements"][0]["text"]


def latest(fake: FakeSlack, channel: str) -> dict[str, Any]:
    return fake.messages(channel)[-1]


def reply_buttons(reply: dict[str, Any]) -> list[Button]:
    return buttons_of({"blocks": reply["blocks"]})


def stored(store: SessionStore, respondent: Respondent) -> SessionRecord:
    record = store.get(respondent)
    assert record is not None
    return record


def phase(record: SessionRecord) -> str:
    return record.conversation["phase"]


def start(flow: AssessmentFlow, team_id: str, bank_ref: str | None = None, full: bool = False) -> None:
    started = Responses()
    flow.start(team_id, USER, ORIGIN, bank_ref, started, full=full)
    said = full_started_text if full else started_text
    assert started.only_text() == said(CATALOG.get(bank_ref or flow.default_bank))


def engine_prompt(record: SessionRecord) -> Prompt:
    """What the engine says the stored conversation shows now."""
    conversation = Conversation.from_dict(record.conversation)
    return prompt_for(conversation, CATALOG.get(conversation.bank_id))


def engine_question(record: SessionRecord) -> AskQuestion:
    prompt = engine_prompt(record)
    assert isinstance(prompt, AskQuestion), prompt
    return prompt


def progress_of(ask: AskQuestion) -> str:
    return f"`{progress_line(ask.number, ask.total, ask.total_is_exact)}`"


def progress_text(store: SessionStore, respondent: Respondent) -> str:
    """How far the stored assessment got, as every notice words it."""
    return run_progress(CATALOG, Conversation.from_dict(stored(store, respondent).conversation)).text


def answer_best(flow: AssessmentFlow, fake: FakeSlack, team_id: str, dm: str, count: int) -> None:
    for _ in range(count):
        message = latest(fake, dm)
        clicked = Responses()
        press(flow, team_id, dm, message, best(message), clicked)
        assert clicked.sent == [], clicked.sent


# Starting ----------------------------------------------------------------------------------------


def test_start_posts_the_first_question_to_the_dm_and_remembers_where(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    start(flow, team_id)

    (message,) = fake.messages(dm)
    record = stored(store, alice)
    first = engine_question(record)
    assert shown_question(message) == first.question.id == BANK.questions[0].id  # the context comes first
    # Only the questions that can still change a level are asked: the count is the most there can be.
    assert not first.total_is_exact and first.total < len(BANK.questions)
    assert progress(message) == progress_of(first)
    assert f"Question 1 of at most {first.total} " in progress(message)
    assert (record.origin_channel, record.dm_channel, record.message_ts) == (ORIGIN, dm, message["ts"])
    assert record.conversation["bank"] == BANK.id
    assert record.conversation["bank_version"] == BANK.version
    assert (phase(record), record.conversation["position"], record.conversation["answers"]) == (
        Phase.ASK_Q,
        0,
        {},
    )
    for button in buttons_of(message):
        value = QuestionButton.decode(button.value)
        assert (value.u, value.s) == (USER, record.session_id)
    assert fake.messages(ORIGIN) == [], "nothing is said in the channel until there is a report"


def test_start_with_a_bank_id_uses_that_bank(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    start(flow, team_id, "pulse")
    first = engine_question(stored(store, alice))
    assert shown_question(latest(fake, dm)) == first.question.id
    assert progress(latest(fake, dm)) == progress_of(first)
    assert stored(store, alice).conversation["bank"] == "pulse"


def test_start_full_asks_every_question_in_the_banks_order_with_an_exact_count(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    start(flow, team_id, full=True)
    assert stored(store, alice).conversation["mode"] == "full"
    assert progress(latest(fake, dm)).startswith(f"`Question 1 of {len(BANK.questions)} ")
    answer_best(flow, fake, team_id, dm, 3)
    record = stored(store, alice)
    answers = {qid: decode_answer(code) for qid, code in record.conversation["answers"].items()}
    in_order = [q.id for q in applicable_questions(BANK, answers)]
    assert list(answers) == in_order[:3]
    assert shown_question(latest(fake, dm)) == engine_question(record).question.id == in_order[3]


def write_bank_file(directory: Path, bank_id: str) -> Path:
    document = PULSE.model_dump(mode="json")
    document["id"] = bank_id
    path = directory / f"{bank_id}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["unknown-id", "bank-file-outside-the-catalog", "broken-file"])
def test_start_with_a_bank_the_deployment_does_not_offer_is_refused(
    flow: AssessmentFlow,
    fake: FakeSlack,
    store: SessionStore,
    alice: Respondent,
    respond: Responses,
    team_id: str,
    tmp_path: Path,
    kind: str,
) -> None:
    if kind == "unknown-id":
        bank_ref = "nope"
    elif kind == "bank-file-outside-the-catalog":
        bank_ref = str(write_bank_file(tmp_path, "private"))
    else:
        broken = tmp_path / "broken.yaml"
        broken.write_text("id: [unclosed", encoding="utf-8")
        bank_ref = str(broken)

    flow.start(team_id, USER, ORIGIN, bank_ref, respond)

    text = respond.only_text()
    assert "available: mlops, pulse" in text
    assert store.get(alice) is None
    assert fake.calls == [], "a refused start must not open a DM"


def test_start_while_in_progress_offers_resume_or_start_over_and_changes_nothing(
    flow: AssessmentFlow,
    fake: FakeSlack,
    store: SessionStore,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
) -> None:
    start(flow, team_id)
    answer_best(flow, fake, team_id, dm, 1)
    before = stored(store, alice)
    calls_before = len(fake.calls)

    flow.start(team_id, USER, "C0OTHER", "pulse", respond)

    reply = respond.only()
    said = progress_text(store, alice)
    assert f"in progress ({said})" in respond.only_text() and said.startswith("answered 1 question, at most ")
    resume, start_over = reply_buttons(reply)
    assert resume.action_id == RESUME_ACTION
    assert SessionButton.decode(resume.value) == SessionButton(u=USER)
    assert start_over.action_id == START_OVER_ACTION
    assert SessionButton.decode(start_over.value) == SessionButton(u=USER, b="pulse", s=before.session_id)
    assert stored(store, alice) == before
    assert len(fake.calls) == calls_before, "the in-progress notice touches neither Slack nor the DM"


def test_start_over_from_the_in_progress_notice_begins_the_requested_bank(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    start(flow, team_id)
    answer_best(flow, fake, team_id, dm, 2)
    old = stored(store, alice)
    notice = Responses()
    flow.start(team_id, USER, ORIGIN, "pulse", notice)
    start_over = reply_buttons(notice.only())[1]

    restarted = Responses()
    flow.session_button(
        BlockAction.of(body_for(team_id, USER, ORIGIN, None), action_for(start_over)),
        restarted,
        start_over=True,
    )

    assert restarted.only_text() == started_text(PULSE)
    record = stored(store, alice)
    assert record.session_id != old.session_id
    assert record.conversation["bank"] == "pulse"
    assert (record.conversation["position"], record.conversation["answers"]) == (0, {})
    first = latest(fake, dm)
    assert shown_question(first) == PULSE.questions[0].id
    assert record.message_ts == first["ts"]


# Answering to the end ----------------------------------------------------------------------------


def chosen_answer(index: int, message: dict[str, Any]) -> Button:
    """A mix of every kind of answer: not applicable where offered, one "don't know", else the best."""
    codes = [code_of(b) for b in answer_buttons(message)]
    if "na" in codes:
        return option(message, "na")
    if index == 1:
        return option(message, "dk")
    return best(message)


def test_answering_every_question_delivers_and_keeps_the_report(
    flow: AssessmentFlow,
    fake: FakeSlack,
    store: SessionStore,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
) -> None:
    start(flow, team_id, full=True)
    question_ts = latest(fake, dm)["ts"]
    given: dict[str, Answer] = {}
    for index, question in enumerate(BANK.questions):
        message = latest(fake, dm)
        assert message["ts"] == question_ts, "each next question replaces the one answered"
        assert shown_question(message) == question.id
        button = chosen_answer(index, message)
        given[question.id] = decode_answer(answer_code(button))
        press(flow, team_id, dm, message, button, respond)
    assert respond.sent == []

    expected = score(BANK, given)
    expected_message = blocks.report_message(expected, USER)
    (dm_copy,) = fake.messages(dm)
    assert dm_copy["ts"] == question_ts
    assert dm_copy["blocks"] == expected_message.blocks
    assert answer_buttons(dm_copy) == []
    # The channel gets the summary, and the details as a reply in its thread.
    in_channel, reply = fake.messages(ORIGIN)
    summary = blocks.report_summary_message(expected, USER)
    assert (in_channel["blocks"], in_channel["text"]) == (summary.blocks, summary.text)
    assert reply["thread_ts"] == in_channel["ts"]
    assert reply["blocks"] == blocks.report_details_message(expected, USER).blocks

    record = stored(store, alice)
    assert phase(record) == Phase.COMPLETE
    (result,) = store.history(alice)
    assert record.result_id == result.result_id
    assert (result.bank_id, result.bank_version) == (BANK.id, BANK.version)
    assert result.respondent == alice
    assert result.origin_channel == ORIGIN
    assert {qid: decode_answer(code) for qid, code in result.answers.items()} == given
    assert result.report == json.loads(json.dumps(build_view(expected).to_dict()))
    assert store.result(team_id, result.result_id) == result


def test_a_result_is_dated_when_slack_says_its_last_answer_was_clicked(
    flow: AssessmentFlow,
    fake: FakeSlack,
    store: SessionStore,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
) -> None:
    a_quarter_ago = time.time() - 91 * 24 * 3600
    start(flow, team_id, "pulse")
    for _ in PULSE.questions:
        message = latest(fake, dm)
        press(flow, team_id, dm, message, best(message), respond, clicked_at=a_quarter_ago)
    (earlier,) = store.history(alice)
    assert earlier.finished_at == pytest.approx(a_quarter_ago, abs=1e-5)
    # A Slack clock ahead of the app's dates no result in the future: it is taken as now.
    start(flow, team_id, "pulse")
    before = time.time()
    for _ in PULSE.questions:
        message = latest(fake, dm)
        press(flow, team_id, dm, message, best(message), respond, clicked_at=time.time() + 3600)
    later, _ = store.history(alice)
    assert later.result_id != earlier.result_id and before <= later.finished_at <= time.time()
    assert respond.sent == []


def test_a_click_on_a_finished_assessment_is_refused_and_a_new_start_begins_afresh(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    start(flow, team_id, "pulse")
    answer_best(flow, fake, team_id, dm, len(PULSE.questions) - 1)
    last_question = latest(fake, dm)
    answer_best(flow, fake, team_id, dm, 1)
    finished = stored(store, alice)

    late = Responses()
    press(flow, team_id, dm, last_question, best(last_question), late)
    assert "already complete" in late.only_text()
    assert stored(store, alice) == finished
    assert len(store.history(alice)) == 1, "a late click must not record a second result"

    start(flow, team_id, "pulse")
    record = stored(store, alice)
    assert record.session_id != finished.session_id
    assert (phase(record), record.conversation["answers"]) == (Phase.ASK_Q, {})
    assert len(store.history(alice)) == 1, "the earlier result is kept"


def test_report_stays_in_the_dm_with_an_invite_hint_when_the_bot_is_not_in_the_channel(
    flow: AssessmentFlow,
    fake: FakeSlack,
    store: SessionStore,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
) -> None:
    fake.set_not_in_channel(ORIGIN)
    start(flow, team_id, "pulse")
    question_ts = latest(fake, dm)["ts"]
    answer_best(flow, fake, team_id, dm, len(PULSE.questions))

    refused = [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == ORIGIN]
    assert [c.error for c in refused] == ["not_in_channel"]
    assert fake.messages(ORIGIN) == []
    report, note = fake.messages(dm)
    assert report["ts"] == question_ts
    assert report["text"].startswith("MLOps maturity report")
    assert any(b.get("block_id") == "overall" for b in report["blocks"])
    assert "/invite" in note["text"]
    assert f"<#{ORIGIN}>" in note["text"] and "not_in_channel" in note["text"]
    assert phase(stored(store, alice)) == Phase.COMPLETE
    assert len(store.history(alice)) == 1


def is_the_report(params: dict[str, Any]) -> bool:
    return str(params.get("text", "")).startswith("MLOps maturity report")


def channel_post_while_the_report_is_held(
    flow: AssessmentFlow, fake: FakeSlack, team_id: str, dm: str
) -> tuple[RecordedCall, int]:
    """Answer every question of a started pulse assessment, holding the report's update of the DM: the post
    in the channel made meanwhile, and where the report's update is among the calls once released."""
    held = fake.hold_next("chat.update", matching=is_the_report, timeout=30)
    finishing = threading.Thread(target=answer_best, args=(flow, fake, team_id, dm, len(PULSE.questions)))
    finishing.start()
    try:
        assert held.reached.wait(10), "the report never reached the DM"
        in_channel = fake.wait_for(
            "chat.postMessage", lambda c: c.params.get("channel") == ORIGIN, timeout=10
        )
    finally:
        held.release()
        finishing.join(30)
    calls = fake.calls
    return in_channel, next(
        i for i, c in enumerate(calls) if c.method == "chat.update" and is_the_report(c.params)
    )


def test_the_summary_is_posted_in_the_channel_while_the_report_is_still_on_its_way_to_the_dm(
    flow: AssessmentFlow, fake: FakeSlack, team_id: str, dm: str
) -> None:
    start(flow, team_id, "pulse")
    summary, in_dm = channel_post_while_the_report_is_held(flow, fake, team_id, dm)
    assert summary.ok and not summary.params.get("thread_ts")
    details = [i for i, c in enumerate(fake.calls) if c.params.get("thread_ts") == summary.response["ts"]]
    assert len(fake.messages(ORIGIN)) == 2, "one summary and its details, once each"
    assert details and min(details) > in_dm, "the details and the chart follow the report in the DM"


def test_the_invite_hint_waits_for_the_report_it_points_to_even_when_the_channel_refuses_first(
    flow: AssessmentFlow, fake: FakeSlack, team_id: str, dm: str
) -> None:
    fake.set_not_in_channel(ORIGIN)
    start(flow, team_id, "pulse")
    refused, in_dm = channel_post_while_the_report_is_held(flow, fake, team_id, dm)
    assert refused.error == "not_in_channel"
    [hint] = [
        i for i, c in enumerate(fake.calls) if c.method == "chat.postMessage" and "/invite" in str(c.params)
    ]
    assert hint > in_dm, "the hint says 'your report above': it comes after the report"


# Cancel and resume -------------------------------------------------------------------------------


def test_cancel_ends_the_assessment_and_refuses_later_clicks(
    flow: AssessmentFlow,
    fake: FakeSlack,
    store: SessionStore,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
) -> None:
    start(flow, team_id)
    answer_best(flow, fake, team_id, dm, 1)
    on_screen = latest(fake, dm)

    flow.cancel(team_id, USER, respond)

    assert "cancelled" in respond.only_text()
    (message,) = fake.messages(dm)
    assert message["ts"] == on_screen["ts"]
    # The best answer to the first question (LLM features serving users) keeps all 60 questions.
    assert message["text"].startswith("Assessment cancelled: answered 1 of the 60 questions that apply.")
    assert buttons_of(message) == []
    cancelled = stored(store, alice)
    assert phase(cancelled) == Phase.CANCELLED
    assert store.history(alice) == []

    late = Responses()
    press(flow, team_id, dm, on_screen, best(on_screen), late)
    assert "already cancelled" in late.only_text()
    assert stored(store, alice) == cancelled

    again = Responses()
    flow.cancel(team_id, USER, again)
    assert "no assessment in progress" in again.only_text()


def test_the_cancel_button_ends_the_assessment(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    start(flow, team_id)
    message = latest(fake, dm)
    cancel = next(b for b in buttons_of(message) if b.action_id == "cancel")
    clicked = Responses()
    press(flow, team_id, dm, message, cancel, clicked)
    assert clicked.sent == []
    assert phase(stored(store, alice)) == Phase.CANCELLED
    assert latest(fake, dm)["text"].startswith(
        "Assessment cancelled: answered 0 of the 60 questions that apply."
    )


def test_resume_posts_the_current_question_again_and_follows_it(
    flow: AssessmentFlow,
    fake: FakeSlack,
    store: SessionStore,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
) -> None:
    start(flow, team_id)
    answer_best(flow, fake, team_id, dm, 2)
    before = stored(store, alice)

    flow.resume(team_id, USER, respond)

    assert "sent your current question" in respond.only_text()
    first, again = fake.messages(dm)
    assert again["ts"] != first["ts"]
    current = engine_question(before)
    assert shown_question(again) == current.question.id
    assert progress(again) == progress_of(current) and current.number == 3
    record = stored(store, alice)
    assert record.message_ts == again["ts"]
    assert record.conversation == before.conversation, "resending a question answers nothing"

    updates_before = len(fake.calls_to("chat.update"))
    answer_best(flow, fake, team_id, dm, 1)
    (update,) = fake.calls_to("chat.update")[updates_before:]
    assert update.params["ts"] == again["ts"]
    assert current.question.id in stored(store, alice).conversation["answers"]


def test_resume_from_the_in_progress_notice_resends_the_question(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    start(flow, team_id)
    answer_best(flow, fake, team_id, dm, 1)
    notice = Responses()
    flow.start(team_id, USER, ORIGIN, None, notice)
    resume = reply_buttons(notice.only())[0]

    resumed = Responses()
    flow.session_button(
        BlockAction.of(body_for(team_id, USER, ORIGIN, None), action_for(resume)), resumed, start_over=False
    )

    assert "sent your current question" in resumed.only_text()
    assert len(fake.messages(dm)) == 2
    assert shown_question(latest(fake, dm)) == engine_question(stored(store, alice)).question.id
    assert stored(store, alice).message_ts == latest(fake, dm)["ts"]


@pytest.mark.parametrize("command", ["resume", "cancel"])
def test_resume_and_cancel_without_an_assessment_say_so(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, team_id: str, command: str
) -> None:
    replies = Responses()
    getattr(flow, command)(team_id, USER, replies)
    assert "no assessment in progress" in replies.only_text()
    assert store.get(alice) is None
    assert fake.calls == []


# Refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("forged", [False, True], ids=["other-person-clicks", "value-names-other-person"])
def test_a_click_on_someone_elses_assessment_is_refused(
    flow: AssessmentFlow,
    fake: FakeSlack,
    store: SessionStore,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
    forged: bool,
) -> None:
    start(flow, team_id)
    message = latest(fake, dm)
    button = best(message)
    before = stored(store, alice)
    calls_before = len(fake.calls)

    if forged:
        value = QuestionButton.decode(button.value).model_copy(update={"u": OTHER})
        button = Button(button.action_id, button.block_id, value.encode(), button.label)
        press(flow, team_id, dm, message, button, respond, clicker=USER)
    else:
        press(flow, team_id, dm, message, button, respond, clicker=OTHER)

    assert "belongs to someone else" in respond.only_text()
    assert stored(store, alice) == before
    assert store.get(Respondent(team_id=team_id, user_id=OTHER)) is None
    assert len(fake.calls) == calls_before


def test_a_tampered_value_is_refused(
    flow: AssessmentFlow,
    fake: FakeSlack,
    store: SessionStore,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
) -> None:
    start(flow, team_id)
    message = latest(fake, dm)
    button = best(message)
    before = stored(store, alice)
    forged = Button(button.action_id, button.block_id, button.value.replace('"a":', '"a":"maybe","x":'), "")

    press(flow, team_id, dm, message, forged, respond)

    assert "isn't one I recognise" in respond.only_text()
    assert stored(store, alice) == before


def test_a_stale_answer_is_refused(
    flow: AssessmentFlow,
    fake: FakeSlack,
    store: SessionStore,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
) -> None:
    start(flow, team_id)
    first = latest(fake, dm)
    answer_best(flow, fake, team_id, dm, 1)
    before = stored(store, alice)

    press(flow, team_id, dm, first, option(first, 0), respond)

    assert "earlier question" in respond.only_text()
    assert stored(store, alice) == before


def changed_catalog() -> BankCatalog:
    return BankCatalog([BANK.model_copy(update={"version": "9.9.9"}), PULSE])


def test_a_click_after_the_bank_changed_offers_start_over_which_begins_the_new_version(
    store: SessionStore,
    client: WebClient,
    fake: FakeSlack,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
    flow: AssessmentFlow,
) -> None:
    start(flow, team_id)
    answer_best(flow, fake, team_id, dm, 1)
    message = latest(fake, dm)
    before = stored(store, alice)
    updated = assessment_flow(store, changed_catalog(), "mlops", client)

    press(updated, team_id, dm, message, best(message), respond)

    text = respond.only_text()
    assert f"mlops {BANK.version}" in text and "mlops 9.9.9" in text
    (start_over,) = reply_buttons(respond.only())
    assert start_over.action_id == START_OVER_ACTION
    assert SessionButton.decode(start_over.value) == SessionButton(u=USER, b="mlops", s=before.session_id)
    assert stored(store, alice) == before
    assert fake.messages(dm) == [message], "the question on screen stays as it was"

    restarted = Responses()
    updated.session_button(
        BlockAction.of(body_for(team_id, USER, dm, message["ts"]), action_for(start_over)), restarted, True
    )

    assert restarted.only_text() == started_text(BANK)
    record = stored(store, alice)
    assert record.session_id != before.session_id
    assert record.conversation["bank_version"] == "9.9.9"
    assert (record.conversation["position"], record.conversation["answers"]) == (0, {})
    assert record.origin_channel == ORIGIN, "the report still goes where the assessment was asked for"
    fresh = latest(fake, dm)
    assert fresh["ts"] != message["ts"]
    assert shown_question(fresh) == BANK.questions[0].id
    assert record.message_ts == fresh["ts"]

    old = Responses()
    press(updated, team_id, dm, message, best(message), old)
    assert "earlier question" in old.only_text()
    assert stored(store, alice) == record


@pytest.mark.parametrize("command", ["resume", "cancel"])
def test_resume_and_cancel_after_the_bank_changed_offer_start_over(
    store: SessionStore,
    client: WebClient,
    fake: FakeSlack,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
    flow: AssessmentFlow,
    command: str,
) -> None:
    start(flow, team_id)
    before = stored(store, alice)
    calls_before = len(fake.calls)
    updated = assessment_flow(store, changed_catalog(), "mlops", client)

    getattr(updated, command)(team_id, USER, respond)

    assert "mlops 9.9.9" in respond.only_text()
    (start_over,) = reply_buttons(respond.only())
    assert SessionButton.decode(start_over.value) == SessionButton(u=USER, b="mlops", s=before.session_id)
    assert stored(store, alice) == before
    assert len(fake.calls) == calls_before


# Failures ----------------------------------------------------------------------------------------


def unreachable_flow(client: WebClient) -> AssessmentFlow:
    store = SessionStore(connect("redis://127.0.0.1:1/0", timeout_seconds=0.2))
    return assessment_flow(store, CATALOG, "mlops", client)


def unreachable_click(flow: AssessmentFlow, team_id: str, dm: str, respond: Responses) -> None:
    question = BANK.questions[0].id
    button = Button(
        "answer",
        f"answers-{question}",
        QuestionButton(u=USER, s="abc123", q=question, a=0).encode(),
        "",
        element_type="radio_buttons",
    )
    press(flow, team_id, dm, {"ts": "1700000000.000100"}, button, respond)


def unreachable_start_over(flow: AssessmentFlow, team_id: str, dm: str, respond: Responses) -> None:
    action = {"action_id": START_OVER_ACTION, "value": SessionButton(u=USER, b="mlops").encode()}
    flow.session_button(
        BlockAction.of(body_for(team_id, USER, ORIGIN, None), action), respond, start_over=True
    )


UNREACHABLE_ACTIONS = {
    "start": lambda flow, team, dm, respond: flow.start(team, USER, ORIGIN, None, respond),
    "resume": lambda flow, team, dm, respond: flow.resume(team, USER, respond),
    "cancel": lambda flow, team, dm, respond: flow.cancel(team, USER, respond),
    "click": unreachable_click,
    "start-over": unreachable_start_over,
}


@pytest.mark.parametrize("action", list(UNREACHABLE_ACTIONS))
def test_an_unreachable_store_is_explained_and_nothing_is_sent_to_slack(
    client: WebClient, fake: FakeSlack, respond: Responses, dm: str, team_id: str, action: str
) -> None:
    UNREACHABLE_ACTIONS[action](unreachable_flow(client), team_id, dm, respond)

    text = respond.only_text()
    assert "can't reach its storage just now, so this click changed nothing" in text
    assert fake.calls == []


def test_an_answer_survives_slack_refusing_the_next_question(
    flow: AssessmentFlow,
    fake: FakeSlack,
    store: SessionStore,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
) -> None:
    start(flow, team_id)
    first = latest(fake, dm)
    fake.fail_next("chat.update", "internal_error")

    press(flow, team_id, dm, first, option(first, 1), respond)

    text = respond.only_text()
    assert text.startswith(":warning: Your answer is saved, but I couldn't show the next question")
    assert "Slack refused it (`internal_error`)" in text
    assert f"`{blocks.COMMAND} resume`" in text
    record = stored(store, alice)
    assert record.conversation["answers"] == {BANK.questions[0].id: 1}
    assert record.conversation["asked"] == [0, record.conversation["position"]]
    assert fake.messages(dm) == [first], "Slack kept the old question on screen"

    resumed = Responses()
    flow.resume(team_id, USER, resumed)
    assert shown_question(latest(fake, dm)) == engine_question(record).question.id


def test_resume_after_the_last_answer_sends_the_report_again(
    flow: AssessmentFlow, fake: FakeSlack, alice: Respondent, dm: str, team_id: str
) -> None:
    start(flow, team_id, "pulse")
    answer_best(flow, fake, team_id, dm, len(PULSE.questions))
    messages_before = len(fake.messages(dm))

    resumed = Responses()
    flow.resume(team_id, USER, resumed)

    assert "report to our DM again" in resumed.only_text()
    resent = fake.messages(dm)
    assert len(resent) == messages_before + 1
    assert "MLOps maturity report" in resent[-1]["text"]
    assert "Repeatable / Automated" in json.dumps(resent[-1]["blocks"])


def test_start_over_from_a_notice_in_another_channel_reports_there(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    start(flow, team_id)
    notice = Responses()
    flow.start(team_id, USER, "C0ELSEWHERE", None, notice)
    start_over = reply_buttons(notice.only())[1]

    flow.session_button(
        BlockAction.of(body_for(team_id, USER, "C0ELSEWHERE", None), action_for(start_over)),
        Responses(),
        start_over=True,
    )

    assert stored(store, alice).origin_channel == "C0ELSEWHERE"


def test_slack_refusing_the_dm_at_start_stores_nothing_and_says_so(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, team_id: str
) -> None:
    fake.fail_next("conversations.open", "internal_error")
    told = Responses()
    flow.start(team_id, USER, ORIGIN, None, told)
    assert "Nothing was started" in told.only_text()
    assert "`internal_error`" in told.only_text()
    assert store.get(alice) is None


def test_slack_refusing_the_first_question_keeps_the_session_for_resume(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    fake.fail_next("chat.postMessage", "internal_error")
    told = Responses()
    flow.start(team_id, USER, ORIGIN, None, told)
    assert "resume" in told.only_text()
    assert phase(stored(store, alice)) == Phase.ASK_Q

    resumed = Responses()
    flow.resume(team_id, USER, resumed)
    assert "current question" in resumed.only_text()
    assert shown_question(latest(fake, dm)) == CATALOG.get("mlops").questions[0].id


# Honest replies when something fails ---------------------------------------------------------------


def retrying_client(fake: FakeSlack) -> WebClient:
    """The Web API client with the app's retries on dropped connections, without the waits between."""
    retries = ConnectionErrorRetryHandler(
        max_retry_count=CONNECTION_RETRIES, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
    )
    return WebClient(token="xoxb-t", base_url=fake.base_url, retry_handlers=[retries])


def finish_but_last(flow: AssessmentFlow, fake: FakeSlack, team_id: str, dm: str) -> dict[str, Any]:
    start(flow, team_id, "pulse")
    answer_best(flow, fake, team_id, dm, len(PULSE.questions) - 1)
    return latest(fake, dm)


class StartsInStep(WebClient):
    """Holds each start at the DM until both have read the stored session, as two racing requests can."""

    def __init__(self, fake: FakeSlack, barrier: threading.Barrier):
        super().__init__(token="xoxb-t", base_url=fake.base_url)
        self.barrier = barrier

    def conversations_open(self, **kwargs: Any) -> Any:
        opened = super().conversations_open(**kwargs)
        self.barrier.wait(timeout=5)
        return opened


def test_two_racing_starts_over_a_finished_assessment_begin_one(
    store: SessionStore, fake: FakeSlack, alice: Respondent, dm: str, team_id: str, flow: AssessmentFlow
) -> None:
    finish_but_last(flow, fake, team_id, dm)
    answer_best(flow, fake, team_id, dm, 1)
    posted_before = len(fake.calls_to("chat.postMessage"))
    racing = assessment_flow(store, CATALOG, "mlops", StartsInStep(fake, threading.Barrier(2)))
    replies = [Responses(), Responses()]
    threads = [
        threading.Thread(target=racing.start, args=(team_id, USER, ORIGIN, None, reply)) for reply in replies
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    texts = sorted(reply.only_text() for reply in replies)
    assert texts[0] == started_text(BANK)
    assert texts[1].startswith(f"You already have an assessment in progress ({progress_text(store, alice)})")
    first_questions = [
        c for c in fake.calls_to("chat.postMessage")[posted_before:] if c.params.get("channel") == dm
    ]
    assert len(first_questions) == 1
    assert stored(store, alice).message_ts == first_questions[0].response["ts"]


def test_a_double_click_on_start_over_starts_over_once(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    start(flow, team_id)
    answer_best(flow, fake, team_id, dm, 2)
    notice = Responses()
    flow.start(team_id, USER, ORIGIN, None, notice)
    start_over = reply_buttons(notice.only())[1]
    posted_before = len(fake.calls_to("chat.postMessage"))

    first, second = Responses(), Responses()
    for reply in (first, second):
        flow.session_button(
            BlockAction.of(body_for(team_id, USER, ORIGIN, None), action_for(start_over)), reply, True
        )

    assert first.only_text() == started_text(BANK)
    assert second.only_text().startswith(
        f"You already have an assessment in progress ({progress_text(store, alice)})"
    )
    assert len(fake.calls_to("chat.postMessage")[posted_before:]) == 1
    assert stored(store, alice).message_ts == latest(fake, dm)["ts"]


def test_slack_unreachable_after_retries_on_a_click_is_said_truthfully(
    store: SessionStore, fake: FakeSlack, alice: Respondent, respond: Responses, dm: str, team_id: str
) -> None:
    flow = assessment_flow(store, CATALOG, "mlops", retrying_client(fake))
    start(flow, team_id)
    first = latest(fake, dm)
    fake.drop_connection_next("chat.update", times=CONNECTION_RETRIES + 1)

    press(flow, team_id, dm, first, option(first, 1), respond)

    text = respond.only_text()
    assert text == (
        ":warning: Your answer is saved, but I couldn't show the next question: Slack could not be "
        f"reached. Type `{blocks.COMMAND} resume` to get it."
    )
    assert len(fake.calls_to("chat.update")) == CONNECTION_RETRIES + 1
    assert stored(store, alice).conversation["answers"] == {BANK.questions[0].id: 1}


def test_a_bank_whose_questions_break_slacks_limits_starts_nothing_and_says_it_is_our_bug(
    store: SessionStore,
    fake: FakeSlack,
    client: WebClient,
    alice: Respondent,
    respond: Responses,
    team_id: str,
) -> None:
    # Slack shows at most 10 radio options; this bank's last question offers more.
    *first, last = PULSE.questions
    crowded = last.model_copy(update={"options": list(last.options) * 4})
    bank = PULSE.model_copy(update={"questions": [*first, crowded]})
    flow = assessment_flow(store, BankCatalog([bank]), "pulse", client)

    flow.start(team_id, USER, ORIGIN, None, respond)

    assert respond.only_text() == (
        ":warning: I couldn't start the assessment: it breaks one of Slack's message limits, a bug on our "
        f"side that has been logged. Nothing was started; try `{blocks.COMMAND}` again in a minute."
    )
    assert store.get(alice) is None
    assert fake.calls_to("chat.postMessage") == []


def post_it_again(
    flow: AssessmentFlow, delivery: ReportDelivery, team_id: str, dm: str, fake: FakeSlack
) -> Responses:
    """Press *Post it again* on the latest note in the DM that a report could not be posted."""
    note = latest(fake, dm)
    (button,) = [b for b in buttons_of(note) if b.label == "Post it again"]
    clicked = Responses()
    click = BlockAction.of(body_for(team_id, USER, dm, note["ts"]), action_for(button))
    delivery.repost(click, clicked, flow.reports)
    assert clicked.only_text() == (
        "I'm posting your report again; I'll tell you here when it's in, or if it fails again."
    )
    return clicked


def test_a_report_over_slacks_limits_is_told_to_its_author_and_post_it_again_posts_it(
    fake: FakeSlack,
    client: WebClient,
    store: SessionStore,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flow, _, delivery = wired_flows(store, CATALOG, "mlops", client)
    last = finish_but_last(flow, fake, team_id, dm)
    monkeypatch.setattr(blocks, "MAX_BLOCKS", 3)

    press(flow, team_id, dm, last, best(last), respond)

    assert respond.sent == []
    on_its_way, note = fake.messages(dm)[-2:]
    assert on_its_way["ts"] == last["ts"] and on_its_way["text"] == REPORT_ON_ITS_WAY
    assert note["text"] == (
        ":warning: I couldn't post your MLOps maturity report in Slack: it breaks one of Slack's message "
        "limits, a bug on our side that has been logged. It is saved: *Post it again* tries once more."
    )
    assert phase(stored(store, alice)) == Phase.COMPLETE
    assert len(store.history(alice)) == 1

    monkeypatch.undo()
    post_it_again(flow, delivery, team_id, dm, fake)

    report = next(m for m in fake.messages(dm) if m["ts"] == last["ts"])
    assert report["text"].startswith("MLOps maturity report")
    assert len(fake.messages(ORIGIN)) == 2, "the summary and its details"
    assert latest(fake, dm)["text"] == (
        f":white_check_mark: The report I couldn't post earlier is now in <#{ORIGIN}>."
    )


@pytest.mark.parametrize("failure", ["refused", "unreachable"])
def test_a_report_in_the_dm_whose_channel_copy_fails_is_told_and_post_it_again_posts_the_copy(
    store: SessionStore,
    fake: FakeSlack,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
    failure: str,
) -> None:
    flow, _, delivery = wired_flows(store, CATALOG, "mlops", retrying_client(fake))
    last = finish_but_last(flow, fake, team_id, dm)
    if failure == "refused":
        fake.fail_next("chat.postMessage", "internal_error")
    else:
        fake.drop_connection_next("chat.postMessage", times=CONNECTION_RETRIES + 1)

    press(flow, team_id, dm, last, best(last), respond)

    assert respond.sent == []
    reason = "Slack refused it (`internal_error`)" if failure == "refused" else "Slack could not be reached"
    report, note = fake.messages(dm)[-2:]
    assert report["ts"] == last["ts"] and "MLOps maturity report" in report["text"]
    assert note["text"] == (
        f":warning: I couldn't post your MLOps maturity report in <#{ORIGIN}>: {reason}. It is saved: "
        "*Post it again* tries once more."
    )
    assert fake.messages(ORIGIN) == []
    assert phase(stored(store, alice)) == Phase.COMPLETE

    post_it_again(flow, delivery, team_id, dm, fake)

    summary, details = fake.messages(ORIGIN)
    assert details["thread_ts"] == summary["ts"]
    assert [m["ts"] for m in fake.messages(dm)].count(last["ts"]) == 1, "the DM's copy is not posted twice"


def test_post_it_again_pressed_as_the_note_arrives_leaves_the_report_pending_not_given_up(
    store: SessionStore,
    fake: FakeSlack,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The author presses *Post it again* the moment the note appears, before the run that sent it has
    ended: the run gave up before telling, so the reopening is what stays, for the worker's sweep."""
    client = retrying_client(fake)
    flow, _, delivery = wired_flows(store, CATALOG, "mlops", client)
    last = finish_but_last(flow, fake, team_id, dm)
    fake.fail_next("chat.postMessage", "internal_error")
    post = client.chat_postMessage
    pressed: list[Responses] = []

    def pressing_at_the_note(**params: Any) -> Any:
        answer = post(**params)
        if not pressed and "Post it again" in json.dumps(params.get("blocks")):
            pressed.append(post_it_again(flow, delivery, team_id, dm, fake))
        return answer

    monkeypatch.setattr(client, "chat_postMessage", pressing_at_the_note)
    press(flow, team_id, dm, last, best(last), respond)

    assert pressed, "the note was posted"
    (pending,) = delivery.outbox.pending(time.time() + 1)
    state = delivery.outbox.get(pending)
    assert state is not None and state.state == "pending"


def test_the_cancel_button_with_slack_down_says_the_cancel_happened(
    flow: AssessmentFlow,
    fake: FakeSlack,
    store: SessionStore,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
) -> None:
    start(flow, team_id)
    message = latest(fake, dm)
    cancel = next(b for b in buttons_of(message) if b.action_id == "cancel")
    fake.fail_next("chat.update", "internal_error")

    press(flow, team_id, dm, message, cancel, respond)

    assert respond.only_text() == (
        "Your assessment is cancelled, but I couldn't update its message: "
        "Slack refused it (`internal_error`)."
    )
    assert phase(stored(store, alice)) == Phase.CANCELLED


@pytest.mark.parametrize("method", ["conversations.open", "chat.postMessage"])
def test_slack_unreachable_at_start_is_said_truthfully(
    store: SessionStore, fake: FakeSlack, alice: Respondent, respond: Responses, team_id: str, method: str
) -> None:
    flow = assessment_flow(store, CATALOG, "mlops", retrying_client(fake))
    fake.drop_connection_next(method, times=CONNECTION_RETRIES + 1)

    flow.start(team_id, USER, ORIGIN, None, respond)

    text = respond.only_text()
    if method == "conversations.open":
        assert text == (
            ":warning: I couldn't start the assessment: Slack could not be reached. "
            f"Nothing was started; try `{blocks.COMMAND}` again in a minute."
        )
        assert store.get(alice) is None
    else:
        assert text == (
            ":warning: Your assessment is ready, but I couldn't post its first question: Slack could not be "
            f"reached. Type `{blocks.COMMAND} resume` to get it."
        )
        assert phase(stored(store, alice)) == Phase.ASK_Q


class ContendedStore(SessionStore):
    """Another writer changes the session every time this store reads it, as a flood of clicks could."""

    def change(self, respondent: Respondent, mutate: Any) -> Any:
        def interfered(record: SessionRecord | None) -> Any:
            if record is not None:
                self.redis.set(respondent.session_key, record.model_dump_json())
            return mutate(record)

        return super().change(respondent, interfered)


def test_losing_every_race_is_reported_as_busy_not_as_redis_down(
    store: SessionStore, fake: FakeSlack, alice: Respondent, respond: Responses, dm: str, team_id: str
) -> None:
    client = WebClient(token="xoxb-t", base_url=fake.base_url)
    start(assessment_flow(store, CATALOG, "mlops", client), team_id)
    first = latest(fake, dm)
    before = stored(store, alice)
    contended = assessment_flow(ContendedStore(store.redis), CATALOG, "mlops", client)

    press(contended, team_id, dm, first, option(first, 1), respond)

    assert respond.only_text() == BUSY
    assert "can't reach its storage" not in respond.only_text()
    assert stored(store, alice).conversation == before.conversation


# A question message cannot break Slack's limits once its bank was prepared (see the next tests).
@pytest.mark.parametrize("failure", ["refused", "unreachable"])
def test_resume_that_cannot_reach_the_dm_says_so(
    store: SessionStore,
    fake: FakeSlack,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
    failure: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flow = assessment_flow(store, CATALOG, "mlops", retrying_client(fake))
    start(flow, team_id)
    before = stored(store, alice)
    if failure == "refused":
        fake.fail_next("chat.postMessage", "channel_not_found")
    else:
        fake.drop_connection_next("chat.postMessage", times=CONNECTION_RETRIES + 1)

    flow.resume(team_id, USER, respond)

    reason = {
        "refused": "Slack refused it (`channel_not_found`)",
        "unreachable": "Slack could not be reached",
    }[failure]
    assert respond.only_text() == (
        f":warning: I couldn't send your current question again: {reason}. Nothing you answered was lost."
    )
    assert stored(store, alice) == before
    assert len(fake.messages(dm)) == 1


def test_a_context_answer_that_shortens_the_assessment_says_so_above_the_count(
    flow: AssessmentFlow, fake: FakeSlack, dm: str, team_id: str
) -> None:
    start(flow, team_id, full=True)
    first = latest(fake, dm)
    assert "of 60" in first["text"]
    no_llm = next(b for b in answer_buttons(first) if b.label.startswith("No, neither"))
    press(flow, team_id, dm, first, no_llm, Responses())
    second = latest(fake, dm)
    assert second["ts"] == first["ts"] and "Question 2 of 50" in second["text"]
    ids = [b.get("block_id") for b in second["blocks"]]
    note = second["blocks"][ids.index("count-note")]["elements"][0]["text"]
    assert (
        note == ":information_source: 10 questions about LLM features no longer apply after your answer: "
        "50 in all."
    )
    assert ids.index("count-note") == ids.index("progress") - 1
    # The next question has nothing more to explain.
    press(flow, team_id, dm, second, best(second), Responses())
    assert "count-note" not in [b.get("block_id") for b in latest(fake, dm)["blocks"]]


# Adaptive: the offer to stop, keeping going, and the questions left out ----------------------------


def answer_from(answers: Mapping[str, Answer], message: dict[str, Any]) -> Button:
    question = shown_question(message)
    return option(message, encode_answer(answers[question]))


def answer_until_offer(
    flow: AssessmentFlow, fake: FakeSlack, team_id: str, dm: str, answers: Mapping[str, Answer]
) -> dict[str, Any]:
    """Answer each question the flow asks from `answers` until it offers to stop; that message."""
    while answer_buttons(message := latest(fake, dm)):
        clicked = Responses()
        press(flow, team_id, dm, message, answer_from(answers, message), clicked)
        assert clicked.sent == [], clicked.sent
    return message


def offer_button(message: dict[str, Any], action_id: str) -> Button:
    return next(b for b in buttons_of(message) if b.action_id == action_id)


DEMO = demo_answers(BANK)


def test_a_settled_overall_level_is_offered_and_stop_here_reports_it(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    start(flow, team_id)
    offer = answer_until_offer(flow, fake, team_id, dm, DEMO)
    record = stored(store, alice)
    assert phase(record) == Phase.OVERALL_SETTLED
    prompt = engine_prompt(record)
    assert isinstance(prompt, OfferStop)
    settled = next(b for b in offer["blocks"] if b.get("block_id") == "settled")["text"]["text"]
    assert blocks.escape(blocks.settled_text(BANK, prompt)) in settled
    assert [b.label for b in buttons_of(offer)] == [
        blocks.keep_going_label(prompt),
        "Stop here",
        "← Back",
        "Cancel",
    ]
    for button in buttons_of(offer):
        assert QuestionButton.decode(button.value).n == record.conversation["revision"]

    stopped = Responses()
    press(flow, team_id, dm, offer, offer_button(offer, STOP_HERE_ACTION), stopped)
    assert stopped.sent == []
    record = stored(store, alice)
    assert phase(record) == Phase.COMPLETE
    (result,) = store.history(alice)
    given = {qid: decode_answer(code) for qid, code in result.answers.items()}
    assert len(given) == prompt.answered < len(applicable_questions(BANK, DEMO))
    # The overall level settled on fewer answers is the one every answer gives.
    assert result.report["overall"]["level"] == score(BANK, DEMO).overall_level == prompt.overall_level
    in_channel, _ = fake.messages(ORIGIN)
    assert in_channel["blocks"] == blocks.report_summary_message(score(BANK, given), USER).blocks
    headline = next(b for b in in_channel["blocks"] if b.get("block_id") == "overall")["text"]["text"]
    unsettled = [d for d in score(BANK, given).dimensions if d.level is None]
    assert unsettled and "Not settled yet, for want of answers:" in headline
    for dimension in unsettled:
        assert blocks.escape(dimension.name) in headline


def test_keep_going_asks_on_to_every_level_and_the_report_offers_the_questions_left_out(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    start(flow, team_id)
    offer = answer_until_offer(flow, fake, team_id, dm, DEMO)
    going = Responses()
    press(flow, team_id, dm, offer, offer_button(offer, KEEP_GOING_ACTION), going)
    assert going.sent == []
    assert shown_question(latest(fake, dm)) == engine_question(stored(store, alice)).question.id
    # Past the offer, never offered again.
    answer_until_offer(flow, fake, team_id, dm, DEMO)
    record = stored(store, alice)
    assert phase(record) == Phase.COMPLETE

    (result,) = store.history(alice)
    given = {qid: decode_answer(code) for qid, code in result.answers.items()}
    report, every_answer = score(BANK, given), score(BANK, DEMO)
    for dimension in report.dimensions:
        assert dimension.level == every_answer.dimension(dimension.dimension_id).level
    (dm_copy,) = [m for m in fake.messages(dm) if m["ts"] == offer["ts"]]
    not_asked = next(b for b in dm_copy["blocks"] if b.get("block_id") == "not-asked")
    button = not_asked["accessory"]
    left = left_out(BANK, given)
    assert button["text"]["text"] == f"Answer the {left.questions} left out"
    assert SessionButton.decode(button["value"]) == SessionButton(u=USER, i=result.result_id)
    in_channel, _ = fake.messages(ORIGIN)
    channel_line = next(b for b in in_channel["blocks"] if b.get("block_id") == "not-asked")
    assert "accessory" not in channel_line, "only the owner's copy offers to answer them"

    # The stale offer's buttons are refused and change nothing.
    for action_id in (STOP_HERE_ACTION, KEEP_GOING_ACTION):
        late = Responses()
        press(flow, team_id, dm, offer, offer_button(offer, action_id), late)
        assert "already complete" in late.only_text()
    assert stored(store, alice) == record


def test_an_offer_the_person_moved_past_is_refused_and_back_returns_to_the_last_question(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    start(flow, team_id)
    offer = answer_until_offer(flow, fake, team_id, dm, DEMO)
    last = BANK.questions[stored(store, alice).conversation["asked"][-1]].id
    press(flow, team_id, dm, offer, offer_button(offer, BACK_ACTION), Responses())
    back = latest(fake, dm)
    assert shown_question(back) == last
    assert [b.value for b in answer_buttons(back) if b.chosen] == [answer_from(DEMO, back).value]
    moved_on = stored(store, alice)

    late = Responses()
    press(flow, team_id, dm, offer, offer_button(offer, STOP_HERE_ACTION), late)
    assert "That offer to stop was answered already, so nothing changed" in late.only_text()
    assert stored(store, alice) == moved_on

    # Answered again, the same level is settled: a fresh offer, whose buttons work.
    press(flow, team_id, dm, back, answer_from(DEMO, back), Responses())
    again = latest(fake, dm)
    assert offer_button(again, STOP_HERE_ACTION).value != offer_button(offer, STOP_HERE_ACTION).value
    press(flow, team_id, dm, again, offer_button(again, STOP_HERE_ACTION), Responses())
    assert phase(stored(store, alice)) == Phase.COMPLETE


def test_resume_at_the_offer_sends_the_offer_again(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    start(flow, team_id)
    answer_until_offer(flow, fake, team_id, dm, DEMO)
    before = stored(store, alice)
    resumed = Responses()
    flow.resume(team_id, USER, resumed)
    assert "your settled overall level, with the choice to stop or keep going" in resumed.only_text()
    again = latest(fake, dm)
    prompt = engine_prompt(before)
    assert isinstance(prompt, OfferStop)
    assert blocks.keep_going_label(prompt) in [b.label for b in buttons_of(again)]
    assert stored(store, alice).message_ts == again["ts"]
    notice = Responses()
    flow.start(team_id, USER, ORIGIN, None, notice)
    assert "answered" in notice.only_text() and "; your overall level is settled)" in notice.only_text()
    press(flow, team_id, dm, again, offer_button(again, KEEP_GOING_ACTION), Responses())
    assert answer_buttons(latest(fake, dm))


def left_out_click(
    flow: AssessmentFlow, team_id: str, dm: str, message: dict[str, Any], clicker: str = USER
) -> Responses:
    block = next(b for b in message["blocks"] if b.get("block_id") == "not-asked")
    action = {"type": "button", "action_id": ANSWER_LEFT_OUT_ACTION, "value": block["accessory"]["value"]}
    replies = Responses()
    flow.answer_left_out(BlockAction.of(body_for(team_id, clicker, dm, message["ts"]), action), replies)
    return replies


def kept_going_to_the_end(flow: AssessmentFlow, fake: FakeSlack, team_id: str, dm: str) -> dict[str, Any]:
    """An adaptive run on the demo answers, kept going past the offer: its report in the DM."""
    start(flow, team_id)
    offer = answer_until_offer(flow, fake, team_id, dm, DEMO)
    press(flow, team_id, dm, offer, offer_button(offer, KEEP_GOING_ACTION), Responses())
    answer_until_offer(flow, fake, team_id, dm, DEMO)
    return next(m for m in fake.messages(dm) if m["ts"] == offer["ts"])


def test_answering_the_questions_left_out_asks_only_those_and_reports_anew(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    report = kept_going_to_the_end(flow, fake, team_id, dm)
    (first,) = store.history(alice)
    earlier = {qid: decode_answer(code) for qid, code in first.answers.items()}

    started = left_out_click(flow, team_id, dm, report)
    assert started.only_text() == left_out_started_text(BANK)
    record = stored(store, alice)
    assert record.conversation["mode"] == "full" and record.origin_channel == ORIGIN
    to_ask = left_out(BANK, earlier)
    asked = []
    while answer_buttons(message := latest(fake, dm)):
        asked.append(shown_question(message))
        press(flow, team_id, dm, message, answer_from(DEMO, message), Responses())
    assert len(asked) == to_ask.questions and not set(asked) & set(earlier)
    second, _ = store.history(alice)
    assert second.result_id != first.result_id
    assert {qid: decode_answer(code) for qid, code in second.answers.items()} == {
        qid: DEMO[qid] for qid in [*earlier, *asked]
    }
    assert second.report["not_asked_text"] is None and second.report["overall_score"] is not None
    assert "not-asked" not in json.dumps(latest(fake, dm)["blocks"])


def test_the_questions_left_out_wait_for_an_assessment_in_progress_and_are_the_owners_alone(
    flow: AssessmentFlow, fake: FakeSlack, store: SessionStore, alice: Respondent, dm: str, team_id: str
) -> None:
    report = kept_going_to_the_end(flow, fake, team_id, dm)
    (result,) = store.history(alice)
    refused = left_out_click(flow, team_id, dm, report, clicker=OTHER)
    assert "belongs to someone else's report" in refused.only_text()

    start(flow, team_id, "pulse")
    in_progress = stored(store, alice)
    notice = left_out_click(flow, team_id, dm, report)
    assert notice.only_text().startswith(
        f"You already have an assessment in progress ({progress_text(store, alice)})"
    )
    assert stored(store, alice) == in_progress
    _, start_over = reply_buttons(notice.only())
    assert SessionButton.decode(start_over.value) == SessionButton(
        u=USER, i=result.result_id, s=in_progress.session_id
    )
    replaced = Responses()
    flow.session_button(
        BlockAction.of(body_for(team_id, USER, dm, None), action_for(start_over)), replaced, True
    )
    assert replaced.only_text() == left_out_started_text(BANK)
    assert stored(store, alice).conversation["mode"] == "full"
    assert set(stored(store, alice).conversation["answers"]) == set(result.answers)


def test_a_click_after_redis_lost_the_assessment_says_so_and_offers_a_fresh_start(
    flow: AssessmentFlow,
    fake: FakeSlack,
    store: SessionStore,
    alice: Respondent,
    respond: Responses,
    dm: str,
    team_id: str,
) -> None:
    start(flow, team_id)
    answer_best(flow, fake, team_id, dm, 2)
    question = latest(fake, dm)
    # A Redis restarted without persistence comes back without any of the workspace's keys.
    lost = list(store.redis.scan_iter(match=f"*{team_id}*"))
    assert lost and store.redis.delete(*lost) == len(lost)

    press(flow, team_id, dm, question, option(question, 0), respond)

    said = respond.only_text()
    assert "I no longer have this assessment, so nothing was changed" in said
    assert store.get(alice) is None
    # Its button starts a fresh assessment on the same bank at once, in the DM.
    [fresh] = reply_buttons(respond.only())
    assert (fresh.label, fresh.action_id) == ("Start a new assessment", START_OVER_ACTION)
    started = Responses()
    flow.session_button(BlockAction.of(body_for(team_id, USER, dm, None), action_for(fresh)), started, True)
    assert phase(stored(store, alice)) == "ASK_Q"
    assert stored(store, alice).conversation["bank"] == BANK.id
    fresh_question = latest(fake, dm)
    assert fresh_question["ts"] != question["ts"] and answer_buttons(fresh_question)
