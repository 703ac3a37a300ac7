"""``evaluate`` and ``compare`` on damaged run folders, missing or junk runs folders, and partial data.

Each fault: exit status 2, one message naming the file (and field) and what
to do, nothing written. And the figures themselves: per-class averages are
over the classes present in the data, and evaluating on training files warns.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from kerasketch.cli import main

CLASSES = ["cat", "dog", "fish", "apple"]


@pytest.fixture(scope="module")
def trained(quickdraw, tmp_path_factory):
    """A one-epoch baseline run on 4 real classes, and 2 of those classes' unseen rows."""
    root = tmp_path_factory.mktemp("faults")
    data = root / "train"
    data.mkdir()
    other = root / "other"
    other.mkdir()
    for cls in CLASSES:
        rows = np.load(quickdraw / "bitmap" / f"{cls}.npy", mmap_mode="r")
        np.save(data / f"{cls}.npy", rows[:300])
        if cls in ("cat", "dog"):
            np.save(other / f"{cls}.npy", rows[-200:])
    argv = ["run", "baseline", "--data", str(data), "--epochs", "1", "--runs-dir", str(root / "runs"), "--quiet"]
    assert main(argv) == 0
    return next((root / "runs").iterdir()), data, other


def listing(path):
    return sorted((str(p.relative_to(path)), p.stat().st_size) for p in path.rglob("*"))


def copy_run(run, tmp_path):
    copy = tmp_path / run.name
    shutil.copytree(run, copy)
    return copy


def test_macro_f1_averages_over_the_classes_present(trained, capsys):
    import keras
    from sklearn.metrics import f1_score

    from kerasketch.data.sources import scan
    from kerasketch.training.evaluate import predict_logits

    run, _, other = trained
    assert main(["evaluate", str(run), "--data", str(other), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["averaged_over"] == ["cat", "dog"] and report["model_classes"] == 4
    known = json.loads((run / "config.json").read_text())["class_names"]
    catalog = scan(other)
    x = np.concatenate([catalog.images(c, np.arange(200), 28) for c in ("cat", "dog")])
    y = np.repeat([known.index("cat"), known.index("dog")], 200)
    pred = predict_logits(keras.saving.load_model(run / "best.keras", compile=False), x).argmax(axis=1)
    expected = f1_score(y, pred, labels=sorted(set(y)), average="macro", zero_division=0)
    assert report["macro_f1"] == pytest.approx(expected)
    assert report["overlaps_training"] == []

    assert main(["evaluate", str(run), "--data", str(other)]) == 0
    out = capsys.readouterr()
    assert "averaged over the 2 classes present in the data (of the model's 4): cat, dog" in out.out
    assert "warning" not in out.err


def test_evaluating_on_the_training_files_warns(trained, capsys):
    run, data, _ = trained
    before = listing(run)
    assert main(["evaluate", str(run), "--data", str(data)]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "not a held-out score" in err and "cat.npy" in err
    assert listing(run) == before


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_best_keras_is_named(trained, tmp_path, capsys, damage):
    run, _, other = trained
    copy = copy_run(run, tmp_path)
    best = copy / "best.keras"
    content = best.read_bytes()
    best.write_bytes({"truncated": content[: len(content) // 2], "garbage": b"not a model" * 10, "empty": b""}[damage])
    before = listing(copy)
    assert main(["evaluate", str(copy), "--data", str(other)]) == 2
    err = capsys.readouterr().err
    assert f"{best}: not a readable Keras model" in err and "--fresh" in err
    assert "File not found" not in err and "Traceback" not in err
    assert listing(copy) == before


@pytest.mark.parametrize(
    "field, change",
    [
        ("class_names", lambda c: c.pop("class_names")),
        ("class_names[0]", lambda c: c.update(class_names=[1, 2])),
        ("recipe.image_size", lambda c: c["recipe"].pop("image_size")),
        ("recipe", lambda c: c.update(recipe="baseline")),
    ],
)
def test_a_config_missing_fields_is_named(trained, tmp_path, capsys, field, change):
    run, _, other = trained
    copy = copy_run(run, tmp_path)
    config = json.loads((copy / "config.json").read_text())
    change(config)
    (copy / "config.json").write_text(json.dumps(config))
    assert main(["evaluate", str(copy), "--data", str(other)]) == 2
    err = capsys.readouterr().err
    assert f"{copy / 'config.json'}: field '{field}'" in err and "Traceback" not in err


def test_evaluate_checks_its_batch_size(trained, capsys):
    run, _, other = trained
    for text in ("0", "²", "-5"):
        assert main(["evaluate", str(run), "--data", str(other), "--batch-size", text]) == 2
        assert "error: --batch-size must be" in capsys.readouterr().err


def test_compare_refuses_a_missing_folder_or_a_file(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "nowhere")]) == 2
    assert f"runs folder {tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")
    assert main(["compare", str(tmp_path / "afile")]) == 2
    assert "is a file, not a runs folder" in capsys.readouterr().err


def test_compare_skips_junk_and_names_it(trained, tmp_path, capsys):
    run, _, _ = trained
    runs = tmp_path / "runs"
    runs.mkdir()
    copy_run(run, runs)
    for name, config in (("list-config", "[]"), ("string-recipe", '{"recipe": "x"}'), ("not-json", "{")):
        (runs / name).mkdir()
        (runs / name / "config.json").write_text(config)
    (runs / "stray.txt").write_text("junk")
    (runs / "empty-folder").mkdir()
    assert main(["compare", str(runs), "--include-synthetic"]) == 0
    out = capsys.readouterr().out
    assert "| 1 | baseline | CEL | SGD | 0.4788 | 0." in out
    assert "Skipped 3 unreadable run folders: list-config, not-json, string-recipe" in out


def test_evaluate_skips_the_classes_the_model_does_not_know_and_names_them(trained, quickdraw, tmp_path, capsys):
    run, _, other = trained
    mixed = tmp_path / "mixed"
    shutil.copytree(other, mixed)
    np.save(mixed / "bee.npy", np.load(quickdraw / "bitmap" / "bee.npy", mmap_mode="r")[:70])
    assert main(["evaluate", str(run), "--data", str(mixed), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["classes"] == ["cat", "dog"] and report["samples"] == 400
    assert report["skipped_classes"] == {"bee": 70}
    assert "note: skipped 1 class of" in captured.err and "(70 drawings): 'bee'" in captured.err
    # Nothing it knows: one message.
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(mixed / "bee.npy", alone / "bee.npy")
    assert main(["evaluate", str(run), "--data", str(alone)]) == 2
    assert "holds none of the classes the model knows" in capsys.readouterr().err


def test_evaluate_without_data_rescores_the_runs_own_test_split(trained, capsys):
    run, _, _ = trained
    assert main(["evaluate", str(run), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    recorded = json.loads((run / "eval.json").read_text())["test"]
    config = json.loads((run / "config.json").read_text())
    assert report["samples"] == recorded["samples"] == config["dataset"]["splits"]["test"]
    assert report["accuracy"] == pytest.approx(recorded["accuracy"], abs=1e-6)
    assert report["recorded_accuracy"] == recorded["accuracy"] and report["overlaps_training"] == []
    assert main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    assert "from the test split of" in out and "its evaluation recorded test accuracy" in out
