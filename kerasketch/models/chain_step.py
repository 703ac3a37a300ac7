"""LayerChain's training and validation steps: Keras' torch steps with the loss and accuracy as a few torch ops.

Keras' torch ``train_step`` computes the loss through ``CompileLoss`` and
``Loss.__call__`` and updates the loss tracker and the accuracy through
``Mean.update_state``: some forty generic ops, each converting and checking
its arguments in Python. On the baseline's step (4.6 ms on 2 CPU cores) that
was 0.55 ms, more than the gap to the original's PyTorch loop. For what
``compile_model`` compiles with cross-entropy (Keras'
``SparseCategoricalCrossentropy`` on logits, averaged over the batch, and
kerasketch's accuracy) these steps compute the same numbers directly:

* the loss: torch's per-drawing cross-entropy (the op Keras' loss calls),
  summed and divided by the batch size as Keras' ``sum_over_batch_size``
  does, plus the layers' regularisation losses added through Keras' own ops;
* the loss tracker: total += loss x batch, count += batch (Keras' ``Mean``
  weighted by the batch size);
* the accuracy: total += drawings whose argmax is the label, count += batch.

Losses, weights and logs are bit-identical to Keras' steps
(``tests/models/test_chain_step.py``). Anything else (another loss or metric,
loss weights, sample weights, labels that are not a vector, ``jit_compile``,
where torch.compile removes the Python anyway) runs Keras' own step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import keras

from kerasketch.metrics import SparseCategoricalAccuracy

if TYPE_CHECKING:
    from kerasketch.models.chain import LayerChain

# Keras' SparseCategoricalCrossentropy(from_logits=True) as compile_model makes it.
_LOGITS_CROSS_ENTROPY = {"from_logits": True, "ignore_class": None, "axis": -1}


@dataclass(frozen=True)
class LeanPlan:
    """What the lean steps update and read, gathered once per compile."""

    tracker: Any
    accuracy: Any
    # The trainable weights, gathered once: Keras' property walks every layer each step, and a change
    # of `trainable` takes effect at the next compile (which makes a new plan), as Keras documents.
    weights: tuple[Any, ...]
    # Whether any weight has a regulariser: Model.losses walks every layer and weight each step
    # to find none. (The chain holds no layer with an activity regulariser or other added loss.)
    regularised: bool


def lean_plan(model: LayerChain) -> LeanPlan | None:
    """The lean steps' plan where the model's compile allows them, else None.

    None too before Keras has built the compiled metrics (its first step builds them).
    """
    loss, compiled = model.loss, model._compile_metrics
    if model.jit_compile or model._compile_loss is None or model._compile_loss._user_loss_weights is not None:
        return None
    if type(loss) is not keras.losses.SparseCategoricalCrossentropy or loss._fn_kwargs != _LOGITS_CROSS_ENTROPY:
        return None
    if loss.reduction != "sum_over_batch_size" or loss.dtype != "float32":
        return None
    if compiled is None or not compiled.built or len(model.metrics) != 2:
        return None
    metrics = compiled.metrics
    if len(metrics) != 1 or type(metrics[0]) is not SparseCategoricalAccuracy or metrics[0].dtype != "float32":
        return None
    weights = tuple(model.trainable_weights)
    if not weights:
        return None  # Keras' step warns that there is nothing to train
    regularised = any(w.regularizer is not None for w in weights)
    return LeanPlan(model._loss_tracker, metrics[0], weights, regularised)


def _predict(model: LayerChain, data, training: bool) -> tuple[Any, Any] | None:
    """(logits, labels) for a batch the lean steps take (one input, a label vector, no sample weights), else None."""
    import torch

    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    if sample_weight is not None or not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        return None
    if y.ndim != 1 or y.dtype.is_floating_point:
        return None
    return model.lean_forward(x, training=training), y


def _loss(model: LayerChain, plan: LeanPlan, y_pred, labels):
    import torch.nn.functional as F

    # Keras' loss reads the logits as float32 (the loss' dtype) and averages as sum / batch size.
    values = F.cross_entropy(y_pred.float(), labels.long(), reduction="none")
    loss = values.sum() / values.numel()
    extra = model.losses if plan.regularised else ()
    if extra:  # as Trainer.compute_loss adds them: each summed, then all summed at once
        loss = keras.ops.sum([loss, *(model._aggregate_additional_loss(term) for term in extra)])
    return loss


def _count(plan: LeanPlan, loss, y_pred, labels) -> dict[str, Any]:
    """Both metrics updated as Keras' Mean would, and their results (no gradient)."""
    import torch

    tracker, accuracy = plan.tracker, plan.accuracy
    batch = labels.shape[0]
    with torch.no_grad():
        tracker.total.value.add_(loss.detach() * batch)
        tracker.count.value.add_(batch)
        accuracy.total.value.add_((y_pred.argmax(dim=-1) == labels).sum())
        accuracy.count.value.add_(batch)
        return {
            tracker.name: tracker.total.value / tracker.count.value,
            accuracy.name: accuracy.total.value / accuracy.count.value,
        }


def train_step(model: LayerChain, plan: LeanPlan, data) -> dict[str, Any] | None:
    """Keras' torch ``train_step`` for ``data``, or None where the batch needs Keras' own."""
    import torch

    predicted = _predict(model, data, training=True)
    if predicted is None:
        return None
    y_pred, labels = predicted
    model.zero_grad()
    loss = _loss(model, plan, y_pred, labels)
    logs = _count(plan, loss, y_pred, labels)
    model.optimizer.scale_loss(loss).backward()
    weights = plan.weights
    with torch.no_grad():
        model.optimizer.apply([w.value.grad for w in weights], weights)
    return logs


def test_step(model: LayerChain, plan: LeanPlan, data) -> dict[str, Any] | None:
    """Keras' torch ``test_step`` for ``data``, or None where the batch needs Keras' own."""
    predicted = _predict(model, data, training=False)
    if predicted is None:
        return None
    y_pred, labels = predicted
    return _count(plan, _loss(model, plan, y_pred, labels), y_pred, labels)
