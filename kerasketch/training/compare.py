"""``kerasketch compare``: the original's summary table beside ours, best run per recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..recipes import registry
from . import compare_formats, rundir


def best_runs(runs_dir: str | Path, *, include_synthetic: bool = False) -> dict[str, rundir.RunInfo]:
    """The run with the best validation accuracy per recipe, among finished and early-stopped runs."""
    best: dict[str, rundir.RunInfo] = {}
    for run in rundir.list_runs(runs_dir):
        if run.status not in ("finished", "early_stopped") or run.best_val_accuracy is None:
            continue
        if run.synthetic and not include_synthetic:
            continue
        current = best.get(run.recipe)
        if current is None or run.best_val_accuracy > current.best_val_accuracy:
            best[run.recipe] = run
    return best


def compare_rows(runs_dir: str | Path, *, include_synthetic: bool = False) -> list[dict[str, Any]]:
    """One row per recipe (:data:`compare_formats.COLUMNS`): the original's result beside our best run."""
    best = best_runs(runs_dir, include_synthetic=include_synthetic)
    rows = []
    for recipe in registry.all_recipes():
        o = recipe.original
        row: dict[str, Any] = dict.fromkeys(compare_formats.COLUMNS)
        row.update(number=o.number, recipe=recipe.name, loss=o.loss, optimizer=o.optimizer, original_val_acc=o.val_acc)
        run = best.get(recipe.name)
        if run is not None:
            evaluation = run.evaluation() or {}
            ds = run.config.get("dataset", {})
            row.update(
                best_val_acc=run.best_val_accuracy,
                test_acc=run.test_accuracy,
                best_epoch=run.best_epoch,
                epochs_run=run.epochs_done,
                train_seconds=evaluation.get("train_seconds") or run.seconds or 0,
                classes=ds.get("num_classes"),
                drawings=ds.get("total", 0),
                synthetic=run.synthetic,
                run=run.name,
                caps=_caps(run),
            )
        rows.append(row)
    return rows


def compare_table(runs_dir: str | Path, *, include_synthetic: bool = False, fmt: str = "markdown") -> str:
    """The comparison in one of :data:`compare_formats.FORMATS` (Markdown by default)."""
    rows = compare_rows(runs_dir, include_synthetic=include_synthetic)
    empty_note = None
    if all(row["run"] is None for row in rows):
        empty_note = f"(no finished runs in {runs_dir}{'' if include_synthetic else ' on real data; --include-synthetic counts synthetic runs'})"
    return compare_formats.FORMATS[fmt](rows, empty_note)


def _caps(run: rundir.RunInfo) -> str:
    """Where a run was cut short compared with its recipe's schedule, in words."""
    recipe = run.config.get("recipe", {})
    data = run.config.get("data", {})
    caps = []
    original = registry.get(recipe.get("name")) if recipe.get("name") in registry.NAMES else None
    if original and recipe.get("epochs") != original.epochs:
        caps.append(f"--epochs {recipe.get('epochs')}")
    if data.get("max_per_class"):
        caps.append(f"--max-per-class {data['max_per_class']}")
    if data.get("fraction"):
        caps.append(f"--fraction {data['fraction']}")
    if original and recipe.get("weights") not in (None, original.weights):
        caps.append(f"--weights {recipe.get('weights')}")
    return ", ".join(caps)
