"""The app's installations and OAuth states in Redis, as Bolt's OAuth flow, its authorization and its
uninstall listeners use them: the latest installation wins, an org-wide one is found by its enterprise,
tokens never rest in clear, and a record no key decrypts is reported, never taken for "not installed"."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import fakeredis
import pytest
import redis
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.oauth.installation_store import Bot, Installation

from bot.store import keys
from bot.store.corrupt import CorruptRecord
from bot.store.installations import (
    BOT_FIELDS,
    InstallationUndecryptable,
    RedisInstallationStore,
    RedisOAuthStateStore,
    Reencryption,
)
from tests.conftest import delete_workspace_keys, examples, new_team_id, real_redis

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def new_enterprise_id() -> str:
    """An enterprise id of this run's own, its keys found (and deleted) like a workspace's."""
    return "E" + new_team_id()[1:]


@pytest.fixture
def enterprise_id() -> Iterator[str]:
    enterprise = new_enterprise_id()
    yield enterprise
    delete_workspace_keys(enterprise)


def installation(
    team_id: str | None,
    user_id: str = "U1",
    *,
    enterprise_id: str | None = None,
    installed_at: float = 1_700_000_000.25,
    tag: str = "",
    org_wide: bool = False,
) -> Installation:
    """An installation as Bolt's OAuth flow builds it from oauth.v2.access, its tokens naming `tag`, the
    installer and the workspace, so that any one found tells where it came from."""
    owner = enterprise_id if org_wide else team_id
    return Installation(
        app_id="A1",
        enterprise_id=enterprise_id,
        enterprise_name="Acme" if enterprise_id else None,
        team_id=None if org_wide else team_id,
        team_name=None if org_wide else "Platform",
        bot_token=f"xoxb-{owner}-{user_id}-{tag}",
        bot_id="B1",
        bot_user_id="UBOT",
        bot_scopes=["commands", "chat:write"],
        bot_refresh_token=f"xoxe-1-bot-{owner}-{user_id}-{tag}",
        bot_token_expires_in=43_200,
        user_id=user_id,
        user_token=f"xoxp-{owner}-{user_id}-{tag}",
        user_scopes=["search:read"],
        user_refresh_token=f"xoxe-1-user-{owner}-{user_id}-{tag}",
        user_token_expires_in=43_200,
        incoming_webhook_url=f"https://hooks.slack.com/services/{owner}/{user_id}/{tag}secret",
        incoming_webhook_channel="#ml",
        incoming_webhook_channel_id="C1",
        is_enterprise_install=org_wide,
        token_type="bot",
        installed_at=installed_at,
        custom_values={"plan": "team"},
    )


def same(found: Installation | Bot | None, expected: Installation | Bot) -> None:
    assert found is not None
    assert found.to_dict_for_copying() == expected.to_dict_for_copying()


def as_bytes(value: object) -> bytes:
    assert isinstance(value, bytes)
    return value


def stored_values(client: redis.Redis, owner_id: str) -> list[bytes]:
    """Every value, field and member stored under the workspace (or enterprise), as Redis holds it."""
    values: list[bytes] = []
    for key in client.scan_iter(match=keys.workspace_pattern(owner_id)):
        kind = client.type(key)
        if kind == b"string":
            values.append(as_bytes(client.get(key)))
        elif kind == b"zset":
            values += [as_bytes(member) for member in client.zrange(key, 0, -1)]
        else:
            raise AssertionError(f"unexpected {kind!r} at {key!r}")
    return values


def with_bot_of(installed: Installation, latest: Installation) -> Installation:
    """`installed` as found: with the workspace's latest bot."""
    bot = {name: getattr(latest, name) for name in BOT_FIELDS}
    return Installation(**(installed.to_dict_for_copying() | bot))


def credentials_of(found: Installation) -> list[str]:
    return [
        value
        for value in (
            found.bot_token,
            found.bot_refresh_token,
            found.user_token,
            found.user_refresh_token,
            found.incoming_webhook_url,
        )
        if value is not None
    ]


# Saving and finding -----------------------------------------------------------------------------------


def test_a_workspace_installation_comes_back_whole_with_its_bot_and_its_rotation_fields(
    redis_client: redis.Redis, team_id: str
) -> None:
    store = RedisInstallationStore(redis_client, [KEY_A])
    saved = installation(team_id, "U1")
    store.save(saved)

    same(store.find_installation(enterprise_id=None, team_id=team_id), saved)
    same(store.find_installation(enterprise_id=None, team_id=team_id, user_id="U1"), saved)
    bot = store.find_bot(enterprise_id=None, team_id=team_id)
    same(bot, saved.to_bot())
    assert bot is not None and bot.bot_refresh_token == saved.bot_refresh_token
    assert bot.bot_token_expires_at == saved.bot_token_expires_at is not None

    assert store.find_installation(enterprise_id=None, team_id=team_id, user_id="U2") is None
    assert store.find_bot(enterprise_id=None, team_id=new_team_id()) is None
    assert store.find_installation(enterprise_id=None, team_id=None) is None


def test_every_key_is_the_workspaces_and_named_in_keys_py(redis_client: redis.Redis, team_id: str) -> None:
    store = RedisInstallationStore(redis_client, [KEY_A])
    store.save(installation(team_id, "U1"))
    store.save(installation(team_id, "U2"))
    written = {key.decode() for key in redis_client.scan_iter(match=keys.workspace_pattern(team_id))}
    assert written == {
        keys.installation_bot(team_id),
        keys.installation_users(team_id),
        keys.installation_user(team_id, "U1"),
        keys.installation_user(team_id, "U2"),
    }


def test_no_stored_value_holds_a_credential_in_clear(
    redis_client: redis.Redis, team_id: str, enterprise_id: str
) -> None:
    store = RedisInstallationStore(redis_client, [KEY_A])
    saved = [
        installation(team_id, "U1", enterprise_id=enterprise_id),
        installation(team_id, "U2", enterprise_id=enterprise_id),
        installation(None, "U3", enterprise_id=enterprise_id, org_wide=True),
    ]
    for each in saved:
        store.save(each)
    store.save_bot(installation(team_id, "U1", tag="refreshed").to_bot())

    stored = b"\n".join(stored_values(redis_client, team_id) + stored_values(redis_client, enterprise_id))
    credentials = [c for each in saved for c in credentials_of(each)] + ["refreshed"]
    assert len(credentials) == 16
    assert [c for c in credentials if c.encode() in stored] == []
    # What an operator needs to see stays readable.
    assert b"Platform" in stored and b"search:read" in stored


def test_the_latest_installation_wins_and_each_installer_keeps_their_own(
    redis_client: redis.Redis, team_id: str
) -> None:
    store = RedisInstallationStore(redis_client, [KEY_A])
    first = installation(team_id, "U1", installed_at=1_700_000_000.0)
    second = installation(team_id, "U2", installed_at=1_700_000_100.0)
    store.save(first)
    store.save(second)

    same(store.find_installation(enterprise_id=None, team_id=team_id), second)
    # An installer's own installation carries the workspace's latest bot, as slack_sdk's stores do.
    by_first = store.find_installation(enterprise_id=None, team_id=team_id, user_id="U1")
    assert by_first is not None and by_first.user_token == first.user_token
    assert by_first.bot_token == second.bot_token
    bot = store.find_bot(enterprise_id=None, team_id=team_id)
    assert bot is not None and bot.bot_token == second.bot_token

    # U2 revokes their token: the workspace's latest is U1's again, with the bot it has.
    store.delete_installation(enterprise_id=None, team_id=team_id, user_id="U2")
    latest = store.find_installation(enterprise_id=None, team_id=team_id)
    assert latest is not None and latest.user_id == "U1" and latest.bot_token == second.bot_token
    assert store.find_installation(enterprise_id=None, team_id=team_id, user_id="U2") is None


def test_a_revoked_bot_is_handed_out_by_no_installation(redis_client: redis.Redis, team_id: str) -> None:
    store = RedisInstallationStore(redis_client, [KEY_A])
    store.save(installation(team_id, "U1"))
    store.delete_bot(enterprise_id=None, team_id=team_id)

    assert store.find_bot(enterprise_id=None, team_id=team_id) is None
    found = store.find_installation(enterprise_id=None, team_id=team_id)
    assert found is not None and found.user_token is not None
    assert (found.bot_token, found.bot_refresh_token, found.bot_id) == (None, None, None)


def test_a_refreshed_bot_token_replaces_the_one_it_refreshes(redis_client: redis.Redis, team_id: str) -> None:
    """Bolt saves a rotated token through save_bot (bot-only) or save (the installation it found, whose
    installed_at may be older than the bot's): either way the refreshed token is the one found next."""
    store = RedisInstallationStore(redis_client, [KEY_A])
    store.save(installation(team_id, "U1", installed_at=1_700_000_000.0))
    store.save(installation(team_id, "U2", installed_at=1_700_000_100.0))

    found_bot = store.find_bot(enterprise_id=None, team_id=team_id)
    assert found_bot is not None
    found_bot.bot_token, found_bot.bot_refresh_token = "xoxb-rotated-once", "xoxe-1-rotated-once"
    found_bot.bot_token_expires_at = 1_900_000_000
    store.save_bot(found_bot)
    same(store.find_bot(enterprise_id=None, team_id=team_id), found_bot)

    by_first = store.find_installation(enterprise_id=None, team_id=team_id, user_id="U1")
    assert by_first is not None and by_first.bot_token == "xoxb-rotated-once"
    by_first.bot_token, by_first.bot_refresh_token = "xoxb-rotated-twice", "xoxe-1-rotated-twice"
    store.save(by_first)
    bot = store.find_bot(enterprise_id=None, team_id=team_id)
    assert bot is not None and (bot.bot_token, bot.bot_refresh_token) == (
        "xoxb-rotated-twice",
        "xoxe-1-rotated-twice",
    )
    # Refreshing U1's installation did not make it the workspace's latest.
    latest = store.find_installation(enterprise_id=None, team_id=team_id)
    assert latest is not None and latest.user_id == "U2" and latest.bot_token == "xoxb-rotated-twice"


def test_an_org_wide_installation_is_found_by_its_enterprise_and_serves_its_workspaces(
    redis_client: redis.Redis, team_id: str, enterprise_id: str
) -> None:
    store = RedisInstallationStore(redis_client, [KEY_A])
    org = installation(None, "U9", enterprise_id=enterprise_id, org_wide=True)
    store.save(org)

    same(store.find_installation(enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True), org)
    same(
        store.find_installation(enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=True), org
    )
    same(
        store.find_bot(enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=True), org.to_bot()
    )
    # A workspace of the enterprise with no installation of its own is served by the org's bot.
    same(store.find_bot(enterprise_id=enterprise_id, team_id=team_id), org.to_bot())
    # Without the enterprise, a workspace's id finds only its own.
    assert store.find_bot(enterprise_id=None, team_id=team_id) is None
    assert list(redis_client.scan_iter(match=keys.workspace_pattern(team_id))) == []
    assert redis_client.exists(keys.installation_bot(enterprise_id, org_wide=True)) == 1

    own = installation(team_id, "U1", enterprise_id=enterprise_id)
    store.save(own)
    same(store.find_bot(enterprise_id=enterprise_id, team_id=team_id), own.to_bot())
    same(store.find_bot(enterprise_id=None, team_id=team_id), own.to_bot())
    same(
        store.find_bot(enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=True), org.to_bot()
    )

    # Uninstalling from the org (Bolt's context then has no team) leaves the workspace's own.
    store.delete_all(enterprise_id=enterprise_id, team_id=None)
    assert list(redis_client.scan_iter(match=keys.workspace_pattern(enterprise_id))) == []
    same(store.find_bot(enterprise_id=enterprise_id, team_id=team_id), own.to_bot())


def test_work_for_a_workspace_alone_finds_the_org_wide_installation_once_its_org_is_known(
    redis_client: redis.Redis, team_id: str, enterprise_id: str
) -> None:
    store = RedisInstallationStore(redis_client, [KEY_A])
    org = installation(None, "U9", enterprise_id=enterprise_id, org_wide=True)
    store.save(org)
    # A worker's job or a clock's item names only the workspace.
    assert store.find_bot(enterprise_id=None, team_id=team_id) is None

    store.note_org_workspace(enterprise_id, team_id)

    same(store.find_bot(enterprise_id=None, team_id=team_id), org.to_bot())
    # The note is the workspace's own, and goes when its data is deleted.
    assert [k.decode() for k in redis_client.scan_iter(match=keys.workspace_pattern(team_id))] == [
        keys.workspace_enterprise(team_id)
    ]
    other_team = f"{team_id}X"
    assert store.find_bot(enterprise_id=None, team_id=other_team) is None
    redis_client.delete(keys.workspace_enterprise(team_id))


def test_uninstalling_deletes_everything_kept_for_the_workspace(
    redis_client: redis.Redis, team_id: str
) -> None:
    store = RedisInstallationStore(redis_client, [KEY_A])
    other = new_team_id()
    for user_id in ("U1", "U2", "U3"):
        store.save(installation(team_id, user_id))
    store.save(installation(other, "U1"))

    store.delete_installation(enterprise_id=None, team_id=team_id)
    assert store.find_installation(enterprise_id=None, team_id=team_id) is None
    assert store.find_bot(enterprise_id=None, team_id=team_id) is not None

    store.save(installation(team_id, "U4"))
    store.delete_all(enterprise_id=None, team_id=team_id)
    assert list(redis_client.scan_iter(match=keys.workspace_pattern(team_id))) == []
    assert store.find_bot(enterprise_id=None, team_id=other) is not None
    delete_workspace_keys(other)


def test_an_installation_naming_no_workspace_and_no_enterprise_is_refused(redis_client: redis.Redis) -> None:
    store = RedisInstallationStore(redis_client, [KEY_A])
    with pytest.raises(ValueError, match="neither a team id nor an enterprise id"):
        store.save(installation(None, "U1"))


# Keys: undecryptable records and rotation -----------------------------------------------------------


def test_a_record_no_key_decrypts_is_reported_naming_the_workspace_and_kept(
    redis_client: redis.Redis, team_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    RedisInstallationStore(redis_client, [KEY_A]).save(installation(team_id, "U1"))
    before = sorted(stored_values(redis_client, team_id))
    without_its_key = RedisInstallationStore(redis_client, [KEY_B])

    with caplog.at_level(logging.ERROR, logger="bot.store.installations"):
        with pytest.raises(InstallationUndecryptable, match=f"workspace {team_id}") as raised:
            without_its_key.find_bot(enterprise_id=None, team_id=team_id)
        with pytest.raises(InstallationUndecryptable, match="SLACK_INSTALLATION_KEYS"):
            without_its_key.find_installation(enterprise_id=None, team_id=team_id)
    assert raised.value.key == keys.installation_bot(team_id)
    assert f"workspace {team_id}" in caplog.text
    assert KEY_A not in caplog.text and KEY_B not in caplog.text
    assert sorted(stored_values(redis_client, team_id)) == before

    # The key back, second: it reads again.
    found = RedisInstallationStore(redis_client, [KEY_B, KEY_A]).find_bot(enterprise_id=None, team_id=team_id)
    assert found is not None and found.bot_token == installation(team_id, "U1").bot_token


def test_rotating_keys_re_encrypts_every_record_so_the_old_key_can_go(
    redis_client: redis.Redis, team_id: str, enterprise_id: str
) -> None:
    saved = [
        installation(team_id, "U1", enterprise_id=enterprise_id),
        installation(team_id, "U2", enterprise_id=enterprise_id, installed_at=1_700_000_500.0),
        installation(None, "U3", enterprise_id=enterprise_id, org_wide=True),
    ]
    old = RedisInstallationStore(redis_client, [KEY_A])
    for each in saved:
        old.save(each)
    before = stored_values(redis_client, team_id)

    # 1. The new key first, the old one still there: both read, the new one writes.
    both = RedisInstallationStore(redis_client, [KEY_B, KEY_A])
    # 2. Re-encrypt: the bot and each installer, in the workspace and the org.
    done = both.reencrypt_all()
    assert done.reencrypted >= 5 and done.undecryptable == ()
    assert stored_values(redis_client, team_id) != before
    # Again: nothing left to do.
    again = both.reencrypt_all()
    assert again == Reencryption(reencrypted=0, current=done.reencrypted + done.current, undecryptable=())

    # 3. The old key gone: everything still reads, whole.
    new = RedisInstallationStore(redis_client, [KEY_B])
    same(
        new.find_installation(enterprise_id=enterprise_id, team_id=team_id, user_id="U1"),
        with_bot_of(saved[0], saved[1]),
    )
    same(new.find_installation(enterprise_id=enterprise_id, team_id=team_id), saved[1])
    same(new.find_installation(enterprise_id=enterprise_id, team_id=None), saved[2])


def test_re_encryption_reports_the_records_no_key_decrypts_and_leaves_them(
    redis_client: redis.Redis, team_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    lost = new_team_id()
    RedisInstallationStore(redis_client, [KEY_A]).save(installation(team_id, "U1"))
    unknown_key = Fernet.generate_key().decode()
    RedisInstallationStore(redis_client, [unknown_key]).save(installation(lost, "U1"))
    lost_before = sorted(stored_values(redis_client, lost))

    with caplog.at_level(logging.ERROR, logger="bot.store.installations"):
        done = RedisInstallationStore(redis_client, [KEY_B, KEY_A]).reencrypt_all()
    assert set(done.undecryptable) >= {keys.installation_bot(lost), keys.installation_user(lost, "U1")}
    assert not any(team_id in key for key in done.undecryptable)
    assert f"workspace {lost}" in caplog.text
    assert sorted(stored_values(redis_client, lost)) == lost_before
    delete_workspace_keys(lost)


def test_a_corrupt_record_is_set_aside_and_said(redis_client: redis.Redis, team_id: str) -> None:
    store = RedisInstallationStore(redis_client, [KEY_A])
    store.save(installation(team_id, "U1"))
    redis_client.set(keys.installation_bot(team_id), b"{not json")

    with pytest.raises(CorruptRecord):
        store.find_bot(enterprise_id=None, team_id=team_id)
    aside = [
        key.decode() for key in redis_client.scan_iter(match=f"{keys.installation_bot(team_id)}:corrupt:*")
    ]
    assert len(aside) == 1 and redis_client.get(aside[0]) == b"{not json"


def test_a_key_that_is_no_fernet_key_is_named_by_position_and_not_repeated() -> None:
    with pytest.raises(ValueError, match="key 2 of 2 is not a Fernet key") as raised:
        RedisInstallationStore(fakeredis.FakeRedis(), [KEY_A, "not-a-key-at-all"])
    assert "not-a-key-at-all" not in str(raised.value)
    with pytest.raises(ValueError, match="at least one"):
        RedisInstallationStore(fakeredis.FakeRedis(), [])


# The latest wins, for any sequence of installs ----------------------------------------------------------


@dataclass(frozen=True)
class Install:
    owner: int  # 0, 1: workspaces (1 in the enterprise); 2: the enterprise's org-wide install
    user: str
    installed_at: float


CLIENTS: dict[str, Callable[[], redis.Redis]] = {"fakeredis": fakeredis.FakeRedis, "real-redis": real_redis}

installs = st.lists(
    st.builds(
        Install,
        owner=st.integers(min_value=0, max_value=2),
        user=st.sampled_from(["U1", "U2", "U3"]),
        installed_at=st.floats(min_value=1.5e9, max_value=2e9, allow_nan=False),
    ),
    max_size=12,
)


@pytest.mark.parametrize("kind", CLIENTS)
@settings(max_examples=examples(40))
@given(sequence=installs, revoked=st.sets(st.sampled_from(["U1", "U2", "U3"]), max_size=2))
def test_for_any_sequence_of_installs_each_installer_s_last_and_the_newest_are_found(
    kind: str, sequence: list[Install], revoked: set[str]
) -> None:
    client = CLIENTS[kind]()
    enterprise = new_enterprise_id()
    teams = [new_team_id(), new_team_id()]
    enterprise_of = [None, enterprise, enterprise]
    team_of = [teams[0], teams[1], None]
    store = RedisInstallationStore(client, [KEY_A])
    try:
        # Each owner's installations in the order saved, the last of an installer replacing theirs.
        saved: list[dict[str, Installation]] = [{}, {}, {}]
        for n, each in enumerate(sequence):
            org_wide = each.owner == 2
            made = installation(
                team_of[each.owner],
                each.user,
                enterprise_id=enterprise_of[each.owner],
                installed_at=each.installed_at,
                tag=str(n),
                org_wide=org_wide,
            )
            store.save(made)
            saved[each.owner].pop(each.user, None)
            saved[each.owner][each.user] = made
        for owner in range(3):
            for user in revoked:
                store.delete_installation(
                    enterprise_id=enterprise_of[owner], team_id=team_of[owner], user_id=user
                )

        def expected(owner: int) -> tuple[Installation | None, dict[str, Installation]]:
            """The owner's last saved (its bot), and its installers left, or the org's when it has none."""
            last = list(saved[owner].values())[-1] if saved[owner] else None
            left = {user: made for user, made in saved[owner].items() if user not in revoked}
            return last, left

        for owner in range(3):
            enterprise_id, team_id, org_wide = enterprise_of[owner], team_of[owner], owner == 2
            last, left = expected(owner)
            bot_owner = owner if last is not None or owner != 1 else 2
            bot_last = expected(bot_owner)[0]
            bot = store.find_bot(enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=org_wide)
            assert (bot.bot_token if bot else None) == (bot_last.bot_token if bot_last else None)

            installers_owner = owner if left or owner != 1 else 2
            installers_bot, installers_left = expected(installers_owner)
            for user, made in installers_left.items():
                found = store.find_installation(
                    enterprise_id=enterprise_id, team_id=team_id, user_id=user, is_enterprise_install=org_wide
                )
                assert found is not None and found.user_token == made.user_token
                assert installers_bot is not None and found.bot_token == installers_bot.bot_token
            newest = store.find_installation(
                enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=org_wide
            )
            if not installers_left:
                assert newest is None
                continue
            assert newest is not None
            assert newest.installed_at == max(made.installed_at for made in installers_left.values())
            assert newest.user_token == installers_left[newest.user_id].user_token
    finally:
        for owner_id in (*teams, enterprise):
            for key in client.scan_iter(match=keys.workspace_pattern(owner_id)):
                client.delete(key)


# OAuth states ---------------------------------------------------------------------------------------------


@pytest.fixture
def states(redis_client: redis.Redis) -> Iterator[RedisOAuthStateStore]:
    yield RedisOAuthStateStore(redis_client)
    # What a test issued and left unconsumed.
    for key in redis_client.scan_iter(match=keys.oauth_state("*")):
        redis_client.delete(key)


def test_a_state_works_once(states: RedisOAuthStateStore) -> None:
    state = states.issue()
    other = states.issue()
    assert state != other
    assert states.consume(state) is True
    assert states.consume(state) is False
    assert states.consume(other) is True


def test_a_state_never_issued_or_malformed_is_refused(states: RedisOAuthStateStore) -> None:
    assert states.consume("never-issued") is False
    assert states.consume("") is False
    assert states.consume("*") is False
    assert states.consume("x" * 10_000) is False


def test_a_state_expires_in_ten_minutes(states: RedisOAuthStateStore, redis_client: redis.Redis) -> None:
    state = states.issue()
    assert 590 < redis_client.ttl(keys.oauth_state(state)) <= 600


def test_a_state_consumed_at_once_by_many_works_for_one() -> None:
    client = real_redis()
    state = RedisOAuthStateStore(client).issue()
    results: list[bool] = []
    start = threading.Barrier(8)

    def consume() -> None:
        start.wait()
        results.append(RedisOAuthStateStore(client).consume(state))

    threads = [threading.Thread(target=consume) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_an_expired_state_is_refused() -> None:
    client = real_redis()
    states = RedisOAuthStateStore(client, expiration_seconds=1)
    state = states.issue()
    # Wait for Redis to expire it.
    deadline = time.monotonic() + 10
    while client.exists(keys.oauth_state(state)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert states.consume(state) is False
