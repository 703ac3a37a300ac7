"""The last step of a run: the test split evaluated (unless a sweep's trial), the ``end`` event, the summary said."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..data.assembly import DataConfig, Dataset
from ..recipes import slow_starts
from ..recipes.base import Recipe
from ..runs import events
from ..runs.eventlog import EventSink
from . import stop
from .narration import Narration
from .open_run import OpenRun
from .train import Trained, mark_trained

if TYPE_CHECKING:
    pass


@dataclass
class RunResult:
    run_dir: Path | None
    reason: str
    exit_code: int
    evaluation: dict[str, Any] | None = None


def conclude(run: OpenRun, trained: Trained) -> RunResult:
    """Rank 0's end of a run that trained: the evaluation, the ``end`` event and the closing lines."""
    from .evaluate import evaluate_test_split

    recipe, options, dataset, run_dir = run.recipe, run.options, run.dataset, run.run_dir
    out, sink, started = run.out, run.sink, run.started
    name, history, best, best_epoch = run_dir.name, trained.history, trained.best, trained.best_epoch
    refreshed = trained.precise_bn  # recomputed by an earlier attempt stopped before its evaluation
    if (options.precise_bn or recipe.precise_bn) and refreshed is None:
        from . import precise_bn

        sink.emit(events.make("status", name, message="recomputing BatchNorm statistics"))
        refreshed = precise_bn.refresh_best(run_dir, dataset, batch_size=recipe.batch_size, seed=options.training_seed)
        # Recorded at once: a resumed evaluation reports these figures rather than recomputing on the result.
        mark_trained(run_dir, replace(trained, precise_bn=refreshed))
        out.say(precise_bn.describe(refreshed))
        stop.check()
    if not options.evaluate:
        # A sweep's trial: the test split is for the best trial only, never for choosing.
        return _end_without_test(run_dir=run_dir, trained=trained, out=out, sink=sink, started=started)
    sink.emit(events.make("status", name, message="evaluating on the test split"))
    report, result = evaluate_test_split(run_dir, dataset, history, precise_bn=refreshed)
    stop.check()

    seconds = round(time.perf_counter() - started, 2)
    sink.emit(
        events.make(
            "end",
            name,
            reason=trained.reason,
            best_epoch=best_epoch + 1,
            best_val_accuracy=best,
            test_accuracy=result["accuracy"],
            seconds=seconds,
        )
    )
    ending = (
        f"early-stopped after epoch {len(history)}"
        if trained.reason == "early_stopped"
        else f"finished {len(history)} epochs"
    )
    out.say(
        f"{ending}: best val_acc {best:.4f} at epoch {best_epoch + 1} {beside_the_original(recipe, options.data, dataset)}\n"
        f"test accuracy {result['accuracy']:.4f}, top-3 {result['top3_accuracy']:.4f}, macro-F1 {result['macro_f1']:.4f}\n"
        f"run folder: {run_dir}  (best.keras, eval.json, confusion.csv, history.csv, events.jsonl)",
        essential=True,
    )
    slow = slow_starts.note(recipe.name, len(history))
    if slow is not None:
        out.say(slow, essential=True)
    if dataset.synthetic:
        out.say(
            "note: this ran on the built-in SYNTHETIC shapes, not Quick, Draw! drawings. For real data:\n"
            "  kerasketch data download --first 5000   (official numpy bitmaps into data/quickdraw/), then run again,\n"
            "  or pass --data PATH to your .npy / .ndjson / .npz files.",
            essential=True,
        )
    return RunResult(run_dir, trained.reason, 0, report)


def _end_without_test(*, run_dir: Path, trained: Trained, out: Narration, sink: EventSink, started: float) -> RunResult:
    seconds = round(time.perf_counter() - started, 2)
    best, best_epoch = trained.best, trained.best_epoch
    sink.emit(
        events.make(
            "end",
            run_dir.name,
            reason=trained.reason,
            best_epoch=best_epoch + 1,
            best_val_accuracy=best,
            seconds=seconds,
        )
    )
    shown = "none" if best is None else f"{best:.4f}"
    out.say(f"{len(trained.history)} epochs: best val_acc {shown} at epoch {best_epoch + 1}; run folder {run_dir}")
    return RunResult(run_dir, trained.reason, 0)


def beside_the_original(recipe: Recipe, data_config: DataConfig, dataset: Dataset) -> str:
    """The original's figure, and whether this run's setting is the one it was measured in."""
    if recipe.original is None:
        return "(a recipe of ours: the log has no result to set beside it)"
    original = recipe.original.val_acc
    if not dataset.synthetic and dataset.num_classes == 200 and data_config.fraction == 0.01:
        return f"(the original, in the same setting of 200 classes at 1/100: {original:.4f})"
    return f"(the original reached {original:.4f} on 200 Quick, Draw! classes at 1/100: for reference only, not comparable)"
