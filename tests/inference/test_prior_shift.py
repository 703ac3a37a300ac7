"""``--prior-shift TAU`` on evaluate, predict and the ensemble commands: the post-hoc logit adjustment, as users
run it on a model trained on imbalanced real drawings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kerasketch.cli import main
from kerasketch.errors import ConfigError
from kerasketch.inference import probabilities
from kerasketch.inference.prior_shift import PriorShifted, shifted
from kerasketch.runs import folders

#: Drawings of each class: imbalanced 8 to 1, from the real sample (the fixture has at least 50 of each).
COUNTS = {"cat": 240, "fish": 240, "candle": 30, "guitar": 30}


@pytest.fixture(scope="module")
def imbalanced_run(quickdraw: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A baseline run of 1 epoch on real drawings of imbalanced classes, and the folder of those drawings."""
    base = tmp_path_factory.mktemp("imbalanced")
    data = base / "data"
    data.mkdir()
    for name, n in COUNTS.items():
        np.save(data / f"{name}.npy", np.load(quickdraw / "bitmap" / f"{name}.npy", mmap_mode="r")[:n])
    runs = base / "runs"
    argv = ["run", "baseline", "--data", str(data), "--epochs", "1", "--runs-dir", str(runs), "--quiet"]
    assert main(argv) == 0
    return next(runs.iterdir()), data


class Fixed:
    """A model whose logits are given, with a column beyond its classes as TS_CNN's head has."""

    classes = ["a", "b"]
    image_size = 28
    run_dir = Path("nowhere")

    def logits(self, images: np.ndarray) -> np.ndarray:
        return np.array([[1.0, 2.0, 5.0]] * len(images), np.float32)


def test_the_shift_subtracts_tau_log_prior_from_the_classes_logits_only():
    prior = np.array([0.8, 0.2])
    out = PriorShifted(Fixed(), 0.5, prior).logits(np.zeros((2, 28, 28)))
    np.testing.assert_allclose(out[0], [1 - 0.5 * np.log(0.8), 2 - 0.5 * np.log(0.2), 5.0], rtol=1e-6)
    inner = Fixed()
    assert shifted(inner, 0.0, []) is inner  # tau 0 is the model itself


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_evaluate_with_a_prior_shift_scores_the_shifted_probabilities(imbalanced_run, tmp_path, capsys):
    run, _ = imbalanced_run
    plain_file, shifted_file = tmp_path / "plain.npz", tmp_path / "shifted.npz"
    assert main(["evaluate", str(run), "--json", "--save-probabilities", str(plain_file)]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(run), "--json", "--prior-shift", "1", "--save-probabilities", str(shifted_file)]) == 0
    moved = json.loads(capsys.readouterr().out)

    config = json.loads((run / folders.CONFIG).read_text())
    sizes = np.array([config["dataset"]["classes"][c] for c in config["class_names"]], float)
    p, labels, _ = probabilities.read(plain_file)
    q, _, _ = probabilities.read(shifted_file)
    expected = _softmax(np.log(p) - np.log(sizes / sizes.sum()))
    np.testing.assert_allclose(q, expected, atol=2e-5)
    assert moved["prior_shift"] == 1 and "prior_shift" not in plain
    assert moved["accuracy"] == pytest.approx(float((expected.argmax(1) == labels).mean()))
    # The report's class balance is eval.json's (the same split, the same model).
    recorded = json.loads((run / folders.EVAL).read_text())
    assert plain["balanced_accuracy"] == pytest.approx(recorded["test"]["balanced_accuracy"])
    assert plain["smallest_classes"][:2] == ["candle", "guitar"]

    assert main(["evaluate", str(run), "--prior-shift", "0.5", "--tta"]) == 0
    out = capsys.readouterr().out
    assert "(with test-time augmentation and prior shift tau 0.5)" in out and "balanced accuracy" in out


def test_predict_and_the_ensemble_take_the_shift_and_serve_refuses_it(imbalanced_run, tmp_path, capsys):
    run, data = imbalanced_run
    assert main(["predict", str(run), str(data / "candle.npy"), "--json", "--prior-shift", "1"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["predict", str(run), str(data / "candle.npy"), "--json"]) == 0
    plain = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # A small class gains: the shift raises its logit by log(8) against the large ones.
    assert rows[-1]["summary"]["accuracy"] >= plain[-1]["summary"]["accuracy"]

    assert main(["evaluate", str(run), "--json", "--prior-shift", "1"]) == 0
    single = json.loads(capsys.readouterr().out)
    assert main(["ensemble", "evaluate", str(run), "--json", "--prior-shift", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(single["accuracy"])

    assert main(["predict", str(run), "--serve", "--prior-shift", "1"]) != 0
    assert "--prior-shift applies to INPUT files, not to --serve" in capsys.readouterr().err
    assert main(["evaluate", str(run), "--prior-shift", "abc"]) != 0
    assert "--prior-shift" in capsys.readouterr().err


def test_a_run_without_class_sizes_cannot_be_shifted(tmp_path):
    from kerasketch.inference.prior_shift import class_prior

    with pytest.raises(ConfigError, match=r"dataset\.classes"):
        class_prior({"dataset": {}}, ["cat"], tmp_path)  # type: ignore[typeddict-item]
