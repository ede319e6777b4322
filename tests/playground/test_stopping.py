"""However the playground is stopped (`kill`, a hangup, its terminal closed, even SIGKILL), the app processes
it started stop with it rather than run on, adopted by init."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import pytest

from tests.playground.terminal import (
    command_line,
    descendants,
    read_until,
    start_in_terminal,
    wait_until_gone,
    wait_until_reading_the_terminal,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not Path("/proc/self/stat").exists(),
    reason="finds the playground's processes in Linux's /proc",
)


def send(number: int) -> Callable[[subprocess.Popen[bytes], int], None]:
    return lambda process, controller: os.kill(process.pid, number)


def close_the_terminal(process: subprocess.Popen[bytes], controller: int) -> None:
    os.close(controller)


@pytest.mark.parametrize(
    ("stop", "exit_code"),
    [
        pytest.param(send(signal.SIGTERM), 128 + signal.SIGTERM, id="SIGTERM"),
        pytest.param(send(signal.SIGHUP), 128 + signal.SIGHUP, id="SIGHUP"),
        # Closing a terminal hangs it up: the kernel sends its session's leader SIGHUP.
        pytest.param(close_the_terminal, 128 + signal.SIGHUP, id="closed terminal"),
        # Nothing runs in the playground after SIGKILL: the children are told by the kernel.
        pytest.param(send(signal.SIGKILL), -signal.SIGKILL, id="SIGKILL"),
    ],
)
def test_the_app_processes_stop_with_the_playground(
    stop: Callable[[subprocess.Popen[bytes], int], None], exit_code: int
) -> None:
    process, controller = start_in_terminal("--bank", "pulse")
    try:
        screen = read_until(controller, "Your choice", timeout=60)
        wait_until_reading_the_terminal(process.pid)
        started = descendants(process.pid)
        assert any(" -m bot serve " in command_line(pid) for pid in started), (started, screen)
        stop(process, controller)
        assert process.wait(timeout=30) == exit_code
        assert wait_until_gone(started, timeout=30) == []
    finally:
        if process.poll() is None:
            process.kill()
        with suppress(OSError):  # the test closed it
            os.close(controller)
