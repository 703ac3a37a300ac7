"""A trained model rebuilt from stock Keras layers, so that plain Keras loads it.

The from-scratch models use kerasketch's own Conv2D, Dense, MaxPooling2D, Flatten and BatchNormalization
(one fused torch call each, :mod:`kerasketch.models.layers`) and its
PyTorch-style bias initialiser; a ``.keras`` file that names them loads only
where ``kerasketch.models`` has been imported. For inference those layers
compute what Keras' own do, so the copy swaps each for its Keras base class
with the same configuration and weights. Initialisers only matter for
training a fresh model and are reset to Keras' defaults.
"""

from __future__ import annotations

import keras
import numpy as np

from kerasketch.errors import RunError

#: The stock classes our layers derive from, most specific first.
_STOCK = (
    keras.layers.Conv2D,
    keras.layers.BatchNormalization,
    keras.layers.Dense,
    keras.layers.MaxPooling2D,
    keras.layers.Flatten,
)
#: How far the copy's logits may stray from the original's, relative to the largest logit: Keras'
#: convolution sums in another order than torch's channels_last kernel (ts_cnn: 4.9e-6 of 1.6).
TOLERANCE = 1e-5
#: The same under mixed_bfloat16: an 8-bit mantissa rounds each layer's output, and Keras' kernels and
#: torch's fused ones round in other orders, ten layers deep (like_vgg: 0.0625 on logits below 1). A
#: conversion fault (a weight in the wrong layer, a layer dropped) moves the logits by their whole size.
BFLOAT16_TOLERANCE = 0.25


def _stock_layer(layer: keras.Layer) -> keras.Layer:
    stock = next((cls for cls in _STOCK if isinstance(layer, cls)), type(layer))
    config = layer.get_config()
    for key in ("kernel_initializer", "bias_initializer"):  # ours name kerasketch's TorchDefaultBias
        config.pop(key, None)
    return stock.from_config(config)


def foreign_layers(model: keras.Model) -> list[str]:
    """The modules of ``model``'s layers that stock Keras would not have after the swap (none for the from-scratch models)."""
    stocked = (type(layer) for layer in model.layers if not isinstance(layer, _STOCK))
    return sorted({cls.__module__ for cls in stocked if not cls.__module__.startswith("keras.")})


def stock_model(model: keras.Model, check: np.ndarray) -> keras.Model:
    """A copy of ``model`` made of stock Keras layers, checked to give the same logits on ``check``."""
    foreign = foreign_layers(model)
    if foreign:
        raise RunError(
            f"{model.name} has layers stock Keras does not have ({', '.join(foreign)})",
            "export it with --format onnx, or load it where kerasketch is installed",
        )
    copy = keras.models.clone_model(model, clone_function=_stock_layer)
    copy.set_weights(model.get_weights())
    want = np.asarray(model.predict_on_batch([check]), dtype=np.float32)  # a list, as its one input is
    got = np.asarray(copy.predict_on_batch([check]), dtype=np.float32)
    worst = float(np.abs(got - want).max())
    # The layers' own policies: a functional wrapper made outside the policy's scope reports float32.
    computes = {layer.dtype_policy.compute_dtype for layer in model.layers}
    tolerance = TOLERANCE if computes <= {"float32"} else BFLOAT16_TOLERANCE
    if worst > tolerance * max(1.0, float(np.abs(want).max())):
        raise RunError(
            f"the stock-layer copy of {model.name} differs from it by {worst:.3g} in its logits",
            "this is a bug in kerasketch's export; export --format onnx instead and report it",
        )
    return copy
