"""The fit step of a run: the model compiled, the plan made (resuming where a backup says), ``model.fit``.

Every rank takes this step; rank 0 alone settles a resume's backup. What it says goes to the
run's :class:`~.narration.Narration`; what it records goes out as events (the ``start`` event here,
the ``epoch`` and ``batch`` events from the callbacks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import validation
from ..errors import KerasketchError
from ..options import averaging_and_mixing
from ..recipes.base import Recipe
from ..runs import events, folders
from ..runs.documents import TrainedRecord
from ..runs.jsonfile import read_json, write_json_atomically
from ..runs.processes import this_process
from . import distributed, stop
from .history import best_so_far, read_history
from .open_run import OpenRun

if TYPE_CHECKING:
    from .run_options import RunOptions


@dataclass(frozen=True)
class Trained:
    """How the fit ended: ``finished`` or ``early_stopped``, the history and its best epoch."""

    reason: str
    history: list[dict[str, float]]
    best: float | None  # the best val_accuracy
    best_epoch: int  # 0-based
    precise_bn: dict[str, Any] | None = None  # what recomputing the BatchNorm statistics recorded, once done

    @classmethod
    def of(cls, run_dir: Path, reason: str, precise_bn: dict[str, Any] | None = None) -> Trained:
        """How training ended, with the history the run folder holds and its best epoch."""
        history = read_history(run_dir / folders.HISTORY)
        best, best_epoch, _ = best_so_far(history)
        return cls(reason, history, best, best_epoch, precise_bn)


def mark_trained(run_dir: Path, trained: Trained) -> None:
    """Record that training ended (``folders.TRAINED``), so that a stop before the evaluation resumes there."""
    write_json_atomically(run_dir / folders.TRAINED, {"reason": trained.reason, "precise_bn": trained.precise_bn})


def trained_before(run_dir: Path) -> Trained | None:
    """What an earlier attempt recorded with :func:`mark_trained`, with the history it trained; None if nothing."""
    record: TrainedRecord | None = read_json(run_dir / folders.TRAINED, TrainedRecord)
    if record is None:
        return None
    return Trained.of(run_dir, record.get("reason", "finished"), record.get("precise_bn"))


def train(run: OpenRun) -> Trained:
    """Fit the run's model on its data into its folder; raises for a loss that became NaN."""
    from .batch_mix import BatchMix
    from .fit import compile_model, fit, plan_fit, resume_point

    recipe, options, dataset, run_dir, config = run.recipe, run.options, run.dataset, run.run_dir, run.config
    resuming, out, sink, world = run.resuming, run.out, run.sink, run.world

    name = run_dir.name
    seed = options.training_seed
    steps = math.ceil(len(dataset.y_train) / recipe.batch_size)  # what Batches makes of the training split
    train_counts = np.bincount(dataset.y_train, minlength=dataset.num_classes)
    model = compile_model(
        recipe,
        dataset.num_classes,
        seed,
        steps_per_epoch=steps,
        jit_compile=options.jit_compile,
        precision=options.precision,
        logit_adjust=options.logit_adjust,
        train_counts=train_counts,
        focal_alpha=options.focal_alpha,
        focal_gamma=options.focal_gamma,
        world=world,
        sync_bn=options.sync_bn,
        ema_momentum=options.ema_momentum if options.ema else None,
        soft_labels=bool(options.mixup or options.cutmix),
    )
    out.say(_model_line(recipe, options, config))
    path = config.get("execution") or {}
    out.say(f"steps: {path.get('mode')}, {path.get('precision')} ({path.get('precision_why')})")

    if world.distributed:
        out.say(distributed.describe(world, recipe.batch_size))
    # Rank 0 settles the backup (it may replace or remove files); the others wait for its answer.
    initial_epoch = resume_point(run_dir, out.say) if resuming and world.leader else 0
    initial_epoch = distributed.broadcast_object(initial_epoch, world)
    best, best_epoch, wait = best_so_far(read_history(run_dir / folders.HISTORY))
    plan = plan_fit(
        recipe,
        dataset.x_train,
        dataset.y_train,
        dataset.x_val,
        dataset.y_val,
        run_dir=run_dir,
        sink=sink,
        name=name,
        seed=seed,
        initial_epoch=initial_epoch,
        resume=(best, best_epoch, wait) if best is not None else None,
        shuffle=options.shuffle,
        class_weight=options.class_weight,
        sampler=options.sampler,
        world=world,
        ema=options.ema,
        mix=BatchMix.of(dataset.num_classes, mixup=options.mixup, cutmix=options.cutmix, prob=options.mix_prob),
    )
    plan.callbacks.extend(make(run_dir) for make in options.epoch_callbacks)
    out.epochs = recipe.epochs
    sink.emit(
        events.make(
            "start",
            name,
            run_dir=str(run_dir),
            recipe=recipe.name,
            config=config,
            dataset=config["dataset"],
            epochs=recipe.epochs,
            steps=len(plan.train),
            initial_epoch=initial_epoch,
            **this_process(),
        )
    )
    if initial_epoch:
        out.say(f"resuming after epoch {initial_epoch} (best val_acc so far {best:.4f} at epoch {best_epoch + 1})")
    fitted = fit(model, plan, recipe.epochs)
    stop.check()  # a stop that landed in a weakref callback during the last epoch's end

    trained = Trained.of(run_dir, "early_stopped" if plan.early_stopping.stopped_epoch > 0 else "finished")
    last_loss = (fitted.history.get("loss") or [0.0])[-1]
    if not math.isfinite(last_loss):
        raise KerasketchError(
            f"the training loss became {last_loss} at epoch {len(trained.history)}; TerminateOnNaN stopped the run"
        )
    return trained


def _model_line(recipe: Recipe, options: RunOptions, config: dict[str, Any]) -> str:
    focal = recipe.loss in validation.FOCAL_LOSSES
    remedies = (
        (f" (alpha {_alpha_text(options.focal_alpha)}, gamma {options.focal_gamma:g})" if focal else "")
        + (f"; class weights {options.class_weight}" if options.class_weight != "none" else "")
        + (f"; logit-adjusted, tau {options.logit_adjust:g}" if options.logit_adjust else "")
        + (f"; {options.sampler} sampling" if options.sampler != "uniform" else "")
    )
    extras = averaging_and_mixing(options.record(), recipe.to_json())
    return (
        f"model {recipe.model}: {config['params']['trainable']:,} trainable of {config['params']['total']:,} parameters; "
        f"loss {recipe.loss}{remedies}; optimizer {recipe.optimizer}{'; ' + extras if extras else ''}; batch {recipe.batch_size}; "
        f"up to {recipe.epochs} epochs, patience {recipe.patience}; device {config['device']}"
    )


def _alpha_text(alpha: float | str) -> str:
    return alpha if isinstance(alpha, str) else f"{alpha:g}"
