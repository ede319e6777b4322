"""The mlops-compass command: exit codes, validation output, non-interactive assessments and listings."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli.main import build_parser, main
from bot.engine.bank import load_bank_file
from bot.engine.catalog import DEFAULT_BANKS_DIR
from bot.engine.overview import length
from bot.terminal.answers_file import MAX_FILE_BYTES, MAX_LISTED_PROBLEMS
from tests.playground.terminal import read_until, type_line

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).with_name("mlops-compass")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
MLOPS = load_bank_file(DEFAULT_BANKS_DIR / "mlops.yaml")
PULSE = load_bank_file(DEFAULT_BANKS_DIR / "pulse.yaml")


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def normalised(text: str) -> str:
    return " ".join(text.split())


def best_answers() -> dict[str, int]:
    """Every practice at its best; the context answer says the team ships LLM features, so all apply."""
    return {question.id: len(question.options) for question in MLOPS.questions}


def worst_answers() -> dict[str, int]:
    return {question.id: 1 for question in MLOPS.questions if question.kind == "practice"} | {
        "llm_features": 3
    }


def index_of(question_id: str) -> int:
    return next(i for i, q in enumerate(MLOPS.questions) if q.id == question_id)


def write_answers(tmp_path: Path, answers: object, name: str = "answers.yaml") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(answers) if name.endswith(".json") else yaml.safe_dump(answers))
    return path


def assess_json(capsys: pytest.CaptureFixture[str], answers_file: Path, *options: str) -> dict:
    code, out, err = run(capsys, "assess", *options, "--answers", str(answers_file), "--format", "json")
    assert code == 0, err
    return json.loads(out)


# Parser structure ---------------------------------------------------------------------------------


def test_parser_offers_the_subcommands() -> None:
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    assert isinstance(subparsers.choices, dict)
    assert {"assess", "validate", "banks"} <= set(subparsers.choices)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["assess", "--format", "yaml"],
        ["assess", "--format", "json"],
        ["assess", "--full", "--answers", "examples/team-answers.yaml"],
    ],
    ids=["no command", "unknown command", "unknown format", "format without answers", "full with answers"],
)
def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err
    assert out == ""


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "assess" in out and "validate" in out and "banks" in out


# validate ---------------------------------------------------------------------------------------


def test_validate_accepts_the_shipped_banks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(PROJECT_ROOT / "question_banks"))
    assert code == 0
    assert out.strip() == "2 banks OK"


def test_validate_defaults_to_the_shipped_banks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate")
    assert code == 0
    assert "2 banks OK" in out


def broken_bank(tmp_path: Path) -> Path:
    raw = yaml.safe_load((DEFAULT_BANKS_DIR / "mlops.yaml").read_text())
    raw = copy.deepcopy(raw)
    # Three practices no other question or the pulse list refers to, so each mistake is reported once.
    raw["questions"][index_of("ci_tests")]["weight"] = "heavy"
    raw["questions"][index_of("service_monitoring")]["dimension"] = "security"
    raw["questions"][index_of("cost_visibility")]["id"] = "code_review_ml"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_validate_reports_exactly_the_three_problems_with_file_path_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = broken_bank(tmp_path)
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    lines = out.strip().splitlines()
    problems, summary = lines[:-1], lines[-1]
    assert len(problems) == 3, out
    by_path = {}
    for line in problems:
        file, problem_path, reason = line.split(": ", 2)
        assert file == str(path)
        by_path[problem_path] = reason
    weight = f"questions[{index_of('ci_tests')}].weight"
    dimension = f"questions[{index_of('service_monitoring')}].dimension"
    duplicate = f"questions[{index_of('cost_visibility')}].id"
    assert set(by_path) == {weight, dimension, duplicate}
    assert "number" in by_path[weight]
    assert "unknown dimension 'security'" in by_path[dimension]
    assert "duplicate question id 'code_review_ml'" in by_path[duplicate]
    assert summary == "3 problems in 1 file"


def test_validate_checks_every_bank_in_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken_bank(tmp_path)
    (tmp_path / "pulse.yaml").write_text((DEFAULT_BANKS_DIR / "pulse.yaml").read_text())
    (tmp_path / "notes.txt").write_text("not a bank, and not checked")
    code, out, _ = run(capsys, "validate", str(tmp_path))
    assert code == 1
    assert out.strip().splitlines()[-1] == "3 problems in 1 file; 1 bank OK"


def test_validate_refuses_a_bank_id_used_twice_in_one_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("one.yaml", "two.yaml"):
        (tmp_path / name).write_text((DEFAULT_BANKS_DIR / "pulse.yaml").read_text())
    code, out, _ = run(capsys, "validate", str(tmp_path))
    assert code == 1
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    assert f"{one}: id: bank id 'pulse' also used by {two}" in out
    assert f"{two}: id: bank id 'pulse' also used by {one}" in out
    assert out.strip().splitlines()[-1] == "2 problems in 2 files"


def test_validate_of_a_missing_path_is_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate", str(tmp_path / "nowhere"))
    assert code == 2
    assert "nowhere: no such file or directory" in err


def test_validate_of_a_directory_without_banks_is_a_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "validate", str(tmp_path))
    assert code == 1
    assert "no question bank files" in out


# assess --answers -------------------------------------------------------------------------------


def test_all_best_answers_reach_level_4_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = assess_json(capsys, write_answers(tmp_path, best_answers()))
    assert [d["level"]["level"] for d in data["dimensions"]] == [4, 4, 4, 4]
    assert data["overall"] == {
        "level": 4,
        "name": "Optimized / Autonomous",
        "colour": "green",
        "label": "Level 4 · Optimized / Autonomous",
        "range": [4, 4],
    }
    assert data["overall_score"] == 100.0
    assert data["next_steps"] == []


def test_all_worst_answers_stay_at_level_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = assess_json(capsys, write_answers(tmp_path, worst_answers()))
    assert [d["level"]["level"] for d in data["dimensions"]] == [1, 1, 1, 1]
    assert data["overall_score"] == 0.0
    assert len(data["next_steps"]) == 5
    assert data["next_steps"][0]["kind"] == "gate"


@pytest.mark.parametrize(
    "failed_gate", ["quality_gate", "data_validation", "tested_rollback", "drift_alerts"]
)
def test_a_failed_gate_holds_its_dimension_below_its_level_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], failed_gate: str
) -> None:
    # "We don't" (option 2 is the best still under the pass mark of 0.5) with everything else at its best:
    # the gate's level falls short and costs its dimension one level, 4 → 3.
    answers_file = write_answers(tmp_path, best_answers() | {failed_gate: 2})
    gate = MLOPS.practice(failed_gate)
    held = "Held at level 3 of 4 by a gate: the practices of 2 of its 3 levels hold"
    expected_note = f"Level {gate.level} falls short: gate {gate.name} (answered below its pass mark)"

    data = assess_json(capsys, answers_file)
    result = next(d for d in data["dimensions"] if d["id"] == gate.dimension)
    assert result["level"]["level"] == 3
    [note] = result["notes"]
    assert note["kind"] == "held"
    assert note["text"].startswith(held) and expected_note in note["text"]
    assert data["overall"]["level"] == 3
    assert [d["notes"] for d in data["dimensions"] if d["id"] != gate.dimension] == [[], [], []]

    for report_format in ("text", "markdown"):
        code, out, err = run(capsys, "assess", "--answers", str(answers_file), "--format", report_format)
        assert code == 0, err
        assert expected_note in normalised(out)
        assert normalised(out).count("Held at level") == 1


def test_answers_may_be_labels_numbers_not_applicable_or_dont_know_in_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers: dict[str, object] = {q.id: q.options[-1].label.upper() for q in MLOPS.questions}
    answers["progressive_delivery"] = "n/a"
    answers["drift_alerts"] = "dont_know"
    answers["code_review_ml"] = 5
    data = assess_json(capsys, write_answers(tmp_path, answers, "answers.json"))
    by_id = {d["id"]: d for d in data["dimensions"]}
    assert by_id["deploy"]["score"] == 100.0
    # drift_alerts (weight 3 of 42 applicable in monitor, LLM set included) unknown: counts as not in
    # place. Its gate fails, so level 3 falls short: 4 − 1 = 3, and 4 if it were in place.
    assert by_id["monitor"]["score"] == 92.9
    assert (by_id["monitor"]["level"]["level"], by_id["monitor"]["range_text"]) == (3, "could be 4")
    assert data["find_out"] == [MLOPS.question("drift_alerts").text]
    assert by_id["team"]["score"] == 100.0


def test_a_dimension_missing_from_the_file_gets_the_range_its_questions_allow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = {q.id: len(q.options) for q in MLOPS.questions if getattr(q, "dimension", None) != "monitor"}
    code, out, err = run(
        capsys, "assess", "--answers", str(write_answers(tmp_path, answers)), "--format", "json"
    )
    assert code == 0
    monitor_ids = [q.id for q in MLOPS.questions if q.kind == "practice" and q.dimension == "monitor"]
    missing = [q.id for q in MLOPS.questions if getattr(q, "dimension", None) == "monitor"]  # and its outcome
    assert err.splitlines() == [
        f"note: {len(missing)} question(s) that apply are missing from {tmp_path / 'answers.yaml'}: "
        + ", ".join(missing),
        f"note: {len(monitor_ids)} of them could still change a level: Monitoring & Governance gets a range, "
        "not a level, and the overall level is not settled; the report lists them to answer",
    ]
    data = json.loads(out)
    monitor = next(d for d in data["dimensions"] if d["id"] == "monitor")
    # Nothing answered in the dimension: any of its levels could hold or not, and any score is possible.
    assert monitor["level"] == {
        "level": None,
        "name": None,
        "colour": "grey",
        "label": "Level 1 to 4 · not settled",
        "range": [1, 4],
    }
    assert (monitor["score"], monitor["score_text"]) == (
        None,
        "score 0.0 to 100.0/100 (not every practice was asked)",
    )
    assert monitor["confidence_text"] == f"{len(monitor_ids)} questions could still change it"
    # The other dimensions are at 4, so the overall level is the monitoring range: not settled, no level.
    assert (data["overall"]["level"], data["overall"]["range"]) == (None, [1, 4])
    assert data["headline"] == (
        f"No overall level yet: it is between 1 and 4, and {len(monitor_ids)} questions could still change "
        "it."
    )
    assert set(data["to_answer"]) == {MLOPS.question(qid).text for qid in monitor_ids}
    assert (data["not_asked"], data["not_asked_text"]) == ([], None)


def test_an_unknown_question_and_an_invalid_option_are_both_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers: dict[str, int | str] = {**best_answers(), "drift_skw": 3, "drift_alerts": "sometimes"}
    path = write_answers(tmp_path, answers)
    code, out, err = run(capsys, "assess", "--answers", str(path))
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert f"{path}: question 'drift_skw': no such question in bank 'mlops' or any other bank" in lines
    assert any(
        line.startswith(f"{path}: question 'drift_alerts': 'sometimes' is not an option of 'drift_alerts'")
        for line in lines
    )


def test_a_full_assessments_file_answers_the_pulse_and_the_rest_is_ignored_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = {q.id: 2 for q in MLOPS.questions}
    pulse_only = {q.id: 2 for q in PULSE.questions}
    code, out, err = run(
        capsys,
        "assess",
        "--bank",
        "pulse",
        "--answers",
        str(write_answers(tmp_path, full)),
        "--format",
        "json",
    )
    assert code == 0, err
    ignored = len(full) - len(pulse_only)
    assert ignored > 0
    path = tmp_path / "answers.yaml"
    assert (
        f"note: {ignored} answer(s) in {path} are for questions of mlops that bank 'pulse' does not ask"
        in (normalised(err))
    )
    # Exactly the report of a file with the pulse's own questions only.
    only = write_answers(tmp_path, pulse_only, "pulse.yaml")
    assert json.loads(out) == assess_json(capsys, only, "--bank", "pulse")


def test_an_id_no_bank_asks_is_still_refused_when_the_rest_is_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = {q.id: 2 for q in MLOPS.questions} | {"drift_skw": 3}
    path = write_answers(tmp_path, answers)
    code, out, err = run(capsys, "assess", "--bank", "pulse", "--answers", str(path))
    assert (code, out) == (2, "")
    assert err.strip() == f"{path}: question 'drift_skw': no such question in bank 'pulse' or any other bank"


# What YAML aliases build: 9 levels of 9 copies, whose full repr would be gigabytes.
ALIASES_NESTED_9_DEEP = "".join(
    [
        'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n',
        *(
            f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
            for previous, name in zip("abcdefg", "bcdefgh", strict=True)
        ),
        f"drift_alerts: [{', '.join(['*h'] * 9)}]\n",
    ]
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- drift_alerts: 3\n", "expected a mapping of question id to answer"),
        ("", "the file is empty"),
        ("drift_alerts: [3\n", "not valid YAML/JSON"),
        ("drift_alerts: 3\ndrift_alerts: 4\n", "question 'drift_alerts' is answered more than once"),
        (
            "drift_alerts: 9\n",
            "question 'drift_alerts': question 'drift_alerts' has options 1–5; got option 9",
        ),
        (
            "drift_alerts: 2026-13-01\n",
            "(line 1, column 15): cannot read '2026-13-01': month must be in 1..12",
        ),
        (
            f"drift_alerts: {'1' * 5_000}\n",
            f"(line 1, column 15): cannot read {'1' * 80!r}… (5,000 characters)",
        ),
        (
            ALIASES_NESTED_9_DEEP,
            "question 'drift_alerts': [[[...], [...], [...], [...], [...], [...], ...], ",
        ),
    ],
    ids=[
        "list",
        "empty",
        "broken yaml",
        "duplicate",
        "option out of range",
        "impossible date",
        "integer too long for Python",
        "aliases nesting a billion items",
    ],
)
def test_an_unusable_answers_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(content)
    code, out, err = run(capsys, "assess", "--answers", str(path))
    assert code == 2
    assert out == ""
    assert err.startswith(f"{path}: ")
    assert message in err
    assert "1" * 81 not in err and "'lol', 'lol'" not in err


def test_an_unreadable_answers_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "assess", "--answers", str(tmp_path / "absent.yaml"))
    assert code == 2
    assert f"{tmp_path / 'absent.yaml'}: cannot read file" in err


def unknown_ids(count: int) -> str:
    return "".join(f"unknown_{number}: 1\n" for number in range(count))


def test_an_answers_file_of_exactly_the_size_limit_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = "".join(f"{question.id}: 1\n" for question in PULSE.questions).encode()
    padding = b"# " + b"x" * (MAX_FILE_BYTES - len(answers) - 3) + b"\n"
    path = tmp_path / "answers.yaml"
    path.write_bytes(answers + padding)
    assert path.stat().st_size == MAX_FILE_BYTES
    code, out, err = run(capsys, "assess", "--bank", "pulse", "--answers", str(path), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["bank_id"] == "pulse"


@pytest.mark.parametrize("size", [MAX_FILE_BYTES + 1, 10 * MAX_FILE_BYTES], ids=["one byte over", "10 MiB"])
def test_an_answers_file_over_the_size_limit_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], size: int
) -> None:
    path = tmp_path / "answers.yaml"
    path.write_bytes(b"# " + b"x" * (size - 3) + b"\n")
    code, out, err = run(capsys, "assess", "--answers", str(path))
    assert (code, out) == (2, "")
    assert err == (
        f"{path}: too large for an answers file: {size:,} bytes, over the limit of 1,048,576 bytes (1 MiB)\n"
    )


@pytest.mark.parametrize(
    ("unknown", "count_line"),
    [
        (20, []),
        (21, ["answers.yaml: … and 1 more problem"]),
        (5_000, ["answers.yaml: … and 4,980 more problems"]),
    ],
)
def test_the_first_20_problems_are_listed_then_a_count_of_the_rest(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    unknown: int,
    count_line: list[str],
) -> None:
    (tmp_path / "answers.yaml").write_text(unknown_ids(unknown))
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "assess", "--answers", "answers.yaml")
    assert (code, out) == (2, "")
    listed = [
        f"answers.yaml: question 'unknown_{number}': no such question in bank 'mlops' or any other bank"
        for number in range(MAX_LISTED_PROBLEMS)
    ]
    assert err.splitlines() == listed + count_line


def test_answers_past_the_first_20_problems_are_still_checked_and_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_answers(tmp_path, {f"unknown_{number}": 1 for number in range(25)} | {"drift_alerts": 9})
    code, _, err = run(capsys, "assess", "--answers", str(path))
    assert code == 2
    assert err.splitlines()[-1] == f"{path}: … and 6 more problems"


def test_a_long_answer_or_question_id_is_cut_in_its_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long_answer, long_id = "sometimes " * 1_000, "rollback_" * 60
    path = write_answers(tmp_path, {"drift_alerts": long_answer, long_id: 1})
    code, _, err = run(capsys, "assess", "--answers", str(path))
    assert code == 2
    answer_line, id_line = err.splitlines()
    assert answer_line.startswith(
        f"{path}: question 'drift_alerts': {long_answer[:80]!r}… (10,000 characters) is not an option of "
    )
    assert id_line == (
        f"{path}: question {long_id[:80]!r}… (540 characters): "
        "no such question in bank 'mlops' or any other bank"
    )


def test_an_unknown_bank_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "assess", "--bank", "nope")
    assert code == 2
    assert "no question bank 'nope' (available: mlops, pulse)" in err


def test_a_bank_can_be_named_by_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = {q.id: 1 for q in PULSE.questions}
    code, out, err = run(
        capsys,
        "assess",
        "--bank",
        str(DEFAULT_BANKS_DIR / "pulse.yaml"),
        "--answers",
        str(write_answers(tmp_path, answers)),
        "--format",
        "json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert (data["bank_id"], data["bank_version"]) == ("pulse", PULSE.version)
    assert data["footer"].startswith(
        f"Answered {len(PULSE.questions)} of the {len(PULSE.questions)} questions"
    )


def test_a_broken_bank_named_by_path_lists_its_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = broken_bank(tmp_path)
    code, _, err = run(capsys, "assess", "--bank", str(path), "--answers", str(path))
    assert code == 2
    assert f"{path}: questions[{index_of('ci_tests')}].weight:" in err


# banks ------------------------------------------------------------------------------------------


def test_banks_lists_each_bank_with_its_question_count(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "banks")
    assert code == 0
    lines = [line.rstrip() for line in out.splitlines()]
    for bank in (MLOPS, PULSE):
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{bank.id} "))
        assert lines[at].split(None, 1)[1] == f"{bank.title} · {bank.id}.yaml"
        assert lines[at + 1].strip() == f"v{bank.version}, reviewed {bank.reviewed} · {length(bank)}"
    assert MLOPS.asked is not None and f"· about {MLOPS.asked.median} questions" in out


def test_banks_fits_an_80_column_terminal_even_from_a_long_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / ("a-directory-with-a-long-name-" * 3) / "question_banks"
    directory.mkdir(parents=True)
    for name in ("mlops.yaml", "pulse.yaml"):
        (directory / name).write_text(
            (DEFAULT_BANKS_DIR / name).read_text(encoding="utf-8"), encoding="utf-8"
        )
    (directory / "broken.yaml").write_text("id: broken\n", encoding="utf-8")
    monkeypatch.setenv("BANKS_DIR", str(directory))
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(capsys, "banks")
    assert code == 1
    assert len(str(directory)) > 80
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, "\n".join(line for line in lines if len(line) > 80)
    first_bank = next(n for n, line in enumerate(lines) if re.match(r"(\?|[a-z0-9_-]+)\s{2,}\S", line))
    assert any(line.startswith("mlops  MLOps Maturity Assessment") for line in lines)
    assert "".join(lines[:first_bank]).replace("Question banks in ", "") == str(directory)
    assert any(re.match(r"\?\s+NOT LOADED: \d+ problems · broken\.yaml$", line.rstrip()) for line in lines)


# The installed command, in real processes -------------------------------------------------------


def subprocess_environment(**extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")}
    return environment | extra


def run_command(*argv: str, stdin: str = "", **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=subprocess_environment(**environment),
        cwd=PROJECT_ROOT,
        timeout=60,
    )


def run_in_terminal(*argv: str, **environment: str) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal, as in an interactive shell."""
    pty = pytest.importorskip("pty")
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(CONSOLE_SCRIPT), *argv],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env=subprocess_environment(TERM="xterm-256color", **environment),
        cwd=PROJECT_ROOT,
    )
    os.close(terminal)
    shown = read_until(controller, None, timeout=60)
    os.close(controller)
    return process.wait(timeout=60), shown


@pytest.mark.e2e
def test_console_script_and_module_run(tmp_path: Path) -> None:
    assert CONSOLE_SCRIPT.exists()
    result = run_command("validate")
    assert (result.returncode, result.stdout.strip()) == (0, "2 banks OK")
    module = subprocess.run(
        [sys.executable, "-m", "bot", "banks"], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60
    )
    assert module.returncode == 0
    assert "pulse" in module.stdout


@pytest.mark.e2e
@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_colour_only_on_a_terminal_without_no_color(tmp_path: Path) -> None:
    answers_file = str(write_answers(tmp_path, best_answers() | {"quality_gate": 1}))
    note = "Held at level 3 of 4 by a gate"

    code, on_terminal = run_in_terminal("assess", "--answers", answers_file)
    assert code == 0
    assert ANSI_ESCAPE.search(on_terminal), "a terminal should get a coloured report"

    code, no_color = run_in_terminal("assess", "--answers", answers_file, NO_COLOR="1")
    assert code == 0
    assert note in no_color
    assert not ANSI_ESCAPE.search(no_color)
    assert "\x1b" not in no_color

    piped = run_command("assess", "--answers", answers_file)
    assert piped.returncode == 0
    assert note in piped.stdout
    assert "\x1b" not in piped.stdout + piped.stderr
    assert all(line == line.rstrip() for line in piped.stdout.splitlines())


@pytest.mark.e2e
def test_interactive_assessment_through_stdin() -> None:
    # Question 1 is answered 5, then revised to 1 after going back; an invalid entry is re-asked.
    entries = ["5", "b", "1", "seven", *["5"] * (len(PULSE.questions) - 1)]
    result = run_command("assess", "--bank", "pulse", "--full", stdin="\n".join(entries) + "\n")
    assert result.returncode == 0, result.stderr
    assert "'seven' is not a choice" in result.stdout
    assert result.stdout.count(f"Question 1 of {len(PULSE.questions)}") == 2
    assert "MLOps maturity report · MLOps Quarterly Pulse" in result.stdout
    # data_validation (weight 3) at 0 and reproducible_training (weight 3) at 1 average to 50.
    data_line = next(line for line in result.stdout.splitlines() if line.startswith("Data & Experimentation"))
    figures = result.stdout.splitlines()[result.stdout.splitlines().index(data_line) + 1]
    assert "60.0/100" in figures


@pytest.mark.e2e
@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_an_assessment_typed_in_a_terminal_stops_at_the_settled_overall_level() -> None:
    pty = pytest.importorskip("pty")
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "assess", "--bank", "pulse"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=subprocess_environment(TERM="xterm-256color", NO_COLOR="1", COLUMNS="200"),
        cwd=PROJECT_ROOT,
    )
    os.close(terminal)
    # The pulse asks its two Data & Experimentation gates first; neither in place settles level 1.
    shown = ""
    for marker, typed in (
        ("Your answer", "1"),
        ("Your answer", "1"),
        ("Keep going or stop", "2"),
        ("press Enter to finish", ""),
    ):
        shown += read_until(controller, marker, timeout=60)
        type_line(controller, typed)
    shown += read_until(controller, None, timeout=60)
    os.close(controller)
    assert process.wait(timeout=60) == 0
    text = normalised(shown)
    assert "only the questions that can still change a level are asked" in text
    assert "Question 2 of at most 8" in text
    assert "Your overall level is settled: 1 · Ad-Hoc / Manual — Data & Experimentation holds it." in text
    assert "Not settled yet, for want of answers:" in text
    assert "Answered 2 of the 8 questions that apply" in text
    # The six questions left unasked are offered, and declined with Enter.
    assert "Type 1 to answer the 6 questions left out now, or press Enter to finish" in text


@pytest.mark.e2e
def test_quitting_the_interactive_assessment_exits_130() -> None:
    result = run_command("assess", stdin="1\nq\n")
    assert result.returncode == 130
    # Option 1 of the first question (no LLM features) leaves 50 of the 60 questions to answer.
    assert "Assessment cancelled: answered 1 of the 50 questions that apply;" in result.stderr
    assert "maturity report" not in result.stdout


def test_validate_refuses_a_bank_that_names_a_retired_tool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = yaml.safe_load((DEFAULT_BANKS_DIR / "pulse.yaml").read_text())
    raw["questions"][0]["tools"] = ["WhyLabs", *raw["questions"][0]["tools"][:3]]
    path = tmp_path / "stale.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    assert f"{path}: questions[0].tools[0]: WhyLabs is retired:" in out
