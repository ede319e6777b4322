"""One report, every front end: the terminal text, Markdown, JSON and the Slack message state exactly the
facts of the engine's report view, for the golden answer files and for any answers at all."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from bot.cli.main import main
from bot.engine.answers import DontKnow, choices
from bot.engine.bank import load_bank_file
from bot.engine.catalog import DEFAULT_BANKS_DIR
from bot.engine.report_view import LEVEL_SCORE_REASON, build_view
from bot.engine.scoring import Report, score
from bot.slack.blocks import report_message
from bot.terminal.answers_file import load_answers_file
from bot.terminal.report import print_report, report_json, report_markdown
from tests.golden_reports import LEVEL_ABOVE_LOWER_SCORE, PULSE, PULSE_EXAMPLE, adaptive_answers, answered

from .report_figures import facts, normalised, report_facts, slack_text

MLOPS = load_bank_file(DEFAULT_BANKS_DIR / "mlops.yaml")
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
GOLDEN_FILES = sorted(p for p in GOLDEN.glob("*.yaml") if p.name != "expected.yaml")


def renderings(report: Report) -> dict[str, str]:
    buffer = io.StringIO()
    print_report(Console(file=buffer, width=200, force_terminal=False), report)
    return {
        "text": buffer.getvalue(),
        "markdown": report_markdown(report),
        "slack": slack_text(report_message(report, "U123").__dict__),
    }


def assert_same_facts(report: Report) -> None:
    view = build_view(report)
    assert json.loads(report_json(report)) == json.loads(json.dumps(view.to_dict()))
    for name, rendered in renderings(report).items():
        flat = normalised(rendered)
        # The terminal and Markdown state every fact; the Slack message those it has always stated.
        for fact in facts(view) if name == "slack" else report_facts(view):
            assert normalised(fact) in flat, f"{name} does not state: {fact}"
        if name != "slack":
            assert flat.count(normalised(view.level_meaning_text)) == 1, f"{name} repeats the level meaning"


@pytest.mark.parametrize("answers_file", GOLDEN_FILES, ids=[p.stem for p in GOLDEN_FILES])
def test_every_front_end_states_the_facts_of_the_view_for_each_golden_file(answers_file: Path) -> None:
    assert_same_facts(score(MLOPS, load_answers_file(answers_file, MLOPS).answers))


@pytest.mark.parametrize("stop", [True, False], ids=["stopped at the overall level", "kept going"])
@pytest.mark.parametrize("answers_file", GOLDEN_FILES, ids=[p.stem for p in GOLDEN_FILES])
def test_every_front_end_states_the_facts_of_an_adaptive_run(answers_file: Path, stop: bool) -> None:
    truth = load_answers_file(answers_file, MLOPS).answers
    given = adaptive_answers(MLOPS, {q.id: truth.get(q.id, DontKnow()) for q in MLOPS.questions}, stop)
    assert_same_facts(score(MLOPS, given))


def test_the_command_line_json_is_the_view(capsys: pytest.CaptureFixture[str]) -> None:
    answers_file = GOLDEN / "three_gates_dont_know.yaml"
    assert main(["assess", "--answers", str(answers_file), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    view = build_view(score(MLOPS, load_answers_file(answers_file, MLOPS).answers))
    assert data == json.loads(json.dumps(view.to_dict()))
    # The golden case exercises what differs between front ends most easily: a range, gates, find-outs.
    assert data["overall_range_text"] == "could be 4"
    assert any(d["notes"] for d in data["dimensions"]) and data["find_out"]
    # And what levels settled one by one add: each level's range, the level meaning, the questions left out.
    assert all(d["level"]["range"] == [d["level"]["level"]] * 2 for d in data["dimensions"])
    assert data["level_meaning_text"] == view.level_meaning_text
    assert {"not_asked", "not_asked_text", "to_answer"} <= set(data)


@pytest.mark.parametrize(
    ("answers_file", "times"), [(LEVEL_ABOVE_LOWER_SCORE, 1), (PULSE_EXAMPLE, 0)], ids=["disagree", "agree"]
)
def test_every_front_end_says_why_a_level_and_a_score_disagree_once_and_only_then(
    answers_file: Path, times: int
) -> None:
    for name, rendered in renderings(answered(PULSE, answers_file)).items():
        assert normalised(rendered).count(LEVEL_SCORE_REASON) == times, name


def test_a_score_next_to_a_level_boundary_is_printed_as_is_everywhere() -> None:
    # 84.6 once showed as "85/100 · Level 3" in Slack: now every front end prints the view's figure as is.
    report = score(MLOPS, load_answers_file(GOLDEN / "level_4_practices_missing.yaml", MLOPS).answers)
    assert build_view(report).overall_score_text == "75.4/100"
    for rendered in renderings(report).values():
        assert "75.4/100" in rendered and "75/100" not in rendered


def _answer_sets():
    # None leaves the question unanswered, as a file that leaves it out or an adaptive run that skips it.
    per_question = [
        st.sampled_from([answer for answer, _ in choices(question)] + [None]) for question in MLOPS.questions
    ]
    return st.tuples(*per_question).map(
        lambda picked: {q.id: a for q, a in zip(MLOPS.questions, picked, strict=True) if a is not None}
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=_answer_sets())
def test_every_front_end_states_the_same_facts_for_any_answers(answers) -> None:
    assert_same_facts(score(MLOPS, answers))
