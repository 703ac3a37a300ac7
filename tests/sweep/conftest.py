"""The Ray tests start the real command (``python -m kerasketch sweep``) on the synthetic set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

#: Tiny trials: 16 synthetic classes of 60 drawings, batches of 16, at most 3 epochs.
TINY = ["--data", "synthetic", "--max-per-class", "60", "--batch-size", "16", "--epochs", "3"]
#: Low learning rates stay at chance after one epoch, high ones learn: ASHA has something to stop.
SPACE = ["--param", "learning_rate=loguniform:1e-3:3e-1"]


def sweep_argv(*extra: str) -> list[str]:
    return [sys.executable, "-m", "kerasketch", "sweep", "baseline", *TINY, *SPACE, *extra]


#: What the command says when Ray's own processes timed out starting (an overloaded machine); the same
#: command then resumes, so the tests run it again, as the message tells a user to.
RAY_DID_NOT_START = "Ray did not start"


def run_sweep(
    cwd: Path, *extra: str, timeout: float = 600, env: dict[str, str] | None = None, tries: int = 3
) -> subprocess.CompletedProcess:
    for _ in range(tries):
        proc = subprocess.run(sweep_argv(*extra), cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
        if proc.returncode == 0 or RAY_DID_NOT_START not in proc.stdout + proc.stderr:
            break
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def read_sweep(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / "sweep.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def wait_for(condition: Callable[[], Any], timeout: float, what: str, proc: subprocess.Popen | None = None) -> Any:
    """Poll (twice a second) until ``condition()`` is truthy; a loaded machine gets the whole timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the sweep ended (exit {proc.returncode}) before {what}")
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def ray_bin() -> Path:
    path = Path(sys.executable).parent / "ray"
    if not path.exists():
        pytest.skip("the ray command is not installed (pip install 'kerasketch[sweep]')")
    return path


@pytest.fixture(autouse=True)
def _no_inherited_ray_address(monkeypatch):
    # A local sweep must start its own Ray, whatever cluster the environment points at.
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
