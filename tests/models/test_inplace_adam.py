"""kerasketch.inplace_adam: Keras' Adam and AdamW update on torch, bit for bit, with fewer temporaries."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerasketch.inplace_adam import use_inplace_update
from kerasketch.optimizers import build_optimizer, learning_rate

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(keras.backend.backend() != "torch", reason="the in-place update is torch's only")

SHAPES = [(32, 1, 3, 3), (32,), (64, 32, 3, 3), (64,), (3136, 10), (10,)]


def _variables(seed: int) -> list[keras.Variable]:
    rng = np.random.default_rng(seed)
    return [keras.Variable(rng.standard_normal(s).astype(np.float32)) for s in SHAPES]


def _trajectory(optimizer: keras.optimizers.Optimizer, steps: int = 6) -> list[np.ndarray]:
    variables = _variables(0)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        # Gradients from 1e-7 to 1: where sqrt(v) is near epsilon and where it is far above it.
        grads = [torch.tensor(rng.standard_normal(s).astype(np.float32) * 10.0 ** rng.integers(-7, 1)) for s in SHAPES]
        optimizer.apply(grads, variables)
    return [keras.ops.convert_to_numpy(v) for v in variables]


def _keras_own(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    del optimizer._parallel_update_step  # the instance's update gone: Keras' class method again
    return optimizer


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("adamw", {}),
        ("adam", {}),
        ("adamw", {"weight_decay": 0.05, "epsilon": 1e-7}),
    ],
)
def test_the_update_equals_keras_own_bit_for_bit(name, settings):
    ours = _trajectory(build_optimizer(name, **settings))
    keras_own = _trajectory(_keras_own(build_optimizer(name, **settings)))
    for got, expected in zip(ours, keras_own, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(ours[0], _variables(0)[0].numpy())  # the weights did move


def test_the_update_follows_a_schedule_bit_for_bit():
    def make():
        rate = learning_rate("cosine", 0.002, steps_per_epoch=2, epochs=3, warmup_epochs=1)
        return build_optimizer("adamw", learning_rate=rate, weight_decay=0.05)

    for got, expected in zip(_trajectory(make()), _trajectory(_keras_own(make())), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_only_adam_and_adamw_without_amsgrad_take_it():
    assert "_parallel_update_step" in vars(build_optimizer("adamw"))
    assert "_parallel_update_step" in vars(build_optimizer("adam"))
    assert not use_inplace_update(keras.optimizers.Adam(amsgrad=True))
    assert not use_inplace_update(build_optimizer("sgd")) and not use_inplace_update(build_optimizer("rmsprop"))
    assert "_parallel_update_step" not in vars(build_optimizer("rmsprop"))
