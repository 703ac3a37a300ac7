"""A stack of layers run through their own ``call`` methods: the forward pass without per-layer ``__call__``.

A functional model runs each layer through ``Layer.__call__``, which on every
call resolves the training flag, checks the input spec, opens name and
autocast scopes, tracks masks and converts arguments: Python work per layer
and per step that, for the small from-scratch models, is a visible share of
the step (measured in docs/results/speed.md). :class:`LayerChain` is a
functional model whose ``call`` runs its layers' ``call`` methods in order,
inside the one ``__call__`` of the model itself (which casts the input and
opens the autocast scope for the whole stack, as it does for a functional
model's layers).

It takes that path only where it computes what the functional graph does: one
input and one output, every layer called once on the previous layer's output
alone (found through the public ``input`` and ``output`` of each layer),
no nested model, every layer with the model's dtype policy and without an
activity regulariser (which ``__call__`` would add). kerasketch's model
builders call each layer on its input alone, so they never hide arguments in
the graph. Any other graph runs as Keras runs it. Saved models are plain
functional ones (``training.callbacks.inference_model``): nothing of this
reaches a file.
"""

from __future__ import annotations

import inspect
from typing import Any

import keras

#: (layer, whether its ``call`` takes ``training``), in the order the graph runs them.
Chain = tuple[tuple[keras.layers.Layer, bool], ...]


def chain_of(model: keras.Model) -> Chain | None:
    """The layers of ``model`` in order where it is one unbranched chain that :class:`LayerChain` may run."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        return None
    x = model.inputs[0]
    chain = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model) or not layer.built or layer.activity_regularizer is not None:
            return None
        if layer.dtype_policy.name != model.dtype_policy.name:
            return None
        try:
            given, made = layer.input, layer.output  # of the layer's first call: this graph's, if it is a chain
        except (AttributeError, ValueError):
            return None
        if given is not x or not isinstance(made, keras.KerasTensor):
            return None
        chain.append((layer, "training" in inspect.signature(layer.call).parameters))
        x = made
    return tuple(chain) if chain and x is model.outputs[0] else None


class LayerChain(keras.Model):
    """A functional model whose forward pass calls each layer's ``call`` directly where it is a chain.

    Built from a model's inputs and outputs, sharing its layers and weights:
    ``LayerChain(inputs=m.inputs, outputs=m.outputs, name=m.name)``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chain = chain_of(self)

    def call(self, inputs, training=None, mask=None):
        if self.chain is None or mask is not None:
            return super().call(inputs, training=training, mask=mask)
        # What the first layer's __call__ would do: arrays become tensors, floats the layers' compute dtype.
        x = keras.ops.convert_to_tensor(inputs)
        if keras.backend.is_float_dtype(x.dtype) and keras.backend.standardize_dtype(x.dtype) != self.compute_dtype:
            x = keras.ops.cast(x, self.compute_dtype)
        for layer, takes_training in self.chain:
            x = layer.call(x, training=training) if takes_training else layer.call(x)
        return x
