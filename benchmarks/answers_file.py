"""What an answers file full of unknown question ids costs `mlops-compass assess --answers`: wall time, peak
memory and lines printed, for a file just under the size limit and one ten times over it, beside a real
answers file for the cost of starting the command at all.

    python benchmarks/answers_file.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.terminal.answers_file import MAX_FILE_BYTES

COMMAND = Path(sys.executable).with_name("mlops-compass")
REAL_FILE = Path(__file__).resolve().parents[1] / "examples" / "team-answers.yaml"


def unknown_ids_file(path: Path, most_bytes: int) -> Path:
    """A file of `q0000000: 1` lines, as many as fit in `most_bytes`."""
    line_bytes = len("q0000000: 1\n")
    with path.open("w") as file:
        # Line by line: a child's peak memory counts what it inherited at fork, so this process stays small.
        for number in range(most_bytes // line_bytes):
            file.write(f"q{number:07d}: 1\n")
    return path


def measure(answers: Path, scratch: Path) -> tuple[int, int, float, float]:
    """Exit code, lines on standard error, wall seconds and peak resident MB of one run."""
    with (scratch / "out").open("wb") as out, (scratch / "err").open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(COMMAND), "assess", "--answers", str(answers)], stdout=out, stderr=err
        )
        # wait4, not wait: the child's own peak memory, not the largest of every child so far.
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    lines = (scratch / "err").read_bytes().count(b"\n")
    peak_mb = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 2**20
    return process.returncode, lines, elapsed, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        scratch = Path(directory)
        cases = [
            ("a real answers file", REAL_FILE),
            ("unknown ids, just under the limit", unknown_ids_file(scratch / "under.yaml", MAX_FILE_BYTES)),
            ("unknown ids, 10 x the limit", unknown_ids_file(scratch / "over.yaml", 10 * MAX_FILE_BYTES)),
        ]
        print(f"{'file':<36}{'bytes':>12}{'exit':>6}{'lines':>8}{'wall s':>9}{'peak MB':>9}")
        for label, path in cases:
            code, lines, elapsed, peak_mb = measure(path, scratch)
            size = path.stat().st_size
            print(f"{label:<36}{size:>12,}{code:>6}{lines:>8,}{elapsed:>9.2f}{peak_mb:>9.0f}")


if __name__ == "__main__":
    main()
