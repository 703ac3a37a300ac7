"""Training a linear stack of built layers without Keras' per-layer call machinery.

A functional model runs each layer through ``Layer.__call__``, which on every
call resolves the training flag, checks the input spec, opens name and
autocast scopes, tracks masks and converts arguments. For the four
from-scratch models that is about 0.13 ms of Python per layer, around 2 ms of
like_vgg's 39 ms training step on 2 CPU cores (measured: its forward pass in
training mode, 12.7 ms through the model against 10.5 ms calling each layer's
``call``), enough to put it behind the original's plain PyTorch loop.

:func:`for_training` gives such a model a twin that shares its layers and
weights and whose ``call`` runs the layers' own ``call`` methods in order.
It is used only when that is the same computation: every layer is used once,
the graph is a single chain with no extra call arguments, and every layer has
the model's dtype policy, one computing in a dtype the fused kernels run
(``layers.FUSED_DTYPES``: float32, mixed_bfloat16). Under the mixed policy
the model's own ``__call__`` opens the autocast scope in which each layer
reads its float32 weights as bfloat16, and the twin casts a layer's input to
the layer's compute dtype where it differs: the two things ``__call__`` would
have done per layer. Any other model is returned unchanged. Models are saved
as plain functional models (see ``BestModelCheckpoint``), so nothing of this
reaches a file.

The twin also trains and validates with :mod:`.chain_step`'s steps, which
compute Keras' loss and metrics for ``compile_model``'s compile as a few
torch ops instead of Keras' generic ones.
"""

from __future__ import annotations

import inspect

import keras

from kerasketch.active_backend import on_torch
from kerasketch.models import chain_step
from kerasketch.models.layers import FUSED_DTYPES


class LayerChain(keras.Model):
    """A functional model whose forward pass calls each layer's ``call`` directly."""

    def __init__(self, inputs, outputs, name=None, *, chain=(), cast_to=None):
        super().__init__(inputs, outputs, name=name)
        # (layer, whether its call takes `training`), in graph order.
        self._chain = tuple(chain)
        # The torch dtype the layers compute in under a mixed policy (each input is cast to it, as
        # Layer.__call__ would); None under float32, where the inputs need no cast.
        self._cast_to = cast_to
        self._lean: chain_step.LeanPlan | None = None  # what the lean steps update (chain_step.lean_plan)

    def compile(self, *args, **kwargs):
        super().compile(*args, **kwargs)
        self._lean = None

    def lean_forward(self, inputs, training: bool):
        """The lean steps' forward pass: ``call`` itself under float32.

        ``Layer.__call__`` then adds only checks (0.25 ms of the baseline's step); under the
        mixed policy it opens the autocast scope the layers read their weights through.
        """
        if self._cast_to is None:
            return self.call(inputs, training=training)
        return self(inputs, training=training)

    def _lean_plan(self) -> chain_step.LeanPlan | None:
        if self._lean is None:
            self._lean = chain_step.lean_plan(self)
        return self._lean

    def train_step(self, data):
        plan = self._lean_plan()
        logs = None if plan is None else chain_step.train_step(self, plan, data)
        return super().train_step(data) if logs is None else logs

    def test_step(self, data):
        plan = self._lean_plan()
        logs = None if plan is None else chain_step.test_step(self, plan, data)
        return super().test_step(data) if logs is None else logs

    def call(self, inputs, training=None, mask=None):
        if mask is not None:
            return super().call(inputs, training=training, mask=mask)
        # A functional model takes arrays too (its layers' __call__ converts them); so does its twin.
        x, cast_to = keras.ops.convert_to_tensor(inputs), self._cast_to
        for layer, takes_training in self._chain:
            if cast_to is not None and x.dtype != cast_to:
                x = x.to(cast_to)
            x = layer.call(x, training=training) if takes_training else layer.call(x)
        return x


def _chain_of(model: keras.Model) -> list[tuple[keras.Layer, bool]] | None:
    """The model's layers in order if it is one unbranched chain of plain calls, else None."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        return None
    x = model.inputs[0]
    chain = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        nodes = layer._inbound_nodes
        if len(nodes) != 1 or not layer.built:
            return None
        node = nodes[0]
        # Keras records BatchNormalization's default `mask=None`; any real argument disqualifies.
        extra = any(value is not None for value in node.arguments.kwargs.values())
        if extra or len(node.input_tensors) != 1 or node.input_tensors[0] is not x:
            return None
        if len(node.output_tensors) != 1 or layer.dtype_policy.name != model.dtype_policy.name:
            return None
        if getattr(layer, "activity_regularizer", None) is not None:  # Layer.__call__ adds it, the twin would not
            return None
        chain.append((layer, "training" in inspect.signature(layer.call).parameters))
        x = node.output_tensors[0]
    return chain if x is model.outputs[0] else None


def for_training(model: keras.Model) -> keras.Model:
    """A :class:`LayerChain` twin of ``model`` where that computes the same thing, else ``model``."""
    # A twin is made where the layers compute in a dtype the fused kernels run (float32, mixed_bfloat16).
    if not on_torch() or model.dtype_policy.compute_dtype not in FUSED_DTYPES:
        return model
    chain = _chain_of(model)
    if chain is None:
        return model
    import torch

    compute = model.dtype_policy.compute_dtype
    return LayerChain(
        model.inputs,
        model.outputs,
        name=model.name,
        chain=chain,
        cast_to=None if compute == "float32" else getattr(torch, compute),
    )
