"""The dependency declarations: lower bounds, an upper bound only with the reason for it beside it, and
pinned in constraints.txt (what the README's install and CI take) at versions the declarations allow."""

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


def declaration_lines() -> list[str]:
    return (ROOT / "pyproject.toml").read_text().splitlines()


@pytest.mark.parametrize("requirement", DECLARED, ids=str)
def test_every_dependency_has_a_lower_bound(requirement: Requirement) -> None:
    assert any(spec.operator == ">=" for spec in requirement.specifier), f"{requirement} has no lower bound"


@pytest.mark.parametrize("requirement", DECLARED, ids=str)
def test_an_upper_bound_says_which_release_breaks_what(requirement: Requirement) -> None:
    """A bound without a known break only hides new releases from the newest-versions CI step, and
    stops a fix in them from reaching people; one with a known break must say so where it is set."""
    if not any(spec.operator in ("<", "<=", "!=") for spec in requirement.specifier):
        return
    lines = declaration_lines()
    at = next(i for i, line in enumerate(lines) if line.strip().strip(",").strip('"') == str(requirement))
    assert lines[at - 1].strip().startswith("#"), f"{requirement}: no comment above says why it is bounded"


@pytest.mark.parametrize("requirement", DECLARED, ids=str)
def test_constraints_pin_every_dependency_within_its_bounds(requirement: Requirement) -> None:
    pinned = pins().get(canonicalize_name(requirement.name))
    assert pinned is not None, f"{requirement.name} is not in constraints.txt; run .ci/refresh-constraints"
    assert requirement.specifier.contains(pinned), f"constraints.txt pins {requirement.name} {pinned}"


def test_constraints_do_not_pin_the_project_itself() -> None:
    assert canonicalize_name(PROJECT["name"]) not in pins()
