"""``kerasketch compare``: the original's summary table beside ours, best run per recipe."""

from __future__ import annotations

from pathlib import Path

from ..recipes import registry
from . import rundir


def best_runs(runs_dir: str | Path, *, include_synthetic: bool = False) -> dict[str, rundir.RunInfo]:
    """The run with the best validation accuracy per recipe, among finished and early-stopped runs."""
    best: dict[str, rundir.RunInfo] = {}
    for run in rundir.list_runs(runs_dir):
        if run.status not in ("finished", "early_stopped") or run.best_val_accuracy is None:
            continue
        if run.synthetic and not include_synthetic:
            continue
        current = best.get(run.recipe)
        if current is None or run.best_val_accuracy > (current.best_val_accuracy or 0.0):
            best[run.recipe] = run
    return best


def compare_table(runs_dir: str | Path, *, include_synthetic: bool = False) -> str:
    best = best_runs(runs_dir, include_synthetic=include_synthetic)
    lines = [
        "| # | recipe | loss | optimizer | original val_acc | our best val_acc | test acc | epochs to best / run | minutes | data | backend |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    notes = []
    for recipe in registry.all_recipes():
        o = recipe.original
        run = best.get(recipe.name)
        if run is None:
            ours = "| - | - | - | - | no finished run | - |"
        else:
            evaluation = run.evaluation() or {}
            minutes = (evaluation.get("train_seconds") or run.seconds or 0) / 60
            ds = run.config.get("dataset", {})
            data = f"{ds.get('num_classes', '?')} classes, {ds.get('total', 0):,} drawings" + (
                " (synthetic)" if run.synthetic else ""
            )
            ours = (
                f"| {run.best_val_accuracy:.4f} | {run.test_accuracy:.4f} | {run.best_epoch} / {run.epochs_done} | "
                f"{minutes:.1f} | {data} | {run.config.get('versions', {}).get('backend', '?')} |"
            )
            capped = _caps(run)
            if capped:
                notes.append(f"- {recipe.name}: {capped} ({run.name})")
        lines.append(f"| {o.number} | {recipe.name} | {o.loss} | {o.optimizer} | {o.val_acc:.4f} " + ours)
    if notes:
        lines += ["", "Capped runs:", *notes]
    if not best:
        lines += [
            "",
            f"(no finished runs in {runs_dir}{'' if include_synthetic else ' on real data; --include-synthetic counts synthetic runs'})",
        ]
    return "\n".join(lines)


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
