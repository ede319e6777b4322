"""Question banks: the data the assessment is made of, and the loader that refuses a bad one whole.

A bank file is YAML (or JSON, which YAML reads too). Loading is all-or-nothing: every problem in the
file is collected with its path (``questions[7].options[2].value``) before anything is returned, so a
bank never half-loads and an author sees every mistake in one run.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

# Slack's limits, so that any valid bank renders as valid Block Kit.
BUTTON_LABEL_LIMIT = 75
SECTION_TEXT_LIMIT = 3000
LEVELS = (1, 2, 3, 4)
SECONDS_PER_QUESTION = 30

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
BankId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=BUTTON_LABEL_LIMIT, strip_whitespace=True)
]
LongText = Annotated[
    str, StringConstraints(min_length=1, max_length=SECTION_TEXT_LIMIT, strip_whitespace=True)
]
Level = Annotated[int, Field(ge=1, le=4)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class LevelInfo(_Strict):
    level: Level
    name: ShortText
    meaning: LongText


class Dimension(_Strict):
    id: Identifier
    name: ShortText
    description: LongText


class Option(_Strict):
    label: ShortText
    value: Annotated[float, Field(ge=0.0, le=1.0)]


class Question(_Strict):
    id: Identifier
    dimension: Identifier
    level: Level
    weight: Annotated[float, Field(gt=0)]
    text: LongText
    why: LongText
    options: Annotated[list[Option], Field(min_length=2, max_length=10)]
    not_applicable: ShortText | None = None
    improvement: LongText
    tools: Annotated[list[ShortText], Field(max_length=8)] = []

    @property
    def is_gate(self) -> bool:
        """Weight 3 marks a production-safety practice that caps its dimension's level when missing."""
        return self.weight >= 3


class QuestionBank(_Strict):
    id: BankId
    title: ShortText
    version: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    description: LongText
    levels: Annotated[list[LevelInfo], Field(min_length=4, max_length=4)]
    dimensions: Annotated[list[Dimension], Field(min_length=1, max_length=10)]
    questions: Annotated[list[Question], Field(min_length=1)]
    recommendations: dict[Identifier, dict[Level, LongText]]
    # A short pulse bank may lower this; a full assessment needs enough questions to mean something.
    min_questions_per_dimension: Annotated[int, Field(ge=1)] = 3

    @property
    def estimated_minutes(self) -> int:
        return max(1, math.ceil(len(self.questions) * SECONDS_PER_QUESTION / 60))

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    def dimension(self, dimension_id: str) -> Dimension:
        for dimension in self.dimensions:
            if dimension.id == dimension_id:
                return dimension
        raise KeyError(dimension_id)

    def level_info(self, level: int) -> LevelInfo:
        return next(info for info in self.levels if info.level == level)

    def questions_in(self, dimension_id: str) -> list[Question]:
        return [q for q in self.questions if q.dimension == dimension_id]


@dataclass(frozen=True)
class BankProblem:
    file: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '<root>'}: {self.reason}"


class BankError(Exception):
    """A bank that failed to load, with every problem found in it."""

    def __init__(self, problems: list[BankProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def format_path(location: tuple[Any, ...]) -> str:
    """Render a pydantic location as ``questions[7].options[2].value``."""
    rendered = ""
    for part in location:
        if isinstance(part, int):
            rendered += f"[{part}]"
        else:
            rendered += f".{part}" if rendered else str(part)
    return rendered


def _pydantic_problems(file: str, error: ValidationError) -> list[BankProblem]:
    problems = []
    for detail in error.errors(include_url=False):
        reason = detail["msg"]
        if detail["type"] == "extra_forbidden":
            reason = "unknown field"
        problems.append(BankProblem(file, format_path(detail["loc"]), reason))
    return problems


def _semantic_problems(file: str, raw: dict[str, Any]) -> list[BankProblem]:
    """Checks that types alone cannot express. Reads the raw document defensively so they run even
    when parts of it have the wrong type, and an author sees every problem at once."""
    problems: list[BankProblem] = []

    def add(path: str, reason: str) -> None:
        problems.append(BankProblem(file, path, reason))

    def as_list(value: Any) -> list[Any]:
        return value if isinstance(value, list) else []

    dimensions = as_list(raw.get("dimensions"))
    dimension_ids = [d.get("id") for d in dimensions if isinstance(d, dict)]
    for index, count in _duplicates(dimension_ids):
        add(f"dimensions[{index}].id", f"duplicate dimension id {dimension_ids[index]!r} ({count} times)")

    levels = [lv.get("level") for lv in as_list(raw.get("levels")) if isinstance(lv, dict)]
    if isinstance(raw.get("levels"), list) and sorted(str(x) for x in levels) != ["1", "2", "3", "4"]:
        add("levels", "must define each of the levels 1, 2, 3 and 4 exactly once")

    questions = as_list(raw.get("questions"))
    question_ids = [q.get("id") if isinstance(q, dict) else None for q in questions]
    for index, count in _duplicates(question_ids):
        add(f"questions[{index}].id", f"duplicate question id {question_ids[index]!r} ({count} times)")

    per_dimension: Counter[Any] = Counter()
    for index, question in enumerate(questions):
        if not isinstance(question, dict):
            continue
        dimension = question.get("dimension")
        per_dimension[dimension] += 1
        if dimension is not None and dimension not in dimension_ids:
            add(f"questions[{index}].dimension", f"unknown dimension {dimension!r}; known: {dimension_ids}")
        values = [o.get("value") for o in as_list(question.get("options")) if isinstance(o, dict)]
        numeric = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(numeric) == len(values):
            for position in range(1, len(numeric)):
                if numeric[position] <= numeric[position - 1]:
                    add(
                        f"questions[{index}].options[{position}].value",
                        "option values must increase from the first option to the last",
                    )
        # Answers files match labels ignoring case, so labels must differ by more than case.
        labels = [
            o.get("label").casefold() if isinstance(o.get("label"), str) else None
            for o in as_list(question.get("options"))
            if isinstance(o, dict)
        ]
        for position, count in _duplicates(labels):
            add(f"questions[{index}].options[{position}].label", f"duplicate option label ({count} times)")

    minimum = raw.get("min_questions_per_dimension", 3)
    if isinstance(minimum, int):
        for index, dimension_id in enumerate(dimension_ids):
            if per_dimension[dimension_id] < minimum:
                add(
                    f"dimensions[{index}]",
                    f"dimension {dimension_id!r} has {per_dimension[dimension_id]} question(s); "
                    f"at least {minimum} needed",
                )

    recommendations = raw.get("recommendations")
    if isinstance(recommendations, dict):
        for dimension_id in dimension_ids:
            by_level = recommendations.get(dimension_id)
            if not isinstance(by_level, dict):
                add(f"recommendations.{dimension_id}", "missing: a recommendation is needed for every level")
                continue
            present = {str(k) for k in by_level}
            for level in LEVELS:
                if str(level) not in present:
                    add(f"recommendations.{dimension_id}.{level}", "missing recommendation for this level")
        for dimension_id in recommendations:
            if dimension_id not in dimension_ids:
                add(f"recommendations.{dimension_id}", f"unknown dimension {dimension_id!r}")
    return problems


def _duplicates(values: list[Any]) -> list[tuple[int, int]]:
    """(index of each repeat after the first, total count) for values that occur more than once."""
    counts = Counter(v for v in values if v is not None)
    seen: set[Any] = set()
    repeats = []
    for index, value in enumerate(values):
        if value is None or counts[value] < 2:
            continue
        if value in seen:
            repeats.append((index, counts[value]))
        seen.add(value)
    return repeats


def parse_bank(text: str, file: str) -> QuestionBank:
    """Parse one bank's text; raises BankError with every problem found."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise BankError([BankProblem(file, where, f"not valid YAML/JSON: {reason}")]) from None
    if not isinstance(raw, dict):
        raise BankError([BankProblem(file, "", "a bank must be a mapping with id, title, questions, ...")])

    problems = _semantic_problems(file, raw)
    bank = None
    try:
        bank = QuestionBank.model_validate(raw)
    except ValidationError as error:
        problems = _pydantic_problems(file, error) + problems
    if problems:
        raise BankError(_unique(problems))
    assert bank is not None
    return bank


def _unique(problems: list[BankProblem]) -> list[BankProblem]:
    return list(dict.fromkeys(problems))


def load_bank_file(path: Path) -> QuestionBank:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise BankError([BankProblem(str(path), "", f"cannot read file: {error.strerror}")]) from None
    return parse_bank(text, str(path))


BANK_SUFFIXES = (".yaml", ".yml", ".json")


def bank_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in BANK_SUFFIXES and p.is_file())
