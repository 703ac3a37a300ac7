"""What ``model.fit`` gets in a run: the compiled model, the batches and the callbacks.

Kept apart from the run's bookkeeping so that the training benchmark runs
exactly this path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ..events import EventSink
from ..recipes.base import Recipe
from . import rundir
from .callbacks import BestModelCheckpoint, ResumableEarlyStopping, RunEvents
from .inputs import Batches


def compile_model(recipe: Recipe, num_classes: int, seed: int) -> keras.Model:
    """The recipe's model, loss, optimiser and metrics, initialised from ``seed``."""
    from ..losses import build_loss
    from ..models import build_model
    from ..optimizers import build_optimizer

    keras.utils.set_random_seed(seed)
    model = build_model(
        recipe.model, num_classes, recipe.image_size,
        weights=recipe.weights, l2=recipe.l2, seed=seed, **recipe.model_options,
    )
    model.compile(
        optimizer=build_optimizer(recipe.optimizer, **recipe.optimizer_settings),
        loss=build_loss(recipe.loss, num_classes),
        metrics=[
            keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
            keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3_accuracy"),
        ],
    )
    return model


@dataclass
class FitPlan:
    train: Batches
    val: Batches
    callbacks: list[keras.callbacks.Callback]
    early_stopping: ResumableEarlyStopping


def plan_fit(
    recipe: Recipe,
    x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
    *, run_dir: Path, sink: EventSink, name: str, seed: int,
    initial_epoch: int = 0, resume: tuple[float, int, int] | None = None,
) -> FitPlan:
    """Batches and Keras' callbacks writing into ``run_dir``, plus our events callback.

    ``resume`` is (best val_accuracy, its 0-based epoch, epochs waited since)
    of a resumed run, from its CSV history.
    """
    train = Batches(x_train, y_train, recipe.batch_size, shuffle=True, seed=seed, start_epoch=initial_epoch)
    val = Batches(x_val, y_val, max(recipe.batch_size, 256), shuffle=False)
    early = ResumableEarlyStopping(
        monitor="val_accuracy", mode="max", patience=recipe.patience, restore_best_weights=True,
        resume=resume, best_model=run_dir / rundir.BEST,
    )
    callbacks = [
        keras.callbacks.BackupAndRestore(str(run_dir / rundir.BACKUP), delete_checkpoint=True),
        early,
        BestModelCheckpoint(
            str(run_dir / rundir.BEST), monitor="val_accuracy", mode="max", save_best_only=True,
            initial_value_threshold=resume[0] if resume else None,
        ),
        keras.callbacks.CSVLogger(str(run_dir / rundir.HISTORY), append=True),
        keras.callbacks.TerminateOnNaN(),
        RunEvents(sink, name, len(train), early),  # after EarlyStopping: it reports its patience
    ]
    return FitPlan(train, val, callbacks, early)


def fit(model: keras.Model, plan: FitPlan, epochs: int) -> keras.callbacks.History:
    # shuffle=False: Batches shuffles itself from (seed, epoch); Keras' own shuffling of
    # the batch order draws from the global RNG, which a resumed process does not share.
    return model.fit(plan.train, validation_data=plan.val, epochs=epochs, callbacks=plan.callbacks, verbose=0, shuffle=False)
