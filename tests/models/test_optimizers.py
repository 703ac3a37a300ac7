"""Keras optimiser steps against torch.optim on the same parameters and gradients.

Each test feeds one gradient sequence to both frameworks and compares the
parameters after every step. Where Keras places epsilon differently, a test
first shows that this placement is the only difference (by giving PyTorch the
equivalent epsilon) and another measures what it amounts to.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np
import pytest
import torch

import kerasketch  # noqa: F401  (selects the torch backend before keras loads)
from kerasketch.errors import ConfigError
from kerasketch.models.initializers import TorchStyleLayers
from kerasketch.optimizers import ORIGINAL_SETTINGS, TS_CNN_L2, TS_CNN_SGD, build_optimizer

pytestmark = pytest.mark.backends
STEPS = 10
SHAPE = (32, 16)


def gradients(scale: float, seed: int = 0, steps: int = STEPS) -> list[np.ndarray]:
    """Random signs, magnitudes within [0.5, 1.5] * scale: every entry's size is known,
    so a tolerance can say at which gradient size a difference appears."""
    rng = np.random.default_rng(seed)
    return [
        (rng.choice([-1.0, 1.0], size=SHAPE) * rng.uniform(0.5, 1.5, size=SHAPE) * scale).astype(np.float32)
        for _ in range(steps)
    ]


def initial_weights(seed: int = 1) -> np.ndarray:
    # Small weights keep float32 rounding (an ulp of w) well below the steps compared.
    return (np.random.default_rng(seed).normal(size=SHAPE) * 0.05).astype(np.float32)


def keras_trajectory(optimizer: keras.optimizers.Optimizer, w0: np.ndarray, grads: list[np.ndarray]) -> np.ndarray:
    variable = keras.Variable(w0)
    path = []
    for g in grads:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g), variable)])
        path.append(keras.ops.convert_to_numpy(variable).copy())
    return np.stack(path)


def torch_trajectory(
    make: Callable[[list[torch.nn.Parameter]], torch.optim.Optimizer],
    w0: np.ndarray,
    grads: list[np.ndarray],
    before_step: Callable[[torch.optim.Optimizer, int], None] | None = None,
) -> np.ndarray:
    param = torch.nn.Parameter(torch.tensor(w0))
    optimizer = make([param])
    path = []
    for step, g in enumerate(grads, start=1):
        if before_step:
            before_step(optimizer, step)
        param.grad = torch.tensor(g)
        optimizer.step()
        path.append(param.detach().numpy().copy())
    return np.stack(path)


def relative_update_error(keras_path: np.ndarray, torch_path: np.ndarray, w0: np.ndarray) -> float:
    """Largest |difference| of the parameters, relative to how far PyTorch moved them."""
    return float(np.max(np.abs(keras_path - torch_path)) / np.max(np.abs(torch_path - w0)))


def keras_adam_epsilon_in_torch_terms(eps: float, beta_2: float = 0.999):
    """Keras adds eps to sqrt(v) before the bias correction; PyTorch adds it to
    sqrt(v / (1 - beta_2^t)). Giving PyTorch eps / sqrt(1 - beta_2^t) at step t
    reproduces Keras' rule exactly."""

    def set_eps(optimizer: torch.optim.Optimizer, step: int) -> None:
        for group in optimizer.param_groups:
            group["eps"] = eps / math.sqrt(1 - beta_2**step)

    return set_eps


# --------------------------------------------------------------------------


def test_settings_are_the_logs_not_keras_defaults():
    assert keras.optimizers.AdamW().weight_decay == 0.004 and keras.optimizers.AdamW().epsilon == 1e-7
    assert keras.optimizers.RMSprop().rho == 0.9 and keras.optimizers.Adam().epsilon == 1e-7
    sgd, adam, rmsprop, adamw = (build_optimizer(n) for n in ("sgd", "adam", "rmsprop", "adamw"))
    assert float(sgd.learning_rate) == pytest.approx(0.01) and sgd.momentum == 0
    assert float(adam.learning_rate) == pytest.approx(1e-3) and adam.epsilon == 1e-8
    assert rmsprop.rho == 0.99 and rmsprop.epsilon == 1e-16 and rmsprop.momentum == 0
    assert adamw.weight_decay == 0.01 and adamw.epsilon == 1e-8
    assert set(ORIGINAL_SETTINGS) == {"sgd", "adam", "rmsprop", "adamw"}
    for name, setting in ORIGINAL_SETTINGS.items():
        assert isinstance(build_optimizer(name), setting.keras_class)
        assert setting.torch_call.startswith("torch.optim.") and setting.note and setting.used_by


def test_sgd_equals_torch_sgd():
    w0, grads = initial_weights(), gradients(1.0)
    got = keras_trajectory(build_optimizer("sgd"), w0, grads)
    expected = torch_trajectory(lambda p: torch.optim.SGD(p, lr=0.01), w0, grads)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


def test_ts_cnn_sgd_with_l2_equals_torch_sgd_with_coupled_weight_decay():
    """TS_CNN's SGD(lr=0.001, momentum=0.9, weight_decay=5e-4), through Keras'
    fit path on a layer made like the models' (L2 on kernel and bias)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 16)).astype(np.float32)
    targets = rng.normal(size=(8, 4)).astype(np.float32)

    inputs = keras.Input((16,))
    dense = TorchStyleLayers("kaiming_relu", l2=TS_CNN_L2, seed=0).dense(4, in_features=16, name="fc")
    model = keras.Model(inputs, dense(inputs))
    model.compile(optimizer=build_optimizer("sgd", **TS_CNN_SGD), loss="mse")

    linear = torch.nn.Linear(16, 4)
    kernel, bias = dense.get_weights()
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(kernel.T))
        linear.bias.copy_(torch.from_numpy(bias))
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.001, momentum=0.9, weight_decay=0.0005)

    for _ in range(STEPS):
        model.train_on_batch(x, targets)
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(linear(torch.from_numpy(x)), torch.from_numpy(targets)).backward()
        optimizer.step()
        kernel, bias = dense.get_weights()
        np.testing.assert_allclose(kernel, linear.weight.detach().numpy().T, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(bias, linear.bias.detach().numpy(), rtol=1e-5, atol=1e-7)


def test_keras_decoupled_weight_decay_would_not_reproduce_sgd_weight_decay():
    """Why TS_CNN's decay is an L2 penalty: Keras' weight_decay bypasses momentum."""
    w0, grads = initial_weights(), gradients(1e-4)  # decay * w comparable to the gradient
    got = keras_trajectory(keras.optimizers.SGD(0.001, momentum=0.9, weight_decay=5e-4), w0, grads)
    expected = torch_trajectory(lambda p: torch.optim.SGD(p, lr=0.001, momentum=0.9, weight_decay=5e-4), w0, grads)
    assert relative_update_error(got, expected, w0) > 0.05
    with pytest.raises(ConfigError, match="l2=weight_decay/2"):
        build_optimizer("sgd", weight_decay=5e-4)


@pytest.mark.parametrize("scale", [1e-2, 1e-5, 1e-8])
def test_adam_rule_equals_torch_adam_up_to_epsilon_placement(scale):
    w0, grads = initial_weights(), gradients(scale)
    got = keras_trajectory(build_optimizer("adam"), w0, grads)
    expected = torch_trajectory(
        lambda p: torch.optim.Adam(p, lr=0.001), w0, grads, before_step=keras_adam_epsilon_in_torch_terms(1e-8)
    )
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=2e-7)  # float32 ulp at 1 is 1.2e-7


@pytest.mark.parametrize(
    "scale, largest_relative_error",
    # Per step the relative difference is about eps * (1 / sqrt(1 - 0.999^t) - 1) / |g|:
    # 3.1e-7 / |g| at step 1, 9e-8 / |g| at step 10, ~0 after a few thousand steps.
    [(1e-2, 1e-4), (1e-4, 1e-2)],
)
def test_adam_epsilon_placement_difference_is_small_for_ordinary_gradients(scale, largest_relative_error):
    w0, grads = initial_weights(), gradients(scale)
    got = keras_trajectory(build_optimizer("adam"), w0, grads)
    expected = torch_trajectory(lambda p: torch.optim.Adam(p, lr=0.001), w0, grads)
    assert relative_update_error(got, expected, w0) < largest_relative_error


def test_adam_epsilon_placement_matters_for_tiny_gradients():
    w0, grads = initial_weights(), gradients(1e-7)
    got = keras_trajectory(build_optimizer("adam"), w0, grads)
    expected = torch_trajectory(lambda p: torch.optim.Adam(p, lr=0.001), w0, grads)
    # Keras' effective epsilon is 31.6x PyTorch's at step 1: steps of gradients
    # ~1e-7 come out markedly smaller.
    assert relative_update_error(got, expected, w0) > 0.3
    assert np.abs(got[-1] - w0).sum() < np.abs(expected[-1] - w0).sum()


def test_adamw_rule_equals_torch_adamw_up_to_epsilon_placement():
    w0, grads = initial_weights(), gradients(1e-3)
    got = keras_trajectory(build_optimizer("adamw"), w0, grads)
    expected = torch_trajectory(
        lambda p: torch.optim.AdamW(p, lr=0.001, weight_decay=0.01),
        w0,
        grads,
        before_step=keras_adam_epsilon_in_torch_terms(1e-8),
    )
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=2e-7)  # float32 ulp at 1 is 1.2e-7
    plain = torch_trajectory(lambda p: torch.optim.AdamW(p, lr=0.001, weight_decay=0.01), w0, grads)
    assert relative_update_error(got, plain, w0) < 2e-3


# The step differs by (s + 1e-8) / sqrt(s^2 + 1e-16) for RMS gradient s, ~1 + 1e-8 / s;
# at step 1 s = 0.1 |g|.
@pytest.mark.parametrize("scale, largest_relative_error", [(1e-2, 1e-4), (1e-4, 5e-3)])
def test_rmsprop_equals_torch_rmsprop(scale, largest_relative_error):
    w0, grads = initial_weights(), gradients(scale)
    got = keras_trajectory(build_optimizer("rmsprop"), w0, grads)
    expected = torch_trajectory(lambda p: torch.optim.RMSprop(p, lr=0.001), w0, grads)
    assert relative_update_error(got, expected, w0) < largest_relative_error


def test_rmsprop_epsilon_choice_beats_keras_default_for_small_gradients():
    w0, grads = initial_weights(), gradients(1e-5)
    expected = torch_trajectory(lambda p: torch.optim.RMSprop(p, lr=0.001), w0, grads)
    ours = keras_trajectory(build_optimizer("rmsprop"), w0, grads)
    keras_default_eps = keras_trajectory(build_optimizer("rmsprop", epsilon=1e-7), w0, grads)
    assert relative_update_error(ours, expected, w0) < 0.05
    assert relative_update_error(keras_default_eps, expected, w0) > 0.5


def test_rmsprop_leaves_never_updated_entries_alone():
    """v = 0 where the gradient is always 0: PyTorch divides 0 by eps, so must we."""
    w0 = initial_weights()
    grads = gradients(1e-2)
    for g in grads:
        g[0, :] = 0.0
    got = keras_trajectory(build_optimizer("rmsprop"), w0, grads)
    assert np.all(np.isfinite(got))
    np.testing.assert_array_equal(got[-1][0], w0[0])


def test_unknown_optimizer_and_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="sgd, adam, rmsprop, adamw"):
        build_optimizer("lamb")
    with pytest.raises(ConfigError):
        build_optimizer("adam", betas=(0.9, 0.99))
    assert build_optimizer("adamw", weight_decay=0.05).weight_decay == 0.05
