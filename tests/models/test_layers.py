"""kerasketch's Conv2D and BatchNormalization keep Keras' contracts and PyTorch's BatchNorm rule on every backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

from kerasketch.models import build_model
from kerasketch.models import layers as fused
from kerasketch.models.initializers import TORCH_BN_EPSILON, TORCH_BN_MOMENTUM
from kerasketch.training import execution

pytestmark = pytest.mark.backends


def _numpy(values) -> list[np.ndarray]:
    return [np.array(keras.ops.convert_to_numpy(v)) for v in values]


def test_batchnorm_moving_statistics_follow_pytorchs_rule():
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(6, 4, 5, 5)).astype(np.float32)
    layer = fused.BatchNormalization(axis=1, momentum=TORCH_BN_MOMENTUM, epsilon=TORCH_BN_EPSILON)
    out = keras.ops.convert_to_numpy(layer(x, training=True))

    reference = torch.nn.BatchNorm2d(4)
    expected = reference(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    _, _, moving_mean, moving_var = layer.get_weights()
    np.testing.assert_allclose(moving_mean, reference.running_mean.numpy(), rtol=1e-6, atol=1e-6)
    # Unbiased: n / (n - 1) times the variance Keras' own layer would use.
    np.testing.assert_allclose(moving_var, reference.running_var.numpy(), rtol=1e-6, atol=1e-6)
    n = 6 * 5 * 5
    biased = 0.9 + 0.1 * x.var(axis=(0, 2, 3))
    assert not np.allclose(moving_var, biased, rtol=1e-4), "the moving variance is Keras' biased one"
    np.testing.assert_allclose(moving_var, 0.9 + 0.1 * x.var(axis=(0, 2, 3)) * n / (n - 1), rtol=1e-5)


@pytest.mark.parametrize("name", ["like_vgg", "ai_inno_cnn"])
def test_stateless_call_leaves_the_callers_variables_alone(name):
    model = build_model(name, 7, seed=0)
    size = model.input_shape[-1]
    x = np.random.default_rng(1).random((8, 1, size, size), dtype=np.float32)
    before = _numpy(model.non_trainable_variables)

    _, new_state = model.stateless_call(
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        x,
        training=True,
    )
    for variable, value in zip(model.non_trainable_variables, before, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), value, err_msg=variable.path)
    returned = _numpy(new_state)
    assert any(not np.array_equal(a, b) for a, b in zip(returned, before)), "stateless_call returned no new statistics"

    # The returned state is what a stateful training call leaves in the variables.
    model(x, training=True)
    for variable, value in zip(model.non_trainable_variables, returned, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), value, rtol=1e-6, err_msg=variable.path)


def test_conv2d_with_lora_equals_keras_conv2d_with_lora():
    x = np.random.default_rng(2).random((2, 3, 9, 9), dtype=np.float32)
    ours = fused.Conv2D(5, 3, data_format="channels_first", activation="relu")
    stock = keras.layers.Conv2D(5, 3, data_format="channels_first", activation="relu")
    ours.build(x.shape)
    stock.build(x.shape)
    stock.set_weights(ours.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(ours(x)), keras.ops.convert_to_numpy(stock(x)), rtol=1e-5, atol=1e-6
    )

    for layer in (ours, stock):
        layer.enable_lora(2)
    rng = np.random.default_rng(3)
    b = rng.normal(size=tuple(ours.lora_kernel_b.shape)).astype(np.float32)
    for layer in (ours, stock):
        layer.lora_kernel_b.assign(b)  # Keras starts B at zero, which would hide a missing adapter
        layer.lora_kernel_a.assign(keras.ops.convert_to_numpy(ours.lora_kernel_a))
    got, expected = keras.ops.convert_to_numpy(ours(x)), keras.ops.convert_to_numpy(stock(x))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    without = keras.layers.Conv2D(5, 3, data_format="channels_first", activation="relu")
    without.build(x.shape)
    without.set_weights([keras.ops.convert_to_numpy(ours._kernel), keras.ops.convert_to_numpy(ours.bias)])
    assert not np.allclose(got, keras.ops.convert_to_numpy(without(x)), atol=1e-4), "the adapter changed nothing"


def test_batchnorm_in_inference_uses_the_moving_statistics_without_changing_them():
    x = np.random.default_rng(4).normal(size=(3, 2, 4, 4)).astype(np.float32)
    layer = fused.BatchNormalization(axis=1, momentum=TORCH_BN_MOMENTUM, epsilon=TORCH_BN_EPSILON)
    layer.build(x.shape)
    layer.set_weights(
        [np.array([2.0, 0.5], np.float32), np.array([1.0, -1.0], np.float32)]
        + [
            np.array([0.3, -0.2], np.float32),
            np.array([4.0, 0.25], np.float32),
        ]
    )
    out = keras.ops.convert_to_numpy(layer(x, training=False))
    mean, var = np.array([0.3, -0.2]).reshape(1, 2, 1, 1), np.array([4.0, 0.25]).reshape(1, 2, 1, 1)
    gamma, beta = np.array([2.0, 0.5]).reshape(1, 2, 1, 1), np.array([1.0, -1.0]).reshape(1, 2, 1, 1)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + TORCH_BN_EPSILON) * gamma + beta, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(layer.get_weights()[2:], np.array([[0.3, -0.2], [4.0, 0.25]], np.float32))


def test_under_mixed_bfloat16_the_layers_compute_in_bfloat16_as_keras_own_do():
    if keras.backend.backend() == "tensorflow" and not execution.tensorflow_runs_bfloat16():
        pytest.skip(
            "TensorFlow runs channels-first bfloat16 convolutions only on a GPU or a CPU with bfloat16 instructions"
        )
    x = np.random.default_rng(5).normal(size=(4, 3, 9, 9)).astype(np.float32)
    ours = fused.Conv2D(5, 3, data_format="channels_first", activation="relu", dtype="mixed_bfloat16")
    stock = keras.layers.Conv2D(5, 3, data_format="channels_first", activation="relu", dtype="mixed_bfloat16")
    ours.build(x.shape)
    stock.build(x.shape)
    stock.set_weights(ours.get_weights())
    out = ours(x)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    if keras.backend.backend() == "torch":  # the fused kernel ran: it hands on channels_last (Keras' own NCHW)
        assert out.is_contiguous(memory_format=torch.channels_last)
    expected = keras.ops.convert_to_numpy(keras.ops.cast(stock(x), "float32"))
    # bfloat16 keeps 8 significant bits: a 27-term sum in another order moves the last of them.
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(keras.ops.cast(out, "float32")), expected, rtol=2e-2, atol=2e-2
    )

    y = keras.ops.cast(x, "bfloat16")
    ours_bn = fused.BatchNormalization(axis=1, dtype="mixed_bfloat16")
    stock_bn = keras.layers.BatchNormalization(axis=1, dtype="mixed_bfloat16")
    out, expected = ours_bn(y, training=True), stock_bn(y, training=True)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    assert keras.backend.standardize_dtype(ours_bn.moving_mean.dtype) == "float32"
    np.testing.assert_allclose(
        *_numpy([keras.ops.cast(out, "float32"), keras.ops.cast(expected, "float32")]), atol=3e-2
    )
    np.testing.assert_allclose(*_numpy([ours_bn.moving_mean, stock_bn.moving_mean]), rtol=1e-2, atol=1e-3)


def test_dense_pooling_and_flatten_equal_keras_own_layers():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(4, 3, 6, 6)).astype(np.float32)
    pool, stock_pool = (
        fused.MaxPooling2D(2, data_format="channels_first"),
        keras.layers.MaxPooling2D(2, data_format="channels_first"),
    )
    pooled = pool(x)
    np.testing.assert_array_equal(*_numpy([pooled, stock_pool(x)]))
    flat = fused.Flatten(data_format="channels_last")(pooled)
    np.testing.assert_array_equal(*_numpy([flat, keras.layers.Flatten(data_format="channels_last")(pooled)]))
    assert tuple(flat.shape) == (4, 27)

    ours, stock = fused.Dense(5, activation="relu"), keras.layers.Dense(5, activation="relu")
    ours.build(flat.shape)
    stock.build(flat.shape)
    stock.set_weights(ours.get_weights())
    np.testing.assert_allclose(*_numpy([ours(flat), stock(flat)]), rtol=1e-6, atol=1e-6)
    for layer in (ours, stock):
        layer.enable_lora(2)
    b = rng.normal(size=tuple(ours.lora_kernel_b.shape)).astype(np.float32)  # Keras starts B at zero
    for layer in (ours, stock):
        layer.lora_kernel_b.assign(b)
    stock.lora_kernel_a.assign(keras.ops.convert_to_numpy(ours.lora_kernel_a))
    np.testing.assert_allclose(*_numpy([ours(flat), stock(flat)]), rtol=1e-5, atol=1e-5)

    mixed = fused.Dense(5, dtype="mixed_bfloat16")
    mixed.build(flat.shape)
    assert keras.backend.standardize_dtype(mixed(flat).dtype) == "bfloat16"
