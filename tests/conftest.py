"""Fixtures shared by the whole suite: a Redis for every store test, fake and real.

The real server is not optional: where none answers, the tests that need it fail with the reason
(`.ci/run` starts one before the suite runs). Each run takes a database of the server no other run holds
(`RUN_LOCK`), so runs sharing a machine never see each other's schedules.

Tests leave the real server as they found it. Every workspace a test writes to has an id starting with
this run's tag (`new_team_id`), its keys (and its entries in the clock's shared indexes) are deleted when
the test (or, for the end-to-end app, the module) is done, and the run fails at its end if any is left.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakeredis
import pytest
import redis
from hypothesis import settings

from bot.store import keys
from bot.store.sessions import SessionStore
from playground.fakeslack import FakeSlack

# Hypothesis's per-example deadline is a timed assertion: on a shared, busy machine a slow example fails a
# correct test. How fast things are is measured in benchmarks/, not asserted here.
settings.register_profile("no-deadline", deadline=None)
settings.load_profile("no-deadline")

# The quick tier (`-m "not e2e"`) is for a check while working: its property tests try a quarter of their
# examples (at least five). The README's test command, and CI, try them all.
QUICK_TIER = "not e2e"
_quick_tier = False


def examples(count: int) -> int:
    """How many examples a property test with `count` of them tries in this run."""
    return max(min(count, 5), count // 4) if _quick_tier else count


def pytest_configure(config: pytest.Config) -> None:
    global _quick_tier
    _quick_tier = config.getoption("markexpr", "") == QUICK_TIER


RUN_TAG = uuid.uuid4().hex[:6].upper()
# The server the tests use; each run (and each xdist worker of a run) takes a database of it of its own.
TEST_REDIS_SERVER = os.environ.get("MLOPS_COMPASS_TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
# Which run holds a database, so that runs sharing the server never share one.
RUN_LOCK = "mlops-compass-test-run"
# A run renews its hold while it lives, so a killed run's database is free again within this time.
RUN_LOCK_SECONDS = 90
RUN_LOCK_RENEW_SECONDS = 20
# Databases a run may take; 0 is left to whatever else uses the server, and 15 (where runs used to share)
# comes last.
RUN_DATABASES = (*range(14, 0, -1), 15)
# Marks a database the suite has used, so a later run may clear what a killed run left in it.
TEST_DATABASE_MARK = "mlops-compass-test-database"
# The product's keys and the job queue's.
LEFT_BY_EARLIER_RUNS = (f"{keys.PREFIX}:*", "rq:*")


def _database_of_its_own() -> str:
    """The clock claims due reminders of every workspace in its database, so a run sharing a database
    with another run's clock loses its reminders to it (and takes the other run's): each run takes a
    database no other run holds. Under pytest-xdist every worker is such a run."""
    for database in RUN_DATABASES:
        url = f"{TEST_REDIS_SERVER}/{database}"
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            if _take(client):
                return url
        except redis.RedisError:
            # No server: the tests that need one fail with the reason (`real_redis`).
            return f"{TEST_REDIS_SERVER}/{RUN_DATABASES[0]}"
    raise RuntimeError(
        f"every database the tests may use on {TEST_REDIS_SERVER} is held by another run "
        f"(key {RUN_LOCK!r}); a run that was killed frees its database within {RUN_LOCK_SECONDS} s"
    )


def _take(client: redis.Redis) -> bool:
    """Hold the database for this run, starting from nothing an earlier run left.

    A run that was killed leaves its workspaces behind, with due reminders and queued jobs the next
    run's clocks and workers would take as this run's own. Only a database an earlier run marked as the
    tests' is cleared; one holding the product's keys without the mark belongs to something else and is
    passed over."""
    if not client.set(RUN_LOCK, RUN_TAG, nx=True, ex=RUN_LOCK_SECONDS):
        return False
    if not client.exists(TEST_DATABASE_MARK):
        if any(client.scan_iter(match=f"{keys.PREFIX}:*", count=1000)):
            client.delete(RUN_LOCK)
            return False
        client.set(TEST_DATABASE_MARK, "used by the mlops-compass test suite; cleared when a run starts")
    for pattern in LEFT_BY_EARLIER_RUNS:
        left = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(left), 1000):
            client.unlink(*left[start : start + 1000])
    return True


_held_database: str | None = None


def real_redis_url() -> str:
    """This run's database, taken the first time it is asked for: a process that runs no test (pytest's
    collection only, or the xdist controller) holds none."""
    global _held_database
    if _held_database is None:
        _held_database = _database_of_its_own()
        atexit.register(_release_database)
        threading.Thread(target=_renew_hold, name="test-database-hold", daemon=True).start()
    return _held_database


def __getattr__(name: str) -> str:
    if name == "REAL_REDIS_URL":
        return real_redis_url()
    raise AttributeError(name)


def _renew_hold() -> None:
    client = redis.Redis.from_url(real_redis_url(), socket_timeout=2, socket_connect_timeout=2)
    while True:
        time.sleep(RUN_LOCK_RENEW_SECONDS)
        try:
            if client.get(RUN_LOCK) == RUN_TAG.encode():
                client.expire(RUN_LOCK, RUN_LOCK_SECONDS)
        except redis.RedisError:
            pass  # the server went away; the tests that need it say so


def new_team_id() -> str:
    """A workspace id no other test, and no other run sharing the server, uses."""
    return f"T{RUN_TAG}{uuid.uuid4().hex[:6].upper()}"


def delete_workspace_keys(team_id_prefix: str) -> list[str]:
    """Delete every key of the workspaces whose id starts with `team_id_prefix`; returns their names.
    Without a server there is nothing to delete (the tests that needed one have failed already)."""
    client = redis.Redis.from_url(real_redis_url(), socket_timeout=2, socket_connect_timeout=2)
    pattern = f"{keys.PREFIX}:{{{team_id_prefix}*"
    try:
        found = [key.decode() for key in client.scan_iter(match=pattern, count=500)]
        if found:
            client.unlink(*found)
        found += _delete_clock_entries(client, team_id_prefix)
    except redis.ConnectionError:
        return []
    return found


def delete_queued_jobs() -> None:
    """Every job in this run's database: a job an app left queued or retrying when it stopped would be
    taken by the next app's worker, which then waits on a Slack that is gone, and is slow to stop."""
    client = redis.Redis.from_url(real_redis_url(), socket_timeout=2, socket_connect_timeout=2)
    try:
        left = list(client.scan_iter(match="rq:*", count=1000))
        for start in range(0, len(left), 1000):
            client.unlink(*left[start : start + 1000])
    except redis.ConnectionError:
        return


def _delete_clock_entries(client: redis.Redis, team_id_prefix: str) -> list[str]:
    """The clock's indexes are shared by every workspace; their members for these workspaces go too."""
    match = f"{team_id_prefix}*"
    found = []
    for index in keys.CLOCK_INDEXES:
        members = [member for member, _ in client.zscan_iter(index, match=match, count=500)]
        if members:
            client.zrem(index, *members)
            found += [f"{index} {member.decode()}" for member in members]
    fields = [field for field, _ in client.hscan_iter(keys.PENDING_DELIVERIES, match=match, count=500)]
    if fields:
        client.hdel(keys.PENDING_DELIVERIES, *fields)
        found += [f"{keys.PENDING_DELIVERIES} {field.decode()}" for field in fields]
    return found


def workspace_state(client: redis.Redis, team_id: str) -> dict[bytes, object]:
    """Every key of the workspace with its value, and its entries in the clock's shared indexes: what a
    step that changes nothing must leave as it found."""
    state: dict[bytes, object] = {
        key: client.dump(key) for key in sorted(client.scan_iter(match=keys.workspace_pattern(team_id)))
    }
    for index in keys.CLOCK_INDEXES:
        state[index.encode()] = sorted(client.zscan_iter(index, match=f"{team_id}*"))
    pending = client.hscan_iter(keys.PENDING_DELIVERIES, match=f"{team_id}*")
    state[keys.PENDING_DELIVERIES.encode()] = sorted(pending)
    return state


def mentions(client: redis.Redis, needle: str) -> list[str]:
    """Every key of the database that names `needle`, in its name or anywhere in its value (the job
    queue's compressed records opened), as "key" or "key: where": what forgetting must leave none of."""
    wanted = needle.encode()
    found = []
    for key in sorted(bytes(k) for k in client.scan_iter(count=1000)):
        if wanted in key:
            found.append(key.decode())
            continue
        found += [f"{key.decode()}: {part[:60]!r}" for part in _values(client, key) if wanted in part]
    return found


def _values(client: redis.Redis, key: bytes) -> list[bytes]:
    kind = _text(client.type(key))
    read: Any
    if kind == "string":
        read = [client.get(key) or b""]
    elif kind == "hash":
        read = [part for pair in client.hgetall(key).items() for part in pair]
    elif kind == "list":
        read = client.lrange(key, 0, -1)
    elif kind == "set":
        read = client.smembers(key)
    elif kind == "zset":
        read = client.zrange(key, 0, -1)
    elif kind == "stream":
        entries: Any = client.xrange(key)
        read = [part for _, fields in entries for pair in fields.items() for part in pair]
    else:
        read = []
    parts = [bytes(part) for part in read]
    return [*parts, *(_opened(part) for part in parts)]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _opened(value: bytes) -> bytes:
    """RQ keeps a job's call and its error zlib-compressed."""
    try:
        return zlib.decompress(value)
    except zlib.error:
        return b""


@pytest.fixture(scope="session", autouse=True)
def no_keys_left_behind() -> Iterator[None]:
    yield
    left = delete_workspace_keys(f"T{RUN_TAG}")
    _release_database()
    if left:
        pytest.fail(f"tests left {len(left)} key(s) in Redis at {real_redis_url()}, e.g. {sorted(left)[:5]}")


def _release_database() -> None:
    client = redis.Redis.from_url(real_redis_url(), socket_timeout=2, socket_connect_timeout=2)
    try:
        if client.get(RUN_LOCK) == RUN_TAG.encode():
            client.delete(RUN_LOCK)
    except redis.RedisError:
        pass  # the lock expires by itself


def real_redis() -> redis.Redis:
    client = redis.Redis.from_url(real_redis_url(), socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"a real Redis server is required at {real_redis_url()} and none answers: {error}")
    return client


@pytest.fixture(params=["fakeredis", "real-redis"])
def redis_client(request: pytest.FixtureRequest) -> redis.Redis:
    if request.param == "fakeredis":
        return fakeredis.FakeRedis()
    return real_redis()


@pytest.fixture
def store(redis_client: redis.Redis) -> SessionStore:
    return SessionStore(redis_client)


@pytest.fixture
def team_id() -> Iterator[str]:
    """A workspace of its own per test, so tests sharing the real server never see each other's keys;
    its keys are deleted after the test."""
    team = new_team_id()
    yield team
    delete_workspace_keys(team)


# Folders whose every test starts processes: the app as `serve` and `worker` runs it, or the playground.
PROCESS_FOLDERS = ("tests/e2e/", "tests/playground/test_")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks `e2e` the tests that start processes, so that `-m "not e2e"` is the quick tier; a module
    elsewhere that starts them says so with `pytestmark = pytest.mark.e2e`."""
    for item in items:
        where = item.path.relative_to(item.config.rootpath).as_posix()
        if where.startswith(PROCESS_FOLDERS):
            item.add_marker(pytest.mark.e2e)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: twice the cores, up to eight. An end-to-end test spends most of its time waiting for the
    app's processes and the fake Slack, so two workers a core keep the cores busy; each worker holds a
    database of the fifteen the runs on a server share."""
    return min(2 * len(os.sched_getaffinity(0)), 8)


@pytest.fixture
def own_redis_client(tmp_path: Path) -> Iterator[redis.Redis]:
    """A Redis server of the test's own, for what a database shares between workspaces (the outbox index,
    RQ's worker registry, the clocks' heartbeats), which other tests' apps may also be writing."""
    from tests.e2e.conftest import DedicatedRedis

    server = DedicatedRedis(tmp_path)
    server.start()
    yield redis.Redis.from_url(server.url)
    server.stop()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A fake Slack Web API of the test's own, on 127.0.0.1 (a module may override it with its people)."""
    with FakeSlack() as running:
        yield running
