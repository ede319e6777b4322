"""Fixtures shared by the whole suite: a Redis for every store test, fake and real.

The real server is not optional: where none answers, the tests that need it fail with the reason
(`.ci/run` starts one before the suite runs)."""

from __future__ import annotations

import os
import uuid

import fakeredis
import pytest
import redis

from bot.store.sessions import SessionStore

REAL_REDIS_URL = os.environ.get("MLOPS_COMPASS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def real_redis() -> redis.Redis:
    client = redis.Redis.from_url(REAL_REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"a real Redis server is required at {REAL_REDIS_URL} and none answers: {error}")
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
def team_id() -> str:
    """A workspace of its own per test, so tests sharing the real server never see each other's keys."""
    return "T" + uuid.uuid4().hex[:10].upper()
