"""``--precise-bn``: BatchNorm's statistics recomputed for the saved weights, on clean training drawings.

BatchNorm's moving statistics are averaged while the weights still move, on augmented batches (sketch_resnet's
RandomAffine), and under ``--ema`` for the raw weights while ``best.keras`` holds their average: Keras'
``use_ema`` averages the trainable variables only, and the statistics are not trainable. The fix is the one
``torch.optim.swa_utils.update_bn`` and fvcore's ``update_bn_stats`` make ("precise BN", Wu and Johnson
2021): forward passes in training mode over training drawings, with no weight changed, and every
BatchNormalization layer's statistics set to the plain average over those batches.

A run with the option does it once, after training, on rank 0: the best model is read back, its statistics
recomputed over up to :data:`~kerasketch.options.PRECISE_BN_BATCHES` batches of the recipe's size drawn
from the training split (no augmentation: the saved model has none), and written back in the same atomic
way the checkpoint writes it; the evaluation then scores that file. Doing it on the saved file, not in the training loop, keeps it apart
from every way the run trained (streamed or in memory, compiled or eager, on one rank or several, in any
precision).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np

from ..data.assembly import Dataset, Images
from ..options import PRECISE_BN_BATCHES
from .data_parallel import every_layer
from .inputs import Batches


def keras_norms(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    return [layer for layer in every_layer(model) if isinstance(layer, keras.layers.BatchNormalization)]


def torch_norms(model: keras.Model) -> list[Any]:
    """The torch BatchNorm modules inside the model's torch-module layers (the torchvision recipes)."""
    if keras.backend.backend() != "torch":  # the wrapper holds torch modules on the torch backend only
        return []
    import torch

    wrapper = keras.layers.TorchModuleWrapper

    kinds = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)
    return [
        m
        for layer in every_layer(model)
        if isinstance(layer, wrapper)
        for m in layer.module.modules()
        if isinstance(m, kinds)
    ]


def has_batch_norm(model: keras.Model) -> bool:
    return bool(keras_norms(model) or torch_norms(model))


def recompute(
    model: keras.Model, images: Images, batch_size: int, *, seed: int, batches: int = PRECISE_BN_BATCHES
) -> int:
    """Set every BatchNorm layer's statistics in ``model`` to their average over ``batches`` training-mode
    forward passes on ``images`` (drawn in a seeded order); the weights are left as they are. Returns the
    number of drawings used (0 where the model has no BatchNorm)."""
    ours, theirs = keras_norms(model), torch_norms(model)
    if not ours and not theirs:
        return 0
    feed = Batches(images, np.zeros(len(images), np.int64), batch_size, shuffle=True, seed=seed)
    momenta = [layer.momentum for layer in ours], [m.momentum for m in theirs]
    used = 0
    try:
        with no_grad(), warnings.catch_warnings():
            # A saved functional model names its input (a list of one); the batch is that input.
            warnings.filterwarnings("ignore", message="The structure of `inputs`")
            for k in range(min(batches, len(feed))):
                # The k-th batch (from 0) weighs 1 / (k + 1): the running value is the plain mean of the
                # batches so far, and the first batch replaces the statistics that training left.
                for layer in ours:
                    layer.momentum = k / (k + 1)
                for module in theirs:
                    module.momentum = 1 / (k + 1)  # torch's momentum is the new value's weight
                x = feed[k][0]
                model(x, training=True)
                used += len(x)
    finally:
        for layer, m in zip(ours, momenta[0]):
            layer.momentum = m
        for module, m in zip(theirs, momenta[1]):
            module.momentum = m
    return used


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """No autograd record of the forward passes on torch (nothing is differentiated); elsewhere a no-op."""
    if keras.backend.backend() != "torch":
        yield
        return
    import torch

    with torch.no_grad():
        yield


def refresh_best(run_dir: Path, dataset: Dataset, *, batch_size: int, seed: int) -> dict[str, Any]:
    """:func:`recompute` on the run folder's ``best.keras``, written back atomically when it has BatchNorm.

    Returns what ``eval.json`` records: the drawings used and the validation accuracy before and after."""
    from ..runs import folders
    from .callbacks import save_inference_model
    from .evaluate import predicted_scores

    path = run_dir / folders.BEST
    model = keras.saving.load_model(path, compile=False)
    if not has_batch_norm(model):
        return {"drawings": 0}

    def val_accuracy() -> float:
        return float(predicted_scores(model, dataset.x_val, dataset.y_val, dataset.num_classes)["accuracy"])

    before = val_accuracy()
    drawings = recompute(model, dataset.x_train, batch_size, seed=seed)
    after = val_accuracy()
    save_inference_model(model, path)
    return {"drawings": drawings, "val_accuracy_before": round(before, 6), "val_accuracy_after": round(after, 6)}


def describe(record: dict[str, Any]) -> str:
    """The run's line about it."""
    if not record.get("drawings"):
        return "--precise-bn: the model has no BatchNorm layer; nothing recomputed"
    return (
        f"BatchNorm statistics recomputed on {record['drawings']:,} training drawings: "
        f"val acc {record['val_accuracy_before']:.4f} -> {record['val_accuracy_after']:.4f}"
    )
