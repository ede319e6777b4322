"""A Redis Sentinel failover under the real app: `serve`, `worker` and `clock` on a primary, its replica
and three sentinels (benchmarks/failover.py runs the scenario and prints its figures). Fifty people are
mid-assessment when the primary is killed, ten of them finishing, so that their reports are on their way;
everyone goes on clicking through the outage.

What must hold: a click that meets the outage is answered with the try-again reply (HTTP 200, never an
error), every person finishes, every report reaches its channel exactly once, and the web process, the
worker and the clock all carry on against the promoted replica. The answers lost (Redis replicates
asynchronously) and the seconds without service are measured and printed, not asserted.
"""

from __future__ import annotations

import pytest

from benchmarks.failover import run
from tests.e2e.conftest import MEASURED

PEOPLE = 50
FINISHING = 10


@pytest.mark.timeout(180)
def test_people_mid_assessment_go_on_through_a_sentinel_failover_and_get_one_report_each() -> None:
    figures = run(PEOPLE, FINISHING, answered_before=4)
    MEASURED.extend(f"sentinel failover: {line}" for line in figures.lines())

    # The outage was met, and every click that met it was told to try again, never an error.
    assert figures.clicks_in_outage > 0
    stale_after_a_lost_answer = figures.answers_lost > 0
    assert figures.other_replies == [] or stale_after_a_lost_answer, figures.other_replies
    assert figures.web_tracebacks == 0
    # Everyone went on to the end, and each report reached its channel once.
    assert figures.unfinished == 0
    assert figures.reports_once == PEOPLE
    assert figures.reports_twice_or_more == 0 and figures.reports_missing == 0
    assert figures.pending_reports == 0
    # The processes followed the promotion rather than stopping or needing a restart.
    assert figures.processes_alive
    assert figures.clock_beat_after_promotion
