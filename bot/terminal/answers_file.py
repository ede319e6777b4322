"""Answers for a non-interactive assessment, read from a YAML or JSON file mapping question id to answer.

Like the bank loader, reading is all-or-nothing: every problem in the file is collected, each naming its
question, before anything is scored, so a CI job shows every mistake in one run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from bot.engine.answers import Answer, parse_answer_text
from bot.engine.bank import QuestionBank
from bot.engine.scoring import applicable_questions

EXAMPLE_ENTRY = "drift_alerts: 3"


class AnswersFileError(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


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


class _DuplicateKeyCheckingLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; a question answered twice is a mistake."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                continue  # an unhashable key fails in the base class with its own message
            if duplicate:
                raise ConstructorError(
                    None, None, f"question {key!r} is answered more than once", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _parse(text: str, name: str) -> Any:
    try:
        return yaml.load(text, Loader=_DuplicateKeyCheckingLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise AnswersFileError([f"{name}: not valid YAML/JSON{where}: {reason}"]) from None


def load_answers_file(
    path: Path, bank: QuestionBank, name: str | None = None, other_banks: Sequence[QuestionBank] = ()
) -> AnswersFromFile:
    """Read and check `path` against `bank`; raises AnswersFileError listing every problem.

    `name` is how messages refer to the file, by default the path as given. An answer to a question
    that one of `other_banks` asks and `bank` does not is ignored (and listed), so a file written for the
    full assessment answers the pulse, whose questions are the same; an id no bank asks is a problem.
    """
    name = name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise AnswersFileError([f"{name}: cannot read file: {error.strerror or error}"]) from None
    except UnicodeDecodeError:
        raise AnswersFileError([f"{name}: cannot read file: not UTF-8 text"]) from None
    raw = _parse(text, name)
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
    problems: list[str] = []
    for key, value in raw.items():
        question_id = str(key)
        if question_id not in known and question_id in elsewhere:
            ignored.append(question_id)
            continue
        if question_id not in known:
            searched = f"bank {bank.id!r}" + (" or any other bank" if elsewhere else "")
            problems.append(f"{name}: question {question_id!r}: no such question in {searched}")
            continue
        try:
            answers[question_id] = parse_answer_text(bank.question(question_id), value)
        except ValueError as error:  # InvalidAnswer, and int() on digits Python cannot convert
            problems.append(f"{name}: question {question_id!r}: {error}")
    if problems:
        raise AnswersFileError(problems)

    missing = [q.id for q in applicable_questions(bank, answers) if q.id not in answers]
    ordered = {question.id: answers[question.id] for question in bank.questions if question.id in answers}
    ignored_from = sorted({elsewhere[question_id] for question_id in ignored})
    return AnswersFromFile(ordered, missing, ignored, ignored_from)
