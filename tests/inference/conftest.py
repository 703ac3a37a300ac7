"""A trained run to predict with and export, made once per session on real drawings."""

from __future__ import annotations

from pathlib import Path

import pytest

from kerasketch.cli import main

CLASSES = ("cat", "fish", "rainbow")


@pytest.fixture(scope="session")
def trained_run(quickdraw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """like_vgg_adamw, 2 epochs on 300 bitmaps of each of three classes."""
    runs = tmp_path_factory.mktemp("runs")
    argv = ["run", "like_vgg_adamw", "--data", str(quickdraw / "bitmap"), "--classes", ",".join(CLASSES)]
    argv += ["--max-per-class", "300", "--epochs", "2", "--runs-dir", str(runs), "--quiet"]
    assert main(argv) == 0
    return next(runs.iterdir())
