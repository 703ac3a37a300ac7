"""LayerChain: the chain models train through their layers' own calls, and compute what Keras' graph does."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerasketch.models.chain import LayerChain, chain_of
from kerasketch.recipes import registry
from kerasketch.training.fit import compile_model

pytestmark = pytest.mark.torch_only("compile_model makes the chain on the torch backend only")


def _plain_twin(model: keras.Model) -> keras.Model:
    """The same layers as a plain functional model, compiled alike (each layer through its __call__)."""
    twin = keras.Model(model.inputs, model.outputs, name=model.name)
    twin.compile(optimizer=type(model.optimizer).from_config(model.optimizer.get_config()), loss=model.loss, metrics=[])
    return twin


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("recipe", ["baseline", "ts_cnn", "like_vgg_adamw", "ai_inno_cnn"])
def test_a_chain_model_trains_as_its_functional_graph_does(recipe, precision):
    chained = compile_model(registry.get(recipe), 5, seed=0, precision=precision)
    assert isinstance(chained, LayerChain) and chained.chain is not None
    plain = _plain_twin(chained)
    rng = np.random.default_rng(0)
    x = rng.random((16, *chained.input_shape[1:]), dtype=np.float32)
    y = rng.integers(0, 5, 16)
    for training in (False, True):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(chained(x, training=training)),
            keras.ops.convert_to_numpy(plain(x, training=training)),
        )
    # Two steps each from the same weights (BatchNorm statistics and optimiser state included).
    start = [w.copy() for w in chained.get_weights()]
    chained.train_on_batch(x, y)
    chained.train_on_batch(x, y)
    after_chain = chained.get_weights()
    plain.set_weights(start)
    plain.train_on_batch(x, y)
    plain.train_on_batch(x, y)
    for a, b in zip(after_chain, plain.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_sketch_resnet_and_other_graphs_run_as_keras_runs_them():
    # Residual adds and the augmentation wrapper: not a chain.
    assert compile_model(registry.get("sketch_resnet"), 5, seed=0).chain is None
    images = keras.Input((4,))
    shared = keras.layers.Dense(4)
    twice = keras.Model(images, shared(shared(images)))
    assert chain_of(twice) is None, "a layer called twice"
    dense = keras.layers.Dense(4)
    hidden = dense(images)
    branched = keras.Model(images, keras.layers.Add()([hidden, keras.layers.Dense(4)(hidden)]))
    assert chain_of(branched) is None
    regularised = keras.Model(images, keras.layers.Dense(3, activity_regularizer="l2")(images))
    assert chain_of(regularised) is None, "__call__ adds the activity loss, the chain would not"
    simple = keras.Model(images, keras.layers.Dense(3)(keras.layers.Dense(4)(images)))
    assert chain_of(simple) is not None
    x = np.ones((2, 4), np.float32)
    wrapped = LayerChain(inputs=branched.inputs, outputs=branched.outputs)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(wrapped(x)), keras.ops.convert_to_numpy(branched(x)))
