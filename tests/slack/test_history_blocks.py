"""Block Kit for results over time and the Home tab: within Slack's limits whatever the history holds."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.views import View

from bot.engine.catalog import BankCatalog
from bot.engine.history import DimensionSummary, ResultSummary, changes_since, trends
from bot.engine.scoring import score
from bot.slack.blocks import MAX_BLOCKS, check_message, report_message
from bot.slack.history_blocks import history_message, kept_note, with_changes
from bot.slack.history_flow import channel_argument
from bot.slack.home import MAX_HOME_BLOCKS, home_view
from bot.slack.values import SessionButton
from bot.store.history import Scope, summary_of_report
from bot.usecases.history import BankChoice, History, HomeData, InProgress, OpenTeamRun
from bot.usecases.personal import RunProgress
from playground.demo import demo_answers, demo_answers_later

BANK = BankCatalog.from_directory().get("mlops")
NOW = time.time()


def test_a_report_carries_its_changes_right_under_the_headline() -> None:
    before = summary_of_report(score(BANK, demo_answers(BANK)), "a", NOW - 86400)
    report = score(BANK, demo_answers_later(BANK))
    after = summary_of_report(report, "b", NOW)
    message = with_changes(report_message(report, "U1"), changes_since(after, [before, after]))
    check_message(message)
    ids = [b.get("block_id") for b in message.blocks]
    # What moved since last time is part of what a lead reads first: right after the overall level.
    assert ids.index("overall") + 1 == ids.index("changes") < ids.index("dimensions")
    text = message.blocks[ids.index("changes")]["text"]["text"]
    assert "Since your previous result" in text and "level 3 → 4" in text


@pytest.mark.parametrize(
    ("argument", "channel"),
    [("<#C0123ABC|general>", "C0123ABC"), ("<#C0123ABC>", "C0123ABC"), ("C0123ABC", "C0123ABC"),
     ("#general", None), ("<@U123>", None), ("c0123abc", None)],
)  # fmt: skip
def test_a_channel_is_read_from_slacks_escaped_mention(argument: str, channel: str | None) -> None:
    assert channel_argument(argument) == channel


def summaries(count: int) -> list[ResultSummary]:
    dims = tuple(DimensionSummary(f"d{i}", f"Dimension {i}", 1 + i % 4, 25.0 * (i % 5)) for i in range(10))
    return [
        ResultSummary(f"r{n}", NOW - n * 86400, "mlops", "2.0.0", "MLOps & <Co>", 2, 50.0, 40.0, dims)
        for n in range(count)
    ]


def test_a_long_history_lists_ten_and_says_how_many_more() -> None:
    results = summaries(40)
    message = history_message("Your history", results, trends(results), kept_note(40, 1095), "none")
    check_message(message)
    listed = next(b for b in message.blocks if b.get("block_id") == "history-results")["text"]["text"]
    assert listed.startswith("*40 results, newest first*") and "…and 30 older" in listed
    assert (
        "MLOps &amp; &lt;Co&gt;"
        in next(b for b in message.blocks if b.get("block_id") == "history-trends")["text"]["text"]
    )
    assert "newest 40 results, each for 3 years" in message.blocks[-1]["elements"][0]["text"]


PROGRESS = RunProgress(answered=3, applicable=27, at_most_left=9, settled=False)
EVERY = "20 questions, about 10 minutes"


def home(results: int, banks: int, runs: int, channels: int, in_progress: bool) -> HomeData:
    found = summaries(results)
    return HomeData(
        user_id="U1",
        history=History(Scope.person("T1", "U1"), tuple(found), trends(found)),
        in_progress=InProgress("mlops", "MLOps", PROGRESS) if in_progress else None,
        banks=tuple(
            BankChoice(f"bank{i}", f"Bank number {i}", "about 12 questions, 6 minutes", EVERY)
            for i in range(banks)
        ),
        open_runs=tuple(
            OpenTeamRun(f"C{i:04d}", "Pulse", i, NOW + 86400, "team_take_part", f'{{"r": "R{i}"}}')
            for i in range(runs)
        ),
        channel_results=tuple((f"C{i:04d}", found[0]) for i in range(min(channels, len(found)))),
    )


@settings(max_examples=60, deadline=None)
@given(
    results=st.integers(0, 40),
    banks=st.integers(0, 60),
    runs=st.integers(0, 60),
    channels=st.integers(0, 5),
    in_progress=st.booleans(),
)
def test_the_home_tab_stays_within_slacks_limits(
    results: int, banks: int, runs: int, channels: int, in_progress: bool
) -> None:
    view = home_view(home(results, banks, runs, channels, in_progress))
    assert len(view["blocks"]) <= MAX_HOME_BLOCKS
    View(**view).validate_json()
    action_ids = [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert len(action_ids) == len(set(action_ids))


def test_the_home_tab_shows_each_part() -> None:
    view = home_view(home(results=3, banks=2, runs=1, channels=1, in_progress=True))
    ids = [b.get("block_id") for b in view["blocks"]]
    for part in (
        "home-latest",
        "home-trend",
        "home-in-progress",
        "home-banks",
        "home-run-0",
        "home-team-results",
    ):
        assert part in ids
    in_progress = next(b for b in view["blocks"] if b.get("block_id") == "home-in-progress")
    assert in_progress["text"]["text"] == f"*In progress:* MLOps, {PROGRESS.text}"
    assert PROGRESS.text == "answered 3 questions, at most 9 to go"
    resume = in_progress["accessory"]
    assert resume["action_id"] == "home_resume"
    take_part = next(b for b in view["blocks"] if b.get("block_id") == "home-run-0")["accessory"]
    assert take_part["action_id"] == "team_take_part"


def test_a_report_already_at_the_block_limit_goes_without_changes() -> None:
    report = report_message(score(BANK, demo_answers(BANK)), "U1")
    full = type(report)(
        report.text, report.blocks + [{"type": "divider"}] * (MAX_BLOCKS - len(report.blocks))
    )
    only = summary_of_report(score(BANK, demo_answers(BANK)), "a", NOW)
    assert with_changes(full, changes_since(only, [])) == full


def test_a_start_button_never_cuts_a_long_bank_title() -> None:
    data = home(results=0, banks=0, runs=0, channels=0, in_progress=False)
    long_title = BankChoice(
        "mlops", "MLOps Maturity Assessment", "about 32 questions, 16 minutes", EVERY
    )  # "Start …" would be 31 characters
    pulse = BankChoice(
        "pulse", "MLOps Quarterly Pulse", "8 questions, about 4 minutes", "8 questions, about 4 minutes"
    )
    view = home_view(replace(data, banks=(long_title, pulse)))
    starts = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(e["text"]["text"], e["accessibility_label"]) for e in starts] == [
        ("Start mlops", "Start MLOps Maturity Assessment"),
        ("Start MLOps Quarterly Pulse", "Start MLOps Quarterly Pulse"),
        ("Every question: mlops", "Start MLOps Maturity Assessment, every question"),
        ("Every question: pulse", "Start MLOps Quarterly Pulse, every question"),
    ]
    # The first two start a run that asks only what can change a level, the other two a full run.
    assert [SessionButton.decode(e["value"]) for e in starts] == [
        SessionButton(u="U1", b="mlops"),
        SessionButton(u="U1", b="pulse"),
        SessionButton(u="U1", b="mlops", m="full"),
        SessionButton(u="U1", b="pulse", m="full"),
    ]
    listed = next(b for b in view["blocks"] if b.get("block_id") == "home-banks")["text"]["text"]
    assert f"(`mlops`): {long_title.length}; every question: {EVERY}" in listed
