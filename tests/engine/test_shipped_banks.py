from __future__ import annotations

from collections import Counter

import pytest

from bot.engine.answers import DONT_KNOW_LABEL, DontKnow, choices
from bot.engine.bank import BUTTON_LABEL_LIMIT, load_bank_file
from bot.engine.catalog import DEFAULT_BANK_ID, DEFAULT_BANKS_DIR, BankCatalog

# The production-safety practices that cap a dimension's level when missing.
MLOPS_GATES = {
    "data_validation",
    "reproducible_training",
    "model_lineage",
    "quality_gate",
    "tested_rollback",
    "drift_alerts",
    "prediction_quality",
}


def test_the_default_directory_offers_both_banks():
    catalog = BankCatalog.from_directory()

    assert sorted(b.id for b in catalog.banks) == ["mlops", "pulse"]
    assert catalog.get(DEFAULT_BANK_ID).id == "mlops"


@pytest.mark.parametrize("name", ["mlops.yaml", "pulse.yaml"])
def test_each_shipped_file_loads_on_its_own(name):
    bank = load_bank_file(DEFAULT_BANKS_DIR / name)

    assert bank.id == name.removesuffix(".yaml")
    assert [info.level for info in bank.levels] == [1, 2, 3, 4]


@pytest.mark.parametrize("bank_id", ["mlops", "pulse"])
def test_every_question_offers_dont_know(bank_id, mlops, pulse):
    bank = {"mlops": mlops, "pulse": pulse}[bank_id]

    for q in bank.questions:
        offered = choices(q)
        assert (DontKnow(), DONT_KNOW_LABEL) in offered, q.id
        assert all(len(label) <= BUTTON_LABEL_LIMIT for _, label in offered), q.id


def test_mlops_has_four_dimensions_of_four_to_six_questions(mlops):
    per_dimension = Counter(q.dimension for q in mlops.questions)

    assert len(mlops.dimensions) == 4
    assert set(per_dimension) == {d.id for d in mlops.dimensions}
    assert all(4 <= count <= 6 for count in per_dimension.values()), per_dimension


def test_mlops_gates_are_the_seven_safety_practices(mlops):
    assert {q.id for q in mlops.questions if q.is_gate} == MLOPS_GATES
    assert all(q.weight == 3 for q in mlops.questions if q.is_gate)


def test_every_mlops_dimension_has_a_gate_and_a_recommendation_per_level(mlops):
    gated = {q.dimension for q in mlops.questions if q.is_gate}

    assert gated >= {"data", "deploy", "monitor"}
    for d in mlops.dimensions:
        assert sorted(mlops.recommendations[d.id]) == [1, 2, 3, 4]


def test_pulse_is_short_and_comparable_with_mlops(pulse, mlops):
    assert len(pulse.questions) <= 8
    assert pulse.estimated_minutes <= 4
    assert {d.id for d in pulse.dimensions} == {d.id for d in mlops.dimensions}
    # Same ids must mean the same question, or a pulse result could not be compared with a full one.
    for q in pulse.questions:
        full = mlops.question(q.id)
        assert (q.text, q.weight, q.level, q.dimension) == (
            full.text,
            full.weight,
            full.level,
            full.dimension,
        )
        assert [o.value for o in q.options] == [o.value for o in full.options]
