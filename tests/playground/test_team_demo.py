"""`mlops-compass-playground --team`: simulated teammates answer beside you, you close the run, and the
team report comes to the channel, all through the real app in a fake workspace."""

from __future__ import annotations

from bot.engine.catalog import BankCatalog
from bot.engine.scoring import score
from bot.usecases.personal import member_asking
from playground.demo import TEAMMATES, demo_answers, teammate_answers
from tests.playground.terminal import raw_ids, run_without_a_terminal
from tests.slack.adaptive_runs import take

BANK = BankCatalog.from_directory().get("mlops")


def test_the_team_demo_ends_with_the_team_report_of_everyone_who_answered() -> None:
    finished = run_without_a_terminal("--team", "--demo", timeout=180)
    assert finished.returncode == 0, finished.stderr
    out = finished.stdout
    # `team` typed alone opens its form; the playground shows it and submits it as shown.
    assert "Form: Start a team run" in out and "Closes in (days): 7" in out and "Channel: #general" in out
    # Only your own questions are shown, one panel each; the teammates answer in their own DMs. A member
    # is asked what every dimension's level needs, and never offered to stop.
    mine = take(BANK, demo_answers(BANK), stop=False, asking=member_asking(BANK))
    assert mine.offer is None
    assert out.count("DM from MLOps Compass") == len(mine.asked) and "Stop here" not in out
    report = out[out.index("Team MLOps maturity report") :]
    everyone = 1 + len(TEAMMATES)
    assert f"{everyone} answered of {everyone} members invited" in report
    answer_sets = [demo_answers(BANK)] + [teammate_answers(BANK, n) for n in range(len(TEAMMATES))]
    individual = [score(BANK, answers) for answers in answer_sets]
    lines = [line.strip("│ ") for line in report.splitlines()]
    for dimension in BANK.dimensions:
        levels = [r.dimension(dimension.id).level for r in individual]
        upper = sum(level is not None and level >= 3 for level in levels)
        heading = lines.index(dimension.name)
        expected = f"{upper} of {everyone} at Level 3 or above · {everyone - upper} below Level 3"
        assert expected in lines[heading + 1], (dimension.id, lines[heading + 1])
    assert "Where the team differs" in report and "median" not in report.replace("medians,", "")
    assert "<!date" not in out and "Closes 20" in out  # the deadline as its fallback date
    for user_id, name in TEAMMATES:
        assert user_id not in report and user_id.lower() not in report and f"@{name}" not in report
    assert raw_ids(out) == [] and "@you started an anonymous team survey" in " ".join(out.split())
