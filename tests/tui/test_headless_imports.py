"""The headless side never imports Textual; the dashboard never imports Keras or torch."""

from __future__ import annotations

import os
import subprocess
import sys


def imported_in_fresh_python(code: str) -> set[str]:
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    return set(out.stdout.split())


def test_importing_the_headless_recipes_never_imports_textual():
    modules = imported_in_fresh_python(
        "import kerasketch.recipes.like_vgg_adamw, kerasketch.training.run, kerasketch.cli"
    )
    assert "kerasketch" in modules
    assert "textual" not in modules


def test_the_dashboard_starts_without_keras_or_torch():
    modules = imported_in_fresh_python("import kerasketch.tui.__main__, kerasketch.tui.app")
    assert "textual" in modules
    assert "keras" not in modules and "torch" not in modules
