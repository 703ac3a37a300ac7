"""Every recipe trains for real: one epoch on a small real subset, a complete run folder."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import h5py
import pytest

from kerasketch.cli.run import main
from kerasketch.recipes import registry
from kerasketch.runs.eventlog import read

CLASSES = "cat,dog,fish,apple,house"


def _run_folder(runs_dir):
    folders = [p for p in runs_dir.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


@pytest.mark.slow
@pytest.mark.backends
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.torch_only("wraps a torchvision module"))
        if registry.get(name).weights is not None
        else name
        for name in registry.NAMES
    ],
)
def test_every_recipe_trains_one_epoch_on_real_bitmaps(name, quickdraw, tmp_path, capsys):
    recipe = registry.get(name)
    argv = [
        "--data",
        str(quickdraw / "bitmap"),
        "--classes",
        CLASSES,
        "--max-per-class",
        "40",
        "--epochs",
        "1",
        "--runs-dir",
        str(tmp_path),
        "--quiet",
    ]
    if recipe.weights is not None:
        argv += ["--weights", "none"]  # no ImageNet download here
    assert main(recipe, argv) == 0
    run = _run_folder(tmp_path)
    for f in ("config.json", "events.jsonl", "history.csv", "best.keras", "eval.json", "confusion.csv", "run.log"):
        assert (run / f).is_file(), f
    assert not (run / "backup").exists(), "a finished run leaves no backup"
    with zipfile.ZipFile(run / "best.keras") as archive, archive.open("model.weights.h5") as f:
        weights_bytes = io.BytesIO(f.read())
    with h5py.File(weights_bytes) as weights:
        assert "optimizer" not in weights, "best.keras holds the model, not the optimiser's slots"
    config = json.loads((run / "config.json").read_text())
    assert config["recipe"]["name"] == name and config["class_names"] == sorted(CLASSES.split(","))
    assert config["dataset"]["synthetic"] is False and config["recipe"]["image_size"] == recipe.image_size
    kinds = [e["event"] for e in read(run / "events.jsonl")]
    assert kinds[0] == "start" and kinds.count("epoch") == 1 and kinds[-1] == "end"
    epoch = next(e for e in read(run / "events.jsonl") if e["event"] == "epoch")
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(epoch["metrics"])
    # A cosine schedule ends a one-epoch run at a learning rate of 0 (sketch_resnet); the others stay constant.
    assert epoch["lr"] > 0 if recipe.schedule == "constant" else epoch["lr"] >= 0
    evaluation = json.loads((run / "eval.json").read_text())
    assert 0.0 <= evaluation["test"]["accuracy"] <= 1.0 and evaluation["test"]["samples"] == 20
    assert [c["class"] for c in evaluation["per_class"]] == sorted(CLASSES.split(","))
    with open(run / "confusion.csv", newline="") as f:
        rows = list(csv.reader(f))
    # The matrix has no column for ts_cnn's logits beyond the classes: those drawings are in no cell.
    outside = evaluation["test"]["predictions_outside_classes"]
    assert rows[0][1:] == sorted(CLASSES.split(",")) and sum(int(v) for r in rows[1:] for v in r[1:]) == 20 - outside
    out = capsys.readouterr().out
    assert "test accuracy" in out and str(run) in out
