"""``kerasketch compare``: the original's summary table beside ours, best run per recipe."""

from __future__ import annotations

from pathlib import Path

from ..errors import RunError
from ..recipes import registry
from . import rundir


def require_runs_dir(runs_dir: str | Path) -> Path:
    """``runs_dir`` if it is a folder, else one message saying what it is."""
    path = Path(runs_dir)
    if not path.exists():
        raise RunError(
            f"runs folder {path} does not exist", "give the --runs-dir the runs were made in (default runs/)"
        )
    if not path.is_dir():
        raise RunError(f"{path} is a file, not a runs folder", "give the folder that holds the run folders")
    return path


def _score(run: rundir.RunInfo) -> float | None:
    value = run.best_val_accuracy
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value == value else None


def _readable(run: rundir.RunInfo) -> bool:
    """Whether the fields the table reads have the shapes it needs."""
    config = run.config
    return (
        isinstance(config.get("recipe"), dict)
        and isinstance(config["recipe"].get("name"), str)
        and isinstance(config.get("data", {}), dict)
        and isinstance(config.get("dataset", {}), dict)
    )


def scan_runs(runs_dir: str | Path) -> tuple[list[rundir.RunInfo], list[str]]:
    """(the readable runs, the names of folders that look like runs but cannot be read)."""
    path = require_runs_dir(runs_dir)
    readable = [run for run in rundir.list_runs(path) if _readable(run)]
    names = {run.name for run in readable}
    unreadable = sorted(
        p.name for p in path.iterdir() if p.is_dir() and (p / rundir.CONFIG).exists() and p.name not in names
    )
    return readable, unreadable


def best_runs(runs_dir: str | Path, *, include_synthetic: bool = False) -> dict[str, rundir.RunInfo]:
    """The run with the best validation accuracy per recipe, among finished and early-stopped runs."""
    return _best(scan_runs(runs_dir)[0], include_synthetic)


def _best(runs: list[rundir.RunInfo], include_synthetic: bool) -> dict[str, rundir.RunInfo]:
    best: dict[str, rundir.RunInfo] = {}
    for run in runs:
        score = _score(run)
        if run.status not in ("finished", "early_stopped") or score is None:
            continue
        if run.synthetic and not include_synthetic:
            continue
        current = best.get(run.recipe)
        if current is None or score > (_score(current) or 0.0):
            best[run.recipe] = run
    return best


def compare_table(runs_dir: str | Path, *, include_synthetic: bool = False) -> str:
    runs, unreadable = scan_runs(runs_dir)
    best = _best(runs, include_synthetic)
    lines = [
        "| # | recipe | loss | optimizer | original val_acc | our best val_acc | test acc | epochs to best / run | minutes | data |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    notes = []
    for recipe in registry.all_recipes():
        o = recipe.original
        run = best.get(recipe.name)
        if run is None:
            ours = "| - | - | - | - | no finished run |"
        else:
            evaluation = run.evaluation()
            seconds = evaluation.get("train_seconds") if isinstance(evaluation, dict) else None
            seconds = seconds if isinstance(seconds, int | float) else run.seconds
            minutes = (seconds if isinstance(seconds, int | float) else 0) / 60
            ds = run.config.get("dataset", {})
            total = ds.get("total")
            data = f"{ds.get('num_classes', '?')} classes, {total if isinstance(total, int) else 0:,} drawings" + (
                " (synthetic)" if run.synthetic else ""
            )
            test = f"{run.test_accuracy:.4f}" if isinstance(run.test_accuracy, int | float) else "-"
            ours = f"| {_score(run):.4f} | {test} | {run.best_epoch} / {run.epochs_done} | {minutes:.1f} | {data} |"
            capped = _caps(run)
            if capped:
                notes.append(f"- {recipe.name}: {capped} ({run.name})")
        lines.append(f"| {o.number} | {recipe.name} | {o.loss} | {o.optimizer} | {o.val_acc:.4f} " + ours)
    if notes:
        lines += ["", "Capped runs:", *notes]
    if unreadable:
        shown = ", ".join(unreadable[:5]) + (f" and {len(unreadable) - 5} more" if len(unreadable) > 5 else "")
        lines += ["", f"Skipped {len(unreadable)} unreadable run folder{'s' if len(unreadable) > 1 else ''}: {shown}"]
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
    name = recipe.get("name", "")
    original = registry.get(name) if name in registry.NAMES else None
    if original and recipe.get("epochs") != original.epochs:
        caps.append(f"--epochs {recipe.get('epochs')}")
    if data.get("max_per_class"):
        caps.append(f"--max-per-class {data['max_per_class']}")
    if data.get("fraction"):
        caps.append(f"--fraction {data['fraction']}")
    if original and recipe.get("weights") not in (None, original.weights):
        caps.append(f"--weights {recipe.get('weights')}")
    return ", ".join(caps)
