"""``--precise-bn``: BatchNorm's statistics recomputed after training as the plain mean over training batches,
on every backend, for Keras' BatchNormalization and torch's, and as a run option composed with the others."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from kerasketch.cli.run import main
from kerasketch.recipes import registry
from kerasketch.runs import folders
from kerasketch.training.inputs import Batches
from kerasketch.training.precise_bn import keras_norms, recompute

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--data", "synthetic", "--classes", "4", "--max-per-class", "10", "--batch-size", "16", "--quiet"]


def images(n: int = 50, size: int = 4) -> np.ndarray:
    # Brighter as the index grows: batches drawn in another order would have other means.
    rng = np.random.default_rng(3)
    return (rng.random((n, size, size)) * np.linspace(20, 255, n)[:, None, None]).astype(np.uint8)


def batch_moments(x: np.ndarray, batch: int, seed: int, batches: int, axes: tuple[int, ...], ddof: int = 0):
    feed = Batches(x, np.zeros(len(x), np.int64), batch, shuffle=True, seed=seed)
    seen = [np.asarray(feed[k][0], np.float64) for k in range(batches)]
    return np.mean([b.mean(axis=axes) for b in seen], axis=0), np.mean(
        [b.var(axis=axes, ddof=ddof) for b in seen], axis=0
    )


@pytest.mark.backends
def test_recompute_sets_every_batchnorm_to_the_mean_of_its_batch_statistics_and_leaves_the_weights():
    x = images()
    inputs = keras.Input((1, 4, 4))
    model = keras.Model(inputs, keras.layers.BatchNormalization(axis=1, momentum=0.99)(inputs))
    (norm,) = keras_norms(model)
    norm.moving_mean.assign(np.full(1, 100.0, np.float32))  # what training left: the first batch replaces it
    norm.gamma.assign(np.full(1, 1.5, np.float32))
    used = recompute(model, x, 8, seed=4, batches=3)

    mean, var = batch_moments(x, 8, seed=4, batches=3, axes=(0, 2, 3))
    assert used == 24
    np.testing.assert_allclose(keras.ops.convert_to_numpy(norm.moving_mean), mean, rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(norm.moving_variance), var, rtol=1e-4)
    assert norm.momentum == 0.99 and float(keras.ops.convert_to_numpy(norm.gamma)[0]) == 1.5
    # Fewer batches than asked where the split has fewer: one pass over it, the short last batch included.
    assert recompute(model, x, 8, seed=4, batches=1000) == 50


@pytest.mark.backends
def test_a_model_without_batchnorm_is_left_as_it_is():
    inputs = keras.Input((1, 4, 4))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    before = [w.copy() for w in model.get_weights()]
    assert recompute(model, images(), 8, seed=0) == 0
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.torch_only("a torch module inside a Keras layer")
def test_torch_batchnorm_inside_a_torch_module_layer_is_recomputed_alike():
    import torch

    norm = torch.nn.BatchNorm2d(1, momentum=0.1)
    norm.running_mean.fill_(100.0)
    model = keras.Sequential([keras.Input((1, 4, 4)), keras.layers.TorchModuleWrapper(torch.nn.Sequential(norm))])
    x = images()
    assert recompute(model, x, 8, seed=4, batches=3) == 24
    mean, var = batch_moments(x, 8, seed=4, batches=3, axes=(0, 2, 3), ddof=1)  # torch keeps the unbiased variance
    np.testing.assert_allclose(norm.running_mean.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(norm.running_var.numpy(), var, rtol=1e-4)
    assert norm.momentum == 0.1


def _statistics(path: Path) -> list[np.ndarray]:
    model = keras.saving.load_model(path, compile=False)
    return [keras.ops.convert_to_numpy(v) for n in keras_norms(model) for v in (n.moving_mean, n.moving_variance)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "extra",
    [["--ema", "--ema-momentum", "0.9"], ["--stream", "always", "--precision", "mixed_bfloat16", "--mixup", "0.2"]],
    ids=["ema", "stream-bf16-mixup"],
)
def test_a_run_with_precise_bn_saves_the_statistics_recomputed_for_its_best_weights(tmp_path, extra):
    """Two runs alike but for --precise-bn train the same weights; the one with it saved the statistics that
    recomputing them for the other's weights gives, and eval.json, config.json and its log say so."""
    runs = tmp_path / "runs"
    argv = [*SMALL, "--epochs", "2", "--seed", "5", "--cache-dir", str(tmp_path / "cache"), "--runs-dir", str(runs)]
    recipe = registry.get("like_vgg_adamw")
    assert main(recipe, [*argv, *extra, "--precise-bn", "--name", "precise"]) == 0
    assert main(recipe, [*argv, *extra, "--name", "plain"]) == 0
    precise, plain = (next(runs.glob(f"{name}-*")) for name in ("precise", "plain"))
    assert "BatchNorm statistics recomputed on 32 training drawings: val acc" in (precise / folders.LOG).read_text()

    config = json.loads((precise / folders.CONFIG).read_text())
    assert config["options"]["precise_bn"] is True
    assert json.loads((plain / folders.CONFIG).read_text())["fingerprint"] != config["fingerprint"]
    record = json.loads((precise / folders.EVAL).read_text())["precise_bn"]
    assert record["drawings"] == 32 and 0 <= record["val_accuracy_after"] <= 1
    assert "precise_bn" not in json.loads((plain / folders.EVAL).read_text())

    best = keras.saving.load_model(precise / folders.BEST, compile=False)
    other = keras.saving.load_model(plain / folders.BEST, compile=False)
    trainable = [keras.ops.convert_to_numpy(w) for w in best.trainable_weights]
    for a, b in zip(trainable, (keras.ops.convert_to_numpy(w) for w in other.trainable_weights)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    saved, trained = _statistics(precise / folders.BEST), _statistics(plain / folders.BEST)
    assert any(not np.allclose(a, b, rtol=1e-3) for a, b in zip(saved, trained)), "the option changed nothing"
    with h5py.File(config["dataset"]["cache"], "r") as f:
        x_train = f["x_train"][:]
    recompute(other, x_train, 16, seed=5)
    for a, b in zip(
        saved, (keras.ops.convert_to_numpy(v) for n in keras_norms(other) for v in (n.moving_mean, n.moving_variance))
    ):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
@pytest.mark.torch_only("torch.distributed process groups")
def test_precise_bn_with_two_processes_is_done_once_by_rank_0(tmp_path):
    runs = tmp_path / "runs"
    command = [
        sys.executable,
        "-m",
        "kerasketch.recipes.like_vgg_adamw",
        "--data",
        "synthetic",
        "--max-per-class",
        "40",
    ]
    command += [
        "--nproc",
        "2",
        "--epochs",
        "1",
        "--ema",
        "--precise-bn",
        "--runs-dir",
        str(runs),
        "--cache-dir",
        str(tmp_path / "c"),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("BatchNorm statistics recomputed on") == 1
    (run,) = runs.iterdir()
    assert json.loads((run / folders.EVAL).read_text())["precise_bn"]["drawings"] > 0
