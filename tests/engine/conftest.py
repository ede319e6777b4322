from __future__ import annotations

import pytest

from bot.engine.bank import QuestionBank

from .synthetic import base_bank_dict, load, shipped_bank


@pytest.fixture
def base_dict() -> dict:
    """A fresh, valid bank document that each test may break in its own way."""
    return base_bank_dict()


@pytest.fixture
def small_bank() -> QuestionBank:
    return load(base_bank_dict())


@pytest.fixture(scope="session")
def mlops() -> QuestionBank:
    return shipped_bank("mlops")


@pytest.fixture(scope="session")
def pulse() -> QuestionBank:
    return shipped_bank("pulse")
