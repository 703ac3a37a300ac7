"""What ``model.fit`` gets in a run: the compiled model, the batches and the callbacks.

Kept apart from the run's bookkeeping so that the training benchmark runs
exactly this path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ..events import EventSink
from ..recipes.base import Recipe
from . import rundir
from .callbacks import BestModelCheckpoint, ResumableEarlyStopping, RunEvents
from .inputs import Batches


def compile_model(recipe: Recipe, num_classes: int, seed: int, *, jit_compile: bool = False) -> keras.Model:
    """The recipe's model, loss, optimiser and metrics, initialised from ``seed``.

    ``jit_compile`` hands the training and prediction steps to
    ``torch.compile``: on 2 CPU cores like_vgg's first epoch then spends about
    a minute compiling and the following ones train about 1.2x faster, so it
    pays for runs longer than a few minutes, not for short ones.
    """
    from ..losses import build_loss
    from ..models import build_model
    from ..models.chain import for_training
    from ..optimizers import build_optimizer

    keras.utils.set_random_seed(seed)
    model = for_training(
        build_model(
            recipe.model,
            num_classes,
            recipe.image_size,
            weights=recipe.weights,
            l2=recipe.l2,
            seed=seed,
            **recipe.model_options,
        )
    )
    model.compile(
        optimizer=build_optimizer(recipe.optimizer, **recipe.optimizer_settings),
        loss=build_loss(recipe.loss, num_classes),
        # Accuracy only, as the original tracked: every training metric costs work on
        # every step. Top-3 accuracy is part of the evaluation instead.
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile,
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
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    run_dir: Path,
    sink: EventSink,
    name: str,
    seed: int,
    initial_epoch: int = 0,
    resume: tuple[float, int, int] | None = None,
) -> FitPlan:
    """Batches and Keras' callbacks writing into ``run_dir``, plus our events callback.

    ``resume`` is (best val_accuracy, its 0-based epoch, epochs waited since)
    of a resumed run, from its CSV history.
    """
    train = Batches(x_train, y_train, recipe.batch_size, shuffle=True, seed=seed, start_epoch=initial_epoch)
    val = Batches(x_val, y_val, max(recipe.batch_size, 256), shuffle=False)
    early = ResumableEarlyStopping(
        monitor="val_accuracy",
        mode="max",
        patience=recipe.patience,
        restore_best_weights=True,
        resume=resume,
        best_model=run_dir / rundir.BEST,
    )
    callbacks = [
        early,
        BestModelCheckpoint(
            run_dir / rundir.BEST,
            monitor="val_accuracy",
            mode="max",
            save_best_only=True,
            initial_value_threshold=resume[0] if resume else None,
        ),
        keras.callbacks.CSVLogger(str(run_dir / rundir.HISTORY), append=True),
        keras.callbacks.TerminateOnNaN(),
        RunEvents(sink, name, len(train), early),  # after EarlyStopping: it reports its patience
        # Last, so that an epoch's backup exists only once its history row, best
        # model and event are written; two copies, so that a kill while writing
        # one leaves the previous one to resume from.
        keras.callbacks.BackupAndRestore(str(run_dir / rundir.BACKUP), delete_checkpoint=True, double_checkpoint=True),
    ]
    return FitPlan(train, val, callbacks, early)


def fit(model: keras.Model, plan: FitPlan, epochs: int) -> keras.callbacks.History:
    # shuffle=False: Batches shuffles itself from (seed, epoch); Keras' own shuffling of
    # the batch order draws from the global RNG, which a resumed process does not share.
    return model.fit(
        plan.train, validation_data=plan.val, epochs=epochs, callbacks=plan.callbacks, verbose=0, shuffle=False
    )


def resume_point(run_dir: Path) -> int:
    """The number of finished epochs a run resumes after (0 for a new run).

    Settles the backup first, the way BackupAndRestore would when it starts:
    a latest checkpoint that a kill left unreadable gives way to the previous
    one. The history is cut to the same epoch, since the epoch after the
    backup (if its row was written) will run again.
    """
    import json

    import h5py

    backup = run_dir / rundir.BACKUP
    latest, meta = backup / "latest.weights.h5", backup / "training_metadata.json"
    try:
        with h5py.File(latest, "r") as f:
            f.visit(lambda name: None)
        epoch = int(json.loads(meta.read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        previous = backup / "latest.weights.h5.bkp"
        if not previous.exists():
            return 0
        os.replace(previous, latest)
        if (backup / "training_metadata.json.bkp").exists():
            os.replace(backup / "training_metadata.json.bkp", meta)
        try:
            epoch = int(json.loads(meta.read_text())["epoch"])
        except (OSError, ValueError, KeyError):
            return 0
    _truncate_csv(run_dir / rundir.HISTORY, epoch)
    return epoch


def _truncate_csv(path: Path, rows: int) -> None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except FileNotFoundError:
        return
    if len(lines) > rows + 1:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("".join(lines[: rows + 1]), encoding="utf-8")
        os.replace(tmp, path)
