"""Every example in README.md and docs/*.md runs as shown, and every sample file is valid.

The rules (docs/operations.md, "Examples that run", says the same for writers):

- A fenced block marked ``console`` or ``sh`` is a transcript: a line starting with ``$ `` is a command
  and the lines under it, up to the next ``$ ``, are what it prints (standard output and standard error
  together). A command must be ``mlops-compass …``, optionally after ``NAME=value`` settings. It runs in a
  scratch folder holding ``examples/`` and ``question_banks/``, with ``COLUMNS=100`` and ``NO_COLOR=1``;
  the output must match with whitespace normalised, ``…`` standing for any text. It must exit 0, unless
  ``$ echo $?`` follows it and shows the code.
- ``no-run`` after the language (```` ```console no-run ````) shows a block without running it. The
  README's Quickstart is the one ``sh`` block without ``$`` lines that needs no mark: it is checked to be
  its two commands, and not run (it installs the project).
- A ``$ `` line outside such a block is refused: a command is either run or marked ``no-run``.
- A ``yaml bank`` block is a complete question bank and must pass ``mlops-compass validate``; naming a
  file (```` ```yaml bank examples/banks/platform.yaml ````), it must be that file's text. A ``yaml
  answers`` block is an answers file for the ``mlops`` bank.
- Every ``examples/…`` path the pages name exists, and every ``examples/*.yaml`` is an answers file
  listed in ``SAMPLE_BANKS`` that loads against its bank and scores. (The banks in ``examples/banks/``,
  one of them broken on purpose, are checked by the pages' ``validate`` and ``banks`` examples.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.engine.bank import load_bank_file
from bot.engine.catalog import DEFAULT_BANKS_DIR
from bot.engine.scoring import score
from bot.terminal.answers_file import load_answers_file
from bot.terminal.bank_check import check_banks

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TRANSCRIPT_LANGUAGES = {"console", "sh"}
NOT_RUN = "no-run"
ELISION = "…"
COMMAND = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*mlops-compass(?:\s|$)")
EXIT_CODE_QUERY = "echo $?"
EXAMPLE_PATH = re.compile(r"\bexamples/[\w./-]*[\w/]")
# Which bank each sample answers file answers; a new sample must say so here.
SAMPLE_BANKS = {"team-answers.yaml": "mlops", "pulse-answers.yaml": "pulse"}
# Settings a developer may have exported that would change what the examples print.
CLEARED_ENVIRONMENT = ("BANKS_DIR", "DEFAULT_BANK", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, counting from 1
    language: str
    marks: frozenset[str]
    lines: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


@dataclass
class Command:
    block: Block
    text: str
    shown: list[str] = field(default_factory=list)
    exit_code: int = 0

    @property
    def id(self) -> str:
        return f"{self.block.where} $ {self.text}"


def fenced_blocks(page: Path) -> list[Block]:
    blocks: list[Block] = []
    opening: tuple[int, str, str] | None = None
    body: list[str] = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        if opening is None:
            fence = re.match(r"^(`{3,}|~{3,})(.*)$", line)
            if fence:
                opening, body = (number, fence.group(1), fence.group(2).strip()), []
        elif line.strip() == opening[1]:
            words = opening[2].split()
            language = words[0] if words else ""
            blocks.append(Block(page, opening[0], language, frozenset(words[1:]), tuple(body)))
            opening = None
        else:
            body.append(line)
    assert opening is None, f"{page.relative_to(ROOT)}:{opening[0]}: a fenced block is never closed"
    return blocks


ALL_BLOCKS = [block for page in PAGES for block in fenced_blocks(page)]


def is_quickstart(block: Block) -> bool:
    return block.page.name == "README.md" and block.line == quickstart_line()


def quickstart_line() -> int:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    heading = lines.index("## Quickstart")
    return next(n for n in range(heading, len(lines)) if lines[n].startswith("```")) + 1


def transcripts() -> list[Block]:
    return [
        block
        for block in ALL_BLOCKS
        if block.language in TRANSCRIPT_LANGUAGES and NOT_RUN not in block.marks and not is_quickstart(block)
    ]


def commands_of(block: Block) -> list[Command]:
    commands: list[Command] = []
    for line in block.lines:
        if line.startswith("$ "):
            text = line[2:].strip()
            if text == EXIT_CODE_QUERY:
                assert commands, f"{block.where}: `$ echo $?` with no command before it"
                commands[-1].exit_code = -1  # set from the shown line below
                continue
            commands.append(Command(block, text))
        elif commands and commands[-1].exit_code == -1:
            commands[-1].exit_code = int(line.strip())
        elif commands:
            commands[-1].shown.append(line)
        elif line.strip():
            raise AssertionError(f"{block.where}: output before any `$ ` command: {line!r}")
    return commands


ALL_COMMANDS = [command for block in transcripts() for command in commands_of(block)]


def normalised(text: str) -> str:
    return " ".join(text.split())


def shown_pattern(shown: list[str]) -> re.Pattern[str]:
    parts = [re.escape(normalised(part)) for part in "\n".join(shown).split(ELISION)]
    return re.compile(r"\s?.*?\s?".join(parts), re.DOTALL)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where the examples' relative paths resolve, and `mlops-compass` runs this checkout."""
    folder = tmp_path_factory.mktemp("examples")
    for name in ("examples", "question_banks"):
        (folder / name).symlink_to(ROOT / name, target_is_directory=True)
    bin_dir = folder / ".bin"
    bin_dir.mkdir()
    launcher = bin_dir / "mlops-compass"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m bot "$@"\n')
    launcher.chmod(0o755)
    return folder


def example_environment(scratch: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in CLEARED_ENVIRONMENT}
    environment.update(
        PATH=f"{scratch / '.bin'}{os.pathsep}{environment.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        COLUMNS="100",
        NO_COLOR="1",
    )
    return environment


# The rules themselves --------------------------------------------------------------------------------


def test_the_pages_have_examples_to_run() -> None:
    assert {command.block.page.name for command in ALL_COMMANDS} >= {"README.md", "terminal.md"}
    assert any(command.exit_code != 0 for command in ALL_COMMANDS), "an example of a failing command"


def test_the_quickstart_is_its_two_commands() -> None:
    block = next(block for block in ALL_BLOCKS if is_quickstart(block))
    assert block.language == "sh"
    assert [line.split(" && ")[-1] for line in block.lines] == [
        ".venv/bin/mlops-compass-playground",
        ".venv/bin/python -m pytest",
    ]


def test_the_quickstart_installs_the_versions_ci_tests() -> None:
    """A newcomer's install takes the pinned versions, as CI's does: installing without them once got a
    release that hung the suite while CI stayed green."""
    block = next(block for block in ALL_BLOCKS if is_quickstart(block))
    installs = [step for line in block.lines for step in line.split(" && ") if " install " in step]
    assert len(installs) == 2
    assert all(" -c constraints.txt " in step for step in installs), installs


def test_ci_runs_the_quickstart_as_the_page_shows_it() -> None:
    """`.ci/run` takes its install and test commands from the page, and makes no install of its own."""
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 .ci/quickstart.py" in ci
    installs = [line for line in ci.splitlines() if re.search(r"\bpip\b.* install ", line)]
    assert not installs, installs
    shown = next(block for block in ALL_BLOCKS if is_quickstart(block)).lines
    extracted = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "quickstart.py")], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert extracted == list(shown)


@pytest.mark.parametrize("block", transcripts(), ids=lambda block: block.where)
def test_a_transcript_holds_only_commands_that_can_run(block: Block) -> None:
    commands = commands_of(block)
    assert commands, f"{block.where}: a {block.language} block with no `$ ` command; mark it `{NOT_RUN}`"
    for command in commands:
        assert COMMAND.match(command.text), (
            f"{block.where}: `{command.text}` is not an mlops-compass command; "
            f"mark the block `{NOT_RUN}` if it cannot run here"
        )


def test_a_command_line_is_in_a_transcript_or_marked_not_run() -> None:
    strays = [
        f"{block.where}: {line}"
        for block in ALL_BLOCKS
        if block.language not in TRANSCRIPT_LANGUAGES
        for line in block.lines
        if line.startswith("$ ")
    ]
    assert not strays, "show these in a console block, run or marked no-run"


# The examples ----------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("command", ALL_COMMANDS, ids=lambda command: command.id)
def test_the_example_runs_as_shown(command: Command, scratch: Path) -> None:
    finished = subprocess.run(
        ["bash", "-c", command.text],
        cwd=scratch,
        env=example_environment(scratch),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    assert finished.returncode == command.exit_code, finished.stdout
    pattern = shown_pattern(command.shown)
    assert pattern.fullmatch(normalised(finished.stdout)), (
        f"{command.block.where}: `{command.text}` printed\n{finished.stdout}\nbut the page shows\n"
        + "\n".join(command.shown)
    )


def test_an_elision_stands_for_any_text_and_nothing_else_is_loose() -> None:
    pattern = shown_pattern(["Question banks in …question_banks", "2 banks OK"])
    assert pattern.fullmatch("Question banks in /srv/x/question_banks 2 banks OK")
    assert not pattern.fullmatch("Question banks in /srv/x/question_banks 3 banks OK")
    assert not shown_pattern(["1 bank OK"]).fullmatch("1 bank OK and more")


def saved(block: Block, path: Path) -> Path:
    path.write_text("\n".join(block.lines) + "\n", encoding="utf-8")
    return path


def yaml_blocks(mark: str) -> list[Block]:
    return [block for block in ALL_BLOCKS if block.language == "yaml" and mark in block.marks]


@pytest.mark.parametrize(
    "block",
    yaml_blocks("bank"),
    ids=lambda block: block.where,
)
def test_a_complete_bank_in_the_docs_validates(block: Block, tmp_path: Path) -> None:
    check = check_banks([saved(block, tmp_path / "bank.yaml")])
    assert not check.problems, [str(problem) for problem in check.problems]
    assert not check.warnings, check.warnings
    for named in (mark for mark in block.marks if mark.startswith("examples/")):
        assert (ROOT / named).read_text(encoding="utf-8").splitlines() == list(block.lines), (
            f"{block.where}: the bank shown is not {named}"
        )


@pytest.mark.parametrize(
    "block",
    yaml_blocks("answers"),
    ids=lambda block: block.where,
)
def test_an_answers_excerpt_in_the_docs_is_valid(block: Block, tmp_path: Path) -> None:
    bank = load_bank_file(DEFAULT_BANKS_DIR / "mlops.yaml")
    # Raises, naming each stale question id or answer.
    loaded = load_answers_file(saved(block, tmp_path / "answers.yaml"), bank)
    assert loaded.answers


def test_every_sample_file_named_in_the_pages_exists() -> None:
    named = {match for page in PAGES for match in EXAMPLE_PATH.findall(page.read_text(encoding="utf-8"))}
    assert named, "the pages name no sample file"
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing


@pytest.mark.parametrize("sample", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda path: path.name)
def test_a_sample_answers_file_loads_and_scores(sample: Path) -> None:
    assert sample.name in SAMPLE_BANKS, f"say in SAMPLE_BANKS which bank {sample.name} answers"
    bank = load_bank_file(DEFAULT_BANKS_DIR / f"{SAMPLE_BANKS[sample.name]}.yaml")
    loaded = load_answers_file(sample, bank)
    report = score(bank, loaded.answers)
    assert report.dimensions


def heading_anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.*)$", page.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def test_every_link_between_the_pages_resolves() -> None:
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists() or (anchor and anchor not in heading_anchors(linked)):
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken
