"""The playground's schedule demo: a schedule made through the app, and the real clock, fast-forwarded to
its first run, posting the reminder whose Start button begins the assessment."""

from __future__ import annotations

from bot.engine.catalog import BankCatalog
from tests.playground.terminal import raw_ids, run_without_a_terminal


def test_the_schedule_demo_shows_the_schedule_the_reminder_and_the_first_question() -> None:
    finished = run_without_a_terminal("--schedule-demo")
    assert finished.returncode == 0, finished.stderr
    out = " ".join(finished.stdout.split())
    assert "scheduled a quarterly MLOps Quarterly Pulse reminder in this channel" in out
    assert "cron 0 10 * 1,4,7,10 1#1" in out and "(times in your zone, Europe/Berlin)" in out
    assert "clock tick: 1 schedule claimed, 1 reminder posted" in out
    assert "It's time for this channel's quarterly assessment: MLOps Quarterly Pulse." in out
    assert "No assessment result has been reported in this channel yet" in out
    # The reminder's Start asks only what can still change a level: the pulse's count is the most there is.
    pulse = BankCatalog.from_directory().get("pulse")
    assert f"Question 1 of at most {len(pulse.questions)} " in out
    assert "The clock ticks again at the same moment: 0 reminders posted." in out
    assert raw_ids(out) == [] and "@you scheduled" in out and "Reminders in #general" in out
