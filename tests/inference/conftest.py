"""A trained run to predict with and export, made once per session on real drawings."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from kerasketch.cli import main
from kerasketch.models import build_model

CLASSES = ("cat", "fish", "rainbow")


@pytest.fixture(scope="session")
def trained_run(quickdraw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """like_vgg_adamw, 2 epochs on 300 bitmaps of each of three classes."""
    runs = tmp_path_factory.mktemp("runs")
    argv = ["run", "like_vgg_adamw", "--data", str(quickdraw / "bitmap"), "--classes", ",".join(CLASSES)]
    argv += ["--max-per-class", "300", "--epochs", "2", "--runs-dir", str(runs), "--quiet"]
    assert main(argv) == 0
    return next(runs.iterdir())


def fake_run(tmp_path: Path, architecture: str, classes: list[str]) -> tuple[Path, keras.Model]:
    """A run folder holding a built model with non-trivial BatchNorm statistics, as training leaves them."""
    model = build_model(architecture, len(classes), seed=1)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.2, layer.moving_mean.shape).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape).astype("float32"))
    run = tmp_path / f"{architecture}-run"
    run.mkdir()
    model.save(run / "best.keras")
    size = model.inputs[0].shape[-1]
    recipe = {"name": architecture, "model": architecture, "image_size": size}
    (run / "config.json").write_text(json.dumps({"recipe": recipe, "class_names": classes}))
    return run, model
