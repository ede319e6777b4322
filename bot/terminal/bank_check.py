"""Loading every bank under a set of paths, collecting problems instead of stopping at the first bad file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.engine.audit import (
    RETIRED_TOOLS_FILE,
    cut_label_warnings,
    gate_problems,
    level_pool_problems,
    read_retired_tools,
    retired_tool_problems,
)
from bot.engine.bank import BANK_SUFFIXES, BankError, BankProblem, QuestionBank, load_bank_file
from bot.engine.catalog import DEFAULT_BANKS_DIR, BankCatalog


class MissingBankPath(Exception):
    def __init__(self, path: Path):
        self.path = path
        super().__init__(f"{path}: no such file or directory")


@dataclass
class BankCheck:
    banks: list[QuestionBank] = field(default_factory=list)
    problems: list[BankProblem] = field(default_factory=list)
    warnings: list[BankProblem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def bad_files(self) -> int:
        return len({problem.file for problem in self.problems})

    @property
    def ok_files(self) -> int:
        troubled = {problem.file for problem in self.problems}
        return sum(str(path) not in troubled for path in self.files)


def check_banks(paths: Iterable[Path]) -> BankCheck:
    """Load every bank file named, and every bank file in every directory named.

    A directory is loaded as the app loads it (`BankCatalog`), so a bank id used by two of its files is
    a problem here too. Raises MissingBankPath before loading anything if a path does not exist.
    """
    paths = list(paths)
    for path in paths:
        if not path.exists():
            raise MissingBankPath(path)
    check = BankCheck()
    for path in paths:
        if path.is_dir():
            _check_directory(path, check)
        else:
            _check_file(path, check)
    return check


def _check_file(path: Path, check: BankCheck) -> None:
    check.files.append(path)
    try:
        bank = load_bank_file(path)
    except BankError as error:
        check.problems.extend(error.problems)
        return
    _keep_if_sound(bank, path, check)


def _keep_if_sound(bank: QuestionBank, path: Path, check: BankCheck) -> None:
    # Beyond the format: an instrument whose gate can never fire, or that recommends a tool that is
    # shut down or being retired, is refused too.
    instrument = (
        gate_problems(bank, str(path))
        + level_pool_problems(bank, str(path))
        + retired_tool_problems(bank, _retired_tools(), str(path))
    )
    if instrument:
        check.problems.extend(instrument)
    else:
        check.banks.append(bank)
    check.warnings.extend(cut_label_warnings(bank, str(path)))


def _retired_tools() -> dict[str, str]:
    return read_retired_tools(DEFAULT_BANKS_DIR / RETIRED_TOOLS_FILE)


def _check_directory(directory: Path, check: BankCheck) -> None:
    catalog = BankCatalog.from_directory(directory)
    if not catalog.files:
        suffixes = ", ".join(BANK_SUFFIXES)
        check.problems.append(BankProblem(str(directory), "", f"no question bank files ({suffixes})"))
        return
    check.files.extend(f.path for f in catalog.files)
    check.problems.extend(catalog.problems)
    for bank_file in catalog.files:
        if bank_file.loaded and bank_file.bank is not None:
            _keep_if_sound(bank_file.bank, bank_file.path, check)
