"""A whole team answering a team run at once, end to end, at a size the test suite does not run: the real
app (`serve` and its worker) against the fake Slack and a real Redis, members taking part and answering
concurrently, the live count, the nudge and the close, with every assertion of the suite's test.

    python benchmarks/team_members.py [--members 50] [--members 100]

It runs `tests/e2e/test_team_run.py`'s whole-team test once per size, in one process, and prints how long
the members took to answer and the whole test took.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = (
    "tests/e2e/test_team_run.py::test_a_whole_team_answers_at_once_and_the_team_report_counts_them_per_band"
)


def run(members: int) -> None:
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", TEST, "-n", "0", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=os.environ | {"MLOPS_COMPASS_TEST_TEAM_SIZE": str(members)},
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.monotonic() - started
    answered = re.search(r"team run: .*", finished.stdout)
    outcome = "passed" if finished.returncode == 0 else f"FAILED (exit {finished.returncode})"
    print(f"{members} members: {outcome}; whole test {took:.1f} s; {answered[0] if answered else ''}")
    if finished.returncode != 0:
        print(finished.stdout[-4000:])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, action="append", help="team sizes to run (default: 50)")
    for members in parser.parse_args().members or [50]:
        run(members)


if __name__ == "__main__":
    main()
