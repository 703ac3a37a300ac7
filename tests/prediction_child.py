"""A run's best model asked in a fresh process, loaded as the dashboard's prediction child loads it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

#: Loads the run through kerasketch.inference.model alone: ``t`` the trained model, ``x`` random bitmaps.
PRELUDE = (
    "import sys, numpy as np\n"
    "from kerasketch.inference.model import load_trained\n"
    "t = load_trained(sys.argv[1])\n"
    "x = (np.random.default_rng(0).random((int(sys.argv[2]), t.image_size, t.image_size)) * 255).astype(np.uint8)\n"
)


def in_prediction_child(run: Path, checks: str, drawings: int) -> str:
    """Run ``checks`` (Python) after :data:`PRELUDE` with ``drawings`` bitmaps in ``x``; its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + checks, str(run), str(drawings)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
