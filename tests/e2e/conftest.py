"""End-to-end: the real app started as a user starts it (`mlops-compass serve`), a fake Slack Web API on
127.0.0.1 that it talks to, a real Redis, and requests signed and encoded exactly as Slack sends them.

One app and one fake Slack serve a whole test module: starting the app is most of an end-to-end
test's time. Tests stay independent because the fake forgets everything before each test and every
test's people live in a workspace, DM and channel of their own (`new_user`): a call the app makes late
for an earlier test names that test's channel or person, so the fake refuses it and keeps it in
`late_calls` instead of the next test's `calls`. Each test waits for the calls it asserts on; where it
asserts that nothing happened, it waits for a later request's answer or for the app's log first. The
Redis keys of those workspaces are deleted once the module's app has stopped, so no late write can
outlive the clean-up.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.engine.answers import Answer, OptionChoice, decode_answer
from bot.engine.bank import QuestionBank
from bot.engine.catalog import DEFAULT_BANK_ID, BankCatalog
from bot.engine.conversation import AnswerQuestion, AskQuestion, Back, Start, advance
from bot.engine.progress import progress_line
from bot.slack.assessment import started_text
from bot.slack.values import KEEP_GOING_ACTION
from bot.usecases.personal import PERSONAL
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import AppProcess, app_process, free_port
from playground.fakeslack.workspace import Button, HttpTransport, SlackUser, buttons_of
from tests.conftest import (
    REAL_REDIS_URL,
    RUN_TAG,
    delete_queued_jobs,
    delete_workspace_keys,
    new_team_id,
    real_redis,
)

SIGNING_SECRET = "e2e-signing-secret-0123456789"
# The bank a typed command or the shortcut starts in the app under test.
DEFAULT_BANK = BankCatalog.from_directory().get(DEFAULT_BANK_ID)
ACK_LATENCIES: list[float] = []
# Figures the end-to-end tests measured, printed at the end of the run.
MEASURED: list[str] = []


def app_env(fake: FakeSlack, redis_url: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-e2e-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.base_url,
        "REDIS_URL": redis_url,
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "INFO",
        # The worker retries a report Slack did not accept twice, a second apart, then tells its author;
        # it enqueues again a report left pending (its web process died) after three seconds.
        "DELIVERY_RETRY_SECONDS": "[1, 1]",
        "OUTBOX_SWEEP_SECONDS": "3",
    }


@pytest.fixture(scope="module")
def redis_keys_forgotten() -> Iterator[None]:
    """Starts the module with no queued jobs, and deletes this run's workspaces and queued jobs after it,
    when every app it started has stopped."""
    # Jobs other tests queued with no worker to run them would be this module's worker's first work.
    delete_queued_jobs()
    yield
    delete_workspace_keys(f"T{RUN_TAG}")
    delete_queued_jobs()


@pytest.fixture(scope="module")
def module_fake_slack(redis_keys_forgotten: None) -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake_slack(module_fake_slack: FakeSlack) -> FakeSlack:
    """The module's fake Slack, with no calls, messages or faults from earlier tests."""
    module_fake_slack.reset()
    return module_fake_slack


@pytest.fixture(scope="module")
def redis_url() -> str:
    real_redis()  # fails the tests, with the reason, when no server answers
    return REAL_REDIS_URL


@pytest.fixture(scope="module")
def app(module_fake_slack: FakeSlack, redis_url: str) -> Iterator[AppProcess]:
    with app_process(app_env(module_fake_slack, redis_url)) as running:
        yield running


def new_user(fake: FakeSlack, app: AppProcess, **overrides: Any) -> SlackUser:
    """A person in a workspace, DM and channel of their own, unless `overrides` say otherwise."""
    suffix = uuid.uuid4().hex[:8].upper()
    settings: dict[str, Any] = {"team_id": new_team_id(), "user_id": f"U{suffix}", "channel_id": f"C{suffix}"}
    settings.update(overrides)
    return SlackUser(fake, HttpTransport(app.events_url, SIGNING_SECRET), **settings)


@pytest.fixture
def user(fake_slack: FakeSlack, app: AppProcess) -> SlackUser:
    return new_user(fake_slack, app)


def answer_value(button_value: str) -> Any:
    return json.loads(button_value).get("a")


def answer_buttons(message: dict[str, Any]):
    return [b for b in buttons_of(message) if b.action_id.startswith("answer")]


def best_option(message: dict[str, Any]):
    return max(
        (b for b in answer_buttons(message) if isinstance(answer_value(b.value), int)),
        key=lambda b: answer_value(b.value),
    )


def button_labelled(message: dict[str, Any], label: str):
    return next(b for b in buttons_of(message) if b.label.endswith(label))


def or_keep_going(message: dict[str, Any], pick: Callable[[dict[str, Any]], Button]) -> Button:
    """What a person who goes on to every level clicks: `pick`'s answer, or Keep going at the offer to
    stop once the overall level is settled."""
    keep_going = [b for b in buttons_of(message) if b.action_id == KEEP_GOING_ACTION]
    return keep_going[0] if keep_going else pick(message)


def start(user: SlackUser) -> dict[str, Any]:
    """Type the command and wait for the first question in the DM and the word that it was sent."""
    before = len(user.fake.calls)
    response = user.command("")
    assert response.status == 200, response.body
    user.fake.wait_for("chat.postMessage", lambda c: c.params.get("channel") == user.dm_channel, timeout=10)
    user.fake.wait_for(
        "response_url", lambda c: c.params.get("text") == started_text(DEFAULT_BANK), after=before
    )
    question = user.current_question()
    assert question is not None
    return question


def click_and_wait(user: SlackUser, message: dict[str, Any], button, **click_options: Any):
    """Click, check the acknowledgement, and return (the ack, the call the app made in reaction)."""
    before = len(user.fake.calls)
    response = user.click(message, button, **click_options)
    assert response.status == 200, response.body
    return response, user.wait_for_reaction(before)


def progress_text(message: dict[str, Any]) -> str:
    return next(b for b in message["blocks"] if b.get("block_id") == "progress")["elements"][0]["text"]


def question_id(message: dict[str, Any]) -> str:
    return json.loads(answer_buttons(message)[0].value)["q"]


def engine_progress(bank: QuestionBank, codes: list[int | str], back: bool = False) -> str:
    """The progress line the engine shows in a person's assessment once the questions it asks were
    answered with the button values `codes`, in turn (and, with `back`, Back pressed after them)."""
    transition = advance(PERSONAL.conversation(bank), Start(), bank)
    for code in codes:
        asked = transition.prompt
        assert isinstance(asked, AskQuestion), asked
        transition = advance(transition.state, AnswerQuestion(asked.question.id, decode_answer(code)), bank)
    if back:
        assert isinstance(transition.prompt, AskQuestion)
        transition = advance(transition.state, Back(transition.prompt.question.id), bank)
    shown = transition.prompt
    assert isinstance(shown, AskQuestion), shown
    return f"`{progress_line(shown.number, shown.total, shown.total_is_exact)}`"


def all_best(bank: QuestionBank) -> dict[str, Answer]:
    """Every question answered with its highest option, as `best_option` clicks."""
    return {q.id: OptionChoice(len(q.options) - 1) for q in bank.questions}


def wait_for_log(app: AppProcess, line: str, times: int = 1, timeout: float = 15.0) -> None:
    """Wait until the logs of the app's web process and worker hold `line` `times` times: the app saying
    it is done with a request."""

    def logs() -> str:
        return app.log() + (app.worker.log() if app.worker is not None else "")

    deadline = time.monotonic() + timeout
    while logs().count(line) < times:
        assert time.monotonic() < deadline, f"the app did not log {line!r} {times} time(s) within {timeout}s"
        time.sleep(0.05)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if ACK_LATENCIES:
        ordered = sorted(ACK_LATENCIES)
        terminalreporter.write_line(
            f"click ack latency over one full assessment ({len(ordered)} clicks): "
            f"median {statistics.median(ordered) * 1000:.1f} ms, worst {ordered[-1] * 1000:.1f} ms"
        )
    for line in MEASURED:
        terminalreporter.write_line(line)


class DedicatedRedis:
    """A redis-server of the test's own, persisted to disk so it can be stopped and started again; with
    `persist=False`, it comes back empty, as a Redis run without persistence does. `options` are more of
    redis-server's (`--replicaof HOST PORT`, say)."""

    def __init__(self, directory: Path, persist: bool = True, options: Sequence[str] = ()):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is required for this test and is not installed")
        self.binary = binary
        self.directory = directory
        self.persist = persist
        self.options = tuple(options)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes" if self.persist else "no",
                "--appendfsync",
                "always",
                "--save",
                "",
                *self.options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def dedicated_redis(tmp_path: Path) -> Iterator[DedicatedRedis]:
    server = DedicatedRedis(tmp_path)
    server.start()
    yield server
    server.stop()
