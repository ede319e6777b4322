"""Starts the real app the way a user does (`mlops-compass serve`, or `serve --socket`, and beside it
`mlops-compass worker`, which delivers the reports) in child processes, for the playground and the
end-to-end tests, and waits until it is ready: answering on HTTP, or connected over Socket Mode, with its
worker started. With --memory there is no worker: the web process delivers what it stores."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
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


def _spawn(command: list[str], env: Mapping[str, str], name: str) -> tuple[subprocess.Popen[bytes], Path]:
    descriptor, log_name = tempfile.mkstemp(prefix=f"mlops-compass-{name}-", suffix=".log")
    with os.fdopen(descriptor, "wb") as log_file:
        process = subprocess.Popen(
            command, env=dict(env), stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    return process, Path(log_name)


def start_worker(env: Mapping[str, str], startup_timeout: float = 30.0) -> Worker:
    """`mlops-compass worker` on the app's settings, once it has said it started."""
    process, log_path = _spawn([sys.executable, "-m", "bot", "worker"], child_environment(env), "worker")
    worker = Worker(process, log_path)
    deadline = time.monotonic() + startup_timeout
    while WORKER_STARTED not in worker.log():
        if process.poll() is not None:
            raise AppDidNotStart(f"`mlops-compass worker` exited with {process.returncode}:\n{worker.log()}")
        if time.monotonic() > deadline:
            stop(process)
            raise AppDidNotStart(f"`mlops-compass worker` silent for {startup_timeout}s:\n{worker.log()}")
        time.sleep(0.1)
    return worker


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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
    deadline = time.monotonic() + startup_timeout
    ready = socket_mode_ready or (lambda: app.health() != 0)
    while not ready():
        if process.poll() is not None:
            raise AppDidNotStart(f"`mlops-compass serve` exited with {process.returncode}:\n{app.log()}")
        if time.monotonic() > deadline:
            stop(process)
            raise AppDidNotStart(f"`mlops-compass serve` silent for {startup_timeout}s:\n{app.log()}")
        time.sleep(0.1)
    return app


@contextmanager
def app_process(
    env: Mapping[str, str],
    memory: bool = False,
    startup_timeout: float = 30.0,
    socket_mode_ready: Callable[[], bool] | None = None,
) -> Iterator[AppProcess]:
    """With ``socket_mode_ready`` the app runs `serve --socket` and is ready once that says so (the
    fake workspace knows when the app has connected); otherwise it is ready once GET /health answers.
    Unless `memory`, its worker runs beside it (`app.worker`)."""
    worker = None if memory else start_worker(env, startup_timeout)
    try:
        app = start_web(env, memory, startup_timeout, socket_mode_ready)
    except BaseException:
        if worker is not None:
            stop(worker.process)
        raise
    app.worker = worker
    try:
        yield app
    finally:
        stop(app.process)
        if app.worker is not None:
            stop(app.worker.process)
