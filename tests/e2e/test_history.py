"""Results over time, end to end through `mlops-compass serve`, the fake Slack and a real Redis: a report's
changes and chart, `history`, the Home tab, export, `forget me` and the bounded history."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

import redis
from slack_sdk.models.views import View

from bot.engine.answers import OptionChoice
from bot.engine.catalog import BankCatalog
from bot.engine.export import read_csv
from bot.engine.history import ResultSummary, day
from bot.engine.report_view import build_view
from bot.engine.scoring import score
from bot.store import keys
from bot.store.history import HistoryStore, Scope, record_channel_result
from bot.store.sessions import Respondent, ResultRecord
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import AppProcess
from playground.fakeslack.workspace import SlackUser, buttons_of
from tests.conftest import REAL_REDIS_URL
from tests.e2e.conftest import answer_buttons, answer_value, click_and_wait, or_keep_going, wait_for_log

PULSE = BankCatalog.from_directory().get("pulse")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def text_of(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def client() -> redis.Redis:
    return redis.Redis.from_url(REAL_REDIS_URL)


def pick_best(message: dict[str, Any]):
    return max(
        (b for b in answer_buttons(message) if isinstance(answer_value(b.value), int)),
        key=lambda b: answer_value(b.value),
    )


def pick_worst(message: dict[str, Any]):
    return next(b for b in answer_buttons(message) if answer_value(b.value) == 0)


def take_pulse(user: SlackUser, pick, chart: bool = True) -> dict[str, Any]:
    """The whole pulse through Slack; returns the report's postMessage call in the channel, once its chart
    is shared (unless `chart` is False), so nothing the app does for it outlives the test."""
    before = len(user.fake.calls)
    assert user.command("start pulse").status == 200
    user.fake.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == user.dm_channel, after=before, timeout=10
    )
    while (asking := user.awaiting()) is not None:
        click_and_wait(user, asking, or_keep_going(asking, pick))
    report = user.fake.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == user.channel_id, after=before, timeout=15
    )
    if chart:
        user.fake.wait_for(
            "files.completeUploadExternal",
            lambda c: c.params.get("thread_ts") == report.response["ts"],
            after=before,
            timeout=15,
        )
    return report.params | {"ts": report.response["ts"]}


def block(message: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in message["blocks"] if b.get("block_id") == block_id)


def block_text(item: dict[str, Any]) -> str:
    """A block's text as a person reads it (Slack shows &amp; as &)."""
    if "text" in item:
        text = str(item["text"]["text"])
    else:
        text = " ".join(e.get("text", "") for e in item.get("elements", []))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def stored_result(
    user: SlackUser, result_id: str, finished_at: float, answers: dict[str, OptionChoice]
) -> str:
    return ResultRecord(
        result_id=result_id,
        respondent=Respondent(team_id=user.team_id, user_id=user.user_id),
        bank_id=PULSE.id,
        bank_version=PULSE.version,
        answers={},
        report=build_view(score(PULSE, answers)).to_dict(),
        finished_at=finished_at,
    ).model_dump_json()


WORST = {q.id: OptionChoice(0) for q in PULSE.questions}


def test_two_assessments_in_a_row_show_the_change_a_chart_and_history(
    fake_slack: FakeSlack, user: SlackUser
) -> None:
    first = take_pulse(user, pick_worst)
    assert "No earlier result to compare with yet" in block_text(block(first, "changes"))
    first_chart = fake_slack.wait_for("files.completeUploadExternal", lambda c: c.ok)
    assert first_chart.params["channel_id"] == user.channel_id
    assert first_chart.params["thread_ts"] == first["ts"]

    before = len(fake_slack.calls)
    second = take_pulse(user, pick_best)
    changes = block_text(block(second, "changes"))
    # The day of the first result as the app stored it: a run crossing midnight UTC still agrees.
    newer, older = HistoryStore(client()).results(Scope.person(user.team_id, user.user_id))
    since = f"since {day(older.finished_at, newer.finished_at)}"
    assert f"Data & Experimentation: level 1 → 3 {since}" in changes
    assert f"Team & Culture: level 1 → 2 {since}" in changes
    assert f"Pulse index: 0.0 → 100.0 {since}" in changes
    # The DM copy states the same changes.
    assert block_text(block(user.dm_messages()[-1], "changes")) == changes

    # The chart: announced, uploaded to the URL Slack gave, then shared under the report.
    asked = fake_slack.wait_for("files.getUploadURLExternal", lambda c: c.ok, after=before)
    uploaded = fake_slack.wait_for("upload", lambda c: c.ok, after=before)
    shared = fake_slack.wait_for("files.completeUploadExternal", lambda c: c.ok, after=before)
    assert asked.response["file_id"] == uploaded.params["file_id"]
    assert json.loads(shared.params["files"])[0]["id"] == asked.response["file_id"]
    assert shared.params["channel_id"] == user.channel_id and shared.params["thread_ts"] == second["ts"]
    png = next(f for f in fake_slack.uploaded_files() if f.id == asked.response["file_id"])
    assert png.data is not None and png.data.startswith(PNG_MAGIC)
    assert int(asked.params["length"]) == len(png.data) == uploaded.params["bytes"]

    assert user.command("history").status == 200
    shown = user.reply()
    results = block_text(block(shown.params, "history-results"))
    assert results.startswith("*2 results, newest first*")
    assert results.count(f"pulse v{PULSE.version}") == 2
    assert "Level 2 · score" in results and "Level 1 · score 0.0" in results
    trends = block_text(block(shown.params, "history-trends"))
    assert "*Data & Experimentation*: levels 1 → 3" in trends


def test_a_failed_chart_upload_still_posts_the_text_report(fake_slack: FakeSlack, user: SlackUser) -> None:
    fake_slack.fail_next_upload(status=500)
    report = take_pulse(user, pick_worst, chart=False)
    assert "MLOps maturity report" in report["text"]
    note = fake_slack.wait_for(
        "chat.postMessage",
        lambda c: c.params.get("channel") == user.dm_channel and "chart" in c.params["text"],
    )
    assert "couldn't upload the chart" in note.params["text"] and "complete and saved" in note.params["text"]
    assert [c.status for c in fake_slack.calls_to("upload")] == [500]
    assert fake_slack.calls_to("files.completeUploadExternal") == []
    # The result is kept all the same.
    assert client().zcard(keys.history(user.team_id, user.user_id)) == 1


def test_the_home_tab_publishes_a_valid_view_once_per_event(
    fake_slack: FakeSlack, app: AppProcess, user: SlackUser
) -> None:
    now = time.time()
    HistoryStore(client()).keep(
        Scope.person(user.team_id, user.user_id),
        "seeded",
        now - 86400,
        stored_result(user, "seeded", now - 86400, WORST),
    )
    team = ResultSummary("t1", now, "pulse", "2.0.0", "Pulse", 2, 61.0, 55.0, ())
    record_channel_result(client(), user.team_id, "C0TEAMROOM", team, finished_at=now)
    fake_slack.set_channel_members("C0TEAMROOM", [user.user_id, "U0SOMEONE"])

    opened = f"Ev{user.user_id}HOME1"
    assert user.open_app_home(event_id=opened).status == 200
    published = fake_slack.wait_for("views.publish", lambda c: c.ok)
    view = published.params["view"]
    assert published.params["user_id"] == user.user_id
    assert len(view["blocks"]) <= 100
    View(**view).validate_json()  # slack_sdk's own model of a view accepts it
    texts = " ".join(block_text(b) for b in view["blocks"] if b["type"] in ("section", "context"))
    assert "Your latest result" in texts and "Level 1" in texts
    assert "<#C0TEAMROOM>" in texts and "Latest team results in your channels" in texts
    starts = [b for b in buttons_of({"blocks": view["blocks"]}) if b.action_id.startswith("home_start")]
    assert {json.loads(b.value)["b"] for b in starts} == {"mlops", "pulse"}

    # Slack retries an event it thinks went unanswered, with the same event_id.
    assert user.open_app_home(event_id=opened, retry_num=1).status == 200
    assert user.open_app_home(event_id=opened, retry_num=2).status == 200
    # The app says when it ignores a retry: wait for both, then nothing more can come of them.
    wait_for_log(app, f"app_home_opened {opened} already handled", times=2)
    assert len(fake_slack.calls_to("views.publish")) == 1
    # A new opening is a new event.
    assert user.open_app_home(event_id=f"Ev{user.user_id}HOME2").status == 200
    fake_slack.wait_for("views.publish", after=fake_slack.calls.index(published) + 1)
    # The Messages tab publishes nothing: a Home opening sent after it, as a marker, is the only publish.
    assert user.open_app_home(event_id=f"Ev{user.user_id}HOME3", tab="messages").status == 200
    marker = len(fake_slack.calls)
    assert user.open_app_home(event_id=f"Ev{user.user_id}HOME4").status == 200
    fake_slack.wait_for("views.publish", after=marker)
    assert len(fake_slack.calls_to("views.publish")) == 3


def test_start_from_the_home_tab_sends_the_first_question_to_the_dm(
    fake_slack: FakeSlack, user: SlackUser
) -> None:
    user.open_app_home(event_id="Ev0HOMESTART")
    view = fake_slack.wait_for("views.publish", lambda c: c.ok).params["view"]
    pulse = next(b for b in buttons_of({"blocks": view["blocks"]}) if json.loads(b.value).get("b") == "pulse")
    before = len(fake_slack.calls)
    user.click({"ts": "0", "blocks": view["blocks"]}, pulse)
    first = fake_slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == user.dm_channel, after=before
    )
    # Start asks only what can still change a level: the count is the most there can be.
    assert f"Question 1 of at most {len(PULSE.questions)}" in first.params["text"]


def test_export_sends_a_csv_that_reads_back_to_the_stored_results(
    fake_slack: FakeSlack, user: SlackUser
) -> None:
    store = HistoryStore(client())
    now = time.time()
    mine = Scope.person(user.team_id, user.user_id)
    store.keep(mine, "older", now - 7200, stored_result(user, "older", now - 7200, WORST))
    formula = ResultRecord.model_validate_json(stored_result(user, "formula", now - 3600, WORST))
    formula.report["title"] = '=HYPERLINK("http://example.invalid","open me")'
    store.keep(mine, "formula", now - 3600, formula.model_dump_json())
    team = ResultSummary("team", now, "pulse", "2.0.0", "Pulse", 2, 61.0, 55.0, ())
    record_channel_result(client(), user.team_id, user.channel_id, team, finished_at=now)
    fake_slack.set_channel_members(user.channel_id, [user.user_id])

    before = len(fake_slack.calls)
    assert user.command("export").status == 200
    done = fake_slack.wait_for("response_url", lambda c: "CSV" in c.params.get("text", ""), after=before)
    assert "2 of your results and 1 team result(s)" in done.params["text"]
    shared = fake_slack.wait_for("files.completeUploadExternal", lambda c: c.ok, after=before)
    assert shared.params["channel_id"] == user.dm_channel
    [csv_file] = [f for f in fake_slack.uploaded_files() if f.filename.endswith(".csv")]
    assert csv_file.data is not None
    text = csv_file.data.decode("utf-8")

    raw = list(csv.reader(io.StringIO(text)))
    title = raw[0].index("bank_title")
    assert '\'=HYPERLINK("http://example.invalid","open me")' in [row[title] for row in raw[1:]]
    rows = read_csv(text)
    expected = [*reversed(store.results(mine)), *store.results(Scope.channel(user.team_id, user.channel_id))]
    assert [(r.scope, r.scope_id) for r in rows] == [
        ("person", user.user_id),
        ("person", user.user_id),
        ("channel", user.channel_id),
    ]
    # CSV times are whole seconds; everything else comes back as stored.
    assert [r.result for r in rows] == [_to_second(r) for r in expected]


def _to_second(result: ResultSummary) -> ResultSummary:
    return ResultSummary.from_dict({**result.to_dict(), "finished_at": float(int(result.finished_at))})


def test_forget_me_leaves_no_key_of_that_person(fake_slack: FakeSlack, user: SlackUser) -> None:
    take_pulse(user, pick_worst)
    redis_client = client()
    workspace = f"{keys.PREFIX}:{{{user.team_id}}}"
    # What team runs keep of a member (their response and membership) beside the anonymous counts.
    redis_client.set(f"{workspace}:run:R1:response:{user.user_id}", json.dumps({"answers": [0, 1]}))
    redis_client.sadd(f"{workspace}:run:R1:respondents", user.user_id, "U0OTHER")
    redis_client.hset(f"{workspace}:run:R1:aggregate", "respondents", 2)
    assert user.command("start pulse").status == 200  # an assessment in progress too
    fake_slack.wait_for("chat.postMessage", lambda c: "Question 1" in c.params.get("text", ""))

    confirm = user.command("forget me")
    question = json.loads(confirm.body)
    assert "cannot be undone" in json.dumps(question["blocks"])
    delete = next(b for b in buttons_of(question) if b.label == "Delete my data")
    user.click({"ts": "0", **question}, delete, channel_id=user.channel_id)
    # The answer to this click, not the earlier `start pulse` saying its question was sent.
    done = user.reply()
    assert done.params["text"].startswith("Done: I deleted your data (1 result(s)")

    left = [k.decode() for k in redis_client.scan_iter(f"{workspace}:*")]
    assert not [k for k in left if user.user_id in k]
    for key in left:
        kind = text_of(redis_client.type(key))
        if kind == "string":
            assert user.user_id not in text_of(redis_client.get(key) or b"")
        elif kind == "set":
            assert user.user_id.encode() not in redis_client.smembers(key)
    assert redis_client.hget(f"{workspace}:run:R1:aggregate", "respondents") == b"2"


def test_the_41st_result_trims_the_oldest(fake_slack: FakeSlack, user: SlackUser) -> None:
    store = HistoryStore(client())
    scope = Scope.person(user.team_id, user.user_id)
    start = time.time() - 40 * 86400
    for n in range(40):
        store.keep(
            scope,
            f"old{n:02d}",
            start + n * 86400,
            stored_result(user, f"old{n:02d}", start + n * 86400, WORST),
        )
    assert client().zcard(scope.key) == 40

    report = take_pulse(user, pick_best)
    kept = client().zrange(scope.key, 0, -1)
    assert len(kept) == 40
    assert b"old00" not in kept and b"old01" in kept
    assert client().exists(keys.result(user.team_id, "old00")) == 0
    newest = store.results(scope)[0]
    assert newest.result_id not in {f"old{n:02d}" for n in range(40)}
    assert "level 1 → 3" in block_text(block(report, "changes"))
