"""The banks a deployment offers, looked up by id or by file path.

A directory's good banks are offered even when a file beside them is broken: each file's outcome is
kept, so the front ends can report the broken ones (`banks` marks them, `serve` logs them, `validate`
fails on them) without one bad file taking every bank down.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bot.engine.bank import BANK_SUFFIXES, BankError, BankProblem, QuestionBank, bank_files, load_bank_file

DEFAULT_BANK_ID = "mlops"


def shipped_banks_dir() -> Path:
    """The banks that come with the package (``bot/question_banks``, which is the repository's
    ``question_banks/`` in a checkout and a copy of it in a wheel)."""
    banks = resources.files("bot") / "question_banks"
    if not isinstance(banks, Path):
        # Only a zipped install gives something else; the loader needs real files.
        raise RuntimeError(f"the shipped question banks are not files on disk ({banks})")
    return banks


DEFAULT_BANKS_DIR = shipped_banks_dir()


class UnknownBank(LookupError):
    pass


@dataclass(frozen=True)
class BankFile:
    """One file of a banks directory: the bank it holds, or why it is not offered."""

    path: Path
    bank: QuestionBank | None
    problems: tuple[BankProblem, ...] = ()

    @property
    def loaded(self) -> bool:
        return self.bank is not None and not self.problems


class BankCatalog:
    def __init__(self, banks: Iterable[QuestionBank], files: Sequence[BankFile] = ()):
        self._banks = {bank.id: bank for bank in banks}
        self.files = list(files)

    @classmethod
    def from_directory(cls, directory: Path = DEFAULT_BANKS_DIR) -> BankCatalog:
        """Every good bank in `directory`. A file that does not load, and every file sharing a bank id
        with another, is left out and kept in `broken` with its problems. Raises BankError only when
        `directory` is not a directory."""
        if not directory.is_dir():
            raise BankError([BankProblem(str(directory), "", "no such directory of question banks")])
        outcomes: list[BankFile] = []
        for path in bank_files(directory):
            try:
                outcomes.append(BankFile(path, load_bank_file(path)))
            except BankError as error:
                outcomes.append(BankFile(path, None, tuple(error.problems)))
        files = _refuse_shared_ids(outcomes)
        return cls([f.bank for f in files if f.loaded and f.bank is not None], files)

    @property
    def banks(self) -> list[QuestionBank]:
        return list(self._banks.values())

    @property
    def broken(self) -> list[BankFile]:
        return [f for f in self.files if not f.loaded]

    @property
    def problems(self) -> list[BankProblem]:
        return [problem for f in self.files for problem in f.problems]

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


def _refuse_shared_ids(outcomes: list[BankFile]) -> list[BankFile]:
    """Two files with one bank id leave no way to tell which is meant: neither is offered, and each
    names the other."""
    paths_by_id: dict[str, list[Path]] = {}
    for outcome in outcomes:
        if outcome.bank is not None:
            paths_by_id.setdefault(outcome.bank.id, []).append(outcome.path)
    checked = []
    for outcome in outcomes:
        sharing = paths_by_id.get(outcome.bank.id, []) if outcome.bank is not None else []
        if len(sharing) > 1 and outcome.bank is not None:
            others = ", ".join(str(p) for p in sharing if p != outcome.path)
            reason = f"bank id {outcome.bank.id!r} also used by {others}"
            outcome = BankFile(outcome.path, outcome.bank, (BankProblem(str(outcome.path), "id", reason),))
        checked.append(outcome)
    return checked
