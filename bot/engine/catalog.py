"""The banks a deployment offers, looked up by id or by file path."""

from __future__ import annotations

from pathlib import Path

from bot.engine.bank import BANK_SUFFIXES, BankError, BankProblem, QuestionBank, bank_files, load_bank_file

DEFAULT_BANKS_DIR = Path(__file__).resolve().parents[2] / "question_banks"
DEFAULT_BANK_ID = "mlops"


class UnknownBank(LookupError):
    pass


class BankCatalog:
    def __init__(self, banks: list[QuestionBank]):
        self._banks = {bank.id: bank for bank in banks}

    @classmethod
    def from_directory(cls, directory: Path = DEFAULT_BANKS_DIR) -> BankCatalog:
        """Load every bank in `directory`; raises BankError listing the problems of every bad file."""
        if not directory.is_dir():
            raise BankError([BankProblem(str(directory), "", "no such directory of question banks")])
        banks: list[QuestionBank] = []
        problems: list[BankProblem] = []
        seen: dict[str, Path] = {}
        for path in bank_files(directory):
            try:
                bank = load_bank_file(path)
            except BankError as error:
                problems.extend(error.problems)
                continue
            if bank.id in seen:
                problems.append(
                    BankProblem(str(path), "id", f"bank id {bank.id!r} also used by {seen[bank.id]}")
                )
            seen[bank.id] = path
            banks.append(bank)
        if problems:
            raise BankError(problems)
        return cls(banks)

    @property
    def banks(self) -> list[QuestionBank]:
        return list(self._banks.values())

    def by_id(self, bank_id: str) -> QuestionBank:
        """Only a bank this catalog offers: all a person may name from chat, where a file path must never
        read the server's files."""
        if bank_id in self._banks:
            return self._banks[bank_id]
        known = ", ".join(sorted(self._banks)) or "none"
        raise UnknownBank(f"no question bank {bank_id!r} (available: {known})")

    def get(self, id_or_path: str) -> QuestionBank:
        """A bank by id, or loaded from a file when the argument names one (for the terminal)."""
        path = Path(id_or_path)
        if id_or_path not in self._banks and path.suffix in BANK_SUFFIXES and path.is_file():
            return load_bank_file(path)
        return self.by_id(id_or_path)
