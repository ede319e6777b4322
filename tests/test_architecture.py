"""The layout's rules, read from the source: which layer may import what, and no import cycle in `bot`.

Every import statement counts for the layer rules, wherever it sits (a deferred import inside a function
still couples the layers). The cycle check follows the imports that run when a module loads: those at
module level, outside `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / "bot"


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. "bot.slack.team"
    target: str  # what it imports, resolved to a module where one exists, e.g. "bot.store.sessions"
    line: int
    at_load: bool  # runs when the module is imported (module level, not under TYPE_CHECKING)


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(package: Path) -> list[Path]:
    return sorted(path for path in package.rglob("*.py") if ".venv" not in path.parts)


def _is_module(name: str, root: Path) -> bool:
    path = root.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, root: Path) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        yield submodule if _is_module(submodule, root) else base


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _load_time_statements(body: Iterable[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run on import: the module body, through if/try/with, but not into functions,
    classes' methods or `if TYPE_CHECKING:`."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If):
            if not _is_type_checking(statement):
                yield from _load_time_statements(statement.body)
            yield from _load_time_statements(statement.orelse)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, statement.orelse, statement.finalbody):
                yield from _load_time_statements(block)
            for handler in statement.handlers:
                yield from _load_time_statements(handler.body)
        elif isinstance(statement, ast.With | ast.ClassDef):
            yield from _load_time_statements(statement.body)


def imports_of(path: Path, root: Path = ROOT) -> list[Import]:
    module = module_name(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    at_load = {id(node) for node in _load_time_statements(tree.body)}
    is_package = path.name == "__init__.py"
    return [
        Import(module, target, node.lineno, id(node) in at_load)
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for target in _targets(node, module, is_package, root)
    ]


def all_imports(package: Path) -> list[Import]:
    return [found for path in source_files(package) for found in imports_of(path)]


def _within(target: str, prefixes: Iterable[str]) -> bool:
    return any(target == prefix or target.startswith(prefix + ".") for prefix in prefixes)


def forbidden(package: Path, prefixes: Iterable[str]) -> list[str]:
    prefixes = list(prefixes)
    return [
        f"{found.module}:{found.line} imports {found.target}"
        for found in all_imports(package)
        if _within(found.target, prefixes)
    ]


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle of the directed graph, as the modules along it (first repeated last), or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start}
        stack = [iter(sorted(graph.get(start, ())))]
        while stack:
            following = next(stack[-1], None)
            if following is None:
                stack.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
            elif following in on_path:
                return [*path[path.index(following) :], following]
            elif following not in done:
                path.append(following)
                on_path.add(following)
                stack.append(iter(sorted(graph.get(following, ()))))
    return None


def load_time_graph(package: Path) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {module_name(path): set() for path in source_files(package)}
    root = package.name
    for found in all_imports(package):
        if found.at_load and _within(found.target, [root]) and found.target != found.module:
            graph[found.module].add(found.target)
    return graph


# the checker checks ------------------------------------------------------------------------------


def test_the_cycle_finder_finds_a_cycle_and_passes_a_tree() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"a"}}) == ["a", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_import_reader_sees_deferred_relative_and_type_checking_imports(tmp_path: Path) -> None:
    source = tmp_path / "bot" / "slack" / "sample.py"
    for module in ("bot/slack/sample.py", "bot/store/keys.py", "bot/usecases/personal.py"):
        (tmp_path / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / module).touch()
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import redis\n"
        "if TYPE_CHECKING:\n"
        "    from bot.store import keys\n"
        "def later():\n"
        "    from bot.usecases import personal\n",
        encoding="utf-8",
    )
    found = {(i.target, i.at_load) for i in imports_of(source, root=tmp_path)}
    assert ("redis", True) in found
    assert ("bot.store.keys", False) in found
    assert ("bot.usecases.personal", False) in found


# the rules ---------------------------------------------------------------------------------------


def test_the_engine_is_pure() -> None:
    outside = [
        "slack",
        "slack_sdk",
        "slack_bolt",
        "redis",
        "fakeredis",
        "rich",
        "matplotlib",
        "PIL",
        "playground",
    ]
    layers = [
        "bot.store",
        "bot.slack",
        "bot.terminal",
        "bot.usecases",
        "bot.cli",
        "bot.render",
        "bot.settings",
    ]
    assert forbidden(BOT / "engine", outside + layers) == []


def test_the_use_cases_know_nothing_of_slack() -> None:
    assert forbidden(BOT / "usecases", ["slack", "slack_sdk", "slack_bolt", "bot.slack", "bot.cli"]) == []


@pytest.mark.parametrize("package", ["slack", "terminal"])
def test_front_ends_hold_no_transactions(package: str) -> None:
    assert forbidden(BOT / package, ["redis", "fakeredis"]) == []
    calls = [
        f"{module_name(path)}: {marker}"
        for path in source_files(BOT / package)
        for marker in (".pipeline(", ".watch(", ".multi(", "WATCH", "MULTI")
        if marker in path.read_text(encoding="utf-8")
    ]
    assert calls == []


def test_the_product_never_imports_the_playground() -> None:
    assert forbidden(BOT, ["playground", "tests"]) == []


def test_the_top_level_of_bot_holds_only_its_entry_points_and_settings() -> None:
    loose = sorted(path.name for path in BOT.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "settings.py"]


@pytest.mark.parametrize("package", ["bot", "playground"])
def test_no_import_cycle(package: str) -> None:
    assert find_cycle(load_time_graph(ROOT / package)) is None


def test_the_store_has_one_optimistic_transaction_loop() -> None:
    watching = sorted(
        module_name(path)
        for path in source_files(BOT / "store")
        if "WatchError" in path.read_text(encoding="utf-8")
    )
    assert watching == ["bot.store.transactions"]
