"""The fake's channel membership and user profiles, as team runs read them: conversations.members with
Slack's cursor pagination, and users.info with admin, bot, deactivated and time zone fields."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from playground.fakeslack import FakeSlack


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.base_url, retry_handlers=[])


def test_members_come_in_pages_until_the_cursor_runs_out(fake: FakeSlack, client: WebClient) -> None:
    members = [f"U{i:03d}" for i in range(7)]
    fake.set_channel_members("C1", members)
    seen, cursor, pages = [], None, 0
    while True:
        page = client.conversations_members(channel="C1", limit=3, cursor=cursor)
        pages += 1
        seen.extend(page["members"])
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert (seen, pages) == (members, 3)


def test_members_default_page_and_an_unknown_channel(fake: FakeSlack, client: WebClient) -> None:
    fake.set_channel_members("C1", [f"U{i:04d}" for i in range(150)])
    first = client.conversations_members(channel="C1")
    assert len(first["members"]) == 100 and first["response_metadata"]["next_cursor"]
    assert client.conversations_members(channel="C2")["members"] == []
    fake.set_channel_not_found("C3")
    with pytest.raises(SlackApiError) as missing:
        client.conversations_members(channel="C3")
    assert missing.value.response["error"] == "channel_not_found"


def test_a_page_cap_returns_fewer_than_the_limit(fake: FakeSlack, client: WebClient) -> None:
    fake.set_members_page_cap(2)
    fake.set_channel_members("C1", ["U1", "U2", "U3"])
    first = client.conversations_members(channel="C1", limit=200)
    assert first["members"] == ["U1", "U2"]
    rest = client.conversations_members(channel="C1", cursor=first["response_metadata"]["next_cursor"])
    assert (rest["members"], rest["response_metadata"]["next_cursor"]) == (["U3"], "")


def test_a_forged_cursor_is_refused(fake: FakeSlack, client: WebClient) -> None:
    fake.set_channel_members("C1", ["U1", "U2"])
    for cursor in ("not-a-cursor", "bWVtYmVyOjk5"):  # the second says member:99, past the end
        with pytest.raises(SlackApiError) as refused:
            client.conversations_members(channel="C1", cursor=cursor)
        assert refused.value.response["error"] == "invalid_cursor"


def test_users_info_reports_admins_bots_deactivated_accounts_and_time_zones(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.set_user("U0ADMIN", is_admin=True, tz="Europe/Berlin", tz_offset=3600)
    fake.set_user("U0OWNER", is_owner=True)
    fake.set_user("U0HELPER", is_bot=True, name="helper-bot")
    fake.set_user("U0GONE", deleted=True)
    admin = client.users_info(user="U0ADMIN")["user"]
    assert (admin["is_admin"], admin["tz"], admin["tz_offset"]) == (True, "Europe/Berlin", 3600)
    owner = client.users_info(user="U0OWNER")["user"]
    assert owner["is_owner"] and owner["is_admin"]
    helper = client.users_info(user="U0HELPER")["user"]
    assert helper["is_bot"] and helper["name"] == "helper-bot"
    assert client.users_info(user="U0GONE")["user"]["deleted"] is True
    plain = client.users_info(user="U0PLAIN")["user"]
    assert (plain["is_admin"], plain["is_bot"], plain["deleted"], plain["tz"]) == (False, False, False, "UTC")
    assert client.users_info(user=fake.bot_user_id)["user"]["is_bot"] is True
    with pytest.raises(ValueError):
        fake.set_user("nobody")
