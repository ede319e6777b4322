"""The one place a process's Redis client is made: from REDIS_URL, or through Redis Sentinel when
REDIS_SENTINELS names sentinels (docs/operations.md#redis-high-availability).

Through Sentinel the client asks the sentinels for the master of REDIS_SENTINEL_MASTER before each new
connection and drops its connections to a master that was demoted, so every command after a failover
reaches the promoted replica: the web process's transactions, the worker's RQ queue, its pub/sub listener
and its retry scheduler, and the clock all share that client.

What a failover looks like to a command (`UNREACHABLE`): the connection to the dead master fails
(ConnectionError, TimeoutError), no sentinel names a master yet (MasterNotFoundError, a ConnectionError),
or a write reaches a master that was demoted to a replica (ReadOnlyError). Each means the command did not
apply; the stores turn it into StoreUnavailable, and a person is told to try again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.sentinel import Sentinel

# How often an idle pooled connection is checked before use: a connection left by a restart or failover is
# replaced before a command is lost on it.
HEALTH_CHECK_SECONDS = 15

# What Redis raises while it cannot be reached, including during a Sentinel failover.
UNREACHABLE: tuple[type[Exception], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.ReadOnlyError,
)


@dataclass(frozen=True)
class RedisTarget:
    """Where state lives: the Redis at `url`, or, when `sentinels` are given, the master the sentinels
    name `master`. Through sentinels, `url` gives only the database number, the user and password
    (`password` overrides it) and TLS (`rediss://`); its host and port are not used."""

    url: str
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def through_sentinel(self) -> bool:
        return bool(self.sentinels)

    def describe(self) -> str:
        """Where it is, for a log line or an error, with no password in it."""
        if self.through_sentinel:
            listed = ",".join(f"{host}:{port}" for host, port in self.sentinels)
            return f"REDIS_SENTINELS={listed} (master {self.master})"
        return f"REDIS_URL={redact(self.url)}"


def connect(target: RedisTarget | str, timeout_seconds: float = 2.0) -> redis.Redis:
    """A client of `target` (a RedisTarget, or a REDIS_URL); it connects on its first command."""
    if isinstance(target, str):
        target = RedisTarget(target)
    timeouts: dict[str, Any] = {
        "socket_timeout": timeout_seconds,
        "socket_connect_timeout": timeout_seconds,
        "health_check_interval": HEALTH_CHECK_SECONDS,
    }
    if not target.through_sentinel:
        pool = redis.ConnectionPool.from_url(target.url, **timeouts)
        if target.password is not None:
            # REDIS_URL's own password would win over a keyword given beside it.
            pool.connection_kwargs["password"] = target.password
        return redis.Redis(connection_pool=pool)
    assert target.master is not None  # the settings require it with sentinels
    sentinel_options: dict[str, Any] = {
        "socket_timeout": timeout_seconds,
        "socket_connect_timeout": timeout_seconds,
    }
    if target.sentinel_password is not None:
        sentinel_options["password"] = target.sentinel_password
    sentinels = Sentinel(list(target.sentinels), sentinel_kwargs=sentinel_options)
    client: redis.Redis = sentinels.master_for(target.master, **data_node_options(target), **timeouts)
    return client


def data_node_options(target: RedisTarget) -> dict[str, Any]:
    """What REDIS_URL says of the data nodes besides where they are: the database, user, password, TLS."""
    parts = urlsplit(target.url)
    options: dict[str, Any] = {}
    database = parts.path.lstrip("/")
    if database:
        options["db"] = int(database)
    if parts.username:
        options["username"] = unquote(parts.username)
    if target.password is not None:
        options["password"] = target.password
    elif parts.password:
        options["password"] = unquote(parts.password)
    if parts.scheme == "rediss":
        options["ssl"] = True
    return options


def redact(url: str) -> str:
    """Keep a password in REDIS_URL out of logs."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
