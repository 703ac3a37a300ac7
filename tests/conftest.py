"""Shared fixtures: real Quick, Draw! drawings (the sample beside the project, or the committed
fixture on a fresh clone), and an isolated data root."""

from __future__ import annotations

import math
import os
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import kerasketch  # noqa: F401  selects the torch backend before any test imports Keras

#: The Keras backend of this test session (kerasketch defaults it to torch).
BACKEND = os.environ["KERAS_BACKEND"]
if BACKEND != "torch":
    # The torch references load triton's LLVM the first time an optimiser is made;
    # loaded after JAX's XLA had compiled convolutions, that once crashed the process
    # (a segfault in triton's import). Loading it first avoids the clash.
    import torch._dynamo  # noqa: F401
ROOT = Path(__file__).resolve().parents[1]
QUICKDRAW = Path(os.environ.get("KERASKETCH_QUICKDRAW", ROOT.parent / "shared" / "quickdraw"))
#: A few thousand real drawings drawn from ../shared/quickdraw (tests/fixtures/quickdraw/README.md).
FIXTURE_ARCHIVE = ROOT / "tests" / "fixtures" / "quickdraw" / "quickdraw-sample.tar.xz"
#: ``fixture`` makes the tests read the committed fixture even where ../shared is present.
DATA_CHOICE_ENV = "KERASKETCH_TEST_DATA"

#: The 31 classes of ../shared/quickdraw whose first 25 simplified drawings are the first 25 bitmap rows.
PAIRED_CLASSES = [
    "The Mona Lisa",
    "airplane",
    "apple",
    "banana",
    "bee",
    "bicycle",
    "bird",
    "book",
    "boomerang",
    "bowtie",
    "cat",
    "clock",
    "cloud",
    "diamond",
    "dog",
    "donut",
    "eye",
    "fish",
    "flower",
    "frog",
    "headphones",
    "horse",
    "house plant",
    "house",
    "lollipop",
    "rainbow",
    "skull",
    "smiley face",
    "tractor",
    "train",
    "tree",
]


@dataclass(frozen=True)
class QuickDrawSample:
    """The real drawings the tests read, and what the tests may take as known about them.

    Both sources have the official layout (``bitmap/``, ``simplified/``, ``raw/``);
    the facts are those their READMEs state, and tests/data/test_fixture.py checks the
    fixture's against its files.
    """

    root: Path
    origin: str  # "shared" (../shared/quickdraw) or "fixture" (the committed archive)
    #: Subfolder: (classes, drawings).
    counts: dict[str, tuple[int, int]]
    largest_bitmap_class: str
    #: Classes whose simplified line i is bitmap row i, for i < 25.
    paired_classes: tuple[str, ...]
    #: How many of those paired drawings raw/ holds too (the same key_id).
    raw_pairs: int

    def fraction_for(self, classes: Iterable[str] | None, at_least: int) -> float:
        """The smallest ``--fraction`` that samples at least ``at_least`` bitmaps of each of ``classes``
        (all when None), to three decimals: 10 drawings are 2% of the shared sample's smallest class, 20% of
        the fixture's."""
        names = list(classes) if classes is not None else [p.stem for p in (self.root / "bitmap").glob("*.npy")]
        smallest = min(len(np.load(self.root / "bitmap" / f"{name}.npy", mmap_mode="r")) for name in names)
        return min(1.0, math.ceil(1000 * at_least / smallest) / 1000)


SHARED_FACTS = {
    "counts": {"bitmap": (37, 89_376), "simplified": (344, 8_600), "raw": (345, 9_570)},
    "largest_bitmap_class": "rainbow",
    "paired_classes": tuple(PAIRED_CLASSES),
    "raw_pairs": 725,
}
#: As tests/fixtures/quickdraw/README.md states them (and build.py makes them).
FIXTURE_FACTS = {
    "counts": {"bitmap": (11, 2_420), "simplified": (12, 300), "raw": (3, 36)},
    "largest_bitmap_class": "cat",
    "paired_classes": ("The Mona Lisa", "apple", "bee", "bicycle", "cat", "dog", "fish", "house", "rainbow"),
    "raw_pairs": 36,
}


@pytest.fixture(scope="session")
def quickdraw_sample(tmp_path_factory: pytest.TempPathFactory) -> QuickDrawSample:
    """``../shared/quickdraw`` where it is present, else the committed fixture, unpacked once a session."""
    choice = os.environ.get(DATA_CHOICE_ENV, "")
    if choice not in ("", "fixture", "shared"):
        raise pytest.UsageError(f"{DATA_CHOICE_ENV}={choice!r}: use 'fixture', 'shared' or leave it unset")
    if choice != "fixture" and (QUICKDRAW / "bitmap").is_dir():
        return QuickDrawSample(QUICKDRAW, "shared", **SHARED_FACTS)
    if choice == "shared":
        pytest.skip(f"{DATA_CHOICE_ENV}=shared but the real Quick, Draw! sample is not at {QUICKDRAW}")
    root = tmp_path_factory.mktemp("quickdraw-fixture")
    with tarfile.open(FIXTURE_ARCHIVE) as archive:
        archive.extractall(root, filter="data")
    return QuickDrawSample(root, "fixture", **FIXTURE_FACTS)


@pytest.fixture(scope="session")
def quickdraw(quickdraw_sample: QuickDrawSample) -> Path:
    """The folder of real drawings: ``../shared/quickdraw``, or the committed fixture on a fresh clone."""
    return quickdraw_sample.root


@pytest.fixture(scope="session", autouse=True)
def isolated_data_root(tmp_path_factory: pytest.TempPathFactory):
    """Keep downloads and dataset caches of the tests out of the repository's data/.

    Session-wide, so tests share assembled datasets the way successive runs do."""
    root = tmp_path_factory.mktemp("data-root")
    old = os.environ.get("KERASKETCH_DATA")
    os.environ["KERASKETCH_DATA"] = str(root)
    yield root
    if old is None:
        os.environ.pop("KERASKETCH_DATA", None)
    else:
        os.environ["KERASKETCH_DATA"] = old


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.torch_only("why")``: skip, with the reason, on the other Keras backends."""
    marker = item.get_closest_marker("torch_only")
    if marker is not None and BACKEND != "torch":
        pytest.skip(f"needs Keras' torch backend ({BACKEND} here): {marker.args[0]}")


def keras_value_and_grads(fn, *arrays):
    """``fn(*tensors)`` (a scalar) and its gradients with respect to each array, by the
    active backend's own autodiff, so that a test compares numbers with a torch reference
    instead of calling ``.backward()`` on another backend's tensors."""
    import keras

    if BACKEND == "torch":
        import torch

        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        value = fn(*tensors)
        value.backward()
        return float(value.detach()), [t.grad.numpy() for t in tensors]
    if BACKEND == "jax":
        import jax

        value, grads = jax.value_and_grad(fn, argnums=tuple(range(len(arrays))))(*arrays)
        return float(value), [np.asarray(g) for g in grads]
    import tensorflow as tf

    tensors = [tf.Variable(a) for a in arrays]
    with tf.GradientTape() as tape:
        value = fn(*tensors)
    return float(value), [keras.ops.convert_to_numpy(g) for g in tape.gradient(value, tensors)]


def keras_training_pass(model, loss_fn, x, y):
    """One training-mode forward pass of ``model`` on ``(x, y)`` with ``loss_fn``: the loss
    and ``{variable path: gradient}``, by the active backend's autodiff. The BatchNorm
    moving statistics are updated as a training step would."""
    import keras

    trainable = model.trainable_variables
    if BACKEND == "torch":
        loss = loss_fn(y, model(x, training=True))
        loss.backward()
        grads = [v.value.grad for v in trainable]
    elif BACKEND == "jax":
        import jax

        non_trainable = model.non_trainable_variables

        def forward(values):
            out, state = model.stateless_call(values, [v.value for v in non_trainable], x, training=True)
            return loss_fn(y, out), state

        (loss, state), grads = jax.value_and_grad(forward, has_aux=True)([v.value for v in trainable])
        for variable, value in zip(non_trainable, state):
            variable.assign(value)
    else:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, trainable)
    return float(keras.ops.convert_to_numpy(loss)), {
        v.path: keras.ops.convert_to_numpy(g) for v, g in zip(trainable, grads)
    }


@pytest.fixture
def value_and_grads():
    return keras_value_and_grads


@pytest.fixture
def training_pass():
    return keras_training_pass
