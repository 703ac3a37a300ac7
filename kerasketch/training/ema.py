"""``--ema``: an exponential moving average of the weights, validated, checkpointed and kept in their place.

Keras has both halves: the optimiser's ``use_ema=True`` keeps the average
(``average = momentum * average + (1 - momentum) * weights`` after every
step, in float32 slots beside the optimiser's own; every kerasketch optimiser
takes it, the PyTorch-rule Adam and AdamW included, since they are Keras
optimisers that only replace ``update_step``), and
``keras.callbacks.SwapEMAWeights(swap_on_epoch=True)`` swaps the average
into the model for validation and at each epoch's end, so that early
stopping, the best checkpoint and the epoch's events see the averaged
weights.

What Keras' callback leaves open is the backup: swapped in at the epoch's
end, the averaged weights would be written by ``BackupAndRestore`` as the
model's, the raw ones as the average, and a resumed run (whose new callback
does not know they were swapped) would train on from the average.
:class:`RawWeightsBack` therefore swaps the raw weights back before the
backup is written, so a backup always holds the raw weights in the model
and the average in the optimiser, as an uninterrupted run has them. When
``fit`` ends the optimiser puts the average into the model
(``finalize_variable_values``), and early stopping's ``restore_best_weights``
then restores the best epoch's averaged weights.

Under data parallelism every rank keeps the same average of the same
weights (its optimiser steps with the all-reduced gradients) and swaps
alike; rank 0's optimiser state, average included, is broadcast at the
start (``SyncRanks``).
"""

from __future__ import annotations

from typing import Any

import keras


def optimizer_settings(momentum: float | None) -> dict[str, Any]:
    """The optimiser arguments for an average of ``momentum`` (None: no average)."""
    return {} if momentum is None else {"use_ema": True, "ema_momentum": float(momentum)}


def callbacks() -> tuple[keras.callbacks.Callback, keras.callbacks.Callback]:
    """(first, before_backup): Keras' swap, to go first in the callback list (the others then see the
    averaged weights at each epoch's end), and the swap back, to go just before ``BackupAndRestore``."""
    swap = keras.callbacks.SwapEMAWeights(swap_on_epoch=True)
    return swap, RawWeightsBack(swap)


class RawWeightsBack(keras.callbacks.Callback):
    """Puts the raw weights back into the model at an epoch's end, after the callbacks that read the
    averaged ones, so that the backup written next holds them (see the module's docstring).

    It is ``SwapEMAWeights``' own swap back, which Keras would otherwise do at the next epoch's start.
    """

    def __init__(self, swap: keras.callbacks.SwapEMAWeights):
        super().__init__()
        self.swap = swap

    def on_epoch_end(self, epoch, logs=None):
        self.swap.on_epoch_begin(epoch + 1)
