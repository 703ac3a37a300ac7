"""Our one callback, which writes run events, and Keras' EarlyStopping made resumable.

Everything else a run needs (checkpointing the best model, the CSV history,
backup and restore, stopping on NaN) is Keras' own; see ``training.run``.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from ..runs import events
from ..runs.eventlog import EventSink
from .system_metrics import SystemSampler


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' EarlyStopping, told where a resumed run stood.

    ``BackupAndRestore`` restores weights, optimiser and epoch but not the
    early-stopping counters, so a resumed run would otherwise forget its best
    value, its best epoch and how much patience it had used. The best weights
    come back from the best checkpoint, so that restoring them at the end
    still restores the best epoch's.
    """

    def __init__(self, *args, resume: tuple[float, int, int] | None = None, best_model: Path | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._resume = resume  # (best value, its 0-based epoch, epochs waited since)
        self._best_model = best_model

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self._resume is None:
            return
        self.best, self.best_epoch, self.wait = self._resume
        if self.restore_best_weights and self._best_model is not None and self._best_model.is_file():
            saved = keras.saving.load_model(self._best_model, compile=False).get_weights()
            self.best_weights = weights_of_saved(self.model, saved)


class BestModelCheckpoint(keras.callbacks.Callback):
    """Saves the inference model whenever ``monitor`` reaches a new maximum, as plain Keras, atomically.

    The file is what evaluation, prediction and export need and nothing
    else: no optimiser state (Adam's two slots per weight would triple
    vgg16_bn's file; the resumable state is BackupAndRestore's), no
    training-only augmentation layers, and Keras' own layer classes in place
    of kerasketch's fused ones (:mod:`kerasketch.models.stock`), so that
    ``keras.saving.load_model`` reads it where kerasketch is not installed.
    Models with layers stock Keras lacks (the torchvision recipes) are saved
    as they are. The file is written beside the final path and renamed, so a
    run killed mid-write keeps its previous best model intact.
    """

    def __init__(self, filepath: Path, *, monitor: str = "val_accuracy", initial_value_threshold: float | None = None):
        super().__init__()
        self.final_path = Path(filepath)
        self.monitor = monitor
        self.best = -math.inf if initial_value_threshold is None else float(initial_value_threshold)

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None or not float(current) > self.best:
            return
        self.best = float(current)
        save_inference_model(self.model, self.final_path)


def inference_model(model: keras.Model) -> keras.Model:
    """``model`` as it is saved: without augmentation, in stock Keras layers where it can be."""
    from ..models.augment import without_augmentation
    from ..models.stock import foreign_layers, stock_model

    inner = without_augmentation(model)
    # A functional twin sharing the layers, uncompiled: a clone of a compiled model is compiled, and its
    # file would then name kerasketch's optimiser and metric.
    network = keras.Model(inner.inputs, inner.outputs, name=inner.name)
    if foreign_layers(network):
        return network
    check = np.random.default_rng(0).random((2, *network.input_shape[1:]), dtype=np.float32)
    return stock_model(network, check)


def save_inference_model(model: keras.Model, path: Path) -> None:
    """:func:`inference_model` of ``model`` written to ``path`` (a ``.keras`` file) atomically."""
    partial = path.with_name(f".{path.stem}.partial.keras")
    inference_model(model).save(partial)
    os.replace(partial, path)


def weights_of_saved(model: keras.Model, saved: list) -> list:
    """The weights of the training ``model`` with its network's taken from a saved inference model's ``saved``.

    Best models saved before augmentation was left out of them hold the
    training model's own list, which is returned as it is.
    """
    from ..models.augment import without_augmentation

    network = without_augmentation(model)
    if network is model or len(saved) != len(network.get_weights()):
        return saved  # no augmentation (both files hold the same list), or an old file of the whole training model
    current = network.get_weights()
    network.set_weights(saved)
    try:
        return model.get_weights()
    finally:
        network.set_weights(current)


class RunEvents(keras.callbacks.Callback):
    """Emits ``batch`` and ``epoch`` events (see :mod:`kerasketch.runs.events`).

    Must come after the EarlyStopping callback in the list, so that the
    patience it reports already counts the epoch that just ended.
    """

    def __init__(
        self,
        sink: EventSink,
        run: str,
        steps: int,
        early_stopping: ResumableEarlyStopping,
        *,
        batch_interval: float = 0.5,
        images: int | None = None,
    ):
        super().__init__()
        self.sink = sink
        self.run = run
        self.steps = steps
        self.early_stopping = early_stopping
        self.batch_interval = batch_interval
        self.images = images  # training images per epoch, for the images per second
        self.system = SystemSampler()
        self._epoch_started = 0.0
        self._last_batch = 0.0
        self._train_ended = 0.0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_started = self._last_batch = self._train_ended = time.perf_counter()
        self.system.begin()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        self._train_ended = now  # the epoch's validation is not training: images per second stop here
        if now - self._last_batch < self.batch_interval and batch + 1 < self.steps:
            return
        self._last_batch = now
        self.system.poll()
        self.sink.emit(
            events.make(
                "batch",
                self.run,
                epoch=self._epoch + 1,
                step=batch + 1,
                steps=self.steps,
                metrics=_floats(logs),
            )
        )

    def on_epoch_end(self, epoch, logs=None):
        es = self.early_stopping
        best = None if es.best is None else float(es.best)
        self.sink.emit(
            events.make(
                "epoch",
                self.run,
                epoch=epoch + 1,
                metrics=_floats(logs),
                lr=float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
                seconds=round(time.perf_counter() - self._epoch_started, 3),
                best_epoch=es.best_epoch + 1 if best is not None else None,
                best_val_accuracy=best,
                patience_left=max(es.patience - es.wait, 0),
                system=self.system.end(self.images or 0, self._train_ended - self._epoch_started) or None,
            )
        )


def _floats(logs) -> dict[str, float]:
    out = {}
    for key, value in (logs or {}).items():
        try:
            out[key] = float(keras.ops.convert_to_numpy(value))
        except (TypeError, ValueError):
            continue
    return out
