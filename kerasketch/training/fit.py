"""What ``model.fit`` gets in a run: the compiled model, the batches and the callbacks.

Kept apart from the run's bookkeeping so that the training benchmark runs
exactly this path.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ..active_backend import on_torch
from ..data.assembly import Images
from ..models.chain import LayerChain
from ..recipes.base import Recipe
from ..runs import folders
from ..runs.eventlog import EventSink
from . import ema
from .batch_mix import BatchMix
from .callbacks import BestModelCheckpoint, ResumableEarlyStopping, RunEvents
from .data_parallel import DataParallelModel, RestoreOnly, SameStop, SyncRanks, WritesAlone, data_parallel
from .distributed import SINGLE, World, even_batch_size
from .inputs import Batches


def compile_model(
    recipe: Recipe,
    num_classes: int,
    seed: int,
    *,
    steps_per_epoch: int = 1,
    jit_compile: bool = False,
    precision: str = "float32",
    logit_adjust: float = 0.0,
    train_counts: np.ndarray | None = None,
    focal_alpha: float | str = 0.25,
    focal_gamma: float = 2.0,
    world: World = SINGLE,
    sync_bn: bool = False,
    ema_momentum: float | None = None,
    soft_labels: bool = False,
) -> keras.Model:
    """The recipe's model, loss, optimiser and metrics, initialised from ``seed``.

    A recipe with ``augmentation`` gets Keras' preprocessing layers in front
    of its model (active in training only); a ``schedule`` other than
    "constant" needs ``steps_per_epoch`` to place its warm-up and decay.

    Each backend compiles as Keras decides by default ("auto"): JAX and
    TensorFlow with XLA (op by op, JAX ran markedly slower), torch eagerly.
    ``jit_compile`` opts torch in to ``torch.compile``: the first epoch then
    spends its time compiling and the following ones train faster, so it pays
    for long runs, not for short ones (docs: Results, training speed).

    ``precision`` is Keras' dtype policy for the model's layers
    ("mixed_bfloat16": bfloat16 arithmetic, float32 weights, optimiser and
    loss); the global policy is left as it was.

    ``logit_adjust`` (tau > 0) makes the loss the logit-adjusted cross-entropy
    with the prior of ``train_counts`` (the training split's count per class);
    the focal losses take ``focal_alpha`` (a number, or "balanced": one per
    class from ``train_counts``) and ``focal_gamma``.

    ``ema_momentum`` has the optimiser keep an exponential moving average of
    the weights (``--ema``: training/ema.py); ``soft_labels``, the loss take
    the soft labels of mixed batches (``--mixup``, ``--cutmix``: training/batch_mix.py).
    """
    from ..losses import build_loss
    from ..metrics import SparseCategoricalAccuracy
    from ..models import build_model
    from ..models.augment import with_augmentation
    from ..optimizers import build_optimizer, learning_rate, peak_learning_rate

    keras.utils.set_random_seed(seed)
    with dtype_policy(precision):
        model = build_model(
            recipe.model,
            num_classes,
            recipe.image_size,
            weights=recipe.weights,
            l2=recipe.l2,
            seed=seed,
            **recipe.model_options,
        )
        # Seeded apart from the initialisers, which draw from seed, seed + 1, ...
        augment_seed = None if seed is None else seed + 10_000
        model = with_augmentation(model, recipe.augmentation, seed=augment_seed)
        # Made under the policy too: the model's __call__ casts the input and opens the autocast scope.
        model = data_parallel(model, world, sync_bn=sync_bn)
        if on_torch() and not isinstance(model, LayerChain):
            # The forward pass as the layers' own calls where the model is a chain (models/chain.py).
            model = LayerChain(inputs=model.inputs, outputs=model.outputs, name=model.name)
    settings = {**recipe.optimizer_settings, **ema.optimizer_settings(ema_momentum)}
    if recipe.schedule != "constant":
        settings["learning_rate"] = learning_rate(
            recipe.schedule,
            peak_learning_rate(recipe.optimizer, settings),
            steps_per_epoch=steps_per_epoch,
            epochs=recipe.epochs,
            warmup_epochs=recipe.warmup_epochs,
        )
    model.compile(
        optimizer=build_optimizer(recipe.optimizer, **settings),
        loss=build_loss(
            recipe.loss,
            num_classes,
            recipe.label_smoothing,
            logit_adjust=logit_adjust,
            train_counts=None if train_counts is None else [int(c) for c in train_counts],
            focal_alpha=focal_alpha,
            focal_gamma=focal_gamma,
            soft_labels=soft_labels,
        ),
        # Accuracy only, as the original tracked: every training metric costs work on
        # every step. Top-3 accuracy is part of the evaluation instead. Weighted on jax
        # across processes, where a padded validation drawing (weight 0) must not count.
        metrics=[] if world.on_jax else [SparseCategoricalAccuracy(name="accuracy")],
        weighted_metrics=[SparseCategoricalAccuracy(name="accuracy")] if world.on_jax else None,
        jit_compile=True if jit_compile else "auto",
    )
    return model


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Keras' global dtype policy set to ``name`` while layers are made (each keeps the one it was made with)."""
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


@dataclass
class FitPlan:
    train: Batches
    val: Batches
    callbacks: list[keras.callbacks.Callback]
    early_stopping: ResumableEarlyStopping
    class_weight: dict[int, float] | None = None  # Keras' class_weight for model.fit
    world: World = SINGLE


def plan_fit(
    recipe: Recipe,
    x_train: Images,
    y_train: np.ndarray,
    x_val: Images,
    y_val: np.ndarray,
    *,
    run_dir: Path,
    sink: EventSink,
    name: str,
    seed: int,
    initial_epoch: int = 0,
    resume: tuple[float, int, int] | None = None,
    shuffle: str = "exact",
    class_weight: str = "none",
    sampler: str = "uniform",
    world: World = SINGLE,
    ema: bool = False,
    mix: BatchMix | None = None,
) -> FitPlan:
    """Batches and Keras' callbacks writing into ``run_dir``, plus our events callback.

    ``resume`` is (best val_accuracy, its 0-based epoch, epochs waited since)
    of a resumed run, from its CSV history; ``shuffle`` the training order
    (``inputs.SHUFFLES``); ``class_weight`` "balanced" weighs the classes with
    scikit-learn's ``compute_class_weight`` on ``y_train`` (validation.CLASS_WEIGHTS);
    ``sampler`` "balanced" draws each epoch class-balanced (``inputs.Batches``).
    ``ema``: validation, early stopping and the best checkpoint see the
    optimiser's moving average of the weights, the backup the raw ones
    (training/ema.py); ``mix`` mixes the training batches (the class weights
    then travel as its sample weights: training/batch_mix.py).

    Under data parallelism (``world`` of several ranks) each rank reads its
    share of every batch, only rank 0 writes into ``run_dir``, and
    :class:`~kerasketch.training.data_parallel.SyncRanks` keeps the ranks alike.
    """
    shard = (world.rank, world.size)
    weights = _class_weight(class_weight, y_train)
    if mix is not None:
        mix = BatchMix.of(mix.num_classes, mixup=mix.mixup, cutmix=mix.cutmix, prob=mix.prob, class_weight=weights)
        weights = None  # Keras' class_weight would weigh a soft label by its larger share's class alone
    train = Batches(
        x_train,
        y_train,
        recipe.batch_size,
        shuffle=True,
        seed=seed,
        start_epoch=initial_epoch,
        order=shuffle,
        sampler=sampler,
        shard=shard,
        equal_shares=world.on_jax,
        mix=mix,
    )
    val = Batches(
        x_val,
        y_val,
        even_batch_size(len(y_val), max(recipe.batch_size, 256), world),
        shuffle=False,
        shard=shard,
        equal_shares=world.on_jax,
    )
    early = ResumableEarlyStopping(
        monitor="val_accuracy",
        mode="max",
        patience=recipe.patience,
        restore_best_weights=True,
        resume=resume,
        best_model=run_dir / folders.BEST,
    )
    if not world.leader:
        # Restores what rank 0 backed up (the same epoch on every rank), stops alike, writes nothing.
        followers = [early, keras.callbacks.TerminateOnNaN(), RestoreOnly(str(run_dir / folders.BACKUP))]
        sync = SameStop() if world.on_jax else SyncRanks(world)
        return FitPlan(train, val, with_ema([*followers, sync], ema), early, weights, world)
    callbacks = [
        early,
        BestModelCheckpoint(
            run_dir / folders.BEST, monitor="val_accuracy", initial_value_threshold=resume[0] if resume else None
        ),
        keras.callbacks.CSVLogger(str(run_dir / folders.HISTORY), append=True),
        keras.callbacks.TerminateOnNaN(),
        RunEvents(sink, name, len(train), early, images=len(y_train)),  # after EarlyStopping: it reports its patience
        # Last, so that an epoch's backup exists only once its history row, best
        # model and event are written; two copies, so that a kill while writing
        # one leaves the previous one to resume from.
        keras.callbacks.BackupAndRestore(str(run_dir / folders.BACKUP), delete_checkpoint=True, double_checkpoint=True),
    ]
    if world.on_jax:
        # Rank 0 writes alone (see WritesAlone); keras.distribution keeps the replicas alike itself.
        callbacks = [WritesAlone(c) if isinstance(c, WRITERS) else c for c in callbacks]
        callbacks.append(SameStop())
    elif world.distributed:
        callbacks.append(SyncRanks(world))  # after the restore and after EarlyStopping's decision
    return FitPlan(train, val, with_ema(callbacks, ema), early, weights, world)


def with_ema(callbacks: list[keras.callbacks.Callback], on: bool) -> list[keras.callbacks.Callback]:
    """``callbacks`` with the EMA swap first and the swap back just before the backup (training/ema.py)."""
    if not on:
        return callbacks
    first, before_backup = ema.callbacks()
    # The backup, or its wrapper on jax (WritesAlone holds it as ``callback``).
    at = next(
        i for i, c in enumerate(callbacks) if isinstance(getattr(c, "callback", c), keras.callbacks.BackupAndRestore)
    )
    return [first, *callbacks[:at], before_backup, *callbacks[at:]]


#: The callbacks that save the model, which rank 0 does alone.
WRITERS = (BestModelCheckpoint, keras.callbacks.BackupAndRestore)


def _class_weight(class_weight: str, y_train: np.ndarray) -> dict[int, float] | None:
    return balanced_class_weight(y_train) if class_weight == "balanced" else None


def balanced_class_weight(y_train: np.ndarray) -> dict[int, float]:
    """total / (classes x count) of each class present in ``y_train`` (scikit-learn's "balanced")."""
    from sklearn.utils.class_weight import compute_class_weight

    present = np.unique(y_train)
    weights = compute_class_weight("balanced", classes=present, y=y_train)
    return {int(c): float(w) for c, w in zip(present, weights)}


def fit(model: keras.Model, plan: FitPlan, epochs: int) -> keras.callbacks.History:
    if plan.world.on_jax:
        try:
            return _fit(model, plan, epochs)
        finally:
            # Training is over on every rank: rank 0 evaluates the test split alone, off the distribution.
            keras.distribution.set_distribution(None)
    if plan.world.distributed and not isinstance(model, DataParallelModel):
        # Sharded batches without the all-reduce would train N different models, silently.
        raise TypeError("a data-parallel plan needs the model compile_model(world=...) made")
    return _fit(model, plan, epochs)


def _fit(model: keras.Model, plan: FitPlan, epochs: int) -> keras.callbacks.History:
    # shuffle=False: Batches shuffles itself from (seed, epoch); Keras' own shuffling of
    # the batch order draws from the global RNG, which a resumed process does not share.
    return model.fit(
        plan.train,
        validation_data=plan.val,
        epochs=epochs,
        callbacks=plan.callbacks,
        verbose=0,
        shuffle=False,
        class_weight=plan.class_weight,
    )


def resume_point(run_dir: Path, say: Callable[[str], None] | None = None) -> int:
    """The number of finished epochs a run resumes after (0 for a new run).

    Settles the backup first, so that BackupAndRestore finds a readable one
    when it starts: a latest checkpoint that a kill left unreadable gives way
    to the previous copy, and with no readable copy the run starts afresh
    (``say`` gets one line about either). The history is cut to the same
    epoch, since the epoch after the backup (if its row was written) will run
    again.
    """
    backup = run_dir / folders.BACKUP
    weights, meta = backup / "latest.weights.h5", backup / "training_metadata.json"
    previous = (backup / "latest.weights.h5.bkp", backup / "training_metadata.json.bkp")
    epoch = _readable_backup(weights, meta)
    if epoch is None and _readable_backup(*previous) is not None:
        os.replace(previous[0], weights)
        os.replace(previous[1], meta)
        epoch = _readable_backup(weights, meta)
        if say:
            say(f"the latest backup in {backup} is unreadable; resuming from the copy before it")
    if epoch is None:
        if backup.exists():
            # Keras would try to load the unreadable files and fail the run.
            shutil.rmtree(backup)
            if say:
                say(f"no readable backup in {backup}; starting the run afresh")
        epoch = 0
    _truncate_csv(run_dir / folders.HISTORY, epoch)
    return epoch


def _readable_backup(weights: Path, meta: Path) -> int | None:
    """The epoch of a backup whose weights file and metadata both read whole, else None."""
    import h5py

    def whole(name: str, obj) -> None:
        # A torn file can keep a readable index whose data lies beyond its end.
        if isinstance(obj, h5py.Dataset):
            offset = obj.id.get_offset()
            if offset is None:  # chunked or empty: no single extent to check, so read it
                obj[()]
            elif offset + obj.id.get_storage_size() > size:
                raise ValueError(f"{name} ends beyond the end of the file")

    try:
        size = weights.stat().st_size
        with h5py.File(weights, "r") as f:
            f.visititems(whole)
        epoch = int(json.loads(meta.read_text(encoding="utf-8"))["epoch"])
    except Exception:  # h5py raises OSError, RuntimeError, KeyError, ValueError... for a torn file
        return None
    return epoch if epoch >= 0 else None


def _truncate_csv(path: Path, rows: int) -> None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except FileNotFoundError:
        return
    if len(lines) > rows + 1:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("".join(lines[: rows + 1]), encoding="utf-8")
        os.replace(tmp, path)
