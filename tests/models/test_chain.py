"""The training twin that skips Keras' per-layer call machinery computes exactly what the model does."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

from kerasketch.models import build_model
from kerasketch.models.chain import LayerChain, for_training
from kerasketch.recipes import registry
from kerasketch.training.fit import compile_model, dtype_policy

FROM_SCRATCH = {"baseline": 28, "ts_cnn": 32, "like_vgg": 28, "ai_inno_cnn": 32}


def _moving_stats(model: keras.Model) -> list[np.ndarray]:
    return [np.array(w) for w in model.non_trainable_weights]


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("name", sorted(FROM_SCRATCH))
def test_twin_equals_the_model_forward_backward_and_batchnorm_statistics(name, precision):
    size = FROM_SCRATCH[name]
    with dtype_policy(precision):
        reference = build_model(name, 37, seed=0)
        fast_model = build_model(name, 37, seed=0)
        twin = for_training(fast_model)
    assert isinstance(twin, LayerChain)
    assert twin.dtype_policy.name == precision
    assert [id(w) for w in twin.weights] == [id(w) for w in fast_model.weights]

    x = torch.from_numpy(np.random.default_rng(1).random((16, 1, size, size), dtype=np.float32))
    for training in (True, False):
        ref_out, twin_out = reference(x, training=training), twin(x, training=training)
        assert twin_out.dtype == ref_out.dtype == (torch.float32 if precision == "float32" else torch.bfloat16)
        torch.testing.assert_close(twin_out, ref_out, rtol=0, atol=0)
        ref_out.float().sum().backward()
        twin_out.float().sum().backward()
        for ref_w, twin_w in zip(reference.trainable_weights, twin.trainable_weights, strict=True):
            torch.testing.assert_close(twin_w.value.grad, ref_w.value.grad, rtol=0, atol=0)
            ref_w.value.grad = twin_w.value.grad = None
    # Arrays, as a functional model takes them (inference, so the statistics stay).
    array = np.random.default_rng(2).random((4, 1, size, size), dtype=np.float32)
    torch.testing.assert_close(twin(array, training=False), reference(array, training=False), rtol=0, atol=0)
    # Both training-mode passes updated the BatchNorm moving statistics alike.
    for ref_stat, twin_stat in zip(_moving_stats(reference), _moving_stats(twin), strict=True):
        np.testing.assert_array_equal(twin_stat, ref_stat)


def test_models_that_are_not_a_plain_chain_stay_as_they_are():
    images = keras.Input((1, 28, 28))
    a = keras.layers.Flatten()(images)
    branched = keras.Model(images, keras.layers.Add()([keras.layers.Dense(4)(a), keras.layers.Dense(4)(a)]))
    assert for_training(branched) is branched

    images = keras.Input((1, 28, 28))
    regularised = keras.layers.Dense(4, activity_regularizer="l2")(keras.layers.Flatten()(images))
    assert not isinstance(for_training(keras.Model(images, regularised)), LayerChain)  # the twin would drop it

    pretrained = build_model("resnet50", 37, weights="none", seed=0)
    assert for_training(pretrained) is pretrained


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_recipes_train_through_the_twin(precision):
    model = compile_model(registry.get("like_vgg_adamw"), 37, seed=0, precision=precision)
    assert isinstance(model, LayerChain) and model.dtype_policy.name == precision
    assert model.count_params() == build_model("like_vgg", 37, seed=0).count_params()
