"""``--tta`` on evaluate and predict, and ``kerasketch ensemble``: averaged probabilities, as users run them."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from kerasketch.cli import main
from kerasketch.errors import ConfigError, DataError
from kerasketch.inference import tta
from kerasketch.inference.ensemble import Averaged, ensemble_model, load_members
from kerasketch.inference.model import load_trained, softmax_classes

from .conftest import fake_run

CLASSES = ["cat", "fish", "rainbow"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two baseline models of different initialisations, as run folders (built, not trained: fast)."""
    base = tmp_path_factory.mktemp("members")
    (base / "a").mkdir()
    (base / "b").mkdir()
    first, _ = fake_run(base / "a", "baseline", CLASSES)
    second, model = fake_run(base / "b", "baseline", CLASSES)
    # fake_run seeds the initialisers alike: move the second model's weights so the two differ.
    model.set_weights(
        [w + np.random.default_rng(1).normal(0, 0.05, w.shape).astype(w.dtype) for w in model.get_weights()]
    )
    model.save(second / "best.keras")
    return first, second


@pytest.fixture(scope="module")
def drawings(quickdraw):
    return np.concatenate([np.load(quickdraw / "bitmap" / f"{c}.npy", mmap_mode="r")[:8] for c in CLASSES]).reshape(
        -1, 28, 28
    )


def test_the_views_are_what_they_claim():
    image = np.zeros((1, 9, 9), np.uint8)
    image[0, 4, 4] = 200
    image[0, 2, 6] = 100
    right = tta.apply(tta.View("r", dx=1), image)
    assert right.dtype == np.float32 and right.shape == image.shape
    expected = np.zeros_like(image, dtype=np.float32)
    expected[0, :, 1:] = image[0, :, :-1]
    np.testing.assert_array_equal(right, expected)  # an integer shift moves pixels exactly
    up = tta.apply(tta.View("u", dy=-1), image)
    expected = np.zeros_like(image, dtype=np.float32)
    expected[0, :-1] = image[0, 1:]
    np.testing.assert_array_equal(up, expected)
    assert tta.apply(tta.IDENTITY, image).tolist() == image.astype(np.float32).tolist()
    # Scaling about the centre keeps the centre pixel where it is and moves the others along their ray.
    bigger = tta.apply(tta.View("s", scale=1.1), image)
    assert bigger[0, 4, 4] == pytest.approx(200)
    smaller = tta.apply(tta.View("s", scale=0.5), image)
    assert smaller[0, 3, 5] == pytest.approx(100)  # (2, 6) is 2 rows up, 2 columns right: half of that
    assert tta.VIEWS[0].name == "identity" and len(tta.VIEWS) == 7
    assert {(v.dy, v.dx, v.scale) for v in tta.VIEWS} == {
        (0, 0, 1),
        (0, 1, 1),
        (0, -1, 1),
        (1, 0, 1),
        (-1, 0, 1),
        (0, 0, 0.9),
        (0, 0, 1.1),
    }


def test_tta_of_the_identity_alone_is_plain_prediction_and_of_the_views_their_mean(two_runs, drawings):
    trained = load_trained(two_runs[0])
    plain = trained.probabilities(drawings)
    np.testing.assert_array_equal(Averaged([trained]).probabilities(drawings), plain)
    with_tta = Averaged([trained], tta.VIEWS).probabilities(drawings)
    by_hand = np.mean([trained.probabilities(tta.apply(v, drawings)) for v in tta.VIEWS], axis=0)
    np.testing.assert_allclose(with_tta, by_hand, rtol=1e-6)
    assert not np.allclose(with_tta, plain, atol=1e-4)  # the views change something
    np.testing.assert_allclose(with_tta.sum(axis=1), 1.0, rtol=1e-6)


def test_an_ensemble_averages_its_members_probabilities(two_runs, drawings):
    members = load_members(two_runs)
    p = [m.probabilities(drawings) for m in members]
    assert not np.allclose(p[0], p[1], atol=1e-3)
    averaged = Averaged(members)
    np.testing.assert_allclose(averaged.probabilities(drawings), (p[0] + p[1]) / 2, rtol=1e-12)
    # Its logits' softmax is the average, so every consumer of logits scores the same classifier.
    np.testing.assert_allclose(softmax_classes(averaged.logits(drawings), 3), (p[0] + p[1]) / 2, rtol=1e-5)
    # The exported model computes the same average, as one Keras model.
    model = ensemble_model(members)
    x = drawings.astype(np.float32)[:, None] / 255.0
    np.testing.assert_allclose(softmax_classes(model.predict(x, verbose=0), 3), (p[0] + p[1]) / 2, atol=1e-5)


def test_runs_of_other_classes_or_sizes_do_not_ensemble(two_runs, tmp_path):
    other, _ = fake_run(tmp_path, "baseline", ["cat", "dog", "rainbow"])
    with pytest.raises(ConfigError, match="does not classify the classes"):
        load_members([two_runs[0], other])
    bigger = tmp_path / "bigger"
    shutil.copytree(two_runs[1], bigger)
    config = json.loads((bigger / "config.json").read_text())
    config["recipe"]["image_size"] = 32
    (bigger / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="share one input"):
        load_members([two_runs[0], bigger])


def test_ensemble_commands_evaluate_predict_and_export_a_folder_that_predict_reads(
    two_runs, quickdraw, tmp_path, capsys
):
    data = tmp_path / "data"
    data.mkdir()
    for c in CLASSES:
        np.save(data / f"{c}.npy", np.load(quickdraw / "bitmap" / f"{c}.npy", mmap_mode="r")[:20])
    runs = [str(r) for r in two_runs]
    assert main(["ensemble", "evaluate", *runs, "--data", str(data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["run"] == runs and report["samples"] == 60 and len(report["members"]) == 2
    assert main(["evaluate", runs[0], "--data", str(data), "--json", "--tta"]) == 0
    assert json.loads(capsys.readouterr().out)["tta"] is True

    out = tmp_path / "ens"
    assert main(["ensemble", "export", *runs, "-o", str(out)]) == 0
    assert "use it as a run folder" in capsys.readouterr().out
    assert main(["predict", str(out), str(data / "cat.npy"), "--json", "--top", "3"]) == 0
    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()][:-1]
    assert main(["ensemble", "predict", *runs, "-i", str(data / "cat.npy"), "--json", "--top", "3"]) == 0
    direct = [json.loads(line) for line in capsys.readouterr().out.splitlines()][:-1]
    assert len(exported) == len(direct) == 20
    for a, b in zip(exported, direct):
        assert a["top"][0]["class"] == b["top"][0]["class"]
        assert [t["probability"] for t in a["top"]] == pytest.approx([t["probability"] for t in b["top"]], abs=1e-5)
    # The folder's model is plain Keras: Keras alone loads it.
    plain = keras.saving.load_model(out / "best.keras", compile=False)
    assert plain.output_shape == (None, 3)
    assert main(["evaluate", str(out), "--data", str(data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(report["accuracy"])
    # `kerasketch export` converts it like a run's model (the members' layers lie in its own graph).
    # (ONNX through torch's exporter: on the torch backend, as for a run's model.)
    onnx = keras.backend.backend() == "torch" and importlib.util.find_spec("onnxruntime") is not None
    formats = ["keras", "onnx"] if onnx else ["keras"]
    for fmt in formats:
        assert main(["export", str(out), "--format", fmt, "--json"]) == 0
        written = json.loads(capsys.readouterr().out)
        assert written["check"]["top1_agreement"] == 1.0 and written["max_logit_difference"] < 1e-4


def test_an_ensemble_of_runs_of_other_data_refuses_the_test_split(two_runs, tmp_path):
    for run, seed in zip(two_runs, (0, 1)):
        config = json.loads((run / "config.json").read_text())
        config["data"] = {"data": "synthetic", "seed": seed}
        (run / "config.json").write_text(json.dumps(config))
    try:
        with pytest.raises(ConfigError, match="different data settings"):
            main_raises(["ensemble", "evaluate", *map(str, two_runs)])
    finally:
        for run in two_runs:
            config = json.loads((run / "config.json").read_text())
            config.pop("data")
            (run / "config.json").write_text(json.dumps(config))


def main_raises(argv):
    from kerasketch.cli import build_parser

    args = build_parser().parse_args(argv)
    return args.handler(args)


def test_an_ensemble_of_runs_of_one_data_scores_their_shared_test_split(tmp_path, capsys):
    """Two runs of one seed (so one split) and other options: evaluated on the test split they share."""
    from kerasketch.cli.run import main as run_recipe
    from kerasketch.data.assembly import DataConfig
    from kerasketch.data.cache import load_or_build
    from kerasketch.recipes import registry
    from kerasketch.training.evaluate import scores

    runs = tmp_path / "runs"
    argv = ["--data", "synthetic", "--classes", "3", "--max-per-class", "20", "--epochs", "1", "--quiet"]
    argv += ["--runs-dir", str(runs), "--cache-dir", str(tmp_path / "cache")]
    assert run_recipe(registry.get("baseline"), argv) == 0
    assert run_recipe(registry.get("baseline"), [*argv, "--mixup", "0.4", "--name", "mixed"]) == 0
    members = sorted(str(p) for p in runs.iterdir())
    capsys.readouterr()  # the runs' own lines
    assert main(["ensemble", "evaluate", *members, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    trained = load_members(members)
    data = json.loads((trained[0].run_dir / "config.json").read_text())["data"]
    dataset = load_or_build(
        DataConfig(**{**data, "split": tuple(data["split"]), "image_size": 28}),
        tmp_path / "cache",
    )
    averaged = (trained[0].probabilities(dataset.x_test) + trained[1].probabilities(dataset.x_test)) / 2
    expected = scores(np.log(averaged), dataset.y_test, 3)
    assert report["samples"] == len(dataset.y_test) and report["data"].startswith("the test split")
    assert report["accuracy"] == pytest.approx(expected["accuracy"])
    assert [m["run"] for m in report["members"]] == [Path(m).name for m in members]
    # --save-probabilities: each member's file and the ensemble's hold the same drawings in the same order,
    # and the members' probabilities averaged are the ensemble's: an ensemble can be scored from files later.
    from kerasketch.inference import probabilities

    files = [tmp_path / f"member{i}.npz" for i in range(2)]
    for member, file in zip(members, files):
        assert main(["evaluate", member, "--save-probabilities", str(file), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["probabilities"] == str(file)
    assert main(["ensemble", "evaluate", *members, "--save-probabilities", str(tmp_path / "ens.npz"), "--json"]) == 0
    capsys.readouterr()
    (p0, y0, names), (p1, y1, _), (pe, ye, _) = (probabilities.read(f) for f in [*files, tmp_path / "ens.npz"])
    assert names == trained[0].classes and p0.dtype == np.float32
    np.testing.assert_array_equal(y0, dataset.y_test)
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(ye, y0)
    np.testing.assert_allclose(p0, trained[0].probabilities(dataset.x_test), atol=1e-5)
    np.testing.assert_allclose(pe, averaged, atol=1e-5)
    np.testing.assert_allclose((p0 + p1) / 2, pe, atol=1e-5)
    assert (pe.argmax(1) == ye).mean() == pytest.approx(report["accuracy"])


def test_probabilities_of_tta_on_a_data_path_and_a_path_that_cannot_be_written(two_runs, quickdraw, tmp_path, capsys):
    from kerasketch.inference import probabilities

    data = tmp_path / "data"
    data.mkdir()
    for c in CLASSES:
        np.save(data / f"{c}.npy", np.load(quickdraw / "bitmap" / f"{c}.npy", mmap_mode="r")[:10])
    file = tmp_path / "deep" / "er" / "tta"  # folders made; no ".npz" added to the name given
    assert main(["evaluate", str(two_runs[0]), "--data", str(data), "--tta", "--save-probabilities", str(file)]) == 0
    assert f"wrote {file}: probabilities of 30 drawings" in capsys.readouterr().err
    p, y, names = probabilities.read(file)
    assert p.shape == (30, 3) and sorted(y.tolist()) == sorted([0, 1, 2] * 10) and names == CLASSES
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-5)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    code = main(["evaluate", str(two_runs[0]), "--data", str(data), "--save-probabilities", str(blocked / "p.npz")])
    err = capsys.readouterr().err
    assert code != 0 and f"cannot write {blocked / 'p.npz'}" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "data", "deep"]  # nothing half-written
    with pytest.raises(DataError, match="not a probabilities file"):
        probabilities.read(blocked)


def test_probabilities_of_a_model_with_more_logits_than_classes_are_its_classes(quickdraw, tmp_path, capsys):
    """TS_CNN's original head has 4 x num_classes logits: the file holds the classes' columns, as predict does."""
    from kerasketch.inference import probabilities

    run, _ = fake_run(tmp_path, "ts_cnn", CLASSES)
    data = tmp_path / "data"
    data.mkdir()
    for c in CLASSES:
        np.save(data / f"{c}.npy", np.load(quickdraw / "bitmap" / f"{c}.npy", mmap_mode="r")[:10])
    file = tmp_path / "p.npz"
    assert main(["evaluate", str(run), "--data", str(data), "--save-probabilities", str(file)]) == 0
    capsys.readouterr()
    p, _, names = probabilities.read(file)
    assert p.shape == (30, 3) and names == CLASSES
    from kerasketch.data.sources import scan

    catalog = scan(str(data))  # the drawings as evaluate reads them, at the model's 32 x 32
    images = np.concatenate([catalog.images(c, np.arange(10), 32) for c in CLASSES])
    np.testing.assert_allclose(p, load_trained(run).probabilities(images), atol=1e-5)
