"""Question banks built in code, so each test states the exact weights and values it relies on, plus the
hypothesis strategies that generate banks and answer sets."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import yaml
from hypothesis import strategies as st

from bot.engine.answers import Answer, OptionChoice, choices
from bot.engine.bank import LEVELS, QuestionBank, parse_bank
from bot.engine.catalog import DEFAULT_BANKS_DIR, BankCatalog

TEST_FILE = "test.yaml"


def question(
    qid: str,
    dimension: str,
    *,
    level: int = 1,
    weight: float = 1,
    values: tuple[float, ...] = (0.0, 0.5, 1.0),
    not_applicable: str | None = None,
    gate: bool = False,
    after: list[str] | None = None,
    applies_if: dict[str, Any] | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": qid,
        "dimension": dimension,
        "level": level,
        "weight": weight,
        "text": f"How is {qid.replace('_', ' ')} handled today?",
        "why": f"{qid} matters for production models.",
        "options": [{"label": f"{qid} option {i + 1}", "value": value} for i, value in enumerate(values)],
        "improvement": f"Improve {qid}.",
        "tools": [f"{qid}-tool"],
    }
    if not_applicable is not None:
        entry["not_applicable"] = not_applicable
    if gate:
        entry["gate"] = True
    if after:
        entry["after"] = after
    if applies_if:
        entry["applies_if"] = applies_if
    return entry


def context_question(qid: str, labels: tuple[str, ...] = ("No", "Yes")) -> dict[str, Any]:
    return {
        "id": qid,
        "kind": "context",
        "text": f"Does {qid.replace('_', ' ')} apply to you?",
        "why": "It decides which questions follow.",
        "options": [{"label": label} for label in labels],
    }


def bank_dict(questions: list[dict[str, Any]], dimensions: list[str] | None = None, **fields: Any) -> dict:
    dimension_ids = dimensions or list(dict.fromkeys(q["dimension"] for q in questions if "dimension" in q))
    document: dict[str, Any] = {
        "id": "test",
        "title": "Test bank",
        "version": "1.0",
        "reviewed": "2026-11",
        "description": "A bank built for the engine tests.",
        "levels": [
            {"level": n, "name": f"Level {n} name", "meaning": f"What level {n} means."} for n in LEVELS
        ],
        "dimensions": [
            {"id": d, "name": d.title(), "description": f"The {d} dimension."} for d in dimension_ids
        ],
        "questions": questions,
    }
    document.update(fields)
    return document


def base_bank_dict() -> dict:
    """Four questions on data and three on ops, so that one may move without emptying data below the
    minimum; ``ops_2`` offers "Not applicable"."""
    return bank_dict(
        [
            question("data_1", "data", level=1, weight=1),
            question("data_2", "data", level=2, weight=2),
            question("data_3", "data", level=3, weight=3),
            question("data_4", "data", level=4, weight=1),
            question("ops_1", "ops", level=1, weight=2),
            question("ops_2", "ops", level=2, weight=1, not_applicable="We have no live traffic"),
            question("ops_3", "ops", level=3, weight=3),
        ]
    )


def load(document: Mapping[str, Any], file: str = TEST_FILE) -> QuestionBank:
    return parse_bank(yaml.safe_dump(dict(document), sort_keys=False), file)


def scoring_bank(questions: list[dict[str, Any]], **fields: Any) -> QuestionBank:
    """A bank for scoring tests, where a dimension may hold as few questions as the example needs."""
    fields.setdefault("min_questions_per_dimension", 1)
    return load(bank_dict(questions, **fields))


def by_value(bank: QuestionBank, wanted: Mapping[str, float | Answer]) -> dict[str, Answer]:
    """Answers written as the option value chosen, which keeps hand computations readable."""
    answers: dict[str, Answer] = {}
    for qid, choice in wanted.items():
        if isinstance(choice, int | float):
            values = [option.value for option in bank.practice(qid).options]
            answers[qid] = OptionChoice(values.index(choice))
        else:
            answers[qid] = choice
    return answers


@functools.cache
def shipped_bank(bank_id: str) -> QuestionBank:
    return BankCatalog.from_directory(DEFAULT_BANKS_DIR).get(bank_id)


# Strategies --------------------------------------------------------------------------------------


def answer_sets(bank: QuestionBank) -> st.SearchStrategy[dict[str, Answer]]:
    """Per question: any option, "Don't know", or "Not applicable" where the question offers it."""
    return st.fixed_dictionaries(
        {q.id: st.sampled_from([answer for answer, _ in choices(q)]) for q in bank.questions}
    )


_VALUE_GRID = (0.1, 0.25, 0.35, 0.4, 0.5, 0.6, 0.75, 0.85, 0.9)
# Every practice's options run from 0 (not in place) to 1 (fully in place), with any steps between.
_option_values = st.lists(
    st.sampled_from(_VALUE_GRID) | st.floats(0.01, 0.99).map(lambda x: round(x, 3)),
    min_size=0,
    max_size=3,
    unique=True,
).map(lambda values: (0.0, *sorted(values), 1.0))


@st.composite
def generated_banks(draw: st.DrawFn) -> QuestionBank:
    """Valid banks of 1-4 dimensions with gates at levels 2-4 and any weights."""
    minimum = draw(st.integers(1, 3))
    dimension_ids = [f"dim_{i}" for i in range(draw(st.integers(1, 4)))]
    questions: list[dict[str, Any]] = []
    for dimension_id in dimension_ids:
        for number in range(draw(st.integers(minimum, 5))):
            level = draw(st.sampled_from(LEVELS))
            questions.append(
                question(
                    f"q_{len(questions)}",
                    dimension_id,
                    level=level,
                    gate=level > 1 and draw(st.booleans()),
                    weight=draw(st.sampled_from((0.5, 1, 2, 2.5, 3, 4))),
                    values=draw(_option_values),
                    # A valid bank's dimensions each have a practice that always applies.
                    not_applicable=None if number == 0 else draw(st.sampled_from((None, "Not for us"))),
                )
            )
    return load(bank_dict(questions, min_questions_per_dimension=minimum), "generated.yaml")
