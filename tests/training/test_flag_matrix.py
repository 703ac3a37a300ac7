"""Every combination of the speed and data options trains, resumes, saves plain Keras and predicts alike.

Each cell trains a recipe for real on a tiny synthetic set under one
combination of {eager, ``--jit-compile``} x {float32, ``--precision
mixed_bfloat16``} x {``--stream never``, ``--stream always``}: it is
interrupted at the first batch of its second epoch (Ctrl-C, as a user would),
resumed by the same command to a finished run (the streamed cells and the torchvision
recipes with ``--precise-bn``, which rewrites ``best.keras`` after training), and its ``best.keras`` is then
loaded by stock Keras in a process where kerasketch cannot be imported, whose
predictions must equal the recipe's own (fused) model with the same weights.

In ``make test`` (CI's reduced form): the whole cube for baseline (SGD), the
eager cube and the compiled cells of a pairwise cover for like_vgg_adamw
(AdamW), the eager cells of that pairwise cover for every other from-scratch
recipe, and the torchvision recipes eager in float32 with random
weights (nothing is downloaded). ``make test-matrix`` runs every cell of every
recipe (marker ``matrix``): the pairwise cover's compiled cells, each two
torch.compile runs, cost minutes apiece on 2 cores.

Every cell checks that ``best.keras`` names only Keras' own classes; loading
it where kerasketch cannot be imported is done once per cell in a child
process with an import blocker.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from kerasketch.cli.run import main
from kerasketch.recipes import registry
from kerasketch.runs import folders
from kerasketch.training.callbacks import RunEvents

MODES = ("eager", "jit")
PRECISIONS = ("float32", "mixed_bfloat16")
STREAMS = ("never", "always")
#: Every pair of the three options' values appears in one of these four cells.
PAIRWISE = (
    ("eager", "float32", "never"),
    ("eager", "mixed_bfloat16", "always"),
    ("jit", "float32", "always"),
    ("jit", "mixed_bfloat16", "never"),
)
PRETRAINED = tuple(name for name in registry.NAMES if registry.get(name).weights is not None)


def _cells():
    for name in registry.NAMES:
        if name in PRETRAINED:
            # The torchvision models are eager float32 only (docs: Recipes); both streams in make test-matrix.
            cells = [("eager", "float32", stream) for stream in STREAMS]
            in_ci = {("eager", "float32", "never")}
        else:
            cells = list(itertools.product(MODES, PRECISIONS, STREAMS))
            # CI's reduced form (each compiled cell compiles twice, minutes on 2 cores): the whole cube for the
            # baseline (SGD), the eager cube and the compiled pairwise cells for like_vgg_adamw (AdamW), the
            # eager half of the pairwise cover for the rest; make test-matrix runs every cell.
            if name == "baseline":
                in_ci = set(cells)
            elif name == "like_vgg_adamw":
                in_ci = {cell for cell in cells if cell[0] == "eager"} | set(PAIRWISE)
            else:
                in_ci = {cell for cell in PAIRWISE if cell[0] == "eager"}
        for cell in cells:
            marks = [] if cell in in_ci else [pytest.mark.matrix]
            if name in PRETRAINED:
                marks.append(pytest.mark.torch_only("wraps a torchvision module"))
            yield pytest.param(name, *cell, marks=marks, id=f"{name}-{'-'.join(cell)}")


def _argv(name: str, mode: str, precision: str, stream: str, runs_dir: Path) -> list[str]:
    # 4 x 10 drawings split 32/4/4: two full batches of 16, so a compiled step meets one shape only.
    argv = ["--data", "synthetic", "--classes", "4", "--max-per-class", "10", "--batch-size", "16"]
    argv += ["--epochs", "2", "--precision", precision, "--stream", stream, "--runs-dir", str(runs_dir), "--quiet"]
    if mode == "jit":
        argv.append("--jit-compile")
    if stream == "always" or name in PRETRAINED:
        # After training, on the saved file: it must leave the resumed run, the plain-Keras file and the
        # fused model's predictions as they are checked below, in every precision and mode.
        argv.append("--precise-bn")
    if name in PRETRAINED:
        argv += ["--weights", "none", "--image-size", "32"]
    return argv


def _interrupt_at_second_epoch(monkeypatch):
    original = RunEvents.on_train_batch_end

    def on_train_batch_end(self, batch, logs=None):
        original(self, batch, logs)
        if self._epoch == 1 and batch == 0:
            raise KeyboardInterrupt  # what Ctrl-C raises in the training loop

    monkeypatch.setattr(RunEvents, "on_train_batch_end", on_train_batch_end)


# Loads a best.keras with stock Keras where kerasketch cannot be imported, and writes its probabilities.
_PLAIN_KERAS = textwrap.dedent(
    """
    import sys
    import importlib.abc

    class NoKerasketch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "kerasketch" or name.startswith("kerasketch."):
                raise ImportError(f"{name} is blocked: best.keras must load without kerasketch")
            return None

    sys.meta_path.insert(0, NoKerasketch())
    import numpy as np
    import keras

    model_path, images_path, out_path = sys.argv[1:]
    model = keras.saving.load_model(model_path, compile=False)
    np.save(out_path, np.asarray(model.predict(np.load(images_path), verbose=0), dtype=np.float32))
    """
)


def _fused_logits(name: str, run: Path, images: np.ndarray, precision: str) -> np.ndarray:
    """The recipe's own model (kerasketch's fused layers) with the saved weights."""
    import keras

    from kerasketch.models import build_model
    from kerasketch.training.fit import dtype_policy

    config = json.loads((run / folders.CONFIG).read_text())
    recipe = registry.get(name)
    with dtype_policy(precision):
        model = build_model(
            recipe.model,
            len(config["class_names"]),
            config["recipe"]["image_size"],
            weights=None if recipe.weights is None else "none",
            l2=recipe.l2,
            seed=0,
            **recipe.model_options,
        )
    model.set_weights(keras.saving.load_model(run / folders.BEST, compile=False).get_weights())
    return np.asarray(model.predict(images, verbose=0), dtype=np.float32)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # a compiled cell compiles twice: minutes on a loaded 2-core machine
@pytest.mark.parametrize("name, mode, precision, stream", list(_cells()))
def test_cell_trains_resumes_saves_plain_keras_and_predicts_alike(name, mode, precision, stream, tmp_path, monkeypatch):
    recipe = registry.get(name)
    argv = _argv(name, mode, precision, stream, tmp_path / "runs")

    with monkeypatch.context() as patch:
        _interrupt_at_second_epoch(patch)
        assert main(recipe, argv) == 130, "the interrupted run ends as cancelled"
    (run,) = (tmp_path / "runs").iterdir()
    assert folders.load(run).status == "cancelled" and (run / "backup").is_dir()

    assert main(recipe, argv) == 0, (run / folders.LOG).read_text()[-3000:]
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [run.name], "resumed in the same folder"
    info = folders.load(run)
    assert info.status == "finished" and info.epochs_done == 2 and info.test_accuracy is not None

    config = json.loads((run / folders.CONFIG).read_text())
    execution = config["execution"]
    assert execution["precision"] == precision and execution["step"] == "keras train_step"
    assert execution["mode"] == ("compiled (torch.compile)" if mode == "jit" else "eager")
    assert config["input"]["streaming"] is (stream == "always")
    if "--precise-bn" in argv:
        import keras

        from kerasketch.training.precise_bn import has_batch_norm

        record = json.loads((run / folders.EVAL).read_text())["precise_bn"]
        with_norms = has_batch_norm(keras.saving.load_model(run / folders.BEST, compile=False))
        assert record["drawings"] == (32 if with_norms else 0) and config["options"]["precise_bn"] is True

    rng = np.random.default_rng(0)
    size = config["recipe"]["image_size"]
    images = rng.random((8, 1, size, size), dtype=np.float32)
    names = _kerasketch_names(run / folders.BEST)
    # A torchvision module inside a Keras layer needs kerasketch to load (docs: Using a model); nothing else does.
    assert names == (["kerasketch>TorchvisionClassifier"] if name in PRETRAINED else []), names
    child = (mode, precision, stream) == ("eager", "float32", "never") or (name, mode) == ("like_vgg_adamw", "eager")
    if child and name not in PRETRAINED:
        logits = _logits_in_plain_keras(run / folders.BEST, images, tmp_path)
    else:
        import keras

        logits = np.asarray(keras.saving.load_model(run / folders.BEST, compile=False).predict(images, verbose=0))
    plain = _softmax(np.asarray(logits, dtype=np.float32))
    if name in PRETRAINED:
        # Saved as trained (no stock copy to compare), and torch's BatchNorm buffers are not Keras weights
        # that set_weights could hand to a rebuilt model: it loads and predicts.
        assert plain.shape == (len(images), len(config["class_names"])) and np.isfinite(plain).all()
        return
    fused = _softmax(_fused_logits(name, run, images, precision))
    tolerance = 1e-4 if precision == "float32" else 0.1
    assert np.abs(plain - fused).max() <= tolerance
    # The same classes wherever the top two are further apart than the arithmetic's rounding.
    top2 = np.sort(fused, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 2 * tolerance
    assert (plain.argmax(1)[clear] == fused.argmax(1)[clear]).all()


def _kerasketch_names(path: Path) -> list[str]:
    """Classes a .keras file registers under kerasketch's package (what stock Keras could not load)."""
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            name = node.get("registered_name")
            if (isinstance(name, str) and name.startswith("kerasketch>")) or str(node.get("module", "")).startswith(
                "kerasketch"
            ):
                found.append(str(name or node.get("class_name")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return found


def _logits_in_plain_keras(path: Path, images: np.ndarray, tmp_path: Path) -> np.ndarray:
    """``path`` loaded and run by stock Keras in a child process that cannot import kerasketch."""
    np.save(tmp_path / "images.npy", images)
    env = {**os.environ, "KERAS_BACKEND": __import__("keras").backend.backend()}
    proc = subprocess.run(
        [sys.executable, "-c", _PLAIN_KERAS, str(path), str(tmp_path / "images.npy"), str(tmp_path / "p.npy")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return np.load(tmp_path / "p.npy")


def test_the_name_check_finds_kerasketch_classes(tmp_path):
    """The static check can fail: a model of kerasketch's fused layers names them."""
    import keras

    from kerasketch.models import layers as fused

    inputs = keras.Input((1, 8, 8))
    model = keras.Model(inputs, fused.Flatten()(inputs))
    model.save(tmp_path / "m.keras")
    assert _kerasketch_names(tmp_path / "m.keras") == ["kerasketch>Flatten"]
