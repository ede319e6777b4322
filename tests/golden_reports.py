"""Reports of the shipped banks for answer files, read and scored as `mlops-compass assess --answers` does."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bot.engine.adaptive import AskingMode, questions_to_ask, standing
from bot.engine.answers import Answer
from bot.engine.bank import QuestionBank, load_bank_file
from bot.engine.catalog import DEFAULT_BANKS_DIR
from bot.engine.scoring import Report, score
from bot.terminal.answers_file import load_answers_file

ROOT = Path(__file__).resolve().parents[1]
PULSE = load_bank_file(DEFAULT_BANKS_DIR / "pulse.yaml")
MLOPS = load_bank_file(DEFAULT_BANKS_DIR / "mlops.yaml")
# Deployment & Integration at level 2 with 30.0/100 beside Data & Experimentation at level 1 with 40.0/100,
# and under every dimension what holds it and the pulse's ceiling.
LEVEL_ABOVE_LOWER_SCORE = ROOT / "tests" / "golden" / "pulse" / "level_above_lower_score.yaml"
# Levels and scores in the same order; Team & Culture's one practice is unanswered, so its level is the range
# 1 to 2 (not settled) and its only note is its ceiling.
PULSE_EXAMPLE = ROOT / "examples" / "pulse-answers.yaml"
# The demo team: every dimension held below level 4, no ceiling (the full assessment places up to 4).
TEAM_EXAMPLE = ROOT / "examples" / "team-answers.yaml"


def answered(bank: QuestionBank, answers_file: Path) -> Report:
    return score(bank, load_answers_file(answers_file, bank).answers)


def adaptive_answers(
    bank: QuestionBank, truth: Mapping[str, Answer], stop_when_settled: bool = False
) -> dict[str, Answer]:
    """The answers an adaptive run collects from a team whose situation `truth` is: to the end, or with
    `stop_when_settled` up to the offer to stop at the settled overall level."""
    given: dict[str, Answer] = {}
    while following := questions_to_ask(bank, given, AskingMode.ADAPTIVE):
        if stop_when_settled and standing(bank, given).overall_settled:
            break
        given[following[0].id] = truth[following[0].id]
    return given
