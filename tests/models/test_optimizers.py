"""Keras optimiser steps against torch.optim on the same parameters and gradients.

Each test feeds one gradient sequence to both frameworks and compares the
parameters after every step. Adam and AdamW follow PyTorch's rule
(kerasketch/pytorch_adam.py); where Keras' own rule differs, a test measures
what it would amount to.
"""

from __future__ import annotations

import re
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
) -> np.ndarray:
    param = torch.nn.Parameter(torch.tensor(w0))
    optimizer = make([param])
    path = []
    for g in grads:
        param.grad = torch.tensor(g)
        optimizer.step()
        path.append(param.detach().numpy().copy())
    return np.stack(path)


def relative_update_error(keras_path: np.ndarray, torch_path: np.ndarray, w0: np.ndarray) -> float:
    """Largest |difference| of the parameters, relative to how far PyTorch moved them."""
    return float(np.max(np.abs(keras_path - torch_path)) / np.max(np.abs(torch_path - w0)))


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
def test_adam_equals_torch_adam(scale):
    """PyTorch's rule (kerasketch/pytorch_adam.py), tiny gradients too, where epsilon's place matters."""
    w0, grads = initial_weights(), gradients(scale)
    got = keras_trajectory(build_optimizer("adam"), w0, grads)
    expected = torch_trajectory(lambda p: torch.optim.Adam(p, lr=0.001), w0, grads)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=2e-7)  # float32 ulp at 1 is 1.2e-7


def test_keras_own_adam_shrinks_the_steps_of_tiny_gradients():
    """Keras adds epsilon before the bias correction: 31.6x PyTorch's at step 1 (why the rule is replaced)."""
    w0, grads = initial_weights(), gradients(1e-7)
    keras_own = keras_trajectory(keras.optimizers.Adam(learning_rate=0.001, epsilon=1e-8), w0, grads)
    ours = keras_trajectory(build_optimizer("adam"), w0, grads)
    expected = torch_trajectory(lambda p: torch.optim.Adam(p, lr=0.001), w0, grads)
    assert relative_update_error(keras_own, expected, w0) > 0.3
    assert np.abs(keras_own[-1] - w0).sum() < np.abs(expected[-1] - w0).sum()
    assert relative_update_error(ours, expected, w0) < 1e-4


@pytest.mark.parametrize("scale", [1e-3, 1e-7])
def test_adamw_equals_torch_adamw(scale):
    w0, grads = initial_weights(), gradients(scale)
    got = keras_trajectory(build_optimizer("adamw"), w0, grads)
    expected = torch_trajectory(lambda p: torch.optim.AdamW(p, lr=0.001, weight_decay=0.01), w0, grads)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=2e-7)


def test_adamw_with_a_schedule_and_weights_left_undecayed_equals_torch_adamw():
    """A cosine schedule and Keras' weight-decay exclusions, against torch's parameter groups."""
    from kerasketch.optimizers import learning_rate

    w0, grads = initial_weights(), gradients(1e-3)
    rate = learning_rate("cosine", 0.002, steps_per_epoch=2, epochs=5, warmup_epochs=1)
    optimizer = build_optimizer("adamw", learning_rate=rate, weight_decay=0.05)
    decayed, kept = keras.Variable(w0, name="kernel"), keras.Variable(w0[0], name="bias")
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    params = [torch.nn.Parameter(torch.tensor(w0)), torch.nn.Parameter(torch.tensor(w0[0]))]
    groups = [{"params": [params[0]], "weight_decay": 0.05}, {"params": [params[1]], "weight_decay": 0.0}]
    reference = torch.optim.AdamW(groups, lr=0.0)
    for step, g in enumerate(grads):
        lr = float(keras.ops.convert_to_numpy(rate(step)))
        for group in reference.param_groups:
            group["lr"] = lr
        optimizer.apply([keras.ops.convert_to_tensor(g), keras.ops.convert_to_tensor(g[0])], [decayed, kept])
        params[0].grad, params[1].grad = torch.tensor(g), torch.tensor(g[0])
        reference.step()
        for variable, param in zip((decayed, kept), params, strict=True):
            np.testing.assert_allclose(
                keras.ops.convert_to_numpy(variable), param.detach().numpy(), rtol=1e-6, atol=2e-7
            )
    assert not np.allclose(keras.ops.convert_to_numpy(kept), w0[0])


def test_the_pytorch_rule_survives_serialisation_and_refuses_amsgrad():
    optimizer = build_optimizer("adamw", weight_decay=0.05)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(again) is type(optimizer) and again.weight_decay == 0.05 and again.epsilon == 1e-8
    with pytest.raises(ConfigError, match="amsgrad"):
        build_optimizer("adam", amsgrad=True)


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


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_a_backup_of_keras_own_adam_loads_into_ours(name, tmp_path):
    """Backups written by the subclasses of Keras' Adam that came before keep resuming: same slots, same order."""
    keras_class = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW}[name]

    def model(optimizer):
        inputs = keras.Input((4,))
        m = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Dense(5)(inputs)))
        m.compile(optimizer=optimizer, loss="mse")
        return m

    x, y = np.random.default_rng(0).random((8, 4), dtype=np.float32), np.zeros((8, 3), np.float32)
    before = model(keras_class(learning_rate=0.01))
    before.fit(x, y, epochs=2, batch_size=4, verbose=0)
    before.save_weights(tmp_path / "backup.weights.h5")

    after = model(build_optimizer(name))
    after.optimizer.build(after.trainable_variables)
    after.load_weights(tmp_path / "backup.weights.h5")
    saved = [keras.ops.convert_to_numpy(v) for v in before.optimizer.variables]
    loaded = [keras.ops.convert_to_numpy(v) for v in after.optimizer.variables]

    def kinds(optimizer):  # the slot kind of each variable, in order (layer names differ between the models)
        return [next((k for k in ("momentum", "velocity") if v.path.endswith(k)), v.name) for v in optimizer.variables]

    # Keras' own default name, as the subclasses had (auto_name numbers repeats within a process).
    assert re.sub(r"_\d+$", "", after.optimizer.name) == re.sub(r"_\d+$", "", before.optimizer.name)

    assert kinds(after.optimizer) == kinds(before.optimizer)
    assert len(saved) == len(loaded) and all(np.array_equal(a, b) for a, b in zip(saved, loaded, strict=True))
    assert int(keras.ops.convert_to_numpy(after.optimizer.iterations)) == 4
