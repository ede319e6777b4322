"""Nothing in the background is dead: every index the clock works from and every kind of job the worker
runs is written by something a person does in Slack, not only by the tests of its consumer.

The app runs as in the other end-to-end modules (`serve` and `worker` against the fake Slack), on a Redis
server of this module's own; the clock's tick runs here, its time set to the first run of the schedule
made through the app (as the playground's schedule demo does), since the clock reads the time itself. While
people go through the app (an assessment to its report, the Home tab, an export, a team run and its
nudge, a schedule), Redis MONITOR on that server records each index member's first addition (the clock
moving a member it leased produces nothing) and each job enqueued. What must have a producer is read
from the code: keys.CLOCK_INDEXES, the worker's job functions named in bot/store/jobs.py, and the tasks
`worker_tasks` runs.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis
import time_machine
from rq.job import Job
from slack_sdk import WebClient

from bot.cli import worker
from bot.cli.clock_command import build_clock
from bot.cli.startup import Started
from bot.engine.catalog import DEFAULT_BANK_ID, BankCatalog
from bot.settings import ClockSettings, read_settings
from bot.slack.app import build_flows, worker_tasks
from bot.store import jobs, keys
from bot.store.heartbeats import process_name
from bot.store.schedules import ScheduleStore
from bot.store.sessions import SessionStore
from playground.fakeslack import FakeSlack, event_body
from playground.fakeslack.app_process import AppProcess, app_process
from playground.fakeslack.workspace import Button, SlackUser, buttons_of
from tests.e2e.conftest import DedicatedRedis, answer_buttons, app_env, new_user, or_keep_going, start

WAIT = 60.0
# The module's app serves every flow in the first test's set-up.
pytestmark = pytest.mark.timeout(300)
# What may come between ZADD's key and its scores.
ZADD_OPTIONS = {"NX", "XX", "GT", "LT", "CH", "INCR"}
CATALOG = BankCatalog.from_directory()


# What must have a producer, from the code ----------------------------------------------------------------


def job_kind(function: str, args: Iterable[Any]) -> str:
    """A job as the inventory names it: its function, and for a task (RUN_TASK) the task's name too."""
    if function == jobs.RUN_TASK:
        return f"{function} {next(iter(args), '')}"
    return function


def job_functions() -> list[str]:
    """The worker's jobs, as bot/store/jobs.py names them for the web process to enqueue: each of its
    names for a function of bot/cli/worker.py."""
    prefix = f"{worker.__name__}."
    named = {
        value
        for value in vars(jobs).values()
        if isinstance(value, str)
        and value.startswith(prefix)
        and callable(getattr(worker, value.removeprefix(prefix), None))
    }
    return sorted(named)


def task_names() -> list[str]:
    """The tasks the worker runs, from its own registry: `worker_tasks` over the flows every process
    builds."""
    flows = build_flows(
        store=SessionStore(redis.Redis()),
        catalog=CATALOG,
        client=WebClient(),
        default_bank=DEFAULT_BANK_ID,
        min_respondents=1,
        team_runs_per_user=1,
        schedules_per_user=1,
        worker=None,
    )
    return sorted(worker_tasks(flows))


def background_inventory() -> list[str]:
    """Every clock index, every job function but the task runner, and every task the runner runs."""
    functions = [job_kind(f, []) for f in job_functions() if f != jobs.RUN_TASK]
    return [*keys.CLOCK_INDEXES, *functions, *(job_kind(jobs.RUN_TASK, [task]) for task in task_names())]


@dataclass(frozen=True)
class Touch:
    """A write to a clock index, or a job enqueued (`target`: the index, or the job's kind), while a
    person's `flow` ran."""

    flow: str
    target: str


def missing_producers(touches: Iterable[Touch], inventory: Iterable[str]) -> list[str]:
    """What in `inventory` nothing wrote or enqueued, in the inventory's order."""
    produced = {touch.target for touch in touches}
    return [target for target in inventory if target not in produced]


# Recording what the server is asked -----------------------------------------------------------------------


class Recorder:
    """Redis MONITOR on the module's own server: each write to a clock index, and each job enqueued (read
    back from the job's record as it is written), under the flow that was running. A flow begins with an
    ECHO of its name through the same server, so every command before it was made by an earlier flow."""

    MARKER = "background-producers:flow:"

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.touches: list[Touch] = []
        self.errors: list[str] = []
        self.failure = ""
        self._flow = "startup"
        self._jobs_seen: set[str] = set()
        self._members_seen: set[tuple[str, str]] = set()
        self._changed = threading.Condition()
        # The server may go quiet for longer than a command's default timeout (a worker's blocking wait).
        self._monitor = redis.Redis.from_url(url, socket_timeout=None).monitor()
        self._monitor.__enter__()  # MONITOR is on before any flow begins
        self._thread = threading.Thread(target=self._listen, name="redis-monitor", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        try:
            for seen in self._monitor.listen():
                self._note(seen["command"].split(" "))
        except (redis.ConnectionError, OSError):
            return  # the server stopped or the monitor was closed
        except Exception as error:
            with self._changed:
                self.failure = f"recording stopped at an error: {error!r}"
                self._changed.notify_all()

    def _note(self, command: list[str]) -> None:
        name, target = command[0].upper(), command[1] if len(command) > 1 else ""
        with self._changed:
            if name == "ECHO" and target.startswith(self.MARKER):
                self._flow = " ".join(command[1:])[len(self.MARKER) :]
                self._changed.notify_all()
            elif name == "ZADD" and target in keys.CLOCK_INDEXES:
                self._members_added(target, command[2:])
            elif name == "HSET" and target.startswith(Job.redis_job_namespace_prefix):
                self._job_written(target.removeprefix(Job.redis_job_namespace_prefix))

    def _members_added(self, index: str, arguments: list[str]) -> None:
        """Only a member's first addition produces it: the clock moving a member it leased is not one."""
        while arguments and arguments[0].upper() in ZADD_OPTIONS:
            arguments = arguments[1:]
        members = {(index, member) for member in arguments[1::2]}
        if members - self._members_seen:
            self._members_seen |= members
            self.touches.append(Touch(self._flow, index))

    def _job_written(self, job_id: str) -> None:
        """The job's first write is its enqueue, which stores its function and arguments at once."""
        if job_id in self._jobs_seen:
            return
        self._jobs_seen.add(job_id)
        job = Job.fetch(job_id, connection=self.client)
        self.touches.append(Touch(self._flow, job_kind(str(job.func_name), job.args)))

    def begin(self, flow: str) -> None:
        """Attribute what follows to `flow`, once every command before it has been recorded."""
        self.client.echo(f"{self.MARKER}{flow}")
        with self._changed:
            if not self._changed.wait_for(lambda: self._flow == flow or self.failure, timeout=WAIT):
                raise AssertionError(f"MONITOR did not report the start of {flow!r} within {WAIT}s")
            assert not self.failure, self.failure

    def run(self, flow: str, steps: Callable[[], None]) -> None:
        """Run a person's flow; one that does not reach its end is noted, so the check still says what it
        left unproduced."""
        self.begin(flow)
        try:
            steps()
        except AssertionError as error:
            self.errors.append(f"{flow}: {error}")

    def close(self) -> None:
        self.begin("after the flows")
        self._monitor.__exit__()
        self._thread.join(timeout=10)


# The flows: what people do --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppUnderTest:
    fake: FakeSlack
    app: AppProcess
    client: redis.Redis  # the module's own server, which the app uses
    redis_url: str

    def person(self) -> SlackUser:
        """Someone in a workspace, DM and channel of their own, the channel's only member."""
        user = new_user(self.fake, self.app)
        self.fake.set_channel_members(user.channel_id, [user.user_id])
        return user

    def reply_to_command(self, user: SlackUser, text: str) -> str:
        """Type the command; the text of what answers it."""
        acknowledged = user.command(text)
        assert acknowledged.status == 200, acknowledged.body
        return str(user.reply(lambda c: c.ok, timeout=WAIT).params.get("text", ""))


def an_assessment_to_its_report(app: AppUnderTest) -> None:
    """Start with the command, answer every question, and see the report and its chart in the channel."""
    user = app.person()
    start(user)
    while (asked := user.awaiting()) is not None:
        before = len(user.fake.calls)
        assert user.click(asked, or_keep_going(asked, lambda m: answer_buttons(m)[0])).status == 200
        user.wait_for_reaction(before, timeout=WAIT)
    app.fake.wait_for(
        "files.completeUploadExternal", lambda c: c.ok and c.params.get("channel_id") == user.channel_id, WAIT
    )


def the_home_tab(app: AppUnderTest) -> None:
    """Open the app's Home tab and see it published."""
    user = app.person()
    assert user.open_app_home(event_id=f"Ev{user.user_id}").status == 200
    app.fake.wait_for("views.publish", lambda c: c.ok and c.params.get("user_id") == user.user_id, WAIT)


def an_export(app: AppUnderTest) -> None:
    user = app.person()
    answer = app.reply_to_command(user, "export")
    # The worker answers: a person with no results yet is told so (it found no results to send).
    assert "so there is nothing to export" in answer, answer


def a_team_run_and_its_nudge(app: AppUnderTest) -> None:
    """Open a team run in a channel of two, then Nudge the one who has not answered."""
    starter, member = app.person(), app.person()
    app.fake.set_channel_members(starter.channel_id, [starter.user_id, member.user_id])
    before = len(app.fake.calls)
    assert starter.command("team closes in 3 days").status == 200
    app.fake.wait_for(
        "chat.postMessage", lambda c: c.ok and c.params.get("channel") == starter.channel_id, WAIT, before
    )
    message = app.fake.messages(starter.channel_id)[-1]
    nudge = next(b for b in buttons_of(message) if b.label == "Nudge")
    assert starter.click(message, nudge, channel_id=starter.channel_id).status == 200
    nudged = str(starter.reply(lambda c: c.ok, timeout=WAIT).params.get("text", ""))
    assert "I sent a reminder to 1 person" in nudged, nudged


def a_workshop_and_a_vote(app: AppUnderTest) -> None:
    """Start a workshop in a channel of two; the other member votes on its first question."""
    facilitator = app.person()
    member = new_user(app.fake, app.app, team_id=facilitator.team_id, channel_id=facilitator.channel_id)
    app.fake.set_channel_members(facilitator.channel_id, [facilitator.user_id, member.user_id])
    before = len(app.fake.calls)
    assert facilitator.command("workshop pulse").status == 200
    posted = app.fake.wait_for(
        "chat.postMessage",
        lambda c: (
            c.ok and c.params.get("channel") == facilitator.channel_id and bool(c.params.get("thread_ts"))
        ),
        WAIT,
        before,
    )
    question = next(
        m
        for m in app.fake.messages(facilitator.channel_id)
        if m.get("thread_ts") == posted.params["thread_ts"]
    )
    accessory = next(b["accessory"] for b in question["blocks"] if b.get("block_id") == "option-0")
    vote = Button(accessory["action_id"], "option-0", accessory["value"], "Vote")
    before = len(app.fake.calls)
    assert member.click(question, vote, channel_id=facilitator.channel_id).status == 200
    app.fake.wait_for("chat.update", lambda c: c.ok and f"<@{member.user_id}>" in str(c.params), WAIT, before)


def a_schedule_and_its_first_reminder(app: AppUnderTest) -> None:
    """Schedule reminders with the command; the clock ticks at the schedule's first run and posts one."""
    user = app.person()
    answer = app.reply_to_command(user, "schedule quarterly")
    assert "scheduled" in answer, answer
    schedules = ScheduleStore(app.client)
    [(_, first_run)] = schedules.in_channel(user.team_id, user.channel_id)
    assert first_run is not None
    due = first_run + 1.0
    before = len(app.fake.calls)
    settings = read_settings(
        ClockSettings,
        slack_bot_token="xoxb-e2e-token",
        slack_api_url=app.fake.base_url,
        redis_url=app.redis_url,
    )
    clock = build_clock(Started(settings, CATALOG, app.client))
    with time_machine.travel(due):
        report = clock.tick()
    app.client.zrem(keys.CLOCK_HEARTBEATS, process_name())
    assert report.claimed == 1
    app.fake.wait_for(
        "chat.postMessage", lambda c: c.ok and c.params.get("channel") == user.channel_id, WAIT, before
    )


def the_app_uninstalled(app: AppUnderTest) -> None:
    """Slack says the app was removed from a workspace; the worker deletes what the workspace left."""
    user = app.person()
    assert "scheduled" in app.reply_to_command(user, "schedule quarterly")
    [(scheduled, _)] = ScheduleStore(app.client).in_channel(user.team_id, user.channel_id)
    body = event_body({"type": "app_uninstalled", "event_ts": f"{time.time():.6f}"}, team_id=user.team_id)
    assert user.transport.event(body).status == 200
    gone = keys.schedule(user.team_id, scheduled.schedule_id)
    deadline = time.monotonic() + WAIT
    while app.client.exists(gone):
        assert time.monotonic() < deadline, f"{gone} outlived the uninstall"
        time.sleep(0.05)


FLOWS: dict[str, Callable[[AppUnderTest], None]] = {
    "an assessment to its report": an_assessment_to_its_report,
    "the Home tab": the_home_tab,
    "an export": an_export,
    "a team run and its nudge": a_team_run_and_its_nudge,
    "a workshop and a vote": a_workshop_and_a_vote,
    "a schedule and its first reminder": a_schedule_and_its_first_reminder,
    "the app uninstalled": the_app_uninstalled,
}


@dataclass(frozen=True)
class Recorded:
    touches: list[Touch]
    flow_errors: list[str]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    """Every flow, once, against the module's own Redis server and app, as MONITOR saw it."""
    server = DedicatedRedis(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    try:
        recorder = Recorder(server.url)
        with FakeSlack() as fake, app_process(app_env(fake, server.url)) as app:
            under_test = AppUnderTest(fake, app, recorder.client, server.url)
            for name, flow in FLOWS.items():
                recorder.run(name, partial(flow, under_test))
            recorder.close()
        yield Recorded(list(recorder.touches), list(recorder.errors))
    finally:
        server.stop()


def producers(touches: Iterable[Touch]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for touch in touches:
        if touch.flow not in found.setdefault(touch.target, []):
            found[touch.target].append(touch.flow)
    return found


# The checks -----------------------------------------------------------------------------------------------


def test_every_clock_index_and_kind_of_job_is_written_by_what_people_do(recorded: Recorded) -> None:
    inventory = background_inventory()
    # The inventory is the code's: every clock index, a report's delivery, and each task by its name.
    assert set(keys.CLOCK_INDEXES) <= set(inventory)
    assert jobs.DELIVER_REPORT in inventory and jobs.RUN_TASK in job_functions()
    assert len([t for t in inventory if t.startswith(f"{jobs.RUN_TASK} ")]) == len(task_names()) > 0
    missing = missing_producers(recorded.touches, inventory)
    assert missing == [] and recorded.flow_errors == [], (
        f"nothing a person does produced {missing}; flows that did not finish: {recorded.flow_errors}; "
        f"what was produced, by which flow: {json.dumps(producers(recorded.touches), indent=1)}"
    )


def test_the_check_names_what_loses_its_producer(recorded: Recorded) -> None:
    """The recorded writes less every write of one target: the check names that target, and only it,
    besides what it named for the whole recording (which the test above fails on)."""
    inventory = background_inventory()
    named = set(missing_producers(recorded.touches, inventory))

    def newly_missing(touches: list[Touch]) -> list[str]:
        return [target for target in missing_producers(touches, inventory) if target not in named]

    for target in (target for target in inventory if target not in named):
        assert newly_missing([t for t in recorded.touches if t.target != target]) == [target]
    # Less what one flow wrote: without a personal assessment nothing watches for idle ones (the clock's
    # reminder would be dead). Reports still reach the outbox and the worker: the clock's tick, months
    # ahead at the schedule's first run, closes the team run that is overdue by then.
    others = [t for t in recorded.touches if t.flow != "an assessment to its report"]
    assert newly_missing(others) == [keys.WATCHED_SESSIONS]
