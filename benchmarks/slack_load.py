"""How the Slack app holds up when many people take an assessment at once, against the least Bolt can do.

In one run it starts, on 127.0.0.1 only:

- the fake Slack Web API (playground/fakeslack), which records what each app posts;
- the real app, `mlops-compass serve` over HTTP (gunicorn), on a real Redis, with `--report-workers`
  `mlops-compass worker` processes delivering the reports;
- the "bare Bolt floor" (benchmarks/bare_bolt.py): a Bolt app behind the same gunicorn set-up that only
  acknowledges a click and calls `chat.update` once, putting back the app's own first question; no app
  can answer faster, so it bounds answers/s.

People send the requests Slack sends, signed as Slack signs them, and then:

- open loop: each of `--people` people types the slash command and answers every question, thinking
  `--think` seconds (uniformly drawn, times `--think-scale`) after each question shows before clicking;
  their starts are spread over `--ramp` seconds. Measured: the acknowledgement latency of every request
  (the HTTP response time), the time from a click to the fake Slack applying the `chat.update` that shows
  the next question, whether each person's report reached their channel exactly once, and the report
  latency: from the click that finished an assessment to its report's summary in the person's channel;
- closed loop: for each count in `--closed`, that many people click without pause for `--duration`
  seconds (starting again when they finish): answers/s of the app and of the floor, and their ratio;
- burst, with `--burst`: that many people answer without pause up to their last question (keeping going
  at the offer to stop), on the `--burst-bank` (the pulse by default: its few questions keep the lead-in
  short), then all send their last answer, spread evenly over `--burst-window` seconds. Measured: the
  report latency of each, how many reports came within 30 s, and whether each came exactly once. Which
  click is the last is known beforehand from the engine's own copy of each conversation.

    python benchmarks/slack_load.py [--people 500] [--closed 50,200] [--think 2.5-7.5] [--think-scale 1]
                                    [--workers 2] [--duration 20] [--burst 0] [--burst-window 10]
                                    [--burst-bank pulse] [--report-workers 1]
                                    [--redis-url redis://127.0.0.1:6379/14]

Only the burst: `--people 0 --closed 0 --burst 200`.

Its people live in a workspace of their own (TLOAD…), whose keys it deletes when the app has stopped.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import redis
from clock_tick import clean as delete_workspace
from slack_sdk import WebClient

from bot.cli.web import THREADS_PER_WORKER

# Everything taken from the app and its fake Slack, in one place: where a module moves, one line changes.
from bot.engine.answers import decode_answer
from bot.engine.bank import QuestionBank
from bot.engine.catalog import BankCatalog
from bot.engine.conversation import AnswerQuestion, Conversation, KeepGoing, ShowReport, advance
from bot.settings import WorkerSettings
from bot.slack.blocks import question_message
from bot.slack.values import KEEP_GOING_ACTION, QuestionButton
from bot.store.jobs import JobQueue
from bot.store.sessions import Respondent
from bot.usecases.personal import new_session
from playground.fakeslack import FakeSlack, MessageEvent
from playground.fakeslack.app_process import AppProcess, app_process, child_environment, free_port
from playground.fakeslack.workspace import Button, HttpTransport, SlackUser, buttons_of

SIGNING_SECRET = "load-signing-secret-0123456789"
BOT_TOKEN = "xoxb-load-token"
BENCHMARKS = Path(__file__).resolve().parent
# The bare floor shows the default bank's first question, as many times as the bank has questions.
CATALOG = BankCatalog.from_directory()
MLOPS = CATALOG.get("mlops")
QUESTIONS = len(MLOPS.questions)
# How long a person waits for what a request leads to before giving up on the rest of their assessment.
REACTION_TIMEOUT = 60.0
# An acknowledgement slower than this is listed with when it was sent.
SLOW_ACK = 0.25


# The people ------------------------------------------------------------------------------------------


@dataclass
class Shown:
    """What a person's DM shows them, as the fake Slack last applied it."""

    version: int = 0
    at: float = 0.0
    question: dict[str, Any] | None = None  # the message offering answers, or None once it shows a report


class Person:
    """One person in the load: a SlackUser, and what reached them, as the fake Slack's hook tells it."""

    def __init__(self, fake: FakeSlack, transport: HttpTransport, team_id: str, seed: int) -> None:
        suffix = uuid.uuid4().hex[:10].upper()
        self.user = SlackUser(fake, transport, user_id=f"U{suffix}", channel_id=f"C{suffix}", team_id=team_id)
        self.dm_channel = self.user.dm_channel
        self.rng = random.Random(seed)
        self.shown = Shown()
        self.reports: list[float] = []
        # When the click that finished the assessment was sent: a report's latency runs from it.
        self.final_click: float | None = None
        self.changed = threading.Condition()

    def saw(self, question: dict[str, Any] | None) -> None:
        with self.changed:
            self.shown = Shown(self.shown.version + 1, time.monotonic(), question)
            self.changed.notify_all()

    def report_posted(self) -> None:
        with self.changed:
            self.reports.append(time.monotonic())
            self.changed.notify_all()

    def wait_past(self, version: int, timeout: float = REACTION_TIMEOUT) -> Shown | None:
        with self.changed:
            self.changed.wait_for(lambda: self.shown.version > version, timeout)
            return self.shown if self.shown.version > version else None

    def wait_for_reports(self, count: int, deadline: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: len(self.reports) >= count, max(0.0, deadline - time.monotonic()))

    def report_latency(self) -> float | None:
        """From the final click to the first report in the channel; None without either."""
        if self.final_click is None or not self.reports:
            return None
        return self.reports[0] - self.final_click

    def answer(self, question: dict[str, Any]) -> Button:
        """A random answer; at the offer to stop once the overall level is settled, Keep going, so that
        every assessment asks what an adaptive run asks to the end."""
        buttons = buttons_of(question)
        keep_going = [b for b in buttons if b.action_id == KEEP_GOING_ACTION]
        return (
            keep_going[0]
            if keep_going
            else self.rng.choice([b for b in buttons if b.action_id.startswith("answer")])
        )


def offers_answers(blocks: Sequence[dict[str, Any]] | None) -> bool:
    """A question, or the offer to stop (which the person answers by keeping going)."""
    return any(
        b.action_id.startswith("answer") or b.action_id == KEEP_GOING_ACTION
        for b in buttons_of({"blocks": blocks or []})
    )


class Audience:
    """Routes what the fake Slack applies to the person it reached: a question (or the report replacing it)
    in their DM, or a report's summary in their channel (its details, in the thread, are not counted)."""

    def __init__(self) -> None:
        self.by_dm: dict[str, Person] = {}
        self.by_channel: dict[str, Person] = {}

    def add(self, person: Person) -> None:
        self.by_dm[person.dm_channel] = person
        self.by_channel[person.user.channel_id] = person

    def __call__(self, event: MessageEvent) -> None:
        channel = event["channel"] or ""
        if event["method"] not in ("chat.postMessage", "chat.update"):
            return
        if channel in self.by_dm:
            blocks = event["blocks"]
            if offers_answers(blocks):
                self.by_dm[channel].saw({"ts": event["ts"], "text": event["text"] or "", "blocks": blocks})
            elif event["method"] == "chat.update":
                self.by_dm[channel].saw(None)
        elif channel in self.by_channel and event["method"] == "chat.postMessage" and not event["thread_ts"]:
            self.by_channel[channel].report_posted()


# What is measured ------------------------------------------------------------------------------------


@dataclass
class Figures:
    """What one loop measured; people's threads add to it as they go."""

    sent: int = 0
    acks: list[float] = field(default_factory=list)  # the response time of each request acknowledged
    click_to_question: list[float] = field(default_factory=list)
    # The response time of each assessment's last click: the one that stores the result and its report.
    final_acks: list[float] = field(default_factory=list)
    answers: int = 0
    stalled: int = 0  # requests acknowledged whose outcome never showed
    # Acknowledgements slower than SLOW_ACK: (seconds since the loop began, what was sent), to tell a
    # start-up burst from a steady tail.
    slow: list[tuple[float, str]] = field(default_factory=list)
    began: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ack(self, send: Callable[[], Any], what: str = "click") -> float | None:
        """Send a request; its response time when the app acknowledged it (HTTP 200) before the transport
        gave up, else None."""
        with self.lock:
            self.sent += 1
        sent_at = time.monotonic() - self.began
        try:
            acknowledgement = send()
        except OSError:
            return None
        if acknowledgement.status != 200:
            return None
        self.acks.append(acknowledgement.elapsed)
        if acknowledgement.elapsed > SLOW_ACK:
            with self.lock:
                self.slow.append((sent_at, what))
        return float(acknowledgement.elapsed)

    def slow_text(self) -> str:
        """How many acks were slow, how many of them commands, and when the first and last were sent."""
        if not self.slow:
            return "0"
        commands = sum(1 for _, what in self.slow if what == "command")
        times = sorted(at for at, _ in self.slow)
        return f"{len(self.slow)} ({commands} cmd) at {times[0]:.0f}-{times[-1]:.0f} s"

    def answered(self, click_to_question: float | None, ack: float) -> None:
        """One answer shown; `click_to_question` None for the last, whose ack is kept apart."""
        with self.lock:
            self.answers += 1
            if click_to_question is not None:
                self.click_to_question.append(click_to_question)
            else:
                self.final_acks.append(ack)

    def stall(self) -> None:
        with self.lock:
            self.stalled += 1


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value at least `fraction` of them do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def spread_ms(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return " / ".join(
        f"{v * 1000:,.1f}" for v in (percentile(values, 0.5), percentile(values, 0.99), max(values))
    )


def latency_spread_ms(people: Sequence[Person]) -> str:
    """p50 / p95 / p99 / max of the reports' latencies, from each final click sent: a report that never
    came ranks above every one that did, so a percentile it falls on reads "missing", not a faster one."""
    sent = [p for p in people if p.final_click is not None]
    if not sent:
        return "-"
    latencies = [p.report_latency() for p in sent]
    ranked = sorted(math.inf if latency is None else latency for latency in latencies)
    return " / ".join(
        "missing" if math.isinf(v) else f"{v * 1000:,.1f}"
        for v in (*(percentile(ranked, f) for f in (0.5, 0.95, 0.99)), ranked[-1])
    )


# The two apps ----------------------------------------------------------------------------------------


class Target(Protocol):
    """An app under load: how a person starts, and when they are done with an assessment."""

    events_url: str

    def start(self, person: Person, figures: Figures) -> bool:
        """Ask for the first question; True once it shows."""

    def finished(self, shown: Shown, clicks: int) -> bool: ...


class CompassApp:
    """The app, started with the slash command's `text` (the default bank's adaptive run when empty)."""

    def __init__(self, process: AppProcess, text: str = "") -> None:
        self.events_url = process.events_url
        self.text = text

    def start(self, person: Person, figures: Figures) -> bool:
        version = person.shown.version
        if figures.ack(lambda: person.user.command(self.text), what="command") is None:
            return False
        return _question_after(person, version, figures)

    def finished(self, shown: Shown, clicks: int) -> bool:
        return shown.question is None


class BareFloor:
    """The app's own first question, which the driver posts itself; the floor's app puts it back unchanged
    on each click, `questions` times per assessment. The same message as the app's, so both receive clicks
    and send updates of the same size and differ only in what they do for an answer."""

    def __init__(self, process: AppProcess, fake: FakeSlack, questions: int) -> None:
        self.events_url = process.events_url
        self.client = WebClient(token=BOT_TOKEN, base_url=fake.base_url)
        self.questions = questions

    def start(self, person: Person, figures: Figures) -> bool:
        version = person.shown.version
        respondent = Respondent(team_id=person.user.team_id, user_id=person.user.user_id)
        record, first = new_session(respondent, MLOPS, None)
        question = question_message(MLOPS, first, person.user.user_id, record.session_id)
        self.client.chat_postMessage(channel=person.user.user_id, **question.as_kwargs())
        return _question_after(person, version, figures)

    def finished(self, shown: Shown, clicks: int) -> bool:
        return clicks >= self.questions


def _question_after(person: Person, version: int, figures: Figures) -> bool:
    shown = person.wait_past(version)
    if shown is None or shown.question is None:
        figures.stall()
        return False
    return True


def click(
    target: Target,
    person: Person,
    figures: Figures,
    question: dict[str, Any],
    clicks: int,
    button: Button | None = None,
) -> Shown | None:
    """Answer the question shown (with `button`, else a random answer); what the DM shows next, or None
    when the app did not get there."""
    chosen = button or person.answer(question)
    version = person.shown.version
    sent = time.monotonic()
    acknowledged_in = figures.ack(lambda: person.user.click(question, chosen))
    if acknowledged_in is None:
        return None
    shown = person.wait_past(version)
    if shown is None:
        figures.stall()
        return None
    finished = target.finished(shown, clicks + 1)
    if finished:
        person.final_click = sent
    figures.answered(None if finished else shown.at - sent, acknowledged_in)
    return shown


def assess(
    target: Target, person: Person, figures: Figures, think: Callable[[], float], until: float
) -> bool:
    """One whole assessment: the command, then an answer to each question. True when it was finished."""
    if not target.start(person, figures):
        return False
    clicks = 0
    while time.monotonic() < until:
        question = person.shown.question
        assert question is not None
        time.sleep(think())
        shown = click(target, person, figures, question, clicks)
        if shown is None:
            return False
        clicks += 1
        if target.finished(shown, clicks):
            return True
    return False


def new_people(target: Target, fake: FakeSlack, audience: Audience, team_id: str, count: int) -> list[Person]:
    transport = HttpTransport(target.events_url, SIGNING_SECRET)
    people = [Person(fake, transport, team_id, seed=n) for n in range(count)]
    for person in people:
        audience.add(person)
    return people


def start_threads(work: Callable[[int], None], count: int) -> list[threading.Thread]:
    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    return threads


@dataclass
class OpenLoop:
    figures: Figures
    people: list[Person]
    finished: int
    seconds: float


def open_loop(
    target: Target, fake: FakeSlack, audience: Audience, team_id: str, args: argparse.Namespace
) -> OpenLoop:
    figures = Figures()
    people = new_people(target, fake, audience, team_id, args.people)
    low, high = (float(bound) * args.think_scale for bound in args.think)
    ramp = float(args.ramp * args.think_scale)
    finished = []
    started = time.monotonic()
    until = started + args.max_seconds

    def work(n: int) -> None:
        person = people[n]
        time.sleep(person.rng.uniform(0, ramp))

        def think() -> float:
            return person.rng.uniform(low, high)

        if assess(target, person, figures, think, until):
            finished.append(person)

    for thread in start_threads(work, args.people):
        thread.join()
    return OpenLoop(figures, people, len(finished), time.monotonic() - started)


@dataclass
class ClosedLoop:
    people: int
    answers_per_second: float
    figures: Figures


def closed_loop(
    target: Target, fake: FakeSlack, audience: Audience, team_id: str, count: int, seconds: float
) -> ClosedLoop:
    """`count` people answer without pause; answers are counted once everyone has a question in front of
    them, for `seconds`."""
    warm_up, figures = Figures(), Figures()
    people = new_people(target, fake, audience, team_id, count)
    ready = threading.Barrier(count + 1)
    stop = threading.Event()

    def work(n: int) -> None:
        person = people[n]
        try:
            ready_to_click = target.start(person, warm_up)
        finally:
            ready.wait()
        clicks = 0
        while ready_to_click and not stop.is_set():
            question = person.shown.question
            assert question is not None
            shown = click(target, person, figures, question, clicks)
            clicks += 1
            ready_to_click = shown is not None
            if shown is not None and target.finished(shown, clicks):
                clicks = 0
                ready_to_click = target.start(person, figures)

    threads = start_threads(work, count)
    ready.wait()
    answered_before, began = figures.answers, time.monotonic()
    time.sleep(seconds)
    answered, elapsed = figures.answers - answered_before, time.monotonic() - began
    stop.set()
    for thread in threads:
        thread.join()
    return ClosedLoop(count, answered / elapsed, figures)


class Mirror:
    """A person's conversation as the app's engine runs it, advanced beside the app's with the same
    clicks: it tells which click will finish the assessment before it is sent."""

    def __init__(self, person: Person, bank: QuestionBank) -> None:
        respondent = Respondent(team_id=person.user.team_id, user_id=person.user.user_id)
        record, _ = new_session(respondent, bank, None)
        self.bank = bank
        self.state = Conversation.from_dict(record.conversation)

    def _event(self, button: Button) -> KeepGoing | AnswerQuestion:
        if button.action_id == KEEP_GOING_ACTION:
            return KeepGoing()
        value = QuestionButton.decode(button.value)
        if value.q is None or value.a is None:
            raise ValueError(f"{button.action_id} is neither an answer nor Keep going")
        return AnswerQuestion(value.q, decode_answer(value.a))

    def finishes(self, button: Button) -> bool:
        return isinstance(advance(self.state, self._event(button), self.bank).prompt, ShowReport)

    def clicked(self, button: Button) -> None:
        self.state = advance(self.state, self._event(button), self.bank).state


@dataclass
class Burst:
    people: list[Person]
    ready: list[Person]  # at their last question when the window opened
    lead_in: Figures  # the command and every click before the last
    finals: Figures  # the last clicks
    lead_in_seconds: float
    window_opened: float  # time.monotonic() when it did
    sending_seconds: float  # from the first final click sent to the last
    # Last clicks the engine's copy said would finish and did not: the person clicked on without pause, and
    # the latency runs from the click that did finish.
    not_last: int


def burst(
    app: CompassApp, bank: QuestionBank, fake: FakeSlack, audience: Audience, team_id: str, count: int,
    window: float,
) -> Burst:  # fmt: skip
    """`count` people answer without pause up to their last question (keeping going at the offer to stop),
    then send their last answers spread evenly over `window` seconds."""
    lead_in, finals = Figures(), Figures()
    people = new_people(app, fake, audience, team_id, count)
    at_last: dict[int, tuple[dict[str, Any], Button]] = {}
    # When the window opened: as the last person got to their last question (or gave up before it).
    window_opens: list[float] = []
    ready = threading.Barrier(count + 1, action=lambda: window_opens.append(time.monotonic()))
    not_last = [0]
    lock = threading.Lock()

    def lead_up(person: Person) -> tuple[dict[str, Any], Button] | None:
        if not app.start(person, lead_in):
            return None
        mirror = Mirror(person, bank)
        clicks = 0
        while True:
            question = person.shown.question
            assert question is not None
            button = person.answer(question)
            if mirror.finishes(button):
                return question, button
            shown = click(app, person, lead_in, question, clicks, button)
            if shown is None or shown.question is None:
                return None
            mirror.clicked(button)
            clicks += 1

    def work(n: int) -> None:
        person = people[n]
        last = None
        try:
            last = lead_up(person)
            if last is not None:
                at_last[n] = last
        finally:
            ready.wait()
        if last is None:
            return
        time.sleep(max(0.0, window_opens[0] + window * n / count - time.monotonic()))
        question, button = last
        shown = click(app, person, finals, question, 0, button)
        while shown is not None and shown.question is not None:
            with lock:
                not_last[0] += 1
            shown = click(app, person, finals, shown.question, 0)

    threads = start_threads(work, count)
    began = time.monotonic()
    ready.wait()
    for thread in threads:
        thread.join()
    sent = [p.final_click for p in people if p.final_click is not None]
    return Burst(
        people,
        [people[n] for n in sorted(at_last)],
        lead_in,
        finals,
        window_opens[0] - began,
        window_opens[0],
        max(sent) - min(sent) if sent else 0.0,
        not_last[0],
    )


# Processes -------------------------------------------------------------------------------------------


def slack_env(fake: FakeSlack) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.base_url,
    }


@contextmanager
def bare_floor_process(fake: FakeSlack, workers: int) -> Iterator[AppProcess]:
    """benchmarks/bare_bolt.py behind gunicorn, set up as `serve` sets up the app (bot/web.py)."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "--chdir", str(BENCHMARKS), "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--worker-class", "gthread", "--threads", str(THREADS_PER_WORKER),
        "--no-control-socket", "--log-level", "warning", "bare_bolt:application",
    ]  # fmt: skip
    descriptor, log_name = tempfile.mkstemp(prefix="mlops-compass-bare-bolt-", suffix=".log")
    with os.fdopen(descriptor, "wb") as log_file:
        process = subprocess.Popen(
            command, env=child_environment(slack_env(fake)), stdout=log_file, stderr=subprocess.STDOUT
        )
    floor = AppProcess(url=f"http://127.0.0.1:{port}", process=process, log_path=Path(log_name))
    try:
        deadline = time.monotonic() + 30
        while floor.health() != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bare Bolt floor did not start:\n{floor.log()}")
            time.sleep(0.1)
        yield floor
    finally:
        process.terminate()
        process.wait(timeout=15)


# The report ------------------------------------------------------------------------------------------


def row(label: str, *cells: str, label_width: int = 46, cell_width: int = 40) -> str:
    return f"  {label:<{label_width}}" + "".join(f"{cell:>{cell_width}}" for cell in cells)


def acknowledged(figures: Figures) -> str:
    return f"{len(figures.acks):,}/{figures.sent:,}"


@dataclass
class Reports:
    delivered_once: int
    missing: list[str]
    duplicated: list[str]


def wait_for_reports(people: Sequence[Person], timeout: float) -> Reports:
    """Each person's report in their channel: waits up to `timeout` for the late ones."""
    deadline = time.monotonic() + timeout
    for person in people:
        person.wait_for_reports(1, deadline)
    missing = [p.user.user_id for p in people if not p.reports]
    duplicated = [p.user.user_id for p in people if len(p.reports) > 1]
    return Reports(sum(len(p.reports) == 1 for p in people), missing, duplicated)


def open_rows(app: OpenLoop, floor: OpenLoop, reports: Reports) -> list[str]:
    runs = (app, floor)
    return [
        row("", "app", "bare floor"),
        row("requests acknowledged (HTTP 200)", *(acknowledged(r.figures) for r in runs)),
        row("ack ms p50 / p99 / max", *(spread_ms(r.figures.acks) for r in runs)),
        row(
            "click to next question ms p50 / p99 / max",
            *(spread_ms(r.figures.click_to_question) for r in runs),
        ),
        row("final click ack ms p50 / p99 / max", *(spread_ms(r.figures.final_acks) for r in runs)),
        row(f"acks over {SLOW_ACK * 1000:.0f} ms", *(r.figures.slow_text() for r in runs)),
        row("assessments finished", *(f"{r.finished}/{len(r.people)}" for r in runs)),
        row("answers", *(f"{r.figures.answers:,}" for r in runs)),
        row("outcomes that never showed", *(f"{r.figures.stalled}" for r in runs)),
        row("reports in the channel exactly once", f"{reports.delivered_once}/{len(app.people)}", "-"),
        row("reports missing / duplicated", f"{len(reports.missing)} / {len(reports.duplicated)}", "-"),
        row(REPORT_LATENCY, latency_spread_ms(app.people), "-"),
        row("wall time s", *(f"{r.seconds:.1f}" for r in runs)),
    ]


# From the click that finished an assessment to its report's summary in the person's channel.
REPORT_LATENCY = "report latency ms p50 / p95 / p99 / max"
# Its few questions take the burst's people to their last one in seconds, not the minute the default
# bank's take.
BURST_BANK = "pulse"
# The promise for a burst: every report in its channel within this many seconds.
BURST_PROMISE = 30.0


def burst_rows(run: Burst, reports: Reports) -> list[str]:
    sent = [p for p in run.ready if p.final_click is not None]
    latencies = [p.report_latency() for p in sent]
    within = [latency for latency in latencies if latency is not None and latency <= BURST_PROMISE]
    arrived = [p.reports[0] - run.window_opened for p in run.ready if p.reports]
    return [
        row("at their last question when the window opened", f"{len(run.ready)}/{len(run.people)}"),
        row("lead-in s (requests acknowledged)", f"{run.lead_in_seconds:.1f} ({acknowledged(run.lead_in)})"),
        row("final answers acknowledged (HTTP 200)", acknowledged(run.finals)),
        row("final answers sent over s", f"{run.sending_seconds:.1f}"),
        row("final click ack ms p50 / p99 / max", spread_ms(run.finals.final_acks)),
        row("assessments finished", f"{len(sent)}/{len(run.people)}"),
        row("last answers that did not finish", str(run.not_last)),
        row(REPORT_LATENCY, latency_spread_ms(run.ready)),
        row(f"reports within {BURST_PROMISE:g} s of the last click", f"{len(within)}/{len(run.people)}"),
        row("reports in the channel exactly once", f"{reports.delivered_once}/{len(run.people)}"),
        row("reports missing / duplicated", f"{len(reports.missing)} / {len(reports.duplicated)}"),
        row("last report, s after the window opened", f"{max(arrived):.1f}" if arrived else "-"),
    ]


def closed_rows(pairs: Sequence[tuple[ClosedLoop, ClosedLoop]]) -> list[str]:
    def closed_row(*cells: str) -> str:
        return row(*cells, label_width=8, cell_width=18)

    lines = [
        closed_row(
            "people", "app answers/s", "floor answers/s", "app / floor", "app ack p99 ms", "floor ack p99 ms"
        )
    ]
    for app, floor in pairs:
        ratio = app.answers_per_second / floor.answers_per_second if floor.answers_per_second else 0.0
        p99 = [
            f"{percentile(r.figures.acks, 0.99) * 1000:,.1f}" if r.figures.acks else "-" for r in (app, floor)
        ]
        rates = (f"{r.answers_per_second:.1f}" for r in (app, floor))
        lines.append(closed_row(str(app.people), *rates, f"{ratio:.2f}", *p99))
    return lines


# The run ---------------------------------------------------------------------------------------------


def think_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    bounds = float(low), float(high or low)
    if not 0 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError(f"--think takes LOW-HIGH seconds, LOW <= HIGH, not {text!r}")
    return bounds


def counts(text: str) -> list[int]:
    """People counts such as 50,200; 0 or nothing: no closed loop."""
    try:
        found = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        found = [-1]
    if not all(n >= 0 for n in found):
        raise argparse.ArgumentTypeError(f"--closed takes people counts such as 50,200, not {text!r}")
    return [n for n in found if n]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=500, help="people in the open loop (0: skip it)")
    parser.add_argument("--closed", type=counts, default=[50, 200], help="people counts of the closed loops")
    parser.add_argument(
        "--think", type=think_range, default=(2.5, 7.5), help="seconds between clicks, LOW-HIGH"
    )
    parser.add_argument("--think-scale", type=float, default=1.0, help="multiplies think and ramp times")
    parser.add_argument(
        "--ramp", type=float, default=10.0, help="seconds over which the open loop's people start"
    )
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY") or 2))
    parser.add_argument(
        "--duration", type=float, default=20.0, help="seconds each closed loop counts answers"
    )
    parser.add_argument("--max-seconds", type=float, default=900.0, help="the open loop stops after this")
    parser.add_argument(
        "--report-timeout", type=float, default=120.0, help="how long to wait for late reports"
    )
    parser.add_argument(
        "--burst", type=int, default=0, help="people in the burst, after the loops (0: no burst)"
    )
    parser.add_argument(
        "--burst-window", type=float, default=10.0, help="seconds over which the burst's last answers go"
    )
    parser.add_argument(
        "--burst-bank",
        default=BURST_BANK,
        choices=sorted(bank.id for bank in CATALOG.banks),
        help="the bank the burst's people start (`start BANK`); the pulse's few questions keep the "
        "lead-in short",
    )
    parser.add_argument(
        "--report-workers", type=int, default=1, help="`mlops-compass worker` processes beside the app"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    return parser.parse_args(argv)


def warn_of_other_workers(store: redis.Redis, own: int, redis_url: str, when: str) -> None:
    """A worker of another run on this database's queue takes this run's reports and delivers them to
    its own Slack, where they are lost to this run (and its reports load this run's workers): say so."""
    others = sum(w.alive for w in JobQueue(store, ()).workers(time.time())) - own
    if others > 0:
        print(
            f"warning: {others} worker(s) of another run were taking jobs from {redis_url} {when}: "
            "reports may have gone astray and the figures are not this app's alone; give each run a Redis "
            "of its own",
            flush=True,
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # The fake Slack keeps every call, so this process's cyclic collector would pause every thread, the
    # people measuring acknowledgements included, for longer and longer: a pause of the driver that would
    # read as the apps' latency. What it allocates is freed by reference counting.
    gc.disable()
    store = redis.Redis.from_url(args.redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        store.ping()
    except redis.ConnectionError as error:
        print(f"slack_load: no Redis answers at {args.redis_url}: {error}", file=sys.stderr)
        return 2
    team_id = f"TLOAD{uuid.uuid4().hex[:8].upper()}"
    audience = Audience()
    print(
        f"MLOps Compass under load: {args.workers} gunicorn worker(s) x {THREADS_PER_WORKER} threads, "
        f"{args.report_workers} report worker(s), Redis {args.redis_url} (workspace {team_id}), "
        f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f} at the start",
        flush=True,
    )
    warn_of_other_workers(store, 0, args.redis_url, "before the run")
    with FakeSlack() as fake:
        fake.on_message = audience
        env = slack_env(fake) | {
            "REDIS_URL": args.redis_url,
            "WEB_CONCURRENCY": str(args.workers),
            "LOG_LEVEL": "WARNING",
        }
        pairs = []
        try:
            with ExitStack() as processes:
                app_server = processes.enter_context(app_process(env, report_workers=args.report_workers))
                app = CompassApp(app_server)
                if args.people or args.closed:
                    floor_server = processes.enter_context(bare_floor_process(fake, args.workers))
                    floor = BareFloor(floor_server, fake, QUESTIONS)
                if args.people:
                    print(f"open loop: {args.people} people ...", file=sys.stderr, flush=True)
                    open_app = open_loop(app, fake, audience, team_id, args)
                    reports = wait_for_reports(open_app.people, args.report_timeout)
                    open_floor = open_loop(floor, fake, audience, team_id, args)
                for count in args.closed:
                    print(f"closed loop: {count} people ...", file=sys.stderr, flush=True)
                    pairs.append(
                        (
                            closed_loop(app, fake, audience, team_id, count, args.duration),
                            closed_loop(floor, fake, audience, team_id, count, args.duration),
                        )
                    )
                if args.burst:
                    print(f"burst: {args.burst} people ...", file=sys.stderr, flush=True)
                    starter = CompassApp(app_server, text=f"start {args.burst_bank}")
                    bank = CATALOG.get(args.burst_bank)
                    burst_run = burst(starter, bank, fake, audience, team_id, args.burst, args.burst_window)
                    burst_reports = wait_for_reports(burst_run.people, args.report_timeout)
                # Each worker process is as many RQ workers as it runs job threads.
                threads = int(
                    env.get("WORKER_THREADS") or WorkerSettings.model_fields["worker_threads"].default
                )
                warn_of_other_workers(store, len(app_server.workers) * threads, args.redis_url, "at the end")
        finally:
            delete_workspace(store, team_id)
    if args.people:
        low, high = (bound * args.think_scale for bound in args.think)
        print(
            f"\nOpen loop: {args.people} people, one assessment each, thinking {low:g}-{high:g} s "
            f"before each click, starting over {args.ramp * args.think_scale:g} s"
        )
        print("\n".join(open_rows(open_app, open_floor, reports)))
        if reports.missing:
            print(f"  reports missing for: {', '.join(reports.missing)}")
    if pairs:
        print(f"\nClosed loop: people answering without pause, answers counted for {args.duration:g} s")
        print("\n".join(closed_rows(pairs)))
    if args.burst:
        questions = len(CATALOG.get(args.burst_bank).questions)
        print(
            f"\nBurst: {args.burst} people answer `start {args.burst_bank}` without pause up to their last "
            f"question (the {args.burst_bank} bank: at most {questions} questions; by default the "
            f"{BURST_BANK}, whose few questions keep the lead-in short), then send their last answers spread "
            f"evenly over {args.burst_window:g} s; {args.report_workers} report worker(s)"
        )
        print("\n".join(burst_rows(burst_run, burst_reports)))
        if burst_reports.missing:
            print(f"  reports missing for: {', '.join(burst_reports.missing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
