"""The releases the tests run on are the ones pyproject.toml allows and constraints.txt pins.

pyproject.toml bounds each dependency; constraints.txt, which `make install` and CI
install with, pins the exact releases that passed. These must agree, and the
environment running the tests must hold the pinned releases, so that a result
is a result for the versions a user installs.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"]] + [
        Requirement(r) for extra in project["optional-dependencies"].values() for r in extra
    ]


def pinned() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not a NAME==VERSION pin"
            pins[canonicalize_name(name)] = version
    return pins


def test_every_dependency_is_pinned_inside_its_declared_range():
    pins = pinned()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} has no pin in constraints.txt: run `make constraints` once it is tested"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject.toml's {requirement}"
        )


def test_the_tests_run_on_the_pinned_releases():
    pins = pinned()
    drifted = []
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != pins.get(name):
            drifted.append(f"{name} {installed} (constraints.txt: {pins.get(name)})")
    assert not drifted, (
        "installed releases differ from constraints.txt: "
        + ", ".join(drifted)
        + "; `make install` installs the pinned ones, `make constraints` pins these once they pass"
    )


def test_keras_and_torch_are_bounded_to_the_tested_minor_series():
    """The code relies on Keras 3.15's and torch 2.14's behaviour: no range may reach back before them."""
    bounds = {canonicalize_name(r.name): r.specifier for r in declared()}
    for name, tested, older, newer in (
        ("keras", "3.15.1", "3.14.0", "3.16.0"),
        ("torch", "2.14.1", "2.13.0", "2.15.0"),
    ):
        assert bounds[name].contains(tested) and not bounds[name].contains(older) and not bounds[name].contains(newer)
