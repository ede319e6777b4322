"""How fast one `mlops-compass worker` process delivers finished assessments' reports, against the fake
Slack answering every Web API call after `--slack-latency-ms` (as Slack across a network does):

- N people finish a personal assessment (the answers of the `--bank` bank, at random) through the
  finishing transaction that stores the result with its pending delivery, and the hand-over to the
  worker's queue: what a quarterly reminder's last clicks leave behind, all at once;
- one real worker process is started, and delivers them: the report in place of the last question in
  each person's DM, the summary in the channel the assessment was started from with its details in the
  thread, and the chart under it;
- reports per second, from the first job's start to the last one's end (RQ's records of the jobs); the
  time each report spent in the worker (its job's start to end) and from the first report's start to
  its delivery, what a person waits when everyone finishes at once; the Web API calls per report;
  and that each channel got its report once, and each DM;
- the CPU time of drawing one report's chart, most of what a report costs the worker's one core.

    python benchmarks/worker_throughput.py [--reports 200] [--slack-latency-ms 50] [--worker-threads N]
        [--bank pulse] [--redis-url redis://127.0.0.1:6379/13]

Without `--worker-threads` the worker runs with its default. Every key it writes is in a workspace of its
own, deleted at the end with the worker's jobs for it. The worker runs every job queued on that Redis
database, so give it one no running app uses.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from rq.job import Job
from slack_sdk import WebClient

from bot.engine.answers import Answer, DontKnow, choices
from bot.engine.bank import QuestionBank
from bot.engine.catalog import BankCatalog
from bot.engine.report_view import build_view
from bot.engine.scoring import score
from bot.render.chart import chart_png
from bot.store.history import summary_of_report
from bot.store.jobs import JobQueue, Naming, delivery_job_id
from bot.store.outbox import DELIVERED, DeliveryRef, Outbox
from bot.store.sessions import Respondent, SessionStore
from bot.store.workspaces import delete_workspace
from bot.usecases.personal import answered_but_last, apply
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import start_worker, stop

CATALOG = BankCatalog.from_directory()
BOT_TOKEN = "xoxb-worker-throughput"
LAST_QUESTION = "The last question, which the report replaces"


@dataclass(frozen=True)
class Person:
    user_id: str
    channel: str  # where the assessment was started, and the report's summary goes
    ref: DeliveryRef


def random_answers(bank: QuestionBank, rng: random.Random) -> dict[str, Answer]:
    """Any answer each question offers, "Don't know" about one time in twelve."""
    answers: dict[str, Answer] = {}
    for question in bank.questions:
        offered = [answer for answer, _ in choices(question)]
        known = [answer for answer in offered if not isinstance(answer, DontKnow)] or offered
        answers[question.id] = DontKnow() if rng.random() < 1 / 12 else rng.choice(known)
    return answers


def finish_assessments(
    client: redis.Redis, slack: WebClient, bank: QuestionBank, team_id: str, count: int, seed: int = 2026
) -> list[Person]:
    """`count` people finish an assessment started in a channel of their own, as their last click does
    with a worker running: the question they answer last is a message in their DM, the finishing
    transaction stores the result with its pending delivery, and the delivery is handed to the queue."""
    store, queue = SessionStore(client), JobQueue(client, [5, 10])
    rng = random.Random(seed)
    people = []
    for number in range(count):
        user_id, channel = f"U0W{number:05d}", f"C0W{number:05d}"
        respondent = Respondent(team_id=team_id, user_id=user_id)
        dm = slack.conversations_open(users=user_id)["channel"]["id"]
        question_ts = str(slack.chat_postMessage(channel=dm, text=LAST_QUESTION)["ts"])
        record, last = answered_but_last(respondent, bank, random_answers(bank, rng))
        shown = {"origin_channel": channel, "dm_channel": dm, "message_ts": question_ts}
        store.start(record.model_copy(update=shown), may_replace=lambda _: True)
        applied = apply(
            store, CATALOG, respondent, record.session_id, last, question_ts, pending_delivery=True
        )
        assert applied.record.result_id is not None, "the last answer did not finish the assessment"
        ref = DeliveryRef(team_id, "personal", applied.record.result_id)
        queue.deliver(ref)
        people.append(Person(user_id, channel, ref))
    return people


def wait_until_delivered(outbox: Outbox, refs: Sequence[DeliveryRef], timeout: float) -> int:
    """Wait until every delivery is delivered, or `timeout` seconds; how many are."""
    deadline = time.monotonic() + timeout
    while True:
        pipe = outbox.redis.pipeline(transaction=False)
        for ref in refs:
            pipe.hget(ref.key, "state")
        delivered = sum(state == DELIVERED.encode() for state in pipe.execute())
        if delivered == len(refs) or time.monotonic() > deadline:
            return delivered
        time.sleep(0.05)


def timestamp(moment: datetime | None) -> float:
    if moment is None:
        raise ValueError("a job with no start or end recorded")
    return moment.replace(tzinfo=UTC).timestamp()


def spread(values: Sequence[float]) -> str:
    """p50 / p90 / max, in ms."""
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered) * 1000:,.0f} / {p90 * 1000:,.0f} / {ordered[-1] * 1000:,.0f}"


def check_each_once(fake: FakeSlack, people: Sequence[Person]) -> list[str]:
    """What is wrong with what Slack got: each channel one summary with its details in the thread, each
    DM the report in place of the last question and nothing else."""
    wrong = []
    for person in people:
        in_channel = fake.messages(person.channel)
        summaries = [m for m in in_channel if "thread_ts" not in m]
        details = [
            m for m in in_channel if summaries and m.get("thread_ts") == summaries[0]["ts"] and m["text"]
        ]
        if len(summaries) != 1 or len(details) != 1:
            wrong.append(f"{person.channel}: {len(summaries)} summaries, {len(details)} details")
        in_dm = [m for m in fake.messages(fake.dm_channel_id(person.user_id)) if "thread_ts" not in m]
        if len(in_dm) != 1 or in_dm[0].get("text") == LAST_QUESTION:
            wrong.append(f"the DM of {person.user_id}: {len(in_dm)} messages, the report not in place")
    return wrong


def chart_cpu_seconds(bank: QuestionBank, times: int = 10) -> float:
    """The median CPU time of drawing a report's chart (bot/render/chart.py) in this thread: what each
    delivery spends on it in the worker, where a process's threads share one core."""
    rng = random.Random(7)
    spent = []
    for _ in range(times):
        report = score(bank, random_answers(bank, rng))
        current = summary_of_report(report, "chart", time.time())
        started = time.thread_time()
        chart_png(current, None, build_view(report))
        spent.append(time.thread_time() - started)
    return statistics.median(spent)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=200, help="people finishing, one report each")
    parser.add_argument(
        "--slack-latency-ms",
        type=float,
        default=50.0,
        help="how long the fake Slack takes to answer each call",
    )
    parser.add_argument("--worker-threads", type=int, help="WORKER_THREADS; unset, the worker's default")
    parser.add_argument("--bank", default="pulse", help="the bank the people answer")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for every report")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    client = redis.Redis.from_url(args.redis_url, socket_timeout=10, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.ConnectionError as error:
        print(f"worker_throughput: no Redis answers at {args.redis_url}: {error}", file=sys.stderr)
        return 2
    bank = CATALOG.by_id(args.bank)
    team_id = f"TWORK{uuid.uuid4().hex[:8].upper()}"
    outbox, queue = Outbox(client), JobQueue(client, [])
    threads = "the default" if args.worker_threads is None else str(args.worker_threads)
    print(
        f"One worker process (WORKER_THREADS {threads}) delivering {args.reports} reports of the {bank.id} "
        f"bank, Slack answering each call in {args.slack_latency_ms:g} ms; Redis {args.redis_url} "
        f"(workspace {team_id}), {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f} at the start",
        flush=True,
    )
    with FakeSlack() as fake:
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": fake.base_url,
            "REDIS_URL": args.redis_url,
            "LOG_LEVEL": "WARNING",
        }
        if args.worker_threads is not None:
            env["WORKER_THREADS"] = str(args.worker_threads)
        try:
            people = finish_assessments(
                client, WebClient(token=BOT_TOKEN, base_url=fake.base_url), bank, team_id, args.reports
            )
            calls_before = len(fake.calls)
            fake.set_latency(args.slack_latency_ms / 1000)
            worker = start_worker(env)
            try:
                delivered = wait_until_delivered(outbox, [p.ref for p in people], args.timeout)
            finally:
                stop(worker.process)
            calls = len(fake.calls) - calls_before
            jobs = [
                job
                for job in Job.fetch_many([delivery_job_id(p.ref) for p in people], connection=client)
                if job is not None and job.started_at is not None and job.ended_at is not None
            ]
            wrong = check_each_once(fake, people)
        finally:
            queue.forget(Naming(team_id))
            delete_workspace(client, team_id)
    if delivered < len(people) or not jobs:
        print(
            f"only {delivered} of {len(people)} reports delivered within {args.timeout:g} s", file=sys.stderr
        )
        print(worker.log()[-4000:], file=sys.stderr)
        return 1
    first = min(timestamp(job.started_at) for job in jobs)
    last = max(timestamp(job.ended_at) for job in jobs)
    in_worker = [timestamp(job.ended_at) - timestamp(job.started_at) for job in jobs]
    since_first = [timestamp(job.ended_at) - first for job in jobs]
    print(f"reports delivered: {delivered}/{len(people)} in {last - first:.2f} s")
    print(f"reports per second: {len(jobs) / (last - first):.2f}")
    print(f"ms per report in the worker p50 / p90 / max: {spread(in_worker)}")
    print(f"ms from the first report's start to each delivered p50 / p90 / max: {spread(since_first)}")
    print(f"Web API calls per report: {calls / len(people):.1f}")
    chart_png(summary_of_report(score(bank, random_answers(bank, random.Random(1))), "warm", time.time()))
    print(f"ms of CPU to draw a report's chart, median: {chart_cpu_seconds(bank) * 1000:.0f}")
    print(f"each channel and DM got its report once: {'yes' if not wrong else 'NO'}")
    for line in wrong[:20]:
        print(f"  {line}")
    return 0 if not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
