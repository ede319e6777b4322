"""The crosswalk to the published maturity models, as data (question_banks/crosswalk/mlops.yaml): a team
written from each published level's description (tests/golden/<golden>.yaml, reasoning beside each answer)
lands on the Compass level the crosswalk gives it, in every dimension."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.engine.answers import OptionChoice
from bot.engine.catalog import DEFAULT_BANKS_DIR
from bot.engine.scoring import score
from bot.terminal.answers_file import load_answers_file

from .synthetic import shipped_bank

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CROSSWALK = yaml.safe_load((DEFAULT_BANKS_DIR / "crosswalk" / "mlops.yaml").read_text(encoding="utf-8"))
LEVELS = [
    pytest.param(model, level, id=level["golden"])
    for model in CROSSWALK["models"]
    for level in model["levels"]
]


def test_the_crosswalk_covers_azure_0_to_4_and_google_0_to_2_for_this_bank():
    published = {
        model["id"]: [level["published"] for level in model["levels"]] for model in CROSSWALK["models"]
    }
    assert published == {"azure": [0, 1, 2, 3, 4], "google": [0, 1, 2]}
    assert CROSSWALK["bank_version"] == shipped_bank("mlops").version
    for model in CROSSWALK["models"]:
        placed = [level["compass_level"] for level in model["levels"]]
        assert placed == sorted(placed), "a higher published level never lands lower"


@pytest.mark.parametrize(("model", "level"), LEVELS)
def test_a_team_written_from_a_published_level_lands_where_the_crosswalk_says(model, level):
    bank = shipped_bank("mlops")
    answers = load_answers_file(GOLDEN / f"{level['golden']}.yaml", bank).answers
    # The golden team answers what the description states exactly as the crosswalk records it.
    for question_id, option in level["implies"].items():
        assert answers[question_id] == OptionChoice(option - 1), question_id
    report = score(bank, answers)
    expected = level["compass_level"]
    assert {d.dimension_id: d.level for d in report.dimensions} == dict.fromkeys(
        ("data", "deploy", "monitor", "team"), expected
    )
    assert report.overall_level == expected
