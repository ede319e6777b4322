"""The project as a user installs it: a wheel, in a fresh virtual environment, run from an empty folder.

The wheel is built from a copy of the source with the build backend of this environment, and installed
without its dependencies into a venv that borrows them from this environment's site-packages through a
path file. Path files name directories only, so the editable install of this checkout (an import hook in
this environment's site-packages) does not come along: the `bot` that runs is the wheel's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.engine.bank import BANK_SUFFIXES, load_bank_file
from bot.engine.catalog import DEFAULT_BANKS_DIR
from bot.settings import SERVICE_SETTINGS

# The wheel built and its command run: the slow tier (`-m "not e2e"` leaves it out).
pytestmark = pytest.mark.e2e

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "tests"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "mlops-compass"
    shutil.copytree(PROJECT_ROOT, source, symlinks=True, ignore=NOT_SOURCE)
    out = tmp_path_factory.mktemp("wheelhouse")
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*build, "--wheel-dir", str(out), "."],
        cwd=source,
        check=True,
        timeout=300,
    )
    [built] = out.glob("mlops_compass-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The venv's bin directory, with the wheel installed."""
    root = tmp_path_factory.mktemp("venv") / "venv"
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site_packages / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
    )
    yield root / "bin"


def run_installed(bin_dir: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"BANKS_DIR", "DEFAULT_BANK", "PYTHONPATH"}}
    env = {k: v for k, v in env.items() if k not in SERVICE_SETTINGS} | {"NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [str(bin_dir / "mlops-compass"), *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_the_wheel_carries_the_banks(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(p.name for p in DEFAULT_BANKS_DIR.iterdir() if p.suffix in BANK_SUFFIXES)
    assert "mlops.yaml" in shipped
    for name in shipped:
        assert f"bot/question_banks/{name}" in names


def test_the_installed_command_lists_and_uses_its_banks_from_an_empty_folder(
    installed: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    where = subprocess.run(
        [str(installed / "python"), "-c", "import bot; print(bot.__file__)"],
        cwd=empty,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), "the checkout's bot was imported"

    banks = run_installed(installed, empty, "banks")
    assert banks.returncode == 0, banks.stderr
    assert banks.stderr == ""
    # A long path folds at the terminal's width (80 columns in a pipe).
    assert "site-packages/bot/question_banks" in "".join(banks.stdout.splitlines())
    assert "MLOps Maturity Assessment" in banks.stdout and "MLOps Quarterly Pulse" in banks.stdout

    mlops = load_bank_file(DEFAULT_BANKS_DIR / "mlops.yaml")
    answers = tmp_path / "answers" / "team.yaml"
    answers.parent.mkdir()
    answers.write_text(yaml.safe_dump({q.id: len(q.options) for q in mlops.questions}))
    assessed = run_installed(installed, empty, "assess", "--answers", str(answers), "--format", "json")
    assert assessed.returncode == 0, assessed.stderr
    report = json.loads(assessed.stdout)
    assert report["bank_id"] == "mlops"
    assert report["overall"]["level"] == 4
    # The retired-tools list travels with the banks, so `validate` works from a wheel too.
    validated = run_installed(installed, empty, "validate")
    assert validated.returncode == 0 and "2 banks OK" in validated.stdout, validated.stdout + validated.stderr

    assert list(empty.iterdir()) == []
    version = run_installed(installed, empty, "--version")
    assert version.returncode == 0
    assert version.stdout.startswith("mlops-compass ")
