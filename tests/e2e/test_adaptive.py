"""An assessment that asks only what can still change a level, end to end through `mlops-compass serve`:
stopping once the overall level is settled, keeping going to the end and then answering the questions
left out, and `start full`. Each report is checked against scoring the person's answers directly."""

from __future__ import annotations

import json
from typing import Any

import redis

from bot.engine.answers import Answer, decode_answer, encode_answer
from bot.engine.catalog import BankCatalog
from bot.engine.report_view import build_view
from bot.engine.scoring import applicable_questions, score
from bot.slack.assessment import full_started_text, left_out_started_text
from bot.slack.blocks import escape
from bot.store import keys
from bot.usecases.personal import left_out
from playground.demo import demo_answers
from playground.fakeslack import FakeSlack
from playground.fakeslack.workspace import Button, SlackUser, buttons_of
from tests.conftest import REAL_REDIS_URL
from tests.e2e.conftest import (
    all_best,
    answer_buttons,
    answer_value,
    best_option,
    button_labelled,
    click_and_wait,
    progress_text,
    question_id,
    start,
)

BANK = BankCatalog.from_directory().get("mlops")
DEMO = demo_answers(BANK)


def answer_from(answers: dict[str, Answer], question: dict[str, Any]) -> Button:
    wanted = encode_answer(answers[question_id(question)])
    return next(b for b in answer_buttons(question) if answer_value(b.value) == wanted)


def answer_while_asked(user: SlackUser, answers: dict[str, Answer]) -> list[str]:
    """Answer each question the DM shows from `answers` until none is left; the questions, in turn."""
    asked = []
    while (question := user.current_question()) is not None:
        asked.append(question_id(question))
        _, reaction = click_and_wait(user, question, answer_from(answers, question))
        assert reaction.method == "chat.update", reaction
    return asked


def results(user: SlackUser) -> list[dict[str, Any]]:
    """The person's kept results, oldest first."""
    client = redis.Redis.from_url(REAL_REDIS_URL)
    ids = client.zrange(keys.history(user.team_id, user.user_id), 0, -1)
    kept = []
    for result_id in ids:
        assert isinstance(result_id, bytes)
        raw = client.get(keys.result(user.team_id, result_id.decode()))
        assert isinstance(raw, bytes)
        kept.append(json.loads(raw))
    return kept


def given(result: dict[str, Any]) -> dict[str, Answer]:
    return {qid: decode_answer(code) for qid, code in result["answers"].items()}


def channel_report(fake: FakeSlack, user: SlackUser, after: int = 0) -> dict[str, Any]:
    """The report's summary in the channel (not the details in its thread), posted after call `after`."""
    posted = fake.wait_for(
        "chat.postMessage",
        lambda c: (
            c.params.get("channel") == user.channel_id
            and not c.params.get("thread_ts")
            and str(c.params.get("text", "")).startswith("MLOps maturity report")
        ),
        after=after,
        timeout=15,
    )
    return posted.params


def block(message: dict[str, Any], block_id: str) -> dict[str, Any] | None:
    return next((b for b in message["blocks"] if b.get("block_id") == block_id), None)


def start_and_answer_until_offered_to_stop(user: SlackUser) -> tuple[list[str], dict[str, Any]]:
    """Type the command and answer the demo team's answers until the DM offers to stop: the questions
    asked, and the offer."""
    start(user)
    asked = answer_while_asked(user, DEMO)
    offer = user.dm_messages()[-1]
    assert [b.label for b in buttons_of(offer)][1:] == ["Stop here", "← Back", "Cancel"], offer
    return asked, offer


def test_stopping_at_the_settled_overall_level_reports_it_and_what_is_not_settled(
    fake_slack: FakeSlack, user: SlackUser
) -> None:
    asked, offer = start_and_answer_until_offered_to_stop(user)
    every_answer = score(BANK, DEMO)
    level = every_answer.overall_level
    assert level is not None
    settled = block(offer, "settled")
    assert settled is not None
    assert f"Your overall level is settled: {level} · {escape(BANK.level_info(level).name)}" in json.dumps(
        settled, ensure_ascii=False
    )
    assert len(asked) < len(applicable_questions(BANK, DEMO))

    before = len(fake_slack.calls)
    click_and_wait(user, offer, button_labelled(offer, "Stop here"))
    report = channel_report(fake_slack, user, before)
    (result,) = results(user)
    answers = given(result)
    assert list(answers) == asked
    # The overall level settled on these answers is the one every answer gives.
    assert result["report"]["overall"]["level"] == level
    overall = block(report, "overall")
    assert overall is not None
    headline = overall["text"]["text"]
    assert build_view(every_answer).overall.label in headline
    stopped = score(BANK, answers)
    unsettled = [d.name for d in stopped.dimensions if d.level is None]
    assert unsettled and "Not settled yet, for want of answers:" in headline
    for name in unsettled:
        assert escape(name) in headline
    fields = json.dumps(block(report, "dimensions"), ensure_ascii=False)
    assert fields.count("· not settled") == len(unsettled)


def test_keeping_going_settles_every_level_and_the_questions_left_out_can_be_answered_after(
    fake_slack: FakeSlack, user: SlackUser
) -> None:
    asked, offer = start_and_answer_until_offered_to_stop(user)
    keep_going = next(b for b in buttons_of(offer) if b.label.startswith("Keep going: ≤"))
    click_and_wait(user, offer, keep_going)
    asked += answer_while_asked(user, DEMO)
    report = channel_report(fake_slack, user)
    (first,) = results(user)
    answers = given(first)
    assert list(answers) == asked
    full_bank = applicable_questions(BANK, DEMO)
    assert len(asked) < len(full_bank)
    kept_going, every_answer = score(BANK, answers), score(BANK, DEMO)
    for dimension in kept_going.dimensions:
        assert dimension.level == every_answer.dimension(dimension.dimension_id).level
    line = block(report, "not-asked")
    assert line is not None and build_view(kept_going).not_asked_text is not None

    # The DM copy (the question message, become the report) offers them to its owner. It is posted beside
    # the channel's summary, so it is waited for in its own right.
    fake_slack.wait_for(
        "chat.update",
        lambda c: c.params.get("ts") == offer["ts"] and "not-asked" in str(c.params.get("blocks")),
    )
    dm_copy = next(m for m in user.dm_messages() if m["ts"] == offer["ts"])
    mine = block(dm_copy, "not-asked")
    assert mine is not None
    accessory = mine["accessory"]
    to_ask = left_out(BANK, answers)
    assert accessory["text"]["text"] == f"Answer the {to_ask.questions} left out"
    button = Button(accessory["action_id"], "not-asked", accessory["value"], accessory["text"]["text"])
    before = len(fake_slack.calls)
    user.click(dm_copy, button)
    user.reply(lambda c: c.params.get("text") == left_out_started_text(BANK))
    rest = answer_while_asked(user, DEMO)
    assert len(rest) == to_ask.questions and not set(rest) & set(asked)
    again = channel_report(fake_slack, user, before)
    assert block(again, "not-asked") is None
    first_again, second = results(user)
    assert first_again == first and set(given(second)) == set(asked) | set(rest)
    assert second["report"]["not_asked_text"] is None and second["report"]["overall_score"] is not None
    # The two results compare in full: the second report says what changed.
    assert "Since your previous result" in json.dumps(again, ensure_ascii=False)


def test_start_full_asks_every_question_that_applies_and_every_score_is_exact(
    fake_slack: FakeSlack, user: SlackUser
) -> None:
    before = len(fake_slack.calls)
    assert user.command("start full").status == 200
    fake_slack.wait_for(
        "response_url", lambda c: c.params.get("text") == full_started_text(BANK), after=before
    )
    question = user.current_question()
    assert question is not None
    assert progress_text(question).startswith(f"`Question 1 of {len(BANK.questions)} ")
    best = all_best(BANK)
    asked = answer_while_asked(user, best)
    assert asked == [q.id for q in applicable_questions(BANK, best)]
    (result,) = results(user)
    assert result["report"]["overall_score"] is not None
    assert all(d["score"] is not None for d in result["report"]["dimensions"])
    report = channel_report(fake_slack, user)
    assert block(report, "not-asked") is None
    assert "not every practice was asked" not in json.dumps(report)


def test_a_mistyped_start_says_what_fits_and_starts_nothing(fake_slack: FakeSlack, user: SlackUser) -> None:
    refused = user.command("start full pulse mlops")
    assert refused.status == 200 and "expected `start [full] [bank]`" in refused.text
    assert "Nothing was started" in refused.text
    assert redis.Redis.from_url(REAL_REDIS_URL).exists(keys.session(user.team_id, user.user_id)) == 0
    question = start(user)
    assert best_option(question) is not None
