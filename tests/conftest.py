"""Shared fixtures: the real Quick, Draw! sample beside the project, and an isolated data root."""

from __future__ import annotations

import os
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

#: The 31 classes whose first 25 simplified drawings are the first 25 bitmap rows.
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


@pytest.fixture(scope="session")
def quickdraw() -> Path:
    """``../shared/quickdraw``; tests that need real drawings skip where it is absent."""
    if not (QUICKDRAW / "bitmap").is_dir():
        pytest.skip(f"real Quick, Draw! sample not found at {QUICKDRAW} (a fresh clone has no ../shared)")
    return QUICKDRAW


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
