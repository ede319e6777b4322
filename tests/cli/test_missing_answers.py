"""`assess --answers` with questions missing from the file: a level they could change is the range they
allow, a level they could not change is given, and every report format says the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.cli.main import main
from bot.engine.answers import OptionChoice
from bot.engine.bank import load_bank_file
from bot.engine.catalog import DEFAULT_BANKS_DIR
from bot.terminal.report import NOT_ASKED_SHOWN
from tests.golden_reports import adaptive_answers

MLOPS = load_bank_file(DEFAULT_BANKS_DIR / "mlops.yaml")
PULSE = load_bank_file(DEFAULT_BANKS_DIR / "pulse.yaml")
PULSE_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pulse-answers.yaml"
FORMATS = ("text", "markdown", "json")


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")


def assess(capsys: pytest.CaptureFixture[str], bank: str, answers: Path) -> dict[str, tuple[str, str]]:
    """Each format's (report, notes) for the same file."""
    rendered = {}
    for report_format in FORMATS:
        code = main(["assess", "--bank", bank, "--answers", str(answers), "--format", report_format])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        rendered[report_format] = (captured.out, captured.err)
    return rendered


def folded(text: str) -> str:
    return " ".join(text.split())


def practice(question_id: str) -> str:
    return PULSE.question(question_id).text


def test_a_missing_answer_that_could_change_a_level_leaves_the_range_in_every_format(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The example leaves out ownership_on_call, the pulse's one Team & Culture practice: in place it
    # gives level 2 (the pulse's ceiling there), not in place level 1. The other dimensions are at 2, so
    # the overall level is 1 or 2 as well.
    rendered = assess(capsys, "pulse", PULSE_EXAMPLE)
    for _, notes in rendered.values():
        assert notes.splitlines() == [
            f"note: 1 question(s) that apply are missing from {PULSE_EXAMPLE}: ownership_on_call",
            "note: 1 of them could still change a level: Team & Culture gets a range, not a level, and the "
            "overall level is not settled; the report lists them to answer",
        ]
    data = json.loads(rendered["json"][0])
    team = next(d for d in data["dimensions"] if d["id"] == "team")
    assert (team["level"]["label"], team["level"]["range"], team["score"]) == (
        "Level 1 to 2 · not settled",
        [1, 2],
        None,
    )
    assert team["score_text"] == "score 0.0 to 100.0/100 (not every practice was asked)"
    assert [d["level"]["level"] for d in data["dimensions"] if d["id"] != "team"] == [2, 2, 2]
    assert (data["overall"]["level"], data["overall"]["range"]) == (None, [1, 2])
    assert data["to_answer"] == [practice("ownership_on_call")]
    assert data["level_meaning_text"] and data["not_asked_text"] is None

    text = folded(rendered["text"][0])
    assert (
        "Team & Culture Level 1 to 2 · not settled ▒▒▒▒▒▒▒▒▒▒ score 0.0 to 100.0/100 (not every practice "
        "was asked) · 1 question could still change it"
    ) in text
    assert f"Answer these to get a level • {practice('ownership_on_call')}" in text
    markdown = rendered["markdown"][0]
    assert (
        "| Team & Culture | score 0.0 to 100.0/100 (not every practice was asked) | Level 1 to 2 · not "
        "settled | 1 question could still change it |"
    ) in markdown
    assert f"## Answer these to get a level\n\n- {practice('ownership_on_call')}" in markdown
    for report, _ in rendered.values():
        assert folded(report).count(folded(data["level_meaning_text"])) == 1
        assert "not enough answers" not in report and "60%" not in report


def test_a_missing_answer_that_could_not_change_a_level_leaves_it_given_and_is_listed_as_not_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every practice at its first option (not in place) but prediction_quality, left out. Monitoring &
    # Governance's level-2 gate (access and secrets) and level-3 gate (drift alerts) fail whatever it
    # says, so the level is 1; its score is between 0 (not in place) and its weight's share (in place).
    answers = {q.id: 1 for q in PULSE.questions if q.id != "prediction_quality"}
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers))
    rendered = assess(capsys, "pulse", path)
    for _, notes in rendered.values():
        assert notes.splitlines() == [
            f"note: 1 question(s) that apply are missing from {path}: prediction_quality",
            "note: no answer to them could change a level, so every level is given",
        ]
    weights = {q.id: q.weight for q in PULSE.questions_in("monitor")}
    share = 100 * weights["prediction_quality"] / sum(weights.values())
    data = json.loads(rendered["json"][0])
    monitor = next(d for d in data["dimensions"] if d["id"] == "monitor")
    assert (monitor["level"]["level"], monitor["level"]["range"], monitor["score"]) == (1, [1, 1], None)
    assert monitor["score_text"] == f"score 0.0 to {share:.1f}/100 (not every practice was asked)"
    assert data["overall"]["level"] == 1 and data["to_answer"] == []
    not_asked_text = (
        "1 question not asked: no answer to it could change a level. Answer it for a complete picture and "
        "more Next Steps."
    )
    assert (data["not_asked"], data["not_asked_text"]) == ([practice("prediction_quality")], not_asked_text)
    assert f"Not asked {not_asked_text} • {practice('prediction_quality')}" in folded(rendered["text"][0])
    assert (
        f"## Not asked\n\n{not_asked_text}\n\n- {practice('prediction_quality')}" in rendered["markdown"][0]
    )


def test_a_long_list_of_questions_not_asked_is_shortened_in_the_terminal_and_folded_in_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "answers.yaml"
    # What an adaptive run that went on to the end asks a team with nothing in place.
    nothing_in_place = {q.id: OptionChoice(0) for q in MLOPS.questions}
    path.write_text(yaml.safe_dump(dict.fromkeys(adaptive_answers(MLOPS, nothing_in_place), 1)))
    rendered = assess(capsys, "mlops", path)
    data = json.loads(rendered["json"][0])
    not_asked = data["not_asked"]
    assert len(not_asked) > NOT_ASKED_SHOWN and data["not_asked_text"] and not data["to_answer"]
    text = folded(rendered["text"][0])
    shown = " ".join(f"• {item}" for item in not_asked[:NOT_ASKED_SHOWN])
    assert f"{shown} … and {len(not_asked) - NOT_ASKED_SHOWN} more" in text
    assert not_asked[NOT_ASKED_SHOWN] not in text
    markdown = rendered["markdown"][0]
    folded_list = "\n".join(f"- {item}" for item in not_asked)
    assert (
        f"<details><summary>The {len(not_asked)} questions not asked</summary>\n\n{folded_list}\n\n</details>"
    ) in markdown
