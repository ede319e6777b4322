from __future__ import annotations

from collections import Counter

import pytest

from bot.engine.answers import DONT_KNOW_LABEL, DontKnow, OptionChoice, choices
from bot.engine.audit import (
    RETIRED_TOOLS_FILE,
    cut_label_warnings,
    level_pool,
    level_pool_problems,
    read_retired_tools,
    retired_tool_problems,
)
from bot.engine.bank import BUTTON_LABEL_LIMIT, load_bank_file
from bot.engine.catalog import DEFAULT_BANK_ID, DEFAULT_BANKS_DIR, BankCatalog
from bot.engine.scoring import applicable_questions, score


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


def test_mlops_covers_2026_practice_in_four_dimensions_and_at_most_60_questions(mlops):
    per_dimension = Counter(q.dimension for q in mlops.practices)
    fewest, most = mlops.question_counts

    # 3.0.0 asks one fact a question and rests every level on three practices: 50 questions for a team
    # without LLM features, 60 with retrieval and agents (about half an hour).
    assert len(mlops.dimensions) == 4
    assert set(per_dimension) == {d.id for d in mlops.dimensions}
    assert (fewest, most) == (50, 60)
    assert mlops.reviewed >= "2026-12"
    # Every level 2–4 of every dimension rests on at least three practices that every team is asked.
    for dimension in mlops.dimensions:
        for level in (2, 3, 4):
            assert len(level_pool(mlops, dimension.id, level)) >= 3, (dimension.id, level)
    assert level_pool_problems(mlops, "mlops") == []
    topics = {
        "ci_tests", "registered_models", "automated_deployment", "data_versioning", "prediction_logging",
        "drift_alerts", "skew_checks", "freshness_alerts", "model_inventory", "release_approvals",
        "fairness_explainability", "access_and_secrets", "artifact_integrity", "training_data_privacy",
        "cost_visibility", "cross_functional_team", "training_pipeline_cicd", "incident_postmortems",
        "data_contracts", "model_cards", "pinned_environments", "llm_eval_gate", "prompt_versioning",
        "llm_input_guardrails", "llm_output_guardrails", "llm_tracing", "llm_red_teaming",
        "agent_tool_permissions", "provider_model_pinning", "rag_index_freshness",
        "permission_aware_retrieval",
    }  # fmt: skip
    assert topics <= {q.id for q in mlops.practices}
    assert len(mlops.outcomes) == 4


def test_llm_questions_follow_what_the_llm_feature_does(mlops):
    def asked(option: int) -> set[str]:
        llm = {q.id for q in mlops.questions if q.applies_if and q.applies_if.question == "llm_features"}
        return llm & {q.id for q in applicable_questions(mlops, {"llm_features": OptionChoice(option - 1)})}

    assert asked(1) == set()
    # In development: only what a feature needs before it has users; no release gate holds the level.
    assert asked(2) == {"prompt_versioning"}
    serving = {
        "prompt_versioning", "llm_eval_gate", "provider_model_pinning", "llm_input_guardrails",
        "llm_output_guardrails", "llm_tracing", "llm_red_teaming",
    }  # fmt: skip
    assert asked(3) == serving
    assert asked(4) == serving | {"rag_index_freshness", "permission_aware_retrieval"}
    assert asked(5) == serving | {"agent_tool_permissions"}
    assert asked(6) == serving | {
        "rag_index_freshness",
        "permission_aware_retrieval",
        "agent_tool_permissions",
    }


def test_every_dimension_of_mlops_has_a_gate_except_possibly_team_and_gates_are_flags(mlops):
    gates = [q for q in mlops.practices if q.gate]
    assert {q.dimension for q in gates} == {"data", "deploy", "monitor", "team"}
    assert all(2 <= q.level <= 4 for q in gates)


def test_the_pulse_is_a_subset_of_mlops_and_mlops_carries_its_index(pulse, mlops):
    assert set(pulse.pulse) == {q.id for q in pulse.questions}
    assert set(mlops.pulse) == set(pulse.pulse)
    assert pulse.estimated_minutes <= 4
    assert {d.id for d in pulse.dimensions} == {d.id for d in mlops.dimensions}
    # Same ids must mean the same question, or a pulse result could not be compared with a full one.
    for q in pulse.practices:
        full = mlops.practice(q.id)
        same = (
            "text",
            "why",
            "options",
            "weight",
            "level",
            "dimension",
            "gate",
            "not_applicable",
            "improvement",
        )
        assert all(getattr(q, name) == getattr(full, name) for name in same), q.id


def test_a_pulse_and_a_full_assessment_give_the_same_pulse_index_for_the_same_answers(pulse, mlops):
    answers = {q.id: OptionChoice(i % len(q.options)) for i, q in enumerate(mlops.practices)}
    full = score(mlops, answers).pulse_index
    quick = score(pulse, {qid: a for qid, a in answers.items() if qid in pulse.pulse}).pulse_index
    assert full is not None and full == quick


def test_no_shipped_bank_names_a_retired_tool(mlops, pulse):
    retired = read_retired_tools(DEFAULT_BANKS_DIR / RETIRED_TOOLS_FILE)
    assert {"WhyLabs", "Opsgenie"} <= set(retired)
    for bank in (mlops, pulse):
        assert retired_tool_problems(bank, retired, bank.id) == []


def test_a_retired_tool_is_found_in_tools_and_improvement_text(mlops):
    practice = mlops.practices[0]
    stale = practice.model_copy(update={"tools": ["WhyLabs"], "improvement": "Page the owner in opsgenie."})
    index = mlops.questions.index(practice)
    questions = [*mlops.questions[:index], stale, *mlops.questions[index + 1 :]]
    bank = mlops.model_copy(update={"questions": questions})
    problems = retired_tool_problems(bank, read_retired_tools(DEFAULT_BANKS_DIR / RETIRED_TOOLS_FILE), "x")
    assert [p.path for p in problems] == [f"questions[{index}].tools[0]", f"questions[{index}].improvement"]


def test_every_shipped_answer_label_shows_whole_as_a_radio_option(mlops, pulse):
    for bank in (mlops, pulse):
        assert cut_label_warnings(bank, bank.id) == []


def test_a_label_longer_than_the_presentation_shows_is_a_warning_naming_its_place(mlops):
    warnings = cut_label_warnings(mlops, "mlops.yaml", shown=30)
    # Most of the bank's labels would be cut as buttons: the reason answers are radio options.
    assert len(warnings) > 50
    first = warnings[0]
    assert first.path.startswith("questions[") and "Slack shows 30 whole" in first.reason
