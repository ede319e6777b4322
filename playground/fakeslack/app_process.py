"""Starts the real app the way a user does (`mlops-compass serve`, or `serve --socket`, and beside it
`mlops-compass worker`, which delivers the reports) in child processes, for the playground and the
end-to-end tests, and waits until it is ready: answering on HTTP, or connected over Socket Mode, with its
worker started. With --memory there is no worker: the web process delivers what it stores.

Each child runs in a process group of its own, and stopping it stops the group: gunicorn's workers with
its master, and nothing a terminal sends the caller's group (a hangup, Ctrl-C) reaches the children
behind the caller's back; the caller stops them on its way out. On Linux a child is also sent SIGTERM
should the thread that started it die without stopping it (killed with SIGKILL, say)."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from bot.cli.worker import WORKER_STARTED
from bot.settings import SERVICE_SETTINGS


class AppDidNotStart(RuntimeError):
    pass


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class AppProcess:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    worker: Worker | None = None
    # Every `mlops-compass worker` beside it, `worker` first: more than one shares the queue of deliveries.
    workers: list[Worker] = field(default_factory=list)

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    def health(self) -> int:
        return health_status(self.url)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def health_status(url: str) -> int:
    """HTTP status of GET /health on the app at `url` (0 when nothing answers)."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_environment(env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment for the app, less the settings beyond the banks', plus `env`: the app
    runs on what its caller passes, not on a REDIS_URL or WEB_CONCURRENCY left in the shell."""
    inherited = {k: v for k, v in os.environ.items() if k.upper() not in SERVICE_SETTINGS}
    return inherited | dict(env)


# prctl(2)'s request to be sent a signal when the parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1


def _stopped_with_parent() -> Callable[[], None] | None:
    """What the child runs before the app starts so that it is sent SIGTERM when the thread starting it
    dies: on Linux only, and with nothing but an already-resolved C call between fork and exec."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def ask_for_sigterm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:
            # The parent died before the request took effect: nothing would stop this child.
            os._exit(1)

    return ask_for_sigterm


def _spawn(command: list[str], env: Mapping[str, str], name: str) -> tuple[subprocess.Popen[bytes], Path]:
    descriptor, log_name = tempfile.mkstemp(prefix=f"mlops-compass-{name}-", suffix=".log")
    with os.fdopen(descriptor, "wb") as log_file:
        process = subprocess.Popen(
            command,
            env=dict(env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=_stopped_with_parent(),
        )
    return process, Path(log_name)


def start_worker(env: Mapping[str, str], startup_timeout: float = 30.0) -> Worker:
    """`mlops-compass worker` on the app's settings, once it has said it started."""
    process, log_path = _spawn([sys.executable, "-m", "bot", "worker"], child_environment(env), "worker")
    worker = Worker(process, log_path)
    with _stopped_unless_ready(process):
        _wait_until(lambda: WORKER_STARTED in worker.log(), process, startup_timeout, "worker", worker.log)
    return worker


def start_clock(env: Mapping[str, str], startup_timeout: float = 30.0) -> Worker:
    """`mlops-compass clock` on the app's settings, once it has logged its start (at LOG_LEVEL INFO)."""
    process, log_path = _spawn([sys.executable, "-m", "bot", "clock"], child_environment(env), "clock")
    clock = Worker(process, log_path)
    with _stopped_unless_ready(process):
        _wait_until(lambda: "clock started" in clock.log(), process, startup_timeout, "clock", clock.log)
    return clock


@contextmanager
def _stopped_unless_ready(process: subprocess.Popen[bytes]) -> Iterator[None]:
    """Stop `process` if anything (a failed start, an interrupt, a signal) ends the wait for it."""
    try:
        yield
    except BaseException:
        stop(process)
        raise


def _wait_until(
    ready: Callable[[], bool],
    process: subprocess.Popen[bytes],
    startup_timeout: float,
    command: str,
    log: Callable[[], str],
) -> None:
    deadline = time.monotonic() + startup_timeout
    while not ready():
        if process.poll() is not None:
            raise AppDidNotStart(f"`mlops-compass {command}` exited with {process.returncode}:\n{log()}")
        if time.monotonic() > deadline:
            raise AppDidNotStart(f"`mlops-compass {command}` silent for {startup_timeout}s:\n{log()}")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the child and its process group (a gunicorn master's workers too), by force after 15s."""
    if process.poll() is not None:
        return
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()


def _signal_group(process: subprocess.Popen[bytes], number: int) -> None:
    with suppress(ProcessLookupError):  # the group ended meanwhile
        os.killpg(process.pid, number)


def start_web(
    env: Mapping[str, str],
    memory: bool = False,
    startup_timeout: float = 30.0,
    socket_mode_ready: Callable[[], bool] | None = None,
) -> AppProcess:
    """`mlops-compass serve`, once it is ready (see `app_process`); the caller stops it."""
    port = free_port()
    command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"]
    if socket_mode_ready is not None:
        command.append("--socket")
    if memory:
        command.append("--memory")
    process, log_path = _spawn(command, child_environment(env) | {"PORT": str(port)}, "serve")
    app = AppProcess(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    ready = socket_mode_ready or (lambda: app.health() != 0)
    with _stopped_unless_ready(process):
        _wait_until(ready, process, startup_timeout, "serve", app.log)
    return app


@contextmanager
def app_process(
    env: Mapping[str, str],
    memory: bool = False,
    startup_timeout: float = 30.0,
    socket_mode_ready: Callable[[], bool] | None = None,
    report_workers: int = 1,
) -> Iterator[AppProcess]:
    """With ``socket_mode_ready`` the app runs `serve --socket` and is ready once that says so (the
    fake workspace knows when the app has connected); otherwise it is ready once GET /health answers.
    Unless `memory`, `report_workers` worker processes run beside it (`app.workers`, the first also
    `app.worker`)."""
    workers: list[Worker] = []
    try:
        for _ in range(0 if memory else report_workers):
            workers.append(start_worker(env, startup_timeout))
        app = start_web(env, memory, startup_timeout, socket_mode_ready)
    except BaseException:
        for worker in workers:
            stop(worker.process)
        raise
    app.worker = workers[0] if workers else None
    app.workers = workers
    try:
        yield app
    finally:
        stop(app.process)
        for worker in app.workers:
            stop(worker.process)
