"""The from-scratch recipes on every Keras backend: runs without torch, and models that move between backends."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kerasketch.runs import folders

ROOT = Path(__file__).resolve().parents[2]
NO_TORCH = Path(__file__).parent / "no_torch"
BACKENDS = ("torch", "jax", "tensorflow")
SMALL = ["--max-per-class", "40", "--classes", "6"]  # the synthetic set, 6 classes x 40


def _installed(backend: str) -> bool:
    return importlib.util.find_spec(backend) is not None


def _env(backend: str, *, block_torch: bool = False) -> dict[str, str]:
    path = [str(ROOT)] + ([str(NO_TORCH)] if block_torch else [])
    if block_torch:
        path.reverse()
    return {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": os.pathsep.join(path)}


def _needs(backend: str) -> None:
    if not _installed(backend):
        pytest.skip(f"{backend} is not installed (pip install -e '.[backends]')")


def test_the_blocker_really_blocks_torch():
    proc = subprocess.run(
        [sys.executable, "-c", "import torch"], env=_env("jax", block_torch=True), capture_output=True, text=True
    )
    assert proc.returncode != 0 and "blocked by tests/training/no_torch" in proc.stderr


@pytest.mark.slow
@pytest.mark.backends
@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_a_recipe_runs_to_a_complete_folder_where_torch_cannot_be_imported(backend, tmp_path):
    """Issue 11's must-show command, ``KERAS_BACKEND=<backend> python -m
    kerasketch.recipes.like_vgg_adamw --data synthetic --epochs 2``, with the synthetic
    set capped (SMALL) and the folder in tmp_path, where ``import torch`` fails."""
    if backend != os.environ["KERAS_BACKEND"]:
        pytest.skip(f"runs in the {backend} session of `make test` (this one is {os.environ['KERAS_BACKEND']})")
    _needs(backend)
    argv = ["-m", "kerasketch.recipes.like_vgg_adamw", "--data", "synthetic", "--epochs", "2", *SMALL]
    proc = subprocess.run(
        [sys.executable, *argv, "--runs-dir", str(tmp_path), "--quiet"],
        env=_env(backend, block_torch=True),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    (run,) = tmp_path.iterdir()
    for name in (
        folders.CONFIG,
        folders.EVENTS,
        folders.HISTORY,
        folders.BEST,
        folders.EVAL,
        folders.CONFUSION,
        folders.LOG,
    ):
        assert (run / name).is_file(), name
    config = json.loads((run / folders.CONFIG).read_text())
    assert (
        config["versions"]["backend"] == backend and backend in config["versions"] and "torch" not in config["versions"]
    )
    assert config["device"] == "cpu"
    info = folders.load(run)
    assert info.status == "finished" and info.epochs_done == 2 and info.test_accuracy is not None


# Writes a trained like_vgg (BatchNorm statistics moved off their start) and its predictions.
_WRITE = """
import sys
import numpy as np
import kerasketch, keras
from kerasketch.recipes import registry
from kerasketch.training.fit import compile_model
out = sys.argv[1]
rng = np.random.default_rng(0)
x, y = rng.random((96, 1, 28, 28), dtype=np.float32), rng.integers(0, 6, 96)
model = compile_model(registry.get("like_vgg_adamw"), 6, seed=0)
model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False)
from kerasketch.training.callbacks import inference_model
plain = inference_model(model)  # what BestModelCheckpoint saves
plain.save(out + ".keras")
np.save(out + ".npy", plain.predict(x[:32], verbose=0))
"""
# Loads every written model on this backend and saves its predictions.
_READ = """
import sys
import numpy as np
import kerasketch, keras
import kerasketch.models  # registers kerasketch's layers, as `kerasketch evaluate` does before loading
rng = np.random.default_rng(0)
x = rng.random((96, 1, 28, 28), dtype=np.float32)[:32]
for path in sys.argv[1:]:
    model = keras.saving.load_model(path + ".keras", compile=False)
    np.save(path + "." + keras.backend.backend() + ".npy", model.predict(x, verbose=0))
"""


@pytest.mark.slow
def test_a_model_saved_on_one_backend_predicts_the_same_on_the_others(tmp_path):
    for backend in BACKENDS:
        _needs(backend)
    written = [str(tmp_path / backend) for backend in BACKENDS]
    for backend, out in zip(BACKENDS, written):
        proc = subprocess.run(
            [sys.executable, "-c", _WRITE, out], env=_env(backend), capture_output=True, text=True, timeout=1800
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
    for backend in BACKENDS:
        proc = subprocess.run(
            [sys.executable, "-c", _READ, *written], env=_env(backend), capture_output=True, text=True, timeout=1800
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
    for writer, out in zip(BACKENDS, written):
        expected = np.load(out + ".npy")
        assert np.abs(expected).max() > 0.1, "predictions too small to compare"
        for reader in BACKENDS:
            got = np.load(f"{out}.{reader}.npy")
            where = f"written on {writer}, read on {reader}"
            # The class probabilities agree within 5e-6; the logits (about 10 in size) within a few float32
            # ulps, since each backend's convolution adds its products up in its own order.
            np.testing.assert_allclose(_softmax(got), _softmax(expected), rtol=0, atol=5e-6, err_msg=where)
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5, err_msg=where)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits.astype(np.float64) - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_importing_kerasketch_turns_on_tensorflows_onednn_kernels_unless_the_user_chose():
    """Without oneDNN, TensorFlow's CPU kernels cannot train the channels-first models (CPUs without AVX-512 VNNI)."""
    code = "import os, kerasketch; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])"
    env = {k: v for k, v in _env("tensorflow").items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout == "1\n"
    chosen = subprocess.run(
        [sys.executable, "-c", code], env={**env, "TF_ENABLE_ONEDNN_OPTS": "0"}, capture_output=True, text=True
    )
    assert chosen.stdout == "0\n"
