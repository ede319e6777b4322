"""The dependency declarations: bounded below the next major version, and pinned for CI in
constraints.txt at versions the declarations allow."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DECLARED = [Requirement(line) for line in PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]]


def pins() -> dict[str, Version]:
    pinned: dict[str, Version] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pinned[canonicalize_name(name)] = Version(version)
    return pinned


@pytest.mark.parametrize("requirement", DECLARED, ids=str)
def test_every_dependency_has_an_upper_bound(requirement: Requirement) -> None:
    assert any(spec.operator == "<" for spec in requirement.specifier), f"{requirement} has no upper bound"


@pytest.mark.parametrize("requirement", DECLARED, ids=str)
def test_constraints_pin_every_dependency_within_its_bounds(requirement: Requirement) -> None:
    pinned = pins().get(canonicalize_name(requirement.name))
    assert pinned is not None, f"{requirement.name} is not in constraints.txt; run .ci/refresh-constraints"
    assert requirement.specifier.contains(pinned), f"constraints.txt pins {requirement.name} {pinned}"


def test_constraints_do_not_pin_the_project_itself() -> None:
    assert canonicalize_name(PROJECT["name"]) not in pins()
