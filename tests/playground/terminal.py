"""The playground run as a person runs it: in a terminal of its own (a pseudo-terminal), and the processes it
started, as Linux's /proc shows them."""

from __future__ import annotations

import os
import platform
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def run_without_a_terminal(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`mlops-compass-playground ARGS` to its end with nothing on stdin, as a script or CI runs it; its
    output as text, without colour and wide enough that no line of a panel wraps."""
    return subprocess.run(
        [sys.executable, "-m", "playground", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def start_in_terminal(*args: str) -> tuple[subprocess.Popen[bytes], int]:
    """`mlops-compass-playground ARGS` in a new session whose controlling terminal is a pseudo-terminal, as a
    terminal window starts its program; returns the process and the terminal's controller side, whose
    closing is the window closing."""
    pty = pytest.importorskip("pty")
    termios = pytest.importorskip("termios")
    fcntl = pytest.importorskip("fcntl")
    controller, terminal = pty.openpty()

    def take_the_terminal() -> None:
        # A program started in the background by a shell without job control inherits SIGINT ignored, and
        # Python then installs no KeyboardInterrupt handler; a terminal's foreground program has the
        # default, so the playground gets that whatever ran the tests.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [sys.executable, "-m", "playground", *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
        start_new_session=True,
        preexec_fn=take_the_terminal,
    )
    os.close(terminal)
    return process, controller


def raw_ids(transcript: str) -> list[str]:
    """Slack's user and channel ids in what the playground showed (a capital U or C, then capitals and
    digits, a digit among them), where a Slack client shows names."""
    return re.findall(r"\b[UC](?=[A-Z0-9]*[0-9])[A-Z0-9]{2,}\b", transcript)


def type_line(controller: int, line: str) -> None:
    os.write(controller, line.encode() + b"\r")


def read_until(controller: int, marker: str | None, timeout: float) -> str:
    """What the terminal shows until `marker` appears (or, with None, until the program closes it)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the program closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        if marker is not None and marker.encode() in seen:
            break
    return seen.decode(errors="replace")


# The read system call's number, where /proc/PID/syscall shows what a process is blocked in.
READ_SYSCALL = {"x86_64": "0", "aarch64": "63"}


def wait_until_reading_the_terminal(pid: int, timeout: float = 30.0) -> None:
    """Until the process's main thread is blocked reading its standard input (fd 0), where Linux shows it;
    elsewhere there is nothing to wait for."""
    number = READ_SYSCALL.get(platform.machine())
    where = Path(f"/proc/{pid}/syscall")
    deadline = time.monotonic() + timeout
    while number is not None:
        try:
            state = where.read_text().split()
        except OSError:
            return  # no /proc, or not allowed to look
        if state[:2] == [number, "0x0"]:
            return
        assert time.monotonic() < deadline, f"the playground is not reading its terminal: {state}"
        time.sleep(0.01)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name, in parentheses, may hold spaces and parentheses of its own.
    state, parent = stat.rsplit(")", 1)[1].split()[:2]
    return state, int(parent)


def descendants(pid: int) -> list[int]:
    """Every process `pid` started that still runs, and theirs."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat[1]
    found, level = [], [pid]
    while level:
        level = [child for child, parent in parents.items() if parent in level]
        found += level
    return found


def running(pid: int) -> bool:
    """A zombie has finished: it waits only for a parent to read its exit status."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_until_gone(pids: list[int], timeout: float) -> list[int]:
    """The processes of `pids` still running after `timeout` seconds (none, once all have ended)."""
    deadline = time.monotonic() + timeout
    while (left := [pid for pid in pids if running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left
