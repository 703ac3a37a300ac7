"""`make demo` installs what the demo and the dashboard need; `make test` and `make check` the rest."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("backends", "sweep", "lint", "track", "serve")


def _installs(target: str, venv: Path) -> list[str]:
    """The pip install lines `make TARGET` would run on a machine without a .venv."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    proc = subprocess.run(
        ["make", "-n", target, f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return re.findall(r"pip install -c constraints.txt -e \"([^\"]*)\"", proc.stdout)


def test_make_demo_installs_the_core_alone(tmp_path):
    assert _installs("demo", tmp_path / "venv") == ["."]


@pytest.mark.parametrize("target", ["test", "check", "install"])
def test_make_test_and_check_install_the_rest(tmp_path, target):
    [extras] = _installs(target, tmp_path / "venv")
    assert all(extra in extras for extra in HEAVY), extras
