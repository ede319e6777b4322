"""Answers for a non-interactive assessment, read from a YAML or JSON file mapping question id to answer.

Like the bank loader, reading is all-or-nothing: every problem in the file is found, each naming its
question, before anything is scored, so a CI job shows its mistakes in one run. What a file can cost is
bounded: its size is checked before it is parsed, only the first problems are listed (the rest are
counted), and what it says is cut to a readable length when a message repeats it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from bot.engine.answers import Answer, InvalidAnswer, parse_answer_text, readable_repr
from bot.engine.bank import QuestionBank
from bot.engine.scoring import applicable_questions
from bot.engine.yaml_loading import SafeYamlLoader

EXAMPLE_ENTRY = "drift_alerts: 3"
# A full answers file for the largest shipped bank is under 3 KB, so 1 MiB fits any real bank hundreds of
# times over, and the most a file may hold parses in seconds and some 150 MB, not minutes and gigabytes.
MAX_FILE_BYTES = 1024 * 1024
# More than a screenful of mistakes says the file is for another bank or broken, not one line to fix each.
MAX_LISTED_PROBLEMS = 20


class AnswersFileError(Exception):
    """`problems` are the lines to show: the first MAX_LISTED_PROBLEMS, then one counting the rest."""

    def __init__(self, problems: list[str], count: int | None = None):
        self.problems = problems
        self.count = len(problems) if count is None else count
        super().__init__("\n".join(problems))


@dataclass
class _Problems:
    """Every problem is counted, only the first are kept: a million mistakes print and hold as few lines."""

    name: str
    listed: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, problem: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_LISTED_PROBLEMS:
            self.listed.append(problem)

    def error(self) -> AnswersFileError:
        unlisted = self.count - len(self.listed)
        more = f"{self.name}: … and {unlisted:,} more problem{'' if unlisted == 1 else 's'}"
        return AnswersFileError([*self.listed, more] if unlisted else self.listed, self.count)


@dataclass(frozen=True)
class AnswersFromFile:
    answers: dict[str, Answer]
    # Questions that apply but have no answer, in bank order: they count as not in place, and a dimension
    # with too few answers gets no level, because the report must not guess what it was not told.
    missing: list[str]
    # Answers to questions another bank asks and this one does not (a full assessment's file read for the
    # pulse), in file order: left out, not refused.
    ignored: list[str] = field(default_factory=list)
    ignored_from: list[str] = field(default_factory=list)  # the ids of the banks that ask them

    def ignored_note(self, name: str, bank_id: str) -> str | None:
        """What to tell the person about the answers left out, if any."""
        if not self.ignored:
            return None
        banks = ", ".join(self.ignored_from)
        return (
            f"note: {len(self.ignored)} answer(s) in {name} are for questions of {banks} that bank "
            f"{bank_id!r} does not ask; they were ignored"
        )


class _AnswersLoader(SafeYamlLoader):
    """Safe YAML that refuses a question answered twice, and a value it cannot build, with its line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except ValueError as error:  # a date like 2026-13-01, or an integer of more digits than Python reads
            # Only a scalar's text is shown: a collection's nodes may repeat each other through aliases.
            what = readable_repr(node.value) if isinstance(node, yaml.ScalarNode) else "a value"
            raise ConstructorError(None, None, f"cannot read {what}: {error}", node.start_mark) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # PyYAML keeps the last of two equal keys silently; a question answered twice is a mistake.
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                continue  # an unhashable key fails in the base class with its own message
            if duplicate:
                raise ConstructorError(
                    None,
                    None,
                    f"question {readable_repr(key)} is answered more than once",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _parse(text: str, name: str) -> Any:
    try:
        return yaml.load(text, Loader=_AnswersLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise AnswersFileError([f"{name}: not valid YAML/JSON{where}: {reason}"]) from None


def _read_text(path: Path, name: str) -> str:
    """The file's text, refused unread beyond MAX_FILE_BYTES (it may be endless, like a pipe)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
            size = os.fstat(file.fileno()).st_size
    except OSError as error:
        raise AnswersFileError([f"{name}: cannot read file: {error.strerror or error}"]) from None
    if len(data) > MAX_FILE_BYTES:
        found = f"{size:,} bytes, " if size > MAX_FILE_BYTES else ""  # a pipe has no size to tell
        limit = f"{MAX_FILE_BYTES:,} bytes ({MAX_FILE_BYTES / 2**20:g} MiB)"
        raise AnswersFileError([f"{name}: too large for an answers file: {found}over the limit of {limit}"])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise AnswersFileError([f"{name}: cannot read file: not UTF-8 text"]) from None


def load_answers_file(
    path: Path, bank: QuestionBank, name: str | None = None, other_banks: Sequence[QuestionBank] = ()
) -> AnswersFromFile:
    """Read and check `path` against `bank`; raises AnswersFileError listing the first problems, counting all.

    `name` is how messages refer to the file, by default the path as given. An answer to a question
    that one of `other_banks` asks and `bank` does not is ignored (and listed), so a file written for the
    full assessment answers the pulse, whose questions are the same; an id no bank asks is a problem.
    """
    name = name or str(path)
    raw = _parse(_read_text(path, name), name)
    if not isinstance(raw, dict):
        found = "the file is empty" if raw is None else f"found {type(raw).__name__}"
        raise AnswersFileError(
            [f"{name}: expected a mapping of question id to answer (e.g. `{EXAMPLE_ENTRY}`); {found}"]
        )

    known = {question.id for question in bank.questions}
    elsewhere = {
        question.id: other.id for other in other_banks if other.id != bank.id for question in other.questions
    }
    answers: dict[str, Answer] = {}
    ignored: list[str] = []
    problems = _Problems(name)
    searched = f"bank {bank.id!r}" + (" or any other bank" if elsewhere else "")
    for key, value in raw.items():
        question_id = str(key)
        if question_id not in known and question_id in elsewhere:
            ignored.append(question_id)
            continue
        if question_id not in known:
            problems.add(f"{name}: question {readable_repr(question_id)}: no such question in {searched}")
            continue
        try:
            answers[question_id] = parse_answer_text(bank.question(question_id), value)
        except InvalidAnswer as error:
            problems.add(f"{name}: question {question_id!r}: {error}")
    if problems.count:
        raise problems.error()

    missing = [q.id for q in applicable_questions(bank, answers) if q.id not in answers]
    ordered = {question.id: answers[question.id] for question in bank.questions if question.id in answers}
    ignored_from = sorted({elsewhere[question_id] for question_id in ignored})
    return AnswersFromFile(ordered, missing, ignored, ignored_from)
