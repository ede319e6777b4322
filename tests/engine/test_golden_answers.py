"""Answer files with their levels worked out by hand (tests/golden/expected.yaml), scored by the engine."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.engine.report_view import build_view
from bot.engine.scoring import score
from bot.terminal.answers_file import load_answers_file

from .synthetic import shipped_bank

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
EXPECTED = yaml.safe_load((GOLDEN / "expected.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_golden_answer_file_scores_as_worked_out_by_hand(name):
    expected = EXPECTED[name]
    bank = shipped_bank("mlops")
    report = score(bank, load_answers_file(GOLDEN / f"{name}.yaml", bank).answers)
    view = build_view(report)

    assert {d.dimension_id: d.level for d in report.dimensions} == expected["levels"]
    if "scores" in expected:
        assert {d.id: d.score for d in view.dimensions} == expected["scores"]
    assert view.overall.level == expected["overall"]["level"]
    assert view.overall_score == expected["overall"]["score"]
    assert view.overall_range_text == expected["overall"]["range"]
    assert report.applicable == expected["applicable"]
    if "disagreements" in expected:
        assert len(report.disagreements) == expected["disagreements"]
    if "find_out" in expected:
        assert len(report.find_out) == expected["find_out"]


def test_dont_know_on_three_gates_never_beats_saying_we_dont():
    bank = shipped_bank("mlops")
    unknown = score(bank, load_answers_file(GOLDEN / "three_gates_dont_know.yaml", bank).answers)
    absent = score(bank, load_answers_file(GOLDEN / "three_gates_we_dont.yaml", bank).answers)
    assert [(d.score, d.level) for d in unknown.dimensions] == [(d.score, d.level) for d in absent.dimensions]
    assert unknown.next_steps and all(s.kind == "find_out" for s in unknown.next_steps[:3])


def test_two_answers_name_what_to_answer():
    bank = shipped_bank("mlops")
    report = score(bank, load_answers_file(GOLDEN / "two_answers.yaml", bank).answers)
    assert report.overall_level is None and report.recommendation is None
    # Every practice that applies but the two answered; the context and outcome questions set no level.
    practices = [q for q in bank.practices if q.id not in ("data_versioning", "ci_tests")]
    assert sorted(qid for qid, _ in report.to_answer) == sorted(q.id for q in practices)
