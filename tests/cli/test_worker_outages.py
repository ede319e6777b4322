"""The worker's loop through a Redis outage (a restart, a Sentinel failover): whatever Redis raised while
it was away, the worker waits until Redis answers, takes back what the ended run left started, and runs
again."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from redis.sentinel import MasterNotFoundError

from bot.cli.worker import work_through_redis_outages


class Run:
    """RQ's worker loop, ending on `error` (or, with None, once its burst is done)."""

    def __init__(self, name: str, error: Exception | None) -> None:
        self.name = name
        self.error = error
        self.maintenance_interval = 0

    def work(self, **options: Any) -> None:
        if self.error is not None:
            raise self.error


class Client:
    """Answers PING once `outage` failures have passed."""

    def __init__(self, outage: list[Exception]) -> None:
        self.outage = outage

    def ping(self) -> bool:
        if self.outage:
            raise self.outage.pop(0)
        return True


@pytest.mark.parametrize(
    "error",
    [
        redis.ConnectionError("Connection refused"),
        redis.TimeoutError("Timeout reading"),
        MasterNotFoundError("No master found for 'compass'"),
        redis.exceptions.ReadOnlyError("You can't write against a read only replica."),
    ],
    ids=["connection", "timeout", "no-master", "read-only"],
)
def test_the_worker_waits_out_a_failover_and_takes_back_what_the_ended_run_left(error: Exception) -> None:
    runs: list[Run] = []
    taken_back: list[str] = []
    waits: list[float] = []

    def new_run() -> Run:
        runs.append(Run(f"run-{len(runs)}", error if not runs else None))
        return runs[-1]

    def take_back(name: str) -> list[str]:
        taken_back.append(name)
        return ["report-personal-T1-r1"]

    client = Client([MasterNotFoundError("No master found"), redis.ConnectionError("refused")])
    work_through_redis_outages(
        new_run, client, burst=True, log_level="INFO", wait=waits.append, take_back=take_back
    )
    assert [run.name for run in runs] == ["run-0", "run-1"]
    assert taken_back == ["run-0"]
    assert len(waits) == 2 and waits[1] > waits[0]


def test_a_redis_gone_as_the_worker_is_made_is_waited_out_like_one_gone_while_it_works() -> None:
    """RQ names its connection as it makes a worker: a Redis going away just then must not end the thread
    (nothing ran, so there is nothing to take back)."""
    runs: list[Run] = []
    taken_back: list[str] = []
    made = 0

    def new_run() -> Run:
        nonlocal made
        made += 1
        if made == 1:
            raise redis.ConnectionError("Error 104 while writing to socket. Connection reset by peer.")
        runs.append(Run(f"run-{len(runs)}", None))
        return runs[-1]

    def take_back(name: str) -> list[str]:
        taken_back.append(name)
        return []

    work_through_redis_outages(
        new_run, Client([]), burst=True, log_level="INFO", wait=lambda _: None, take_back=take_back
    )
    assert [run.name for run in runs] == ["run-0"]
    assert taken_back == []
