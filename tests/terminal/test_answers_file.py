"""Reading an answers file: every accepted spelling, and every problem named by its question."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest

from bot.engine.answers import DontKnow, NotApplicable, OptionChoice
from bot.engine.bank import load_bank_file
from bot.engine.catalog import DEFAULT_BANKS_DIR
from bot.terminal.answers_file import MAX_LISTED_PROBLEMS, AnswersFileError, load_answers_file

PULSE = load_bank_file(DEFAULT_BANKS_DIR / "pulse.yaml")
MLOPS = load_bank_file(DEFAULT_BANKS_DIR / "mlops.yaml")


def load(tmp_path: Path, content: str, bank=PULSE, name: str = "answers.yaml"):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return load_answers_file(path, bank, name=name)


def problems(tmp_path: Path, content: str, bank=PULSE) -> list[str]:
    with pytest.raises(AnswersFileError) as raised:
        load(tmp_path, content, bank)
    return raised.value.problems


def test_numbers_labels_and_words_are_read(tmp_path: Path) -> None:
    label = PULSE.question("reproducible_training").options[2].label
    loaded = load(
        tmp_path,
        f"data_validation: 4\nreproducible_training: '{label.upper()}'\nquality_gate: \"2\"\n"
        "tested_rollback: don't know\ndrift_alerts: DK\n",
    )
    assert loaded.answers["data_validation"] == OptionChoice(3)
    assert loaded.answers["reproducible_training"] == OptionChoice(2)
    assert loaded.answers["quality_gate"] == OptionChoice(1)
    assert loaded.answers["tested_rollback"] == DontKnow()
    assert loaded.answers["drift_alerts"] == DontKnow()


def test_not_applicable_where_offered(tmp_path: Path) -> None:
    loaded = load(tmp_path, "progressive_delivery: n/a\n", bank=MLOPS)
    assert loaded.answers["progressive_delivery"] == NotApplicable()
    [problem] = problems(tmp_path, "drift_alerts: n/a\n", bank=MLOPS)
    assert (
        problem
        == "answers.yaml: question 'drift_alerts': question 'drift_alerts' does not offer 'Not applicable'"
    )


def test_json_is_read_too(tmp_path: Path) -> None:
    loaded = load(tmp_path, '{"data_validation": 5, "drift_alerts": "dont_know"}', name="answers.json")
    assert loaded.answers["data_validation"] == OptionChoice(4)


def test_missing_questions_are_listed_in_bank_order_and_left_unanswered(tmp_path: Path) -> None:
    loaded = load(tmp_path, "quality_gate: 1\n")
    everything_else = [q.id for q in PULSE.questions if q.id != "quality_gate"]
    assert loaded.missing == everything_else
    assert list(loaded.answers) == ["quality_gate"]


def test_questions_switched_off_by_a_context_answer_are_not_missing(tmp_path: Path) -> None:
    loaded = load(tmp_path, "llm_features: 1\n", bank=MLOPS)
    assert "prompt_versioning" not in loaded.missing and "data_versioning" in loaded.missing


def test_every_problem_is_reported_at_once_naming_its_question(tmp_path: Path) -> None:
    found = problems(
        tmp_path, "drift_skw: 1\ndata_validation: 0\nquality_gate: true\ntested_rollback: maybe\n"
    )
    assert found[0] == "answers.yaml: question 'drift_skw': no such question in bank 'pulse'"
    assert found[1] == "answers.yaml: question 'data_validation': option numbers start at 1; got 0"
    assert found[2] == "answers.yaml: question 'quality_gate': True is not an option"
    assert found[3].startswith(
        "answers.yaml: question 'tested_rollback': 'maybe' is not an option of 'tested_rollback'"
    )
    assert "1='No rollback path; we would retrain or patch forward'" in found[3]
    assert len(found) == 4


def test_digits_python_cannot_convert_are_reported_not_raised(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, "data_validation: '²'\n")
    assert problem.startswith("answers.yaml: question 'data_validation': ")


NOT_A_MAPPING = "answers.yaml: expected a mapping of question id to answer (e.g. `drift_alerts: 3`)"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", f"{NOT_A_MAPPING}; the file is empty"),
        ("[1, 2]", f"{NOT_A_MAPPING}; found list"),
        ("just text", f"{NOT_A_MAPPING}; found str"),
        ("a: [1\n", "answers.yaml: not valid YAML/JSON"),
        ("quality_gate: 1\nquality_gate: 2\n", "question 'quality_gate' is answered more than once"),
    ],
)
def test_a_file_that_is_not_a_mapping_of_answers_is_refused(
    tmp_path: Path, content: str, expected: str
) -> None:
    [problem] = problems(tmp_path, content)
    assert expected in problem


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AnswersFileError, match=r"absent\.yaml: cannot read file: No such file or directory"):
        load_answers_file(tmp_path / "absent.yaml", PULSE)
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(AnswersFileError, match=r"binary\.yaml: cannot read file: not UTF-8 text"):
        load_answers_file(tmp_path / "binary.yaml", PULSE)


def test_a_full_assessments_file_answers_the_pulse_and_lists_what_it_ignored(tmp_path: Path) -> None:
    path = tmp_path / "full.yaml"
    path.write_text("".join(f"{q.id}: 1\n" for q in MLOPS.questions), encoding="utf-8")
    loaded = load_answers_file(path, PULSE, name="full.yaml", other_banks=[MLOPS, PULSE])
    assert list(loaded.answers) == [q.id for q in PULSE.questions]
    pulse_ids = {q.id for q in PULSE.questions}
    assert loaded.ignored == [q.id for q in MLOPS.questions if q.id not in pulse_ids]
    assert loaded.ignored_note("full.yaml", "pulse") == (
        f"note: {len(loaded.ignored)} answer(s) in full.yaml are for questions of mlops that bank 'pulse' "
        "does not ask; they were ignored"
    )
    # Without the other banks, the same file is refused: each unknown question is a problem.
    with pytest.raises(AnswersFileError) as refused:
        load_answers_file(path, PULSE, name="full.yaml")
    assert refused.value.count == len(loaded.ignored) > MAX_LISTED_PROBLEMS
    assert refused.value.problems[-1] == f"full.yaml: … and {len(loaded.ignored) - 20} more problems"


def test_a_pipe_is_read_no_further_than_the_size_limit(tmp_path: Path) -> None:
    pipe = tmp_path / "endless.yaml"
    os.mkfifo(pipe)

    def write_until_the_reader_stops() -> None:
        with contextlib.suppress(BrokenPipeError), pipe.open("wb") as writer:
            while True:
                writer.write(b"# endless\n" * 4096)

    writer = threading.Thread(target=write_until_the_reader_stops, daemon=True)
    writer.start()
    with pytest.raises(AnswersFileError) as refused:
        load_answers_file(pipe, PULSE, name="endless.yaml")
    writer.join()
    assert refused.value.problems == [
        "endless.yaml: too large for an answers file: over the limit of 1,048,576 bytes (1 MiB)"
    ]
