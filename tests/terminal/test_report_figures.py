"""The text, Markdown and JSON reports must show the same figures for the same answers."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from bot.cli import main
from bot.engine.answers import choices
from bot.engine.bank import load_bank_file
from bot.engine.catalog import DEFAULT_BANKS_DIR
from bot.engine.scoring import score
from bot.terminal.report import print_report, report_json, report_markdown

from .report_figures import json_figures, markdown_figures, normalised, text_figures

MLOPS = load_bank_file(DEFAULT_BANKS_DIR / "mlops.yaml")
NAMES = [dimension.name for dimension in MLOPS.dimensions]

# Uneven on purpose: gates, "don't know", "not applicable", a missing question and partial answers.
MIXED_ANSWERS = {
    "code_version_control": 5,
    "experiment_tracking": "Tracked automatically for every run",
    "data_validation": 1,
    "reproducible_training": 5,
    "model_lineage": "dont_know",
    "feature_reuse": 4,
    "deployment_process": 5,
    "quality_gate": 4,
    "tested_rollback": 2,
    "progressive_delivery": "n/a",
    "service_monitoring": 3,
    "model_documentation": 1,
    "drift_alerts": 5,
    "prediction_quality": "dont_know",
    "code_review_ml": 5,
    "post_incident_reviews": 4,
    "shared_ownership": 2,
    "model_on_call": 3,
    "onboarding_path": 1,
}


def assess(capsys: pytest.CaptureFixture[str], answers_file: Path, report_format: str) -> str:
    code = main(["assess", "--answers", str(answers_file), "--format", report_format])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def test_json_text_and_markdown_show_the_same_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers_file = tmp_path / "answers.yaml"
    answers_file.write_text(yaml.safe_dump(MIXED_ANSWERS))
    data = json.loads(assess(capsys, answers_file, "json"))
    text = assess(capsys, answers_file, "text")
    markdown = assess(capsys, answers_file, "markdown")

    expected = json_figures(data)
    assert text_figures(text, NAMES) == expected
    assert markdown_figures(markdown, NAMES) == expected
    # The mixture must exercise the interesting cases, or the comparison proves little.
    assert any(d["gate"] for d in data["dimensions"])
    assert any(d["confidence"] < 1 for d in data["dimensions"])
    assert any(d["score"] is not None and d["score"] != round(d["score"]) for d in data["dimensions"])

    for rendering in (normalised(text), normalised(markdown)):
        assert normalised(data["recommendation"]["text"]) in rendering
        assert "overall level = weakest dimension" in rendering
        for step in data["next_steps"]:
            assert normalised(step["improvement"]) in rendering
            assert ", ".join(step["tools"]) in rendering


def _answer_sets():
    per_question = [
        st.sampled_from([answer for answer, _ in choices(question)] + [None]) for question in MLOPS.questions
    ]
    return st.tuples(*per_question).map(
        lambda picked: {q.id: a for q, a in zip(MLOPS.questions, picked, strict=True) if a is not None}
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=_answer_sets())
def test_every_rendering_agrees_with_the_json_for_any_answers(answers) -> None:
    report = score(MLOPS, answers)
    expected = json_figures(json.loads(report_json(report)))
    buffer = io.StringIO()
    print_report(Console(file=buffer, width=200, force_terminal=False), report, MLOPS.title)
    assert text_figures(buffer.getvalue(), NAMES) == expected
    assert markdown_figures(report_markdown(report, MLOPS.title), NAMES) == expected
