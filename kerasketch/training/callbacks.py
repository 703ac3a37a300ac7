"""Our one callback, which writes run events, and Keras' EarlyStopping made resumable.

Everything else a run needs (checkpointing the best model, the CSV history,
backup and restore, stopping on NaN) is Keras' own; see ``training.run``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import keras

from .. import events
from ..events import EventSink


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
            self.best_weights = keras.saving.load_model(self._best_model, compile=False).get_weights()


class BestModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """Keras' ModelCheckpoint, saving the model without its optimiser state, atomically.

    A ``.keras`` file of a compiled model holds the optimiser's slots too:
    Adam's two per trainable parameter would add 0.96 GB to vgg16_bn's 0.48 GB
    of weights. The best model is for evaluation and reuse, so the checkpoint
    saves an uncompiled functional twin that shares the trained layers. (The
    resumable state, optimiser included, is BackupAndRestore's.) Keras writes
    in place; writing beside the file and renaming means a run killed
    mid-write keeps its previous best model intact.
    """

    def __init__(self, filepath: Path, **kwargs):
        self.final_path = Path(filepath)
        self._partial = self.final_path.with_name(f".{self.final_path.stem}.partial.keras")
        super().__init__(str(self._partial), **kwargs)

    def set_model(self, model):
        super().set_model(keras.Model(model.inputs, model.outputs, name=model.name))

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self._partial.exists():
            os.replace(self._partial, self.final_path)


class RunEvents(keras.callbacks.Callback):
    """Emits ``batch`` and ``epoch`` events (see :mod:`kerasketch.events`).

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
    ):
        super().__init__()
        self.sink = sink
        self.run = run
        self.steps = steps
        self.early_stopping = early_stopping
        self.batch_interval = batch_interval
        self._epoch_started = 0.0
        self._last_batch = 0.0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_started = self._last_batch = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if now - self._last_batch < self.batch_interval and batch + 1 < self.steps:
            return
        self._last_batch = now
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
