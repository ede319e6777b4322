"""A personal assessment in Slack, end to end, through `mlops-compass serve`."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import redis
import yaml

from bot.engine.catalog import DEFAULT_BANKS_DIR, BankCatalog
from bot.slack.assessment import STARTING, started_text
from bot.store import keys
from playground.fakeslack import FakeSlack, SlackRequestSigner, post_signed, slash_command_body
from playground.fakeslack.app_process import AppProcess, app_process
from playground.fakeslack.workspace import HttpTransport, SlackUser, buttons_of
from tests.conftest import REAL_REDIS_URL
from tests.e2e.conftest import (
    ACK_LATENCIES,
    SIGNING_SECRET,
    DedicatedRedis,
    all_best,
    answer_buttons,
    answer_value,
    app_env,
    best_option,
    button_labelled,
    click_and_wait,
    engine_progress,
    new_user,
    progress_text,
    question_id,
    start,
)
from tests.slack.adaptive_runs import take

BANK = BankCatalog.from_directory().get("mlops")
# Best answers everywhere: only the questions that can still change a level are asked, and none settles
# the overall level before every dimension's is.
ASKED_WITH_BEST = take(BANK, all_best(BANK), stop=False)


def test_a_whole_assessment_ends_with_the_report_in_the_channel(
    fake_slack: FakeSlack, user: SlackUser
) -> None:
    started = time.monotonic()
    ack = user.command("")
    assert ack.status == 200
    # Nothing is known yet when Slack needs its answer; the outcome follows once it is.
    assert ack.text == STARTING
    fake_slack.wait_for("chat.postMessage", lambda c: c.params.get("channel") == user.dm_channel)
    outcome = fake_slack.wait_for("response_url")
    assert outcome.params["text"] == started_text(BANK)
    question = user.current_question()
    assert question is not None
    assert ASKED_WITH_BEST.offer is None
    asked = ASKED_WITH_BEST.asked
    assert progress_text(question).startswith("`Question 1 of at most ")

    latencies = []
    for number, expected in enumerate(asked, start=1):
        assert question_id(question) == expected
        response, reaction = click_and_wait(user, question, best_option(question))
        latencies.append(response.elapsed)
        assert reaction.method == "chat.update"
        assert reaction.params["ts"] == question["ts"]
        question = user.dm_messages()[-1] if number < len(asked) else question
        if number < len(asked):
            assert progress_text(question).startswith(f"`Question {number + 1} of at most ")
    ACK_LATENCIES.extend(latencies)

    report = fake_slack.wait_for("chat.postMessage", lambda c: c.params.get("channel") == user.channel_id)
    assert "MLOps maturity report" in report.params["text"]
    report_blocks = {b.get("block_id"): b for b in report.params["blocks"]}
    assert "Level 4" in report_blocks["overall"]["text"]["text"]
    fields = report_blocks["dimensions"]["fields"]
    assert len(fields) == len(BANK.dimensions)
    assert all("Level 4" in field["text"] for field in fields)
    # Every answer at its best, but the adaptive run left practices out: the recommendation says so.
    assert "every practice answered is at its best" in report_blocks["recommendation-0"]["text"]["text"]
    # The DM copy: the question message became the report (posted beside the channel's summary, so
    # waited for in its own right).
    fake_slack.wait_for(
        "chat.update",
        lambda c: c.params.get("ts") == question["ts"] and "overall" in str(c.params.get("blocks")),
    )
    dm_copy = user.dm_messages()[-1]
    assert dm_copy["ts"] == question["ts"]
    # The DM holds the whole report; the channel the summary, with the details in its thread.
    assert set(report_blocks) < {b.get("block_id") for b in dm_copy["blocks"]}
    thread = fake_slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("thread_ts") == report.response["ts"], timeout=10
    )
    assert "Next Steps and details" in thread.params["text"]
    assert [b.action_id for b in buttons_of(dm_copy)] == []

    # The finished result is kept for history.
    client = redis.Redis.from_url(REAL_REDIS_URL)
    history_key = keys.history(user.team_id, user.user_id)
    result_ids = client.zrange(history_key, 0, -1)
    assert len(result_ids) == 1 and isinstance(result_ids[0], bytes)
    result_key = keys.result(user.team_id, result_ids[0].decode())
    raw = client.get(result_key)
    assert isinstance(raw, bytes)
    stored = json.loads(raw)
    assert stored["bank_id"] == "mlops" and stored["bank_version"] == BANK.version
    assert stored["report"]["overall"]["level"] == 4 and stored["report"]["pulse_index"] == 100.0
    # Kept for the retention (three years by default), not forever.
    assert 3 * 365 * 86400 - 60 <= client.ttl(result_key) <= 3 * 365 * 86400 + 1
    assert time.monotonic() - started < 120
    # The report's chart follows it in its thread; it lands before the next test starts.
    fake_slack.wait_for(
        "files.completeUploadExternal", lambda c: c.params.get("thread_ts") == report.response["ts"]
    )


def test_a_double_click_applies_the_answer_once(fake_slack: FakeSlack, user: SlackUser) -> None:
    question = start(user)
    button = answer_buttons(question)[1]
    before = len(fake_slack.calls)
    responses = []

    def click() -> None:
        responses.append(user.click(question, button))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status for r in responses] == [200, 200]
    refusal = fake_slack.wait_for("response_url", after=before)
    assert "nothing changed" in refusal.params["text"]
    # The refused click can be answered before the winning one has updated the message.
    fake_slack.wait_for("chat.update", after=before)
    updates = [c for c in fake_slack.calls[before:] if c.method == "chat.update"]
    assert len(updates) == 1
    assert progress_text(user.dm_messages()[-1]) == engine_progress(BANK, [answer_value(button.value)])


def test_a_stale_click_from_an_earlier_question_changes_nothing(
    fake_slack: FakeSlack, user: SlackUser
) -> None:
    first = start(user)
    click_and_wait(user, first, answer_buttons(first)[0])
    second = user.dm_messages()[-1]
    click_and_wait(user, second, answer_buttons(second)[2])
    third = user.dm_messages()[-1]
    codes = [answer_value(answer_buttons(first)[0].value), answer_value(answer_buttons(second)[2].value)]

    # The first question's button, clicked again from a copy of the old message.
    _, reaction = click_and_wait(user, first, answer_buttons(first)[3])
    assert reaction.method == "response_url"
    assert reaction.params["response_type"] == "ephemeral"
    assert "earlier question" in reaction.params["text"]
    assert user.dm_messages()[-1] == third
    assert progress_text(third) == engine_progress(BANK, codes)


def test_another_users_click_is_refused(fake_slack: FakeSlack, app: AppProcess, user: SlackUser) -> None:
    question = start(user)
    intruder = new_user(fake_slack, app, user_id="U0INTRUDER", team_id=user.team_id)
    # The intruder clicks the owner's button in the owner's DM.
    _, reaction = click_and_wait(intruder, question, answer_buttons(question)[0], channel_id=user.dm_channel)
    assert reaction.method == "response_url"
    assert "belongs to someone else" in reaction.params["text"]
    assert user.dm_messages()[-1] == question


def test_a_tampered_button_value_is_refused(fake_slack: FakeSlack, user: SlackUser) -> None:
    question = start(user)
    button = answer_buttons(question)[0]
    _, garbage = click_and_wait(user, question, button, value='{"u": "U0PLAYER", "evil": 1}')
    assert "isn't one I recognise" in garbage.params["text"]
    forged = json.loads(button.value) | {"a": 42}
    _, unknown = click_and_wait(user, question, button, value=json.dumps(forged))
    assert "isn't offered" in unknown.params["text"]
    assert user.dm_messages()[-1] == question


def only_the_marker_reached_slack(user: SlackUser) -> None:
    """Prove the person's earlier requests did nothing, without waiting a guessed time: their own `start`,
    typed as a marker, is the first thing the app sends Slack (Bolt's auth.test aside) and starts a fresh
    assessment; an earlier request that had started one would get an offer to resume it instead."""
    marker_sent = time.time()
    first = start(user)
    assert [
        c.method for c in user.fake.calls if c.received_at < marker_sent and c.method != "auth.test"
    ] == []
    assert progress_text(first) == engine_progress(BANK, [])
    assert len(user.dm_messages()) == 1


def test_forged_and_replayed_requests_get_401_and_change_nothing(
    fake_slack: FakeSlack, app: AppProcess, user: SlackUser
) -> None:
    body, content_type = slash_command_body(
        text="",
        user_id=user.user_id,
        channel_id=user.channel_id,
        team_id=user.team_id,
        response_url=fake_slack.new_response_url(),
    )
    forged = post_signed(app.events_url, body, content_type, SlackRequestSigner("not-the-secret"))
    six_minutes_old = post_signed(
        app.events_url,
        body,
        content_type,
        SlackRequestSigner(SIGNING_SECRET),
        timestamp=int(time.time()) - 360,
    )
    assert forged.status == 401
    assert six_minutes_old.status == 401
    assert redis.Redis.from_url(REAL_REDIS_URL).exists(keys.session(user.team_id, user.user_id)) == 0
    only_the_marker_reached_slack(user)


def test_back_returns_to_the_previous_question_with_its_answer_marked(user: SlackUser) -> None:
    question = start(user)
    chosen = answer_buttons(question)[2]
    click_and_wait(user, question, chosen)
    _, reaction = click_and_wait(
        user, user.dm_messages()[-1], button_labelled(user.dm_messages()[-1], "Back")
    )
    assert reaction.method == "chat.update"
    again = user.dm_messages()[-1]
    assert progress_text(again) == engine_progress(BANK, [answer_value(chosen.value)], back=True)
    marked = [b for b in answer_buttons(again) if b.chosen]
    assert [b.value for b in marked] == [chosen.value]


def test_starting_again_offers_resume_or_start_over(fake_slack: FakeSlack, user: SlackUser) -> None:
    question = start(user)
    click_and_wait(user, question, answer_buttons(question)[0])
    assert user.command("").status == 200
    offer = user.reply()
    assert "in progress (answered 1 question, at most " in offer.params["blocks"][0]["text"]["text"]
    assert {b.label for b in buttons_of(offer.params)} == {"Resume", "Start over"}


def test_an_unknown_bank_is_said_in_the_acknowledgement_and_nothing_starts(
    fake_slack: FakeSlack, user: SlackUser
) -> None:
    response = user.command("start <nope>")
    assert response.status == 200
    assert response.text == "no question bank '&lt;nope&gt;' (available: mlops, pulse)"
    assert redis.Redis.from_url(REAL_REDIS_URL).exists(keys.session(user.team_id, user.user_id)) == 0
    only_the_marker_reached_slack(user)


def test_an_unknown_subcommand_gets_escaped_help(user: SlackUser) -> None:
    response = user.command("<!channel> & friends")
    assert response.status == 200
    text = response.text
    assert "&lt;!channel&gt; &amp; friends" in text
    assert "<!channel>" not in text


def test_report_stays_in_the_dm_when_the_bot_is_not_in_the_channel(
    fake_slack: FakeSlack, user: SlackUser
) -> None:
    fake_slack.set_not_in_channel(user.channel_id)
    start(user)
    # The lowest answers settle the overall level early: stop there.
    while (question := user.current_question()) is not None:
        click_and_wait(user, question, answer_buttons(question)[0])
    click_and_wait(user, user.dm_messages()[-1], button_labelled(user.dm_messages()[-1], "Stop here"))
    note = fake_slack.wait_for(
        "chat.postMessage",
        lambda c: c.params.get("channel") == user.dm_channel and "invite" in c.params["text"],
    )
    assert "/invite @MLOps Compass" in note.params["text"]
    refused = fake_slack.wait_for("chat.postMessage", lambda c: c.params.get("channel") == user.channel_id)
    assert refused.error == "not_in_channel"
    report_copy = next(m for m in user.dm_messages() if "MLOps maturity report" in m["text"])
    assert "Level 1" in json.dumps(report_copy["blocks"])
    # The chart goes under the DM copy, where the report stayed.
    fake_slack.wait_for(
        "files.completeUploadExternal", lambda c: c.params.get("channel_id") == user.dm_channel
    )


def test_a_rate_limited_update_is_retried(fake_slack: FakeSlack, user: SlackUser) -> None:
    question = start(user)
    fake_slack.rate_limit_next("chat.update", retry_after=1)
    before = len(fake_slack.calls)
    response = user.click(question, answer_buttons(question)[0])
    assert response.status == 200
    assert response.elapsed < 1.0  # the ack does not wait for Slack's Retry-After
    done = fake_slack.wait_for("chat.update", lambda c: c.ok, after=before, timeout=10)
    updates = [c for c in fake_slack.calls[before:] if c.method == "chat.update"]
    assert [c.status for c in updates] == [429, 200]
    assert done.received_at - updates[0].received_at >= 0.9
    first = answer_value(answer_buttons(question)[0].value)
    assert progress_text(user.dm_messages()[-1]) == engine_progress(BANK, [first])


def test_redis_restarted_mid_flow_loses_nothing(
    fake_slack: FakeSlack, dedicated_redis: DedicatedRedis
) -> None:
    with app_process(app_env(fake_slack, dedicated_redis.url)) as app:
        user = new_user(fake_slack, app)
        question = start(user)
        codes = []
        for _ in range(3):
            codes.append(answer_value(answer_buttons(question)[1].value))
            click_and_wait(user, question, answer_buttons(question)[1])
            question = user.dm_messages()[-1]

        dedicated_redis.stop()
        _, reaction = click_and_wait(user, question, answer_buttons(question)[1])
        assert reaction.method == "response_url"
        assert "can't reach its storage just now, so this click changed nothing" in reaction.params["text"]
        assert app.health() == 503
        assert app.process.poll() is None

        dedicated_redis.start()
        assert app.health() == 200
        codes.append(answer_value(answer_buttons(question)[1].value))
        _, reaction = click_and_wait(user, question, answer_buttons(question)[1])
        assert reaction.method == "chat.update"
        assert progress_text(user.dm_messages()[-1]) == engine_progress(BANK, codes)


def test_redis_restarted_empty_tells_the_person_and_offers_a_fresh_start(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    server = DedicatedRedis(tmp_path, persist=False)
    server.start()
    try:
        with app_process(app_env(fake_slack, server.url)) as app:
            user = new_user(fake_slack, app)
            question = start(user)
            click_and_wait(user, question, answer_buttons(question)[1])
            question = user.dm_messages()[-1]

            server.stop()
            server.start()
            # Empty of the person's workspace: the worker, back at once, may have registered again.
            assert list(redis.Redis.from_url(server.url).scan_iter(f"*{{{user.team_id}}}*")) == []
            # The app has seen Redis come back (its health check's ping), as a person's next click would.
            assert app.health() == 200
            _, reaction = click_and_wait(user, question, answer_buttons(question)[1])
            assert reaction.method == "response_url"
            said = reaction.params["text"]
            assert "I no longer have this assessment, so nothing was changed" in said
            assert user.dm_messages()[-1] == question  # nothing was applied
            [fresh_start] = buttons_of(reaction.params)
            assert fresh_start.label == "Start a new assessment"

            before = len(fake_slack.calls)
            user.click(question | {"blocks": reaction.params["blocks"]}, fresh_start)
            fresh = fake_slack.wait_for(
                "chat.postMessage", lambda c: c.params.get("channel") == user.dm_channel, after=before
            )
            assert "Question 1 of" in fresh.params["text"]
            started = fake_slack.wait_for("response_url", lambda c: True, after=before)
            assert started.params["text"] == started_text(BANK)
            first = user.dm_messages()[-1]
            code = answer_value(answer_buttons(first)[2].value)
            _, reaction = click_and_wait(user, first, answer_buttons(first)[2])
            assert reaction.method == "chat.update"
            assert progress_text(user.dm_messages()[-1]) == engine_progress(BANK, [code])
    finally:
        server.stop()


def test_an_app_restart_mid_assessment_loses_nothing(fake_slack: FakeSlack, redis_url: str) -> None:
    env = app_env(fake_slack, redis_url)
    with app_process(env) as first_app:
        user = new_user(fake_slack, first_app)
        question = start(user)
        codes = [answer_value(answer_buttons(question)[2].value)]
        click_and_wait(user, question, answer_buttons(question)[2])
        question = user.dm_messages()[-1]
    with app_process(env) as second_app:
        user.transport = HttpTransport(second_app.events_url, SIGNING_SECRET)
        codes.append(answer_value(answer_buttons(question)[2].value))
        _, reaction = click_and_wait(user, question, answer_buttons(question)[2])
        assert reaction.method == "chat.update"
        assert progress_text(user.dm_messages()[-1]) == engine_progress(BANK, codes)


def test_a_changed_bank_is_announced_and_the_user_can_start_over(
    fake_slack: FakeSlack, redis_url: str, tmp_path: Path
) -> None:
    banks = tmp_path / "banks"
    shutil.copytree(DEFAULT_BANKS_DIR, banks)
    env = app_env(fake_slack, redis_url) | {"BANKS_DIR": str(banks)}
    with app_process(env) as app:
        user = new_user(fake_slack, app)
        question = start(user)
        click_and_wait(user, question, answer_buttons(question)[1])
        question = user.dm_messages()[-1]

    # The next minor version of the shipped bank, whatever that bank's version is.
    major, minor, _ = BANK.version.split(".")
    changed_version = f"{major}.{int(minor) + 1}.0"
    edited = yaml.safe_load((banks / "mlops.yaml").read_text())
    edited["version"] = changed_version
    (banks / "mlops.yaml").write_text(yaml.safe_dump(edited, sort_keys=False))
    with app_process(env) as app:
        user.transport = HttpTransport(app.events_url, SIGNING_SECRET)
        _, reaction = click_and_wait(user, question, answer_buttons(question)[1])
        assert reaction.method == "response_url"
        shown = json.dumps(reaction.params["blocks"])
        assert BANK.version in shown and changed_version in shown
        [start_over] = buttons_of(reaction.params)
        assert start_over.label == "Start over"
        assert user.dm_messages()[-1] == question  # nothing was applied

        before = len(fake_slack.calls)
        user.click(question | {"blocks": reaction.params["blocks"]}, start_over)
        fresh = fake_slack.wait_for(
            "chat.postMessage", lambda c: c.params.get("channel") == user.dm_channel, after=before
        )
        assert "Question 1 of" in fresh.params["text"]
        assert progress_text(user.dm_messages()[-1]) == engine_progress(BANK, [])
