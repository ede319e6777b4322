"""Question banks: the data the assessment is made of, and the loader that refuses a bad one whole.

A bank file is YAML (or JSON, which YAML reads too). Loading is all-or-nothing: every problem in the
file is collected with its path (``questions[7].options[2].value``) before anything is returned, so a
bank never half-loads and an author sees every mistake in one run.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag, ValidationError

from bot.engine.yaml_loading import SafeYamlLoader

# Slack's limits, so that any valid bank renders as valid Block Kit.
BUTTON_LABEL_LIMIT = 75
SECTION_TEXT_LIMIT = 3000
LEVELS = (1, 2, 3, 4)
# An estimate, not a measurement: nobody has timed people answering (benchmarks/ time the app; the think
# time in benchmarks/slack_load.py is a load setting). Every length the app states comes from it through
# bot/engine/overview.py, so a measured figure, once there is one, changes them all here.
SECONDS_PER_QUESTION = 30
CONTEXT_SECTION = "About your team"
OUTCOME_SECTION = "Delivery outcomes"

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


class ContextOption(_Strict):
    label: ShortText


class Option(ContextOption):
    value: Annotated[float, Field(ge=0.0, le=1.0)]


class AppliesIf(_Strict):
    """Ask a question only when an earlier context question was answered with one of these options."""

    question: Identifier
    options: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1)]  # 1-based, as people count


class _Asked(_Strict):
    id: Identifier
    text: LongText
    why: LongText
    # A few words naming the practice ("Tested rollback"), for lines that cannot hold the whole question.
    name: ShortText | None = None
    not_applicable: ShortText | None = None
    applies_if: AppliesIf | None = None


class Question(_Asked):
    """A practice: scored into its dimension's score and level."""

    kind: Literal["practice"] = "practice"
    dimension: Identifier
    level: Level
    weight: Annotated[float, Field(gt=0)]
    # A production-safety practice: while it fails, its dimension stays below the question's level.
    gate: bool = False
    options: Annotated[list[Option], Field(min_length=2, max_length=10)]
    improvement: LongText
    tools: Annotated[list[ShortText], Field(max_length=8)] = []
    # Practices that must be in place first; Next Steps never put this one before them.
    after: list[Identifier] = []

    @property
    def short_name(self) -> str:
        return self.name or self.text


class ContextQuestion(_Asked):
    """About the team's situation (for example whether it ships LLM features): never scored, it only
    decides which later questions apply, so no answer to it can raise or lower a level."""

    kind: Literal["context"]
    options: Annotated[list[ContextOption], Field(min_length=2, max_length=10)]
    # What the questions it switches on or off are about ("LLM features"), so the count of questions can
    # say why it changed: "5 questions about LLM features no longer apply".
    topic: ShortText | None = None


class OutcomeQuestion(_Asked):
    """A delivery outcome (DORA-style), reported beside the practice levels and never scored into them."""

    kind: Literal["outcome"]
    dimension: Identifier  # the dimension whose practices this outcome reflects
    options: Annotated[list[Option], Field(min_length=2, max_length=10)]


def _question_kind(raw: Any) -> str:
    if isinstance(raw, dict):
        return str(raw.get("kind", "practice"))
    return str(getattr(raw, "kind", "practice"))


AnyQuestion = Annotated[
    Annotated[Question, Tag("practice")]
    | Annotated[ContextQuestion, Tag("context")]
    | Annotated[OutcomeQuestion, Tag("outcome")],
    Discriminator(_question_kind),
]
QUESTION_KINDS = ("practice", "context", "outcome")


class MeasuredLength(_Strict):
    """How many questions an adaptive run of this bank asks (context and practice questions), measured by
    benchmarks/questions_asked.py over the golden teams and simulated teams and written here by it, so
    every length the app states is a measurement, not a guess."""

    median: Annotated[int, Field(ge=1)]
    p90: Annotated[int, Field(ge=1)]
    # Questions until the overall level is settled, where a person may stop.
    overall_median: Annotated[int, Field(ge=1)]


class QuestionBank(_Strict):
    id: BankId
    title: ShortText
    version: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    # When the practices and tools were last checked against current practice.
    reviewed: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    description: LongText
    # What changed in this version, for the report's footer.
    changes: LongText | None = None
    asked: MeasuredLength | None = None
    levels: Annotated[list[LevelInfo], Field(min_length=4, max_length=4)]
    dimensions: Annotated[list[Dimension], Field(min_length=1, max_length=10)]
    questions: Annotated[list[AnyQuestion], Field(min_length=1)]
    # The practice ids whose score is the pulse index, carried by every result of this bank.
    pulse: list[Identifier] = []
    # The level rule (docs/levels.md): share of a level's own practices' weight that must be in place,
    # and the answer value a gate must reach. A level is given once it is settled (bot/engine/scoring.py),
    # so no share of answers is required.
    attainment_threshold: Annotated[float, Field(gt=0.0, le=1.0)] = 0.7
    # A level's own threshold where it differs, e.g. {2: 0.5}: a documented practice done by hand counts
    # as in place at level 2 ("Repeatable"), while levels 3 and 4 ask for automation.
    attainment_thresholds: dict[Level, Annotated[float, Field(gt=0.0, le=1.0)]] = {}
    gate_pass_mark: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    # A short pulse bank may lower this; a full assessment needs enough questions to mean something.
    min_questions_per_dimension: Annotated[int, Field(ge=1)] = 3
    # How many practices each level of each dimension must rest on (checked by `validate`), so that no
    # level hinges on one answer; a short pulse keeps 1.
    min_practices_per_level: Annotated[int, Field(ge=1)] = 1

    def threshold_at(self, level: int) -> float:
        """The attainment the practices tagged at `level` need (level-1 practices count with level 2)."""
        return self.attainment_thresholds.get(max(level, 2), self.attainment_threshold)

    @property
    def practices(self) -> list[Question]:
        return [q for q in self.questions if isinstance(q, Question)]

    @property
    def outcomes(self) -> list[OutcomeQuestion]:
        return [q for q in self.questions if isinstance(q, OutcomeQuestion)]

    @property
    def question_counts(self) -> tuple[int, int]:
        """(fewest, most) questions a person is asked: context answers can switch questions off."""
        return sum(q.applies_if is None for q in self.questions), len(self.questions)

    @property
    def estimated_minutes(self) -> int:
        """For the most questions a person can be asked, at SECONDS_PER_QUESTION each."""
        return max(1, math.ceil(len(self.questions) * SECONDS_PER_QUESTION / 60))

    @cached_property
    def question_ids(self) -> frozenset[str]:
        return frozenset(q.id for q in self.questions)

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {q.id: position for position, q in enumerate(self.questions)}

    def position(self, question_id: str) -> int:
        """Where the question stands in the bank's order."""
        return self._positions[question_id]

    def question(self, question_id: str) -> AskedQuestion:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    def practice(self, question_id: str) -> Question:
        question = self.question(question_id)
        if not isinstance(question, Question):
            raise KeyError(question_id)
        return question

    def dimension(self, dimension_id: str) -> Dimension:
        for dimension in self.dimensions:
            if dimension.id == dimension_id:
                return dimension
        raise KeyError(dimension_id)

    def section_name(self, question: AskedQuestion) -> str:
        """The heading a question is shown under: its dimension, or what kind of question it is."""
        if isinstance(question, ContextQuestion):
            return CONTEXT_SECTION
        if isinstance(question, OutcomeQuestion):
            return OUTCOME_SECTION
        return self.dimension(question.dimension).name

    def level_info(self, level: int) -> LevelInfo:
        return next(info for info in self.levels if info.level == level)

    def questions_in(self, dimension_id: str) -> list[Question]:
        """The practices of one dimension."""
        return [q for q in self.practices if q.dimension == dimension_id]

    def level_ceiling(self, dimension_id: str) -> int:
        """The highest level this bank can place a dimension at: a level is never claimed without a
        practice tagged at it (a pulse asks no level-4 practice, so it places up to level 3)."""
        return max((q.level for q in self.questions_in(dimension_id)), default=1)


AskedQuestion = Question | ContextQuestion | OutcomeQuestion


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
    previous: Any = None
    for part in location:
        # The tag of the question kind (questions[3].practice.weight) is the union's bookkeeping, not a
        # place in the author's file.
        if isinstance(previous, int) and part in QUESTION_KINDS:
            previous = part
            continue
        previous = part
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
    kinds = {q.get("id"): q.get("kind", "practice") for q in questions if isinstance(q, dict) and "id" in q}
    practice_ids = {qid for qid, kind in kinds.items() if kind == "practice"}

    per_dimension: Counter[Any] = Counter()
    always_applying: Counter[Any] = Counter()
    may_be_not_applicable: Counter[Any] = Counter()
    for index, question in enumerate(questions):
        if not isinstance(question, dict):
            continue
        kind = question.get("kind", "practice")
        where = f"questions[{index}]"
        dimension = question.get("dimension")
        if kind == "practice":
            per_dimension[dimension] += 1
            if question.get("not_applicable") is not None:
                may_be_not_applicable[dimension] += 1
            elif question.get("applies_if") is None:
                always_applying[dimension] += 1
        if kind != "context" and dimension is not None and dimension not in dimension_ids:
            add(f"{where}.dimension", f"unknown dimension {dimension!r}; known: {dimension_ids}")
        if kind in ("practice", "outcome"):
            _check_option_values(question, where, add, as_list)
        if question.get("gate") is True and question.get("level") == 1:
            add(f"{where}.gate", "a gate holds its dimension below its own level, so it needs level 2 to 4")
        _check_applies_if(question, where, index, question_ids, kinds, questions, add)
        after = question.get("after")
        for position, other in enumerate(as_list(after)):
            if other not in practice_ids:
                add(f"{where}.after[{position}]", f"{other!r} is not a practice question of this bank")
            elif other == question.get("id"):
                add(f"{where}.after[{position}]", "a practice cannot come after itself")
        # Answers files match labels ignoring case, so labels must differ by more than case.
        labels = [
            o.get("label").casefold() if isinstance(o.get("label"), str) else None
            for o in as_list(question.get("options"))
            if isinstance(o, dict)
        ]
        for position, count in _duplicates(labels):
            add(f"{where}.options[{position}].label", f"duplicate option label ({count} times)")
    for cycle in _after_cycles(questions):
        add("questions", f"practices come after each other in a circle: {' -> '.join(cycle)}")

    for position, pulse_id in enumerate(as_list(raw.get("pulse"))):
        if pulse_id not in practice_ids:
            add(f"pulse[{position}]", f"{pulse_id!r} is not a practice question of this bank")

    minimum = raw.get("min_questions_per_dimension", 3)
    if isinstance(minimum, int):
        for index, dimension_id in enumerate(dimension_ids):
            if per_dimension[dimension_id] < minimum:
                add(
                    f"dimensions[{index}]",
                    f"dimension {dimension_id!r} has {per_dimension[dimension_id]} practice question(s); "
                    f"at least {minimum} needed",
                )
    for index, dimension_id in enumerate(dimension_ids):
        if may_be_not_applicable[dimension_id] and not always_applying[dimension_id]:
            # A dimension has no level once none of its practices applies: were its last practice's "Not
            # applicable" to do that, that one answer could take the weakest dimension out of the overall
            # level and move it by two. (A context answer may switch a whole dimension off on purpose.)
            add(
                f"dimensions[{index}]",
                f"dimension {dimension_id!r} has practices that can be answered Not applicable, so it needs "
                "one that always applies (no `not_applicable`, no `applies_if`): otherwise one answer could "
                "leave it without a level",
            )
    if "recommendations" in raw:
        add(
            "recommendations",
            "no longer used: advice is built from each practice's `improvement` (bank format 2)",
        )
    return problems


def _check_option_values(question: dict[str, Any], where: str, add: Any, as_list: Any) -> None:
    values = [o.get("value") for o in as_list(question.get("options")) if isinstance(o, dict)]
    numeric = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numeric) != len(values) or not numeric:
        return
    for position in range(1, len(numeric)):
        if numeric[position] <= numeric[position - 1]:
            add(
                f"{where}.options[{position}].value",
                "option values must increase from the first option to the last",
            )
    # The worst option must mean "not in place" and the best "fully in place", or all-worst and
    # all-best answers would not span the levels.
    if numeric[0] != 0:
        add(f"{where}.options[0].value", "the first option's value must be 0")
    if numeric[-1] != 1:
        add(f"{where}.options[{len(numeric) - 1}].value", "the last option's value must be 1")


def _check_applies_if(
    question: dict[str, Any],
    where: str,
    index: int,
    question_ids: list[Any],
    kinds: dict[Any, Any],
    questions: list[Any],
    add: Any,
) -> None:
    rule = question.get("applies_if")
    if not isinstance(rule, dict):
        return
    other = rule.get("question")
    if other not in question_ids[:index]:
        add(f"{where}.applies_if.question", f"{other!r} is not an earlier question of this bank")
        return
    if kinds.get(other) != "context":
        # Only unscored answers may switch questions on and off; otherwise a better answer could add
        # questions and lower a level.
        add(f"{where}.applies_if.question", f"{other!r} is not a context question (kind: context)")
        return
    source = questions[question_ids.index(other)]
    count = len(source.get("options") or []) if isinstance(source.get("options"), list) else 0
    for position, number in enumerate(rule.get("options") or []):
        if isinstance(number, int) and not 1 <= number <= count:
            add(f"{where}.applies_if.options[{position}]", f"{other!r} has options 1–{count}; got {number}")


def _after_cycles(questions: list[Any]) -> list[list[str]]:
    graph = {
        q["id"]: [o for o in q.get("after") or [] if isinstance(o, str)]
        for q in questions
        if isinstance(q, dict) and isinstance(q.get("id"), str) and isinstance(q.get("after"), list)
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
    return cycles


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
        raw = yaml.load(text, Loader=SafeYamlLoader)
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
