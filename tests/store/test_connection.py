"""The one Redis client every process makes: at REDIS_URL, or through Sentinel when REDIS_SENTINELS is set
(REDIS_URL then giving the database, the password and TLS), and what it raises while Redis cannot be
reached, a failover's errors included, turned into StoreUnavailable by the stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.sentinel import SentinelConnectionPool, SentinelManagedConnection, SentinelManagedSSLConnection

from bot.engine.catalog import BankCatalog
from bot.settings import RedisSettings, SettingsError, read_settings
from bot.store.connection import RedisTarget, connect
from bot.store.sessions import Respondent, SessionStore, StoreUnavailable
from bot.usecases.personal import PERSONAL, new_session
from tests.e2e.conftest import DedicatedRedis

BANK = BankCatalog.from_directory().get("pulse")
SENTINELS = "sentinel-1:26379, sentinel-2:26380,[::1]:26381"


def redis_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> RedisSettings:
    for name in ("REDIS_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "REDIS_SENTINEL_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("REDIS_PASSWORD", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return read_settings(RedisSettings)


def test_with_sentinels_the_client_follows_the_master_they_name(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = redis_settings(
        monkeypatch,
        REDIS_URL="redis://:from-url@ignored-host:1/3",
        REDIS_SENTINELS=SENTINELS,
        REDIS_SENTINEL_MASTER="compass",
        REDIS_SENTINEL_PASSWORD="for-sentinels",
    )
    target = settings.redis_target
    assert target.sentinels == (("sentinel-1", 26379), ("sentinel-2", 26380), ("::1", 26381))
    assert target.describe() == "REDIS_SENTINELS=sentinel-1:26379,sentinel-2:26380,::1:26381 (master compass)"
    client = connect(target)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "compass" and pool.is_master
    assert pool.connection_class is SentinelManagedConnection
    # The database and the data nodes' password come from REDIS_URL; its host is not used.
    assert pool.connection_kwargs["db"] == 3
    assert pool.connection_kwargs["password"] == "from-url"
    sentinel_kwargs = [s.connection_pool.connection_kwargs for s in pool.sentinel_manager.sentinels]
    assert [(k["host"], k["port"]) for k in sentinel_kwargs] == list(target.sentinels)
    assert {k["password"] for k in sentinel_kwargs} == {"for-sentinels"}


def test_redis_password_and_tls_reach_the_data_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = redis_settings(
        monkeypatch,
        REDIS_URL="rediss://:from-url@ignored-host:1/0",
        REDIS_SENTINELS=SENTINELS,
        REDIS_SENTINEL_MASTER="compass",
        REDIS_PASSWORD="for-data-nodes",
    )
    pool = connect(settings.redis_target).connection_pool
    assert pool.connection_class is SentinelManagedSSLConnection
    assert pool.connection_kwargs["password"] == "for-data-nodes"
    # Without sentinels, REDIS_PASSWORD stands in for REDIS_URL's password too.
    plain = redis_settings(monkeypatch, REDIS_URL="redis://:from-url@127.0.0.1:1/2", REDIS_PASSWORD="new")
    kwargs = connect(plain.redis_target).connection_pool.connection_kwargs
    assert (kwargs["password"], kwargs["db"]) == ("new", 2)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REDIS_SENTINELS": SENTINELS}, "REDIS_SENTINEL_MASTER is required but not set"),
        (
            {"REDIS_SENTINEL_MASTER": "compass"},
            "REDIS_SENTINEL_MASTER is invalid: set without REDIS_SENTINELS: set both for Sentinel",
        ),
        (
            {"REDIS_SENTINELS": "sentinel-1:26379,sentinel-2", "REDIS_SENTINEL_MASTER": "compass"},
            "REDIS_SENTINELS is invalid: must be host:port pairs, comma-separated, such as sentinel-1:26379 "
            "(not sentinel-2)",
        ),
        (
            {"REDIS_SENTINELS": "sentinel-1:99999", "REDIS_SENTINEL_MASTER": "compass"},
            "REDIS_SENTINELS is invalid: must be host:port pairs, comma-separated, such as sentinel-1:26379 "
            "(not sentinel-1:99999)",
        ),
        (
            {"REDIS_SENTINEL_PASSWORD": "secret"},
            "REDIS_SENTINEL_PASSWORD is invalid: set without REDIS_SENTINELS",
        ),
        ({"REDIS_PASSWORD": "secret\n"}, "REDIS_PASSWORD is invalid: begins or ends with whitespace"),
        ({"REDIS_URL": "redis://localhost:6379/zero"}, "REDIS_URL is invalid: Value error, its path must be"),
    ],
)
def test_a_malformed_sentinel_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        redis_settings(monkeypatch, **env)
    assert str(raised.value).startswith(message), str(raised.value)
    assert "\n" not in str(raised.value)


def test_no_sentinel_answering_is_store_unavailable() -> None:
    """While no sentinel names a master (MasterNotFoundError), nothing is changed and the front ends say
    to try again."""
    target = RedisTarget("redis://localhost/0", (("127.0.0.1", 1),), "compass")
    store = SessionStore(connect(target, timeout_seconds=0.2))
    with pytest.raises(StoreUnavailable, match="No master found for 'compass'"):
        store.get(Respondent(team_id="T1", user_id="U1"))
    with pytest.raises(StoreUnavailable):
        store.ping()


@pytest.fixture
def replica_of_nothing(tmp_path: Path) -> Iterator[redis.Redis]:
    """A redis-server that is the replica of a master that is gone, as a demoted primary is: it answers
    reads and refuses writes (READONLY)."""
    server = DedicatedRedis(tmp_path, persist=False, options=("--replicaof", "127.0.0.1", "1"))
    server.start()
    try:
        yield redis.Redis.from_url(server.url, socket_timeout=2)
    finally:
        server.stop()


@pytest.mark.e2e
def test_a_write_to_a_demoted_primary_is_store_unavailable(replica_of_nothing: redis.Redis) -> None:
    """Through Sentinel the client takes READONLY for a lost connection and asks the sentinels again;
    through a plain REDIS_URL (a managed Redis's endpoint that has not moved yet) it reaches the store as
    it is, and is StoreUnavailable all the same."""
    store = SessionStore(replica_of_nothing)
    respondent = Respondent(team_id="T1", user_id="U1")
    record, _ = new_session(respondent, BANK, None, PERSONAL)
    assert store.get(respondent) is None  # reads are answered
    with pytest.raises(StoreUnavailable, match="read only replica"):
        store.start(record, lambda existing: True)
