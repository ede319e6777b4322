"""Starts the real app the way a user does (`mlops-compass serve`, or `serve --socket`) in a child
process, for the playground and the end-to-end tests, and waits until it is ready: answering on HTTP, or
connected over Socket Mode."""

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

from bot.settings import SERVE_ONLY_SETTINGS


class AppDidNotStart(RuntimeError):
    pass


@dataclass(frozen=True)
class AppProcess:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    def health(self) -> int:
        """HTTP status of GET /health (0 when nothing answers)."""
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_environment(env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment for the app, less the settings only `serve` reads, plus `env`: the app
    runs on what its caller passes, not on a REDIS_URL or WEB_CONCURRENCY left in the shell."""
    inherited = {k: v for k, v in os.environ.items() if k.upper() not in SERVE_ONLY_SETTINGS}
    return inherited | dict(env)


@contextmanager
def app_process(
    env: Mapping[str, str],
    memory: bool = False,
    startup_timeout: float = 30.0,
    socket_mode_ready: Callable[[], bool] | None = None,
) -> Iterator[AppProcess]:
    """With ``socket_mode_ready`` the app runs `serve --socket` and is ready once that says so (the
    fake workspace knows when the app has connected); otherwise it is ready once GET /health answers."""
    port = free_port()
    command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"]
    if socket_mode_ready is not None:
        command.append("--socket")
    if memory:
        command.append("--memory")
    descriptor, log_name = tempfile.mkstemp(prefix="mlops-compass-serve-", suffix=".log")
    with os.fdopen(descriptor, "wb") as log_file:
        process = subprocess.Popen(
            command,
            env=child_environment(env) | {"PORT": str(port)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    app = AppProcess(url=f"http://127.0.0.1:{port}", process=process, log_path=Path(log_name))
    try:
        deadline = time.monotonic() + startup_timeout
        ready = socket_mode_ready or (lambda: app.health() != 0)
        while not ready():
            if process.poll() is not None:
                raise AppDidNotStart(f"`mlops-compass serve` exited with {process.returncode}:\n{app.log()}")
            if time.monotonic() > deadline:
                raise AppDidNotStart(f"`mlops-compass serve` silent for {startup_timeout}s:\n{app.log()}")
            time.sleep(0.1)
        yield app
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
