"""``kerasketch list | run | evaluate | compare`` as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from pytorch_originals import ORIGINAL_TOTAL, ORIGINAL_TRAINABLE

from kerasketch.cli import main
from kerasketch.recipes import registry

OURS_TRAINABLE = {"sketch_resnet": 343_616}  # no original: checked against the built model in tests/models


def test_list_json_has_the_fields_and_the_originals_counts(capsys):
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(registry.NAMES)
    for r in rows:
        assert {
            "name",
            "model",
            "loss",
            "optimizer",
            "image_size",
            "trainable_params",
            "total_params",
            "original_val_acc",
        } <= set(r)
        assert r["trainable_params"] == {**ORIGINAL_TRAINABLE, **OURS_TRAINABLE}[r["model"]]
    by_name = {r["name"]: r for r in rows}
    assert all(by_name[m]["total_params"] == total for m, total in ORIGINAL_TOTAL.items())
    assert by_name["like_vgg_adamw"]["original_val_acc"] == 0.6267
    assert by_name["sketch_resnet"]["original_val_acc"] is None  # ours: the log has no result


def test_list_shows_a_dash_for_the_recipe_without_an_original(capsys):
    assert main(["list"]) == 0
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith("| sketch_resnet "))
    assert line.endswith("| - |") and "343,616" in line


def test_recipes_run_as_modules_and_explain_their_options():
    proc = subprocess.run([sys.executable, "-m", "kerasketch.recipes.ts_cnn", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert "0.5644" in proc.stdout and "--max-per-class" in proc.stdout and "--events" in proc.stdout


def test_unknown_recipe_and_not_a_run(tmp_path, capsys):
    assert main(["run", "like_vgg_adamx"]) == 2
    assert "unknown recipe 'like_vgg_adamx' (did you mean 'like_vgg_adamw'?)" in capsys.readouterr().err
    (tmp_path / "notarun").mkdir()
    assert main(["evaluate", str(tmp_path / "notarun"), "--data", str(tmp_path)]) == 2
    assert "is not a kerasketch run folder" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing"), "--data", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_run_evaluate_and_compare(quickdraw, tmp_path, capsys):
    # Train on all but the last 300 rows of cat and dog, which are evaluated below.
    train, other = tmp_path / "train", tmp_path / "other"
    train.mkdir()
    other.mkdir()
    for cls in ("cat", "dog", "fish"):
        rows = np.load(quickdraw / "bitmap" / f"{cls}.npy", mmap_mode="r")
        np.save(train / f"{cls}.npy", rows if cls == "fish" else rows[:-300])
        if cls != "fish":
            np.save(other / f"{cls}.npy", rows[-300:])
    runs = tmp_path / "runs"
    assert (
        main(
            [
                "run",
                "like_vgg_adamw",
                "--data",
                str(train),
                "--classes",
                "cat,dog,fish",
                "--max-per-class",
                "400",
                "--epochs",
                "3",
                "--runs-dir",
                str(runs),
                "--quiet",
            ]
        )
        == 0
    )
    run = next(runs.iterdir())
    capsys.readouterr()

    # Evaluate on other drawings of the same classes: rows the run never saw.
    assert main(["evaluate", str(run), "--data", str(other), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["samples"] == 600 and report["classes"] == ["cat", "dog"]
    assert report["accuracy"] > 0.6 and report["top3_accuracy"] >= report["accuracy"]

    shutil.copy(quickdraw / "bitmap" / "bee.npy", other / "bee.npy")
    assert main(["evaluate", str(run), "--data", str(other)]) == 0
    assert "that the model does not know (" in capsys.readouterr().err

    assert main(["compare", str(runs)]) == 0
    table = capsys.readouterr().out
    assert "| 8 | like_vgg_adamw | CEL | AdamW | 0.6267 |" in table
    assert "| 1 | baseline | CEL | SGD | 0.4788 | - |" in table
    assert "--epochs 3" in table and "--max-per-class 400" in table


@pytest.mark.parametrize("argv", [["list", "--json"], ["compare", "--format", "json"]])
def test_output_into_a_pipe_closed_before_it_is_written_ends_quietly(tmp_path, argv):
    """A reader that went away (`| head` done early) ends the command with 141 and nothing on stderr."""
    (tmp_path / "runs").mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kerasketch", *argv],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # closed before the command prints: its first write meets a broken pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141, err
    assert err == ""
