from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from playground.fakeslack import FakeSlack, MessageEvent
from playground.fakeslack.server import MOVED_LATE

TS_PATTERN = re.compile(r"^\d{10}\.\d{6}$")
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Question 1*"}}


def api_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as excinfo:
        call()
    return excinfo.value


def raw_request(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None, method: str = "POST"
) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode(), dict(response.headers.items())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers.items())


def test_base_url_points_at_the_api_and_health_answers() -> None:
    with FakeSlack() as fake:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/", fake.base_url)
        assert fake.base_url == fake.url + "/api/"
        assert raw_request(fake.url + "/health", method="GET")[:2] == (200, "ok")
    with pytest.raises(RuntimeError):
        _ = fake.base_url


def test_unknown_path_is_404(fake: FakeSlack) -> None:
    assert raw_request(fake.url + "/nowhere", b"")[0] == 404


def test_post_then_update_round_trip(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C100", text="first draft", blocks=[SECTION])
    ts = posted["ts"]
    assert isinstance(ts, str) and TS_PATTERN.match(ts)
    assert posted["channel"] == "C100"
    assert posted["message"]["text"] == "first draft"

    updated = client.chat_update(channel="C100", ts=ts, text="final")
    assert updated["ts"] == ts

    [message] = fake.messages("C100")
    assert message["ts"] == ts
    assert message["text"] == "final"
    # chat.update leaves out blocks, so Slack keeps the previous ones.
    assert message["blocks"] == [SECTION]
    assert message["user"] == fake.bot_user_id

    client.chat_update(channel="C100", ts=ts, text="final", blocks=[])
    assert fake.messages("C100")[0]["blocks"] == []


def test_ts_values_are_unique_and_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(20)]
    assert len(set(stamps)) == 20
    assert stamps == sorted(stamps, key=float)


def test_ts_stays_unique_when_the_clock_stands_still(
    client: WebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time_ns", lambda: 1_700_000_000_000_000_000)
    stamps = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(3)]
    assert stamps == ["1700000000.000000", "1700000000.000001", "1700000000.000002"]


def test_concurrent_posts_all_land_with_distinct_ts(fake: FakeSlack, client: WebClient) -> None:
    def post(index: int) -> None:
        client.chat_postMessage(channel="C1", text=f"msg {index}")

    threads = [threading.Thread(target=post, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    messages = fake.messages("C1")
    assert len(messages) == 16
    assert len({m["ts"] for m in messages}) == 16
    assert sorted(m["text"] for m in messages) == sorted(f"msg {i}" for i in range(16))


def test_messages_returns_a_copy(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="original")
    fake.messages("C1")[0]["text"] = "mutated"
    assert fake.messages("C1")[0]["text"] == "original"


def test_update_of_unknown_ts_is_message_not_found(client: WebClient) -> None:
    error = api_error(lambda: client.chat_update(channel="C1", ts="1700000000.000001", text="x"))
    assert error.response["error"] == "message_not_found"


def test_update_without_ts_is_invalid_arguments(client: WebClient) -> None:
    error = api_error(lambda: client.api_call("chat.update", json={"channel": "C1", "text": "x"}))
    assert error.response["error"] == "invalid_arguments"
    assert "ts" in error.response["response_metadata"]["messages"][0]


def test_post_without_text_or_blocks_is_no_text(client: WebClient) -> None:
    error = api_error(lambda: client.api_call("chat.postMessage", json={"channel": "C1"}))
    assert error.response["error"] == "no_text"


def test_post_without_channel_is_channel_not_found(client: WebClient) -> None:
    error = api_error(lambda: client.api_call("chat.postMessage", json={"text": "hi"}))
    assert error.response["error"] == "channel_not_found"


def test_malformed_blocks_are_rejected(client: WebClient) -> None:
    error = api_error(lambda: client.chat_postMessage(channel="C1", text="x", blocks=[{"text": "no type"}]))
    assert error.response["error"] == "invalid_blocks"
    too_many = [{"type": "divider"}] * 51
    error = api_error(lambda: client.chat_postMessage(channel="C1", text="x", blocks=too_many))
    assert error.response["error"] == "invalid_blocks"


def test_form_encoded_blocks_are_decoded(fake: FakeSlack, client: WebClient) -> None:
    client.api_call("chat.postMessage", data={"channel": "C1", "text": "t", "blocks": json.dumps([SECTION])})
    call = fake.wait_for("chat.postMessage")
    assert call.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert call.params["blocks"] == [SECTION]
    assert fake.messages("C1")[0]["blocks"] == [SECTION]


def test_query_string_and_body_are_merged(fake: FakeSlack) -> None:
    status, body, _ = raw_request(
        fake.base_url + "chat.postMessage?channel=C7",
        json.dumps({"text": "from body"}).encode(),
        {"Authorization": "Bearer xoxb-test", "Content-Type": "application/json"},
    )
    assert status == 200 and json.loads(body)["ok"] is True
    assert fake.messages("C7")[0]["text"] == "from body"


def test_invalid_json_body_is_reported(fake: FakeSlack) -> None:
    status, body, _ = raw_request(
        fake.base_url + "chat.postMessage",
        b"{not json",
        {"Authorization": "Bearer xoxb-test", "Content-Type": "application/json"},
    )
    assert status == 200
    assert json.loads(body) == {"ok": False, "error": "invalid_json"}


def test_post_ephemeral_returns_message_ts_and_stays_out_of_history(
    fake: FakeSlack, client: WebClient
) -> None:
    response = client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert TS_PATTERN.match(response["message_ts"])
    assert fake.messages("C1") == []
    error = api_error(lambda: client.api_call("chat.postEphemeral", json={"channel": "C1", "text": "x"}))
    assert error.response["error"] == "invalid_arguments"


def test_get_permalink(client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="x")["ts"]
    permalink = client.chat_getPermalink(channel="C1", message_ts=ts)["permalink"]
    assert permalink.endswith("/archives/C1/p" + ts.replace(".", ""))
    error = api_error(lambda: client.chat_getPermalink(channel="C1", message_ts="1.000001"))
    assert error.response["error"] == "message_not_found"


def test_views_publish_stores_the_home_view(fake: FakeSlack, client: WebClient) -> None:
    response = client.views_publish(user_id="U1", view={"type": "home", "blocks": [SECTION]})
    assert response["view"]["type"] == "home"
    home = fake.home_view("U1")
    assert home is not None and home["blocks"] == [SECTION]
    assert fake.home_view("U2") is None
    error = api_error(lambda: client.views_publish(user_id="U1", view={"type": "modal", "blocks": []}))
    assert error.response["error"] == "invalid_arguments"


def test_users_and_conversations_info(fake: FakeSlack, client: WebClient) -> None:
    assert client.users_info(user="U1")["user"]["id"] == "U1"
    assert client.users_info(user=fake.bot_user_id)["user"]["is_bot"] is True
    assert api_error(lambda: client.users_info(user="nobody")).response["error"] == "user_not_found"
    assert client.conversations_info(channel="C1")["channel"]["is_member"] is True
    dm = client.conversations_open(users="U1")["channel"]["id"]
    info = client.conversations_info(channel=dm)["channel"]
    assert info["is_im"] is True and info["user"] == "U1"


def test_names_given_to_a_user_and_a_channel_are_what_slack_reports(
    fake: FakeSlack, client: WebClient
) -> None:
    assert (
        client.conversations_info(channel="C1")["channel"]["name"] == fake.channel_name("C1") == "channel-c1"
    )
    assert client.users_info(user="U1")["user"]["name"] == fake.user_name("U1") == "user-u1"
    fake.set_channel_name("C1", "general")
    fake.set_user("U1", name="ava")
    assert client.conversations_info(channel="C1")["channel"]["name"] == fake.channel_name("C1") == "general"
    assert client.users_info(user="U1")["user"]["name"] == fake.user_name("U1") == "ava"
    dm = client.conversations_open(users="U1")["channel"]["id"]
    assert client.conversations_info(channel=dm)["channel"]["name"] is fake.channel_name(dm) is None


def test_auth_test_identifies_the_bot(client: WebClient) -> None:
    response = client.auth_test()
    assert response["user_id"] == "UBOT"
    assert response["team_id"] == "T0001"
    assert response["bot_id"].startswith("B")
    assert response["url"].startswith("https://")


def test_unknown_method(client: WebClient) -> None:
    assert api_error(lambda: client.api_call("quiz.start")).response["error"] == "unknown_method"


def test_not_in_channel(fake: FakeSlack, client: WebClient) -> None:
    fake.set_not_in_channel("C200")
    error = api_error(lambda: client.chat_postMessage(channel="C200", text="hi"))
    assert error.response["error"] == "not_in_channel"
    assert error.response.status_code == 200
    # Other public channels are unaffected, and inviting the bot fixes it.
    client.chat_postMessage(channel="C201", text="hi")
    fake.set_in_channel("C200")
    client.chat_postMessage(channel="C200", text="hi")
    assert [m["text"] for m in fake.messages("C200")] == ["hi"]


@pytest.mark.parametrize("channel", ["G123", "DNEVEROPENED", "X1"])
def test_inaccessible_channels_are_not_found(client: WebClient, channel: str) -> None:
    error = api_error(lambda: client.chat_postMessage(channel=channel, text="hi"))
    assert error.response["error"] == "channel_not_found"


def test_set_channel_not_found(fake: FakeSlack, client: WebClient) -> None:
    fake.set_channel_not_found("C300")
    error = api_error(lambda: client.chat_postMessage(channel="C300", text="hi"))
    assert error.response["error"] == "channel_not_found"


def test_conversations_open_gives_a_stable_dm(fake: FakeSlack, client: WebClient) -> None:
    first = client.conversations_open(users="U1")
    second = client.conversations_open(users=["U1"])
    other = client.conversations_open(users="U2")
    dm = first["channel"]["id"]
    assert dm.startswith("D")
    assert second["channel"]["id"] == dm
    assert second["already_open"] is True and first["already_open"] is False
    assert other["channel"]["id"] != dm
    assert fake.dm_channel_id("U1") == dm
    with FakeSlack() as another_workspace:
        assert another_workspace.dm_channel_id("U1") == dm

    client.chat_postMessage(channel=dm, text="welcome")
    assert [m["text"] for m in fake.messages(dm)] == ["welcome"]


def test_conversations_open_requires_users(client: WebClient) -> None:
    error = api_error(lambda: client.api_call("conversations.open", data={}))
    assert error.response["error"] == "users_list_not_supplied"


def test_posting_to_a_user_id_lands_in_their_dm(fake: FakeSlack, client: WebClient) -> None:
    response = client.chat_postMessage(channel="U9", text="hello")
    assert response["channel"] == fake.dm_channel_id("U9")
    assert fake.messages(fake.dm_channel_id("U9"))[0]["text"] == "hello"


def test_fail_next_fails_exactly_n_calls(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", "fatal_error", times=2)
    client.auth_test()  # other methods are unaffected
    for _ in range(2):
        error = api_error(lambda: client.chat_postMessage(channel="C1", text="x"))
        assert error.response["error"] == "fatal_error"
    client.chat_postMessage(channel="C1", text="x")
    assert [c.ok for c in fake.calls_to("chat.postMessage")] == [False, False, True]
    # A failed post stores nothing.
    assert len(fake.messages("C1")) == 1


def test_a_dropped_connection_gets_no_answer_at_all(fake: FakeSlack, client: WebClient) -> None:
    fake.drop_connection_next("chat.postMessage", times=2)
    for _ in range(2):
        with pytest.raises(http.client.RemoteDisconnected):
            client.chat_postMessage(channel="C100", text="lost")
    assert client.chat_postMessage(channel="C100", text="delivered")["ok"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [0, 0, 200]
    assert [m["text"] for m in fake.messages("C100")] == ["delivered"]


def test_rate_limit_without_retry_raises_429_with_retry_after(fake: FakeSlack, client: WebClient) -> None:
    fake.rate_limit_next("chat.postMessage", retry_after=7)
    error = api_error(lambda: client.chat_postMessage(channel="C1", text="x"))
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "7"
    assert error.response["error"] == "ratelimited"
    [call] = fake.calls_to("chat.postMessage")
    assert call.status == 429
    assert fake.messages("C1") == []


def test_rate_limit_with_retry_handler_succeeds_on_second_attempt(fake: FakeSlack) -> None:
    client = WebClient(
        token="xoxb-test",
        base_url=fake.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.rate_limit_next("chat.postMessage", retry_after=0)
    response = client.chat_postMessage(channel="C1", text="eventually")
    assert response["ok"] is True
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]
    assert [m["text"] for m in fake.messages("C1")] == ["eventually"]


def test_fault_arguments_are_validated(fake: FakeSlack) -> None:
    with pytest.raises(ValueError):
        fake.fail_next("chat.postMessage", "x", times=0)
    with pytest.raises(ValueError):
        fake.rate_limit_next("chat.postMessage", retry_after=-1)


def test_missing_token_is_not_authed(fake: FakeSlack) -> None:
    client = WebClient(base_url=fake.base_url, retry_handlers=[])
    assert api_error(client.auth_test).response["error"] == "not_authed"
    assert fake.calls_to("auth.test")[0].error == "not_authed"


def test_non_bot_token_is_invalid_auth(fake: FakeSlack) -> None:
    client = WebClient(token="xoxp-user-token", base_url=fake.base_url, retry_handlers=[])
    error = api_error(lambda: client.chat_postMessage(channel="C1", text="x"))
    assert error.response["error"] == "invalid_auth"
    assert fake.messages("C1") == []


def test_token_form_field_is_accepted_and_not_recorded(fake: FakeSlack) -> None:
    _, body, _ = raw_request(
        fake.base_url + "auth.test",
        b"token=xoxb-form",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert json.loads(body)["ok"] is True
    assert "token" not in fake.wait_for("auth.test").params


def test_response_url_via_webhook_client(fake: FakeSlack) -> None:
    url = fake.new_response_url(channel_id="C1", user_id="U1")
    assert url.startswith(fake.url + "/response/")
    response = WebhookClient(url).send(text="Quiz started", blocks=[SECTION])
    assert response.status_code == 200
    assert response.body == "ok"
    call = fake.wait_for("response_url")
    assert call.params["text"] == "Quiz started"
    assert call.params["blocks"] == [SECTION]
    assert call.params["_id"] == url.rsplit("/", 1)[1]
    # Ephemeral by default: nothing lands in channel history.
    assert fake.messages("C1") == []


def test_response_url_replace_original_edits_the_message(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="Pick an answer", blocks=[SECTION])["ts"]
    url = fake.new_response_url(channel_id="C1", user_id="U1", message_ts=ts)
    assert WebhookClient(url).send(text="Answered", replace_original=True).status_code == 200
    [message] = fake.messages("C1")
    assert message["ts"] == ts
    assert message["text"] == "Answered"
    assert message["blocks"] == []


def test_response_url_in_channel_and_delete(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="original")["ts"]
    url = fake.new_response_url(channel_id="C1", user_id="U1", message_ts=ts)
    WebhookClient(url).send(text="for everyone", response_type="in_channel")
    assert [m["text"] for m in fake.messages("C1")] == ["original", "for everyone"]
    WebhookClient(url).send(delete_original=True)
    assert [m["text"] for m in fake.messages("C1")] == ["for everyone"]


def test_response_url_unknown_id_is_404(fake: FakeSlack) -> None:
    response = WebhookClient(fake.url + "/response/does-not-exist").send(text="x")
    assert response.status_code == 404
    assert fake.wait_for("response_url").status == 404


def test_response_url_without_text_is_rejected(fake: FakeSlack) -> None:
    response = WebhookClient(fake.new_response_url()).send_dict({"response_type": "ephemeral"})
    assert response.status_code == 400
    assert response.body == "no_text"


def test_calls_record_params_headers_and_response(fake: FakeSlack, client: WebClient) -> None:
    before = time.time()
    client.chat_postMessage(channel="C1", text="x")
    [call] = fake.calls_to("chat.postMessage")
    assert call.params == {"channel": "C1", "text": "x"}
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert call.response["ok"] is True and call.response["ts"]
    assert call.status == 200
    assert before <= call.received_at <= time.time()


def test_wait_for_sees_calls_made_from_another_thread(fake: FakeSlack, client: WebClient) -> None:
    def later() -> None:
        time.sleep(0.2)
        client.chat_postMessage(channel="C1", text="late")

    threading.Thread(target=later).start()
    call = fake.wait_for("chat.postMessage", lambda c: c.params.get("text") == "late", timeout=5)
    assert call.ok


def test_wait_for_after_skips_earlier_calls(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="old")
    mark = len(fake.calls)
    client.chat_postMessage(channel="C1", text="new")
    assert fake.wait_for("chat.postMessage", after=mark).params["text"] == "new"


def test_wait_for_timeout_lists_what_was_received(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="hello")
    started = time.monotonic()
    with pytest.raises(AssertionError) as excinfo:
        fake.wait_for("chat.update", timeout=0.3)
    assert time.monotonic() - started >= 0.3
    message = str(excinfo.value)
    assert "chat.update" in message
    assert "chat.postMessage" in message and "hello" in message


def test_reset_forgets_state(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="x")
    fake.set_not_in_channel("C2")
    fake.fail_next("auth.test", "fatal_error")
    fake.reset()
    assert fake.calls == []
    assert fake.messages("C1") == []
    assert client.auth_test()["ok"] is True
    assert client.chat_postMessage(channel="C3", text="x")["ok"] is True


def test_a_late_call_naming_an_earlier_tests_channel_is_refused_and_kept_apart(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.claim("U1", "C1")
    first = fake.generation
    ts = client.chat_postMessage(channel="C0", text="earlier test")["ts"]
    second = fake.reset()
    seen: list[MessageEvent] = []
    fake.on_message = seen.append
    fake.fail_next("chat.postMessage", "fatal_error")  # the new test's fault, not the late call's

    assert api_error(lambda: client.chat_postMessage(channel="C0", text="late")).response["error"] == (
        "channel_not_found"
    )
    assert api_error(lambda: client.chat_update(channel="C0", ts=ts, text="late")).response["error"] == (
        "channel_not_found"
    )
    # Ids the earlier test claimed are refused even though the app never used them before the reset.
    assert api_error(lambda: client.users_info(user="U1")).response["error"] == "user_not_found"
    assert api_error(lambda: client.conversations_open(users="U1")).response["error"] == "user_not_found"
    assert api_error(lambda: client.chat_postEphemeral(channel="C9", user="U1", text="x")).response[
        "error"
    ] == ("user_not_found")

    assert fake.calls == [] and seen == [] and fake.messages("C0") == []
    late = fake.late_calls
    assert [(c.method, c.generation) for c in late] == [
        ("chat.postMessage", first),
        ("chat.update", first),
        ("users.info", first),
        ("conversations.open", first),
        ("chat.postEphemeral", first),
    ]
    assert "token" not in late[0].params and not late[0].ok
    # The new test's fault is still waiting for the new test's call.
    assert (
        api_error(lambda: client.chat_postMessage(channel="C5", text="x")).response["error"] == "fatal_error"
    )
    assert client.chat_postMessage(channel="C5", text="x")["ok"] is True
    assert [c.generation for c in fake.calls] == [second, second]


def test_late_calls_are_attributed_to_the_generation_that_used_the_id(
    fake: FakeSlack, client: WebClient
) -> None:
    client.chat_postMessage(channel="C1", text="first test")
    fake.reset()
    client.chat_postMessage(channel="C2", text="second test")
    third = fake.reset()
    api_error(lambda: client.chat_postMessage(channel="C1", text="late"))
    api_error(lambda: client.chat_postMessage(channel="C2", text="late"))
    assert [(c.params["channel"], c.generation) for c in fake.late_calls] == [
        ("C1", third - 2),
        ("C2", third - 1),
    ]


def test_a_late_response_url_post_and_trigger_are_refused_and_kept_apart(fake: FakeSlack) -> None:
    response_url = fake.new_response_url(channel_id="C1", user_id="U1")
    trigger = fake.issue_trigger("U1")
    fake.reset()
    assert WebhookClient(response_url).send(text="late").status_code == 404
    client = WebClient(token="xoxb-test", base_url=fake.base_url, retry_handlers=[])
    form = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "A form"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hello"}}],
    }
    assert api_error(lambda: client.views_open(trigger_id=trigger, view=form)).response["error"] == (
        "invalid_trigger_id"
    )
    assert fake.calls == []
    assert [c.method for c in fake.late_calls] == ["response_url", "views.open"]


def test_a_late_chart_upload_moves_out_of_the_next_tests_calls_once_it_names_the_channel(
    fake: FakeSlack, client: WebClient
) -> None:
    client.chat_postMessage(channel="C1", text="report")
    fake.reset()
    # Announcing and sending the bytes name nothing; sharing names the earlier test's channel.
    with pytest.raises(SlackApiError) as refused:
        client.files_upload_v2(channel="C1", file=b"png bytes", filename="chart.png")
    assert refused.value.response["error"] == "channel_not_found"
    assert fake.uploaded_files() == []
    assert [c.method for c in fake.late_calls] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    # The first two steps keep their places under another name, so a count of calls taken while they
    # looked like this test's still marks where its next call lands.
    assert [c.method for c in fake.calls] == [
        MOVED_LATE + "files.getUploadURLExternal",
        MOVED_LATE + "upload",
    ]
    # The new test's own upload is untouched.
    client.files_upload_v2(channel="C2", file=b"png bytes", filename="chart.png")
    assert fake.wait_for("files.completeUploadExternal", after=2).params["channel_id"] == "C2"
    assert [c.method for c in fake.calls[2:]] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]


def test_setting_up_an_earlier_tests_id_is_refused(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="x")
    fake.claim("U1")
    fake.reset()
    for setup in (
        lambda: fake.set_channel_members("C1", ["U9"]),
        lambda: fake.set_user("U1"),
        lambda: fake.claim("C1"),
        lambda: fake.new_response_url(channel_id="C1"),
    ):
        with pytest.raises(ValueError, match="belonged to generation 0"):
            setup()
    # The bot's own id belongs to every generation.
    fake.set_channel_members("C2", ["U2", fake.bot_user_id])
    assert client.users_info(user=fake.bot_user_id)["ok"] is True


def test_a_waiting_test_is_told_of_late_calls_it_did_not_get(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="x")
    fake.reset()
    api_error(lambda: client.chat_postMessage(channel="C1", text="late"))
    with pytest.raises(AssertionError, match=r"1 late chat\.postMessage call"):
        fake.wait_for("chat.postMessage", timeout=0.1)


def test_on_message_sees_everything_the_bot_shows(fake: FakeSlack, client: WebClient) -> None:
    seen: list[MessageEvent] = []
    fake.on_message = seen.append
    ts = client.chat_postMessage(channel="C1", text="q1", blocks=[SECTION])["ts"]
    client.chat_update(channel="C1", ts=ts, text="q1 (answered)")
    client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    button_response_url = fake.new_response_url(channel_id="C1", user_id="U1", message_ts=ts)
    WebhookClient(button_response_url).send(text="via response_url")
    WebhookClient(button_response_url).send(text="q1 (closed)", replace_original=True)
    api_error(lambda: client.chat_postMessage(channel="G1", text="never shown"))

    assert [e["method"] for e in seen] == [
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "response_url",
        "response_url",
    ]
    assert seen[0]["ts"] == ts and seen[0]["blocks"] == [SECTION] and seen[0]["user"] == "UBOT"
    assert seen[1]["text"] == "q1 (answered)" and seen[1]["blocks"] == [SECTION]
    assert seen[2]["visible_to"] == "U1" and seen[2]["channel"] == "C1"
    assert seen[3]["text"] == "via response_url" and seen[3]["visible_to"] == "U1"
    assert seen[3]["ts"] is None and seen[3]["response_type"] == "ephemeral"
    assert seen[4]["replace_original"] is True and seen[4]["ts"] == ts and seen[4]["visible_to"] is None


def test_failing_hook_does_not_fail_the_call(fake: FakeSlack, client: WebClient) -> None:
    def explode(event: MessageEvent) -> None:
        raise RuntimeError("renderer broke")

    fake.on_message = explode
    assert client.chat_postMessage(channel="C1", text="still delivered")["ok"] is True
    assert fake.messages("C1")[0]["text"] == "still delivered"
