"""manifest.yml's long description and README.md's first paragraph state what the app itself states: the
description bot/engine/overview.py makes from the shipped banks, which scripts/write_description.py
writes into both files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.engine.catalog import DEFAULT_BANK_ID, BankCatalog
from bot.engine.overview import app_description, length
from bot.engine.schedule import BANK_FOR_CHOICE
from bot.slack.blocks import COMMAND
from scripts import write_description

ROOT = Path(__file__).resolve().parents[1]
CATALOG = BankCatalog.from_directory()
# The bank `/mlops-compass` starts when DEFAULT_BANK is not set, and the pulse beside it.
FULL = CATALOG.get(DEFAULT_BANK_ID)
SHORT = CATALOG.get(BANK_FOR_CHOICE["pulse"])
FILES = ("manifest.yml", "README.md")


def long_description(root: Path = ROOT) -> str:
    manifest = yaml.safe_load((root / "manifest.yml").read_text(encoding="utf-8"))
    return str(manifest["display_information"]["long_description"])


def readme_first_paragraph(root: Path = ROOT) -> str:
    """The prose under the README's title, with its line breaks read as spaces, as Markdown reads them."""
    text = (root / "README.md").read_text(encoding="utf-8")
    return " ".join(text.split("\n\n")[1].split())


def copy_files(into: Path) -> None:
    for name in FILES:
        shutil.copy(ROOT / name, into / name)


def test_the_manifest_describes_the_default_bank_and_the_pulse_as_the_app_does() -> None:
    assert long_description() == app_description(COMMAND, FULL, SHORT, markdown=False)
    assert length(FULL) in long_description() and length(SHORT) in long_description()


def test_the_readme_opens_with_the_same_description() -> None:
    assert readme_first_paragraph() == app_description(COMMAND, FULL, SHORT, markdown=True)


def test_the_writer_puts_a_stale_description_back_and_changes_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy_files(tmp_path)
    # The length may be wrapped over two lines in either file.
    stated = re.compile(r"\s+".join(re.escape(word) for word in length(FULL).split()))
    for name in FILES:
        path = tmp_path / name
        path.write_text(stated.sub("about 20 short questions", path.read_text(), count=1))
    assert "about 20 short questions" in long_description(tmp_path)
    assert "about 20 short questions" in readme_first_paragraph(tmp_path)

    assert write_description.main(["--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["manifest.yml: rewritten", "README.md: rewritten"]
    for name in FILES:
        assert (tmp_path / name).read_text() == (ROOT / name).read_text(), name

    assert write_description.main(["--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "manifest.yml: already up to date",
        "README.md: already up to date",
    ]


def test_the_writer_keeps_the_blank_line_after_the_manifests_description(tmp_path: Path) -> None:
    copy_files(tmp_path)
    manifest = tmp_path / "manifest.yml"
    manifest.write_text(manifest.read_text().replace("\nfeatures:\n", "\n\nfeatures:\n"))
    assert write_description.main(["--root", str(tmp_path)]) == 0
    assert f"{length(SHORT)}.\n\nfeatures:\n" in manifest.read_text()
    assert long_description(tmp_path) == long_description()


def test_a_manifest_without_its_description_block_leaves_both_files_as_they_were(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy_files(tmp_path)
    manifest, readme = tmp_path / "manifest.yml", tmp_path / "README.md"
    manifest.write_text(manifest.read_text().replace("long_description: >-", "long_description: |"))
    readme.write_text(readme.read_text().replace(length(FULL), "about 20 short questions", 1))
    before = {name: (tmp_path / name).read_text() for name in FILES}

    assert write_description.main(["--root", str(tmp_path)]) == 1
    assert "needs exactly one `long_description: >-` line; nothing was written" in capsys.readouterr().err
    assert {name: (tmp_path / name).read_text() for name in FILES} == before
