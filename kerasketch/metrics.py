"""The training accuracy, counted right under mixed precision.

Keras' ``SparseCategoricalAccuracy`` casts the integer labels to the logits'
dtype before comparing them with the argmax. Under ``mixed_bfloat16`` the
logits are bfloat16, whose 8 significant bits hold every integer only up to
256: above it labels round to even numbers, so with 345 classes a prediction
of 301 for a drawing of class 300 counted as right, inflating the training
and validation accuracy that early stopping and the best checkpoint go by.
This one compares in float32 (exact for any class index), on every backend.

Training batches mixed by ``--mixup`` or ``--cutmix`` carry soft labels (rows
of class shares): a drawing then counts as right where the prediction is the
class of its larger share.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasketch")
class SparseCategoricalAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Keras' sparse accuracy with the logits widened to float32 first (argmax unchanged, labels exact)."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        if len(y_true.shape) == 2 and (y_true.shape[-1] or 0) > 1:  # soft labels: the larger share's class
            y_true = ops.argmax(y_true, axis=-1)
        return super().update_state(y_true, ops.cast(y_pred, "float32"), sample_weight=sample_weight)
