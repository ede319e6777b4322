"""The fake Slack's file upload (the three steps of slack_sdk's files_upload_v2), users.conversations, and
events signed as Slack sends them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from playground.fakeslack import FakeSlack, SlackRequestSigner, event_body


def test_files_upload_v2_announces_uploads_and_shares_in_a_thread(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="the report")
    response = client.files_upload_v2(
        channel="C1", thread_ts=posted["ts"], file=b"\x89PNG...", filename="chart.png", title="Chart"
    )
    assert response["file"]["title"] == "Chart"
    assert [c.method for c in fake.calls[1:]] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    [uploaded] = fake.uploaded_files()
    assert uploaded.data == b"\x89PNG..." and uploaded.length == 7
    assert (uploaded.shared_to, uploaded.thread_ts) == ("C1", posted["ts"])
    shared = fake.messages("C1")[-1]
    assert shared["thread_ts"] == posted["ts"] and shared["files"][0]["id"] == uploaded.id


def test_a_failed_upload_is_an_error_and_nothing_is_shared(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next_upload(status=500)
    # slack_sdk lets urllib's error for the upload URL through (an OSError), not a SlackApiError.
    with pytest.raises(urllib.error.HTTPError) as failed:
        client.files_upload_v2(channel="C1", file=b"data", filename="x.csv")
    assert failed.value.code == 500
    assert [c.method for c in fake.calls] == ["files.getUploadURLExternal", "upload"]
    assert fake.uploaded_files() == [] and fake.messages("C1") == []


def test_completing_an_upload_that_never_arrived_is_refused(fake: FakeSlack, client: WebClient) -> None:
    announced = client.files_getUploadURLExternal(filename="x.csv", length=4)
    with pytest.raises(SlackApiError) as refused:
        client.files_completeUploadExternal(files=[{"id": announced["file_id"]}], channel_id="C1")
    assert refused.value.response["error"] == "file_not_found"


def test_an_upload_of_another_length_than_announced_is_refused(fake: FakeSlack) -> None:
    announced = WebClient(token="xoxb-t", base_url=fake.base_url).files_getUploadURLExternal(
        filename="x.csv", length=10
    )
    request = urllib.request.Request(announced["upload_url"], data=b"short", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400


def test_sharing_where_the_bot_is_not_a_member_is_refused(fake: FakeSlack, client: WebClient) -> None:
    fake.set_not_in_channel("C9")
    with pytest.raises(SlackApiError) as refused:
        client.files_upload_v2(channel="C9", file=b"data", filename="x.csv")
    assert refused.value.response["error"] == "not_in_channel"


def test_users_conversations_lists_the_users_channels(fake: FakeSlack, client: WebClient) -> None:
    fake.set_channel_members("C1", ["U1", "U2"])
    fake.set_channel_members("C2", ["U2"])
    assert [c["id"] for c in client.users_conversations(user="U1")["channels"]] == ["C1"]
    assert [c["id"] for c in client.users_conversations(user="U2")["channels"]] == ["C1", "C2"]


def test_an_event_keeps_its_id_on_retries_and_verifies() -> None:
    event = {"type": "app_home_opened", "user": "U1", "tab": "home", "event_ts": "1.5"}
    first, again = event_body(event), event_body(event)
    assert json.loads(first.body)["event_id"] == json.loads(again.body)["event_id"]
    headers = SlackRequestSigner("secret").headers(first.body)
    assert headers["X-Slack-Signature"].startswith("v0=")
