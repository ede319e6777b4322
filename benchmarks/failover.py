"""What a Redis Sentinel failover costs the people using the app: the real `serve`, `worker` and `clock`
on a primary, one replica and three sentinels (local `redis-server` processes), the fake Slack, and people
mid-assessment when the primary is killed (SIGKILL).

Before the kill every person starts the pulse with the signed slash command; some finish it (their reports
are on their way through the worker as the primary dies) and the rest answer part of it. The primary is
killed, and at once everyone still answering goes on clicking: a click that meets the outage is answered
with the try-again reply, and the person clicks the same button again a moment later, until it takes. Then
every person finishes and every report is delivered.

    python benchmarks/failover.py                 # 50 people, 10 of them finishing as the primary dies

It prints: the seconds without service (from the first click that met the outage to the first that took
again), how long the sentinels took to promote the replica, the answers lost (answers acknowledged before
the kill that the promoted replica does not have: Redis replicates asynchronously, so this is measured,
not assumed), and the reports delivered once, more than once and not at all. tests/e2e/test_failover.py
runs the same scenario and asserts what must hold.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import redis

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.cli.worker import jobs_lines
from bot.engine.conversation import Conversation
from bot.slack.replies import UNAVAILABLE
from bot.slack.values import KEEP_GOING_ACTION
from bot.store.heartbeats import ClockHeartbeats
from bot.store.jobs import JobQueue
from bot.store.outbox import Outbox
from bot.store.sessions import Respondent, SessionRecord
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import AppProcess, Worker, app_process, free_port, start_clock, stop
from playground.fakeslack.server import MessageEvent
from playground.fakeslack.workspace import Button, HttpTransport, SlackUser, buttons_of

MASTER_NAME = "mlops-compass"
SIGNING_SECRET = "failover-signing-secret-0123456789"
BANK = "pulse"
REPORT_TEXT = "MLOps maturity report"
# A sentinel calls the primary down after a second of silence; two of three must agree.
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000
# How long a person waits after the try-again reply before clicking again.
RETRY_PAUSE = 0.25
WAIT = 30.0


# The Redis servers ----------------------------------------------------------------------------------------


class SentinelRedis:
    """A primary, one replica and three sentinels watching them, each a local redis-server on a free port,
    without persistence; `stop` ends every process it started."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is required and is not installed")
        self.binary = binary
        self.directory = directory
        self.primary_port = free_port()
        self.replica_port = free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def sentinels(self) -> str:
        """REDIS_SENTINELS for these sentinels."""
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def _server(self, port: int, *arguments: str) -> None:
        where = ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        self.processes[port] = subprocess.Popen(
            [self.binary, *arguments, *where, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> None:
        # With the one replica there is no one else to wait for before its first sync (Redis waits 5 s).
        self._server(self.primary_port, "--repl-diskless-sync-delay", "0")
        self._server(self.replica_port, "--replicaof", "127.0.0.1", str(self.primary_port))
        # Each sentinel is told its peers and the replica up front: found on their own, through the
        # primary's INFO (every 10 s) and its hello channel, they take up to ten seconds more.
        ids = {port: uuid.uuid4().hex + uuid.uuid4().hex[:8] for port in self.sentinel_ports}
        for port in self.sentinel_ports:
            config = self.directory / f"sentinel-{port}.conf"
            peers = [
                f"sentinel known-sentinel {MASTER_NAME} 127.0.0.1 {peer} {ids[peer]}\n"
                for peer in self.sentinel_ports
                if peer != port
            ]
            config.write_text(
                f"sentinel myid {ids[port]}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.primary_port} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n"
                f"sentinel known-replica {MASTER_NAME} 127.0.0.1 {self.replica_port}\n" + "".join(peers)
            )
            self.processes[port] = subprocess.Popen(
                [self.binary, str(config), "--sentinel", "--port", str(port), "--bind", "127.0.0.1"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        self._wait_until_watched()

    def _wait_until_watched(self) -> None:
        """Until the replica follows the primary and every sentinel knows the replica and the two other
        sentinels: only then can they agree the primary is down and promote the replica."""
        replica = self.client(self.replica_port)
        sentinels = [self.client(port) for port in self.sentinel_ports]

        def watched() -> bool:
            try:
                if replica.info("replication").get("master_link_status") != "up":
                    return False
                states: list[Any] = [sentinel.sentinel_master(MASTER_NAME) for sentinel in sentinels]
            except (redis.ConnectionError, redis.ResponseError):
                return False
            return all(s["num-slaves"] == 1 and s["num-other-sentinels"] == 2 for s in states)

        wait_until(watched, "the sentinels to watch the primary, its replica and each other", 30.0)

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=2, socket_connect_timeout=2)

    def master_port(self) -> int | None:
        """The primary's port as a majority of the sentinels name it."""
        named: list[int] = []
        for port in self.sentinel_ports:
            try:
                address: Any = self.client(port).sentinel_get_master_addr_by_name(MASTER_NAME)
            except redis.ConnectionError:
                continue
            if address:
                named.append(int(address[1]))
        for candidate in set(named):
            if named.count(candidate) >= 2:
                return candidate
        return None

    def kill_primary(self) -> None:
        process = self.processes[self.primary_port]
        process.send_signal(signal.SIGKILL)
        process.wait()

    def wait_for_promotion(self, timeout: float) -> None:
        """Until the sentinels name the replica as the primary and it takes writes."""
        replica = self.client(self.replica_port)

        def promoted() -> bool:
            if self.master_port() != self.replica_port:
                return False
            try:
                return replica.info("replication").get("role") == "master"
            except redis.ConnectionError:
                return False

        wait_until(promoted, "the sentinels to promote the replica", timeout)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until(check: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        time.sleep(0.05)


@contextmanager
def sentinel_redis(directory: Path) -> Iterator[SentinelRedis]:
    servers = SentinelRedis(directory)
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()


# The app --------------------------------------------------------------------------------------------------


def app_env(fake: FakeSlack, servers: SentinelRedis) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-failover-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.base_url,
        # Nothing listens here: with REDIS_SENTINELS set, only its database number counts.
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "REDIS_SENTINELS": servers.sentinels,
        "REDIS_SENTINEL_MASTER": MASTER_NAME,
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "INFO",
        "DELIVERY_RETRY_SECONDS": "[1, 2, 5]",
        "OUTBOX_SWEEP_SECONDS": "3",
        "CLOCK_TICK_SECONDS": "0.5",
    }


@contextmanager
def clock_process(env: dict[str, str]) -> Iterator[Worker]:
    """`mlops-compass clock` beside the app; stopped on the way out."""
    clock = start_clock(env)
    try:
        yield clock
    finally:
        stop(clock.process)


# The people -----------------------------------------------------------------------------------------------


@dataclass
class Click:
    person: int
    sent: float  # time.monotonic()
    answered: float
    outcome: str  # "took", "try again", or the text of another reply
    status: int


@dataclass
class Person:
    """One person, and what reached them, as the fake Slack's hook tells it."""

    user: SlackUser
    question: dict[str, Any] | None = None  # the DM message asking something, None once it shows none
    shown: int = 0  # how many times the DM's question changed
    replies: list[str] = field(default_factory=list)  # what the app sent to this person's response URLs
    reports: int = 0  # report summaries posted in the person's channel
    acknowledged: set[str] = field(default_factory=set)  # question ids whose click took
    changed: threading.Condition = field(default_factory=threading.Condition)

    def saw(self, question: dict[str, Any] | None) -> None:
        with self.changed:
            self.question = question
            self.shown += 1
            self.changed.notify_all()

    def replied(self, text: str) -> None:
        with self.changed:
            self.replies.append(text)
            self.changed.notify_all()

    def report_posted(self) -> None:
        with self.changed:
            self.reports += 1
            self.changed.notify_all()

    def wait(self, until: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        with self.changed:
            if not self.changed.wait_for(until, timeout):
                raise AssertionError(f"{self.user.user_id}: no {what} within {timeout}s")


def asks_something(blocks: Sequence[dict[str, Any]] | None) -> bool:
    return any(
        b.action_id.startswith("answer") or b.action_id == KEEP_GOING_ACTION
        for b in buttons_of({"blocks": blocks or []})
    )


class Audience:
    """Routes what the fake Slack shows to the person it reached."""

    def __init__(self, people: Sequence[Person]) -> None:
        self.by_dm = {p.user.dm_channel: p for p in people}
        self.by_channel = {p.user.channel_id: p for p in people}
        self.by_user = {p.user.user_id: p for p in people}

    def __call__(self, event: MessageEvent) -> None:
        channel = event["channel"] or ""
        method = event["method"]
        if method == "response_url" and event["visible_to"] in self.by_user:
            self.by_user[event["visible_to"]].replied(event["text"] or "")
        elif method in ("chat.postMessage", "chat.update") and channel in self.by_dm:
            blocks = event["blocks"]
            if asks_something(blocks):
                self.by_dm[channel].saw({"ts": event["ts"], "text": event["text"] or "", "blocks": blocks})
            elif method == "chat.update":
                self.by_dm[channel].saw(None)
        elif (
            method == "chat.postMessage"
            and channel in self.by_channel
            and not event["thread_ts"]
            and (event["text"] or "").startswith(REPORT_TEXT)
        ):
            self.by_channel[channel].report_posted()


def next_button(question: dict[str, Any]) -> Button:
    """The first answer; at the offer to stop once the overall level is settled, Keep going."""
    buttons = buttons_of(question)
    keep_going = [b for b in buttons if b.action_id == KEEP_GOING_ACTION]
    return keep_going[0] if keep_going else next(b for b in buttons if b.action_id.startswith("answer"))


def question_id(button: Button) -> str | None:
    return json.loads(button.value).get("q") if button.action_id.startswith("answer") else None


@dataclass
class Scenario:
    """The people's clicks, each with when it was sent, when it was answered and how."""

    fake: FakeSlack
    app: AppProcess
    people: list[Person]
    clicks: list[Click] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, index: int) -> None:
        person = self.people[index]
        acknowledged = person.user.command(f"start {BANK}")
        assert acknowledged.status == 200, acknowledged.body
        # The word that it started comes to the command's response URL, apart from any click's answer.
        person.wait(lambda: person.question is not None and len(person.replies) == 1, "first question")

    def click(self, index: int) -> str:
        """Click the next button of the person's question once: "took", "try again", or what else the
        app answered."""
        person = self.people[index]
        with person.changed:
            question, shown, replies = person.question, person.shown, len(person.replies)
        assert question is not None
        button = next_button(question)
        sent = time.monotonic()
        acknowledged = person.user.click(question, button)
        if acknowledged.status != 200:
            outcome = f"HTTP {acknowledged.status}"
        else:
            person.wait(lambda: person.shown > shown or len(person.replies) > replies, "answer to a click")
            with person.changed:
                took = person.shown > shown
                outcome = "took" if took else person.replies[replies]
        if outcome == UNAVAILABLE:
            outcome = "try again"
        with self.lock:
            self.clicks.append(Click(index, sent, time.monotonic(), outcome, acknowledged.status))
        answered = question_id(button)
        if outcome == "took" and answered is not None:
            person.acknowledged.add(answered)
        return outcome

    def answer(self, index: int, count: int | None = None) -> None:
        """Answer `count` questions (all of them with None), clicking again after a try-again reply. Any
        other reply (a question the promoted replica never saw answered) is met as a person would: ask
        for the current question again with `resume`."""
        person = self.people[index]
        answered = 0
        while person.question is not None and (count is None or answered < count):
            outcome = self.click(index)
            if outcome == "took":
                answered += 1
            elif outcome == "try again":
                time.sleep(RETRY_PAUSE)
            else:
                self.resume(index)

    def resume(self, index: int) -> None:
        person = self.people[index]
        with person.changed:
            shown = person.shown
        assert person.user.command("resume").status == 200
        person.wait(lambda: person.shown > shown, "question sent again")


def new_people(fake: FakeSlack, app: AppProcess, count: int) -> list[Person]:
    people = []
    for _ in range(count):
        suffix = uuid.uuid4().hex[:10].upper()
        user = SlackUser(
            fake,
            HttpTransport(app.events_url, SIGNING_SECRET),
            user_id=f"U{suffix}",
            channel_id=f"C{suffix}",
            team_id=f"TF{suffix}",
        )
        people.append(Person(user))
    return people


# The run --------------------------------------------------------------------------------------------------


@dataclass
class Figures:
    people: int
    finishing_at_kill: int
    reports_on_their_way: int  # reports the outbox held, not yet delivered, as the primary was killed
    promotion_seconds: float  # from the kill to the sentinels naming the replica primary
    outage_seconds: float  # from the first click that met the outage to the first that took after it
    clicks_in_outage: int  # clicks that got the try-again reply
    other_replies: list[str]  # what else clicks got: an HTTP error, or a reply that is not the try-again one
    answers_acknowledged: int  # before the kill
    answers_lost: int  # of those, missing on the promoted replica
    reports_once: int
    reports_twice_or_more: int
    reports_missing: int
    unfinished: int  # people left with a question after the run
    pending_reports: int  # reports the outbox still holds at the end
    clock_beat_after_promotion: bool
    processes_alive: bool
    web_tracebacks: int

    def lines(self) -> list[str]:
        return [
            f"people: {self.people}, {self.finishing_at_kill} of them finishing as the primary is killed "
            f"({self.reports_on_their_way} reports on their way through the worker then)",
            f"replica promoted by the sentinels: {self.promotion_seconds:.1f} s after the kill",
            f"seconds without service (first click that met the outage to the first that took): "
            f"{self.outage_seconds:.1f} s",
            f"clicks answered with the try-again reply: {self.clicks_in_outage}; other replies: "
            f"{len(self.other_replies)}",
            f"answers lost: {self.answers_lost} of {self.answers_acknowledged} acknowledged before the kill",
            f"reports delivered once: {self.reports_once} of {self.people}; more than once: "
            f"{self.reports_twice_or_more}; not delivered: {self.reports_missing}",
            f"people who could not finish: {self.unfinished}; reports still pending: {self.pending_reports}",
            f"clock beat on the promoted replica: {'yes' if self.clock_beat_after_promotion else 'no'}; "
            f"web, worker and clock still running: {'yes' if self.processes_alive else 'no'}",
        ]


def has_a_report(person: Person) -> bool:
    return person.reports >= 1


def lost_answers(client: redis.Redis, people: Sequence[Person]) -> int:
    """Answers acknowledged before the kill that the promoted replica's sessions lack."""
    lost = 0
    for person in people:
        respondent = Respondent(team_id=person.user.team_id, user_id=person.user.user_id)
        raw = client.get(respondent.session_key)
        stored: set[str] = set()
        if raw is not None:
            record = SessionRecord.model_validate_json(raw)
            stored = set(Conversation.from_dict(record.conversation).answers)
        lost += len(person.acknowledged - stored)
    return lost


def run(people_count: int = 50, finishing: int = 10, answered_before: int = 4, threads: int = 10) -> Figures:
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mlops-compass-failover-")))
        servers = stack.enter_context(sentinel_redis(directory))
        fake = stack.enter_context(FakeSlack())
        env = app_env(fake, servers)
        app = stack.enter_context(app_process(env))
        clock = stack.enter_context(clock_process(env))
        people = new_people(fake, app, people_count)
        fake.on_message = Audience(people)
        scenario = Scenario(fake, app, people)
        pool = stack.enter_context(ThreadPoolExecutor(threads))

        # Before the kill: everyone starts; some answer everything, the rest part of it.
        list(pool.map(scenario.start, range(people_count)))
        going_on = range(finishing, people_count)
        list(pool.map(lambda i: scenario.answer(i, answered_before), going_on))
        list(pool.map(scenario.answer, range(finishing)))
        acknowledged = sum(len(p.acknowledged) for p in people)

        waiting_at_kill = Outbox(servers.client(servers.primary_port)).count()
        servers.kill_primary()
        killed_at = time.monotonic()
        clicks_before = len(scenario.clicks)
        answering = [pool.submit(scenario.answer, i) for i in going_on]
        servers.wait_for_promotion(WAIT)
        promoted_at, promoted_wall = time.monotonic(), time.time()
        promoted = servers.client(servers.replica_port)
        lost = lost_answers(promoted, people)
        for future in answering:
            future.result()

        for person in people:
            person.wait(partial(has_a_report, person), "report in the channel", WAIT)
        outbox = Outbox(promoted)
        try:
            wait_until(lambda: outbox.count() == 0, "the outbox to empty", WAIT)
        except AssertionError as error:
            listed = jobs_lines(JobQueue(promoted, retry_seconds=()), outbox, time.time())
            raise AssertionError("\n".join([str(error), *listed])) from None
        heartbeats = ClockHeartbeats(promoted)
        try:
            wait_until(lambda: (heartbeats.latest() or 0) > promoted_wall, "the clock to beat", WAIT)
            clock_beat = True
        except AssertionError:
            clock_beat = False

        after_kill = scenario.clicks[clicks_before:]
        failed = [c for c in after_kill if c.outcome != "took"]
        first_failure = min((c.sent for c in failed), default=killed_at)
        first_success = min(
            (c.answered for c in after_kill if c.outcome == "took" and c.sent >= first_failure),
            default=first_failure,
        )
        processes = [app.process, clock.process] + ([app.worker.process] if app.worker else [])
        return Figures(
            people=people_count,
            finishing_at_kill=finishing,
            reports_on_their_way=waiting_at_kill,
            promotion_seconds=promoted_at - killed_at,
            outage_seconds=first_success - first_failure,
            clicks_in_outage=sum(c.outcome == "try again" for c in failed),
            other_replies=[c.outcome for c in failed if c.outcome != "try again"],
            answers_acknowledged=acknowledged,
            answers_lost=lost,
            reports_once=sum(p.reports == 1 for p in people),
            reports_twice_or_more=sum(p.reports > 1 for p in people),
            reports_missing=sum(p.reports == 0 for p in people),
            unfinished=sum(p.question is not None for p in people),
            pending_reports=outbox.count(),
            clock_beat_after_promotion=clock_beat,
            processes_alive=all(p.poll() is None for p in processes),
            web_tracebacks=app.log().count("Traceback"),
        )
    raise AssertionError("unreachable")  # ExitStack does not swallow exceptions


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--finishing", type=int, default=10, help="people finishing as the primary dies")
    parser.add_argument("--answered", type=int, default=4, help="answers the others give before the kill")
    args = parser.parse_args(argv)
    figures = run(args.people, args.finishing, args.answered)
    print(
        f"Redis Sentinel failover: {' '.join(['python', 'benchmarks/failover.py', *(argv or sys.argv[1:])])}"
    )
    for line in figures.lines():
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
