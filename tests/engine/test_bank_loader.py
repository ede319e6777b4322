from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.engine.bank import BankError, BankProblem, QuestionBank, load_bank_file, parse_bank
from bot.engine.catalog import BankCatalog, UnknownBank

from .synthetic import TEST_FILE, bank_dict, base_bank_dict, context_question, load, question


def problems_of(document: dict | str) -> list[BankProblem]:
    text = document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False)
    with pytest.raises(BankError) as caught:
        parse_bank(text, TEST_FILE)
    return caught.value.problems


def only_problem(document: dict | str) -> BankProblem:
    problems = problems_of(document)
    assert len(problems) == 1, problems
    assert problems[0].file == TEST_FILE
    return problems[0]


def test_a_valid_bank_loads_with_its_content(base_dict):
    bank = load(base_dict)

    assert isinstance(bank, QuestionBank)
    assert [d.id for d in bank.dimensions] == ["data", "ops"]
    assert [q.id for q in bank.questions_in("ops")] == ["ops_1", "ops_2", "ops_3"]
    assert bank.practice("data_3").weight == 3
    assert not bank.practice("data_3").gate
    assert [o.value for o in bank.practice("data_1").options] == [0.0, 0.5, 1.0]
    assert bank.question("ops_2").not_applicable == "We have no live traffic"
    assert bank.reviewed == "2026-11"
    assert (bank.attainment_threshold, bank.gate_pass_mark) == (0.7, 0.5)


def test_a_bank_in_json_loads_too(base_dict):
    assert parse_bank(json.dumps(base_dict), "test.json").id == "test"


def test_wrong_type_names_the_field(base_dict):
    base_dict["questions"][1]["weight"] = "heavy"

    problem = only_problem(base_dict)

    assert problem.path == "questions[1].weight"
    assert "number" in problem.reason


def test_unknown_dimension_names_the_question_and_lists_known_ones(base_dict):
    base_dict["questions"][2]["dimension"] = "nowhere"

    problem = only_problem(base_dict)

    assert problem.path == "questions[2].dimension"
    assert "nowhere" in problem.reason
    assert "data" in problem.reason and "ops" in problem.reason


def test_duplicate_question_id_names_the_repeat(base_dict):
    base_dict["questions"][3]["id"] = "data_1"

    problem = only_problem(base_dict)

    assert problem.path == "questions[3].id"
    assert "duplicate" in problem.reason and "data_1" in problem.reason


def test_duplicate_dimension_id_names_the_repeat(base_dict):
    base_dict["dimensions"].append({"id": "ops", "name": "Again", "description": "A second ops."})

    problem = only_problem(base_dict)

    assert problem.path == "dimensions[2].id"
    assert "duplicate" in problem.reason and "ops" in problem.reason


@pytest.mark.parametrize("weight", [0, -1, -0.5])
def test_weight_must_be_positive(base_dict, weight):
    base_dict["questions"][4]["weight"] = weight

    problem = only_problem(base_dict)

    assert problem.path == "questions[4].weight"
    assert "greater than 0" in problem.reason


@pytest.mark.parametrize(
    ("value", "words"), [(1.5, "less than or equal to 1"), (-0.25, "greater than or equal")]
)
def test_option_value_outside_zero_to_one(base_dict, value, words):
    base_dict["questions"][0]["options"][2]["value"] = value

    problems = problems_of(base_dict)

    assert problems[0] == BankProblem(TEST_FILE, "questions[0].options[2].value", problems[0].reason)
    assert words in problems[0].reason


def test_option_values_must_increase(base_dict):
    base_dict["questions"][5]["options"][1]["value"] = 0.0

    problem = only_problem(base_dict)

    assert problem.path == "questions[5].options[1].value"
    assert "increase" in problem.reason


@pytest.mark.parametrize(("position", "value", "reason"), [(0, 0.1, "must be 0"), (2, 0.9, "must be 1")])
def test_options_run_from_not_in_place_to_fully_in_place(base_dict, position, value, reason):
    base_dict["questions"][0]["options"][position]["value"] = value

    problem = only_problem(base_dict)

    assert problem.path == f"questions[0].options[{position}].value" and reason in problem.reason


def test_a_gate_at_level_1_is_refused(base_dict):
    base_dict["questions"][0]["gate"] = True

    assert only_problem(base_dict).path == "questions[0].gate"


def test_after_must_name_practices_and_form_no_circle(base_dict):
    base_dict["questions"][0]["after"] = ["ghost"]
    assert only_problem(base_dict).path == "questions[0].after[0]"
    base_dict["questions"][0]["after"] = ["data_2"]
    base_dict["questions"][1]["after"] = ["data_1"]
    problem = only_problem(base_dict)
    assert problem.path == "questions" and "circle" in problem.reason


def test_applies_if_must_point_at_an_earlier_context_question(base_dict):
    context = {
        "id": "ships_llm",
        "kind": "context",
        "text": "Do you ship LLM features?",
        "why": "Decides the LLM questions.",
        "options": [{"label": "No"}, {"label": "Yes"}],
    }
    base_dict["questions"].insert(0, context)
    base_dict["questions"][2]["applies_if"] = {"question": "ships_llm", "options": [2]}
    assert load(base_dict).question("data_2").applies_if is not None

    base_dict["questions"][2]["applies_if"] = {"question": "ships_llm", "options": [3]}
    assert only_problem(base_dict).path == "questions[2].applies_if.options[0]"
    base_dict["questions"][2]["applies_if"] = {"question": "data_1", "options": [1]}
    assert "not a context question" in only_problem(base_dict).reason
    base_dict["questions"][2]["applies_if"] = {"question": "data_3", "options": [1]}
    assert "not an earlier question" in only_problem(base_dict).reason


def test_a_bad_field_in_a_question_names_its_place_without_the_kind(base_dict):
    base_dict["questions"][1]["weight"] = "heavy"

    assert only_problem(base_dict).path == "questions[1].weight"


def test_pulse_must_name_practices(base_dict):
    base_dict["pulse"] = ["data_1", "ghost"]

    assert only_problem(base_dict).path == "pulse[1]"


def test_reviewed_is_a_year_and_month(base_dict):
    base_dict["reviewed"] = "2026-13"

    assert only_problem(base_dict).path == "reviewed"


def test_a_dimension_needs_three_questions_by_default(base_dict):
    del base_dict["questions"][6]

    problem = only_problem(base_dict)

    assert problem.path == "dimensions[1]"
    assert (
        "'ops'" in problem.reason
        and "2 practice question" in problem.reason
        and "at least 3" in problem.reason
    )


def test_min_questions_per_dimension_lowers_the_minimum(base_dict):
    del base_dict["questions"][6]
    del base_dict["questions"][5]
    base_dict["min_questions_per_dimension"] = 1

    assert len(load(base_dict).questions_in("ops")) == 1


def test_min_questions_per_dimension_can_also_raise_it(base_dict):
    base_dict["min_questions_per_dimension"] = 5

    assert [p.path for p in problems_of(base_dict)] == ["dimensions[0]", "dimensions[1]"]


def test_a_dimension_whose_practices_can_all_drop_out_needs_one_that_always_applies():
    # The bank hypothesis found: "Not applicable" for dim_1's one practice took the weakest dimension out
    # of the overall level, which went from 1 to 3.
    found = bank_dict(
        [
            question("q_0", "dim_0", level=4, values=(0.0, 1.0)),
            question("q_1", "dim_1", level=1, values=(0.0, 1.0), not_applicable="Not for us"),
        ],
        min_questions_per_dimension=1,
    )
    problem = only_problem(found)
    assert problem.path == "dimensions[1]"
    assert "'dim_1'" in problem.reason and "always applies" in problem.reason

    # A practice that always applies beside it is enough; one switched on by a context answer is not.
    switched = {"question": "uses_dim_1", "options": [1]}
    conditional = question("q_2", "dim_1", values=(0.0, 1.0), applies_if=switched)
    found["questions"] = [context_question("uses_dim_1"), *found["questions"], conditional]
    assert only_problem(found).path == "dimensions[1]"
    found["questions"][-1] = question("q_2", "dim_1", values=(0.0, 1.0))
    assert load(found).questions_in("dim_1")


def test_a_dimension_a_context_answer_switches_off_whole_is_a_valid_bank():
    switched = {"question": "serves_llm", "options": [1]}
    bank = load(
        bank_dict(
            [
                context_question("serves_llm"),
                question("data_1", "data"),
                question("llm_evals", "llm", level=2, applies_if=switched),
            ],
            dimensions=["data", "llm"],
            min_questions_per_dimension=1,
        )
    )
    assert [q.id for q in bank.questions_in("llm")] == ["llm_evals"]


def test_a_version_1_bank_with_recommendations_is_told_what_changed(base_dict):
    base_dict["recommendations"] = {"data": {1: "a"}}

    problems = problems_of(base_dict)

    assert any("bank format 2" in p.reason for p in problems)


def test_option_label_fits_a_slack_button(base_dict):
    base_dict["questions"][0]["options"][0]["label"] = "x" * 75
    load(base_dict)
    base_dict["questions"][0]["options"][1]["label"] = "y" * 76

    problem = only_problem(base_dict)

    assert problem.path == "questions[0].options[1].label"
    assert "75" in problem.reason


def test_question_text_fits_a_slack_section(base_dict):
    base_dict["questions"][0]["text"] = "x" * 3000
    load(base_dict)
    base_dict["questions"][1]["text"] = "y" * 3001

    problem = only_problem(base_dict)

    assert problem.path == "questions[1].text"
    assert "3000" in problem.reason


@pytest.mark.parametrize(
    ("place", "path"),
    [
        (lambda d: d, "colour"),
        (lambda d: d["questions"][0], "questions[0].colour"),
        (lambda d: d["questions"][0]["options"][1], "questions[0].options[1].colour"),
    ],
)
def test_unknown_field_is_refused_rather_than_ignored(base_dict, place, path):
    place(base_dict)["colour"] = "blue"

    problem = only_problem(base_dict)

    assert problem.path == path
    assert problem.reason == "unknown field"


def test_invalid_yaml_names_the_line():
    text = "id: test\ntitle: Test\nquestions: [unclosed\nversion: '1'\n"

    problem = only_problem(text)

    assert problem.path.startswith("line ")
    assert "not valid YAML" in problem.reason
    line = int(problem.path.split()[1].rstrip(","))
    assert 3 <= line <= 5


@pytest.mark.parametrize("text", ["- a list\n- of things\n", "just a sentence\n", "", "42\n"])
def test_a_document_that_is_not_a_mapping(text):
    problem = only_problem(text)

    assert problem.path == ""
    assert "mapping" in problem.reason


def test_every_problem_is_reported_at_once(base_dict):
    base_dict["questions"][1]["weight"] = "heavy"
    base_dict["questions"][2]["dimension"] = "nowhere"
    base_dict["questions"][3]["id"] = "data_1"

    problems = problems_of(base_dict)

    assert {p.path for p in problems} == {"questions[1].weight", "questions[2].dimension", "questions[3].id"}
    assert all(p.file == TEST_FILE for p in problems)


def test_error_message_lists_file_path_and_reason_per_line(base_dict):
    base_dict["questions"][1]["weight"] = "heavy"
    base_dict["questions"][2]["dimension"] = "nowhere"

    with pytest.raises(BankError) as caught:
        parse_bank(yaml.safe_dump(base_dict), TEST_FILE)

    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("test.yaml: questions[1].weight: ")
    assert lines[1].startswith("test.yaml: questions[2].dimension: unknown dimension")


def test_one_bad_question_among_many_refuses_the_whole_bank(tmp_path):
    questions = [question(f"q_{i}", "data") for i in range(20)]
    questions[17]["options"][1]["value"] = "lots"
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(bank_dict(questions)), encoding="utf-8")

    with pytest.raises(BankError) as caught:
        load_bank_file(path)

    problems = [(p.file, p.path) for p in caught.value.problems]
    assert problems == [(str(path), "questions[17].options[1].value")]


def test_unreadable_file_is_a_bank_error(tmp_path):
    missing = tmp_path / "absent.yaml"

    with pytest.raises(BankError) as caught:
        load_bank_file(missing)

    assert caught.value.problems[0].file == str(missing)
    assert "cannot read" in caught.value.problems[0].reason


# Catalog ------------------------------------------------------------------------------------------


def write_bank(directory: Path, name: str, **fields) -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(base_bank_dict() | fields, sort_keys=False), encoding="utf-8")
    return path


def test_catalog_loads_every_bank_in_a_directory(tmp_path):
    write_bank(tmp_path, "alpha.yaml", id="alpha")
    write_bank(tmp_path, "beta.yml", id="beta")
    (tmp_path / "notes.txt").write_text("not a bank")

    catalog = BankCatalog.from_directory(tmp_path)

    assert sorted(b.id for b in catalog.banks) == ["alpha", "beta"]
    assert catalog.get("beta").id == "beta"


def test_a_bad_file_is_left_out_with_its_problems_and_the_good_banks_load(tmp_path):
    good = write_bank(tmp_path, "alpha.yaml", id="alpha")
    bad = write_bank(tmp_path, "broken.yaml", id="broken", version="")

    catalog = BankCatalog.from_directory(tmp_path)

    assert [b.id for b in catalog.banks] == ["alpha"]
    assert [(f.path, f.loaded) for f in catalog.files] == [(good, True), (bad, False)]
    assert [f.path for f in catalog.broken] == [bad]
    assert [(p.file, p.path) for p in catalog.problems] == [(str(bad), "version")]
    with pytest.raises(UnknownBank):
        catalog.by_id("broken")


def test_two_files_with_one_bank_id_are_both_refused_each_naming_the_other(tmp_path):
    first = write_bank(tmp_path, "a.yaml", id="same")
    second = write_bank(tmp_path, "b.yaml", id="same")
    write_bank(tmp_path, "c.yaml", id="other")

    catalog = BankCatalog.from_directory(tmp_path)

    assert [b.id for b in catalog.banks] == ["other"]
    assert [str(p) for p in catalog.problems] == [
        f"{first}: id: bank id 'same' also used by {second}",
        f"{second}: id: bank id 'same' also used by {first}",
    ]
    with pytest.raises(UnknownBank):
        catalog.by_id("same")


def test_catalog_of_a_missing_directory(tmp_path):
    with pytest.raises(BankError, match="no such directory"):
        BankCatalog.from_directory(tmp_path / "nowhere")


def test_catalog_gets_a_bank_by_path_outside_the_catalog(tmp_path):
    catalog = BankCatalog([])
    path = write_bank(tmp_path, "custom.yaml", id="custom")

    assert catalog.get(str(path)).id == "custom"


def test_catalog_by_path_still_refuses_a_bad_bank(tmp_path):
    path = write_bank(tmp_path, "custom.yaml", id="custom", title="")

    with pytest.raises(BankError) as caught:
        BankCatalog([]).get(str(path))

    assert caught.value.problems[0].file == str(path)


def test_unknown_bank_names_the_available_ones(tmp_path):
    write_bank(tmp_path, "alpha.yaml", id="alpha")
    write_bank(tmp_path, "beta.yaml", id="beta")
    catalog = BankCatalog.from_directory(tmp_path)

    with pytest.raises(UnknownBank) as caught:
        catalog.get("gamma")

    assert "gamma" in str(caught.value)
    assert "alpha, beta" in str(caught.value)


def test_unknown_bank_in_an_empty_catalog():
    with pytest.raises(UnknownBank, match="none"):
        BankCatalog([]).get("mlops")
