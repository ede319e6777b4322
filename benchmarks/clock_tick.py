"""How long one clock tick takes: with 100,000 schedules of which none is due, and with 1,000 due at once.

Runs the real clock against a real Redis and the fake Slack Web API (over HTTP on 127.0.0.1):

    python benchmarks/clock_tick.py [--redis-url redis://127.0.0.1:6379/15] [--schedules 100000] [--due 1000]

Its schedules belong to a workspace of its own (TBENCH…), and it deletes them, and their entries in the
clock's indexes, when it is done. The tick with due reminders runs with a batch as large as the number
due, so that one tick claims and posts them all.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import UTC, datetime

import redis

from bot.engine.catalog import BankCatalog
from bot.engine.schedule import as_timestamp, parse_request
from bot.slack.reminders import ReminderSlack, clock_client
from bot.store import keys
from bot.store.nudges import SessionWatch
from bot.store.schedules import ScheduleRecord, ScheduleStore
from bot.usecases.clock import Clock, ClockConfig
from playground.fakeslack import FakeSlack

CHUNK = 5000


def populate(client: redis.Redis, team_id: str, count: int, first_run: int) -> list[ScheduleRecord]:
    rule = parse_request("quarterly").rule("Europe/Berlin")
    records = []
    for start in range(0, count, CHUNK):
        with client.pipeline(transaction=False) as pipe:
            for n in range(start, min(count, start + CHUNK)):
                record = ScheduleRecord.draft(team_id, f"C{n:07d}", "U0BENCH", rule, "pulse")
                record.schedule_id = f"b{n:07d}"
                pipe.set(record.key, record.model_dump_json())
                pipe.zadd(keys.channel_schedules(team_id, record.channel_id), {record.schedule_id: 0})
                pipe.zadd(keys.DUE_SCHEDULES, {record.member: first_run})
                records.append(record)
            pipe.execute()
    return records


def clean(client: redis.Redis, team_id: str) -> None:
    found = list(client.scan_iter(match=f"{keys.PREFIX}:{{{team_id}}}:*", count=5000))
    for start in range(0, len(found), CHUNK):
        client.unlink(*found[start : start + CHUNK])
    for index in keys.CLOCK_INDEXES:
        members = [m for m, _ in client.zscan_iter(index, match=f"{team_id}:*", count=5000)]
        for start in range(0, len(members), CHUNK):
            client.zrem(index, *members[start : start + CHUNK])
    fields = [f for f, _ in client.hscan_iter(keys.PENDING_DELIVERIES, match=f"{team_id}:*", count=5000)]
    for start in range(0, len(fields), CHUNK):
        client.hdel(keys.PENDING_DELIVERIES, *fields[start : start + CHUNK])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--schedules", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20, help="ticks measured with nothing due")
    args = parser.parse_args()

    client = redis.Redis.from_url(args.redis_url)
    client.ping()
    team_id = f"TBENCH{uuid.uuid4().hex[:6].upper()}"
    catalog = BankCatalog.from_directory()
    now = time.time()
    far = as_timestamp(datetime(2099, 1, 1, tzinfo=UTC))
    try:
        started = time.perf_counter()
        records = populate(client, team_id, args.schedules, far)
        print(f"stored {len(records):,} schedules in {time.perf_counter() - started:.1f} s")
        with FakeSlack() as fake:

            def make_clock(batch: int) -> Clock:
                return Clock(
                    schedules=ScheduleStore(client),
                    watch=SessionWatch(client),
                    chat=ReminderSlack(clock_client("xoxb-bench", fake.base_url), catalog),
                    catalog=catalog,
                    config=ClockConfig(batch=batch),
                )

            idle = make_clock(100)
            idle.tick()  # loads the scripts into Redis
            timings = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                report = idle.tick()
                timings.append(time.perf_counter() - started)
                assert report.claimed == report.posted == 0
            median, worst = statistics.median(timings) * 1000, max(timings) * 1000
            print(
                f"one tick, {len(records):,} schedules, none due: median {median:.2f} ms, "
                f"worst {worst:.2f} ms over {args.repeat} ticks"
            )

            due = records[: args.due]
            client.zadd(keys.DUE_SCHEDULES, {record.member: int(now) - 60 for record in due})
            busy = make_clock(args.due)
            started = time.perf_counter()
            report = busy.tick()
            elapsed = time.perf_counter() - started
            posted = [c for c in fake.calls_to("chat.postMessage") if c.ok]
            assert report.claimed == report.posted == len(posted) == args.due, (report, len(posted))
            print(
                f"one tick, {len(records):,} schedules, {args.due:,} due: {elapsed:.2f} s "
                f"({report.claimed:,} claimed and {report.posted:,} posted to the fake Slack; "
                f"{elapsed / report.posted * 1000:.2f} ms a reminder)"
            )
    finally:
        clean(client, team_id)


if __name__ == "__main__":
    main()
