"""``kerasketch compare``: the original's summary table beside ours, best run per recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import RunError
from ..recipes import registry
from . import compare_formats, rundir


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


def compare_rows(runs_dir: str | Path, *, include_synthetic: bool = False) -> list[dict[str, Any]]:
    """One row per recipe (:data:`compare_formats.COLUMNS`): the original's result beside our best run."""
    return _rows(_best(scan_runs(runs_dir)[0], include_synthetic))


def _rows(best: dict[str, rundir.RunInfo]) -> list[dict[str, Any]]:
    rows = []
    for recipe in registry.all_recipes():
        row: dict[str, Any] = dict.fromkeys(compare_formats.COLUMNS)
        row.update(
            number=registry.number(recipe),
            recipe=recipe.name,
            loss=registry.loss_label(recipe),
            optimizer=registry.optimizer_label(recipe),
            # None (a dash, an empty CSV cell, JSON null) for a recipe of ours.
            original_val_acc=recipe.original.val_acc if recipe.original else None,
        )
        run = best.get(recipe.name)
        if run is not None:
            evaluation = run.evaluation()
            seconds = evaluation.get("train_seconds") if isinstance(evaluation, dict) else None
            seconds = seconds if isinstance(seconds, int | float) else run.seconds
            ds = run.config.get("dataset", {})
            total = ds.get("total")
            test = run.test_accuracy
            row.update(
                best_val_acc=_score(run),
                test_acc=test if isinstance(test, int | float) else None,
                best_epoch=run.best_epoch,
                epochs_run=run.epochs_done,
                train_seconds=seconds if isinstance(seconds, int | float) else 0,
                classes=ds.get("num_classes"),
                drawings=total if isinstance(total, int) else 0,
                synthetic=run.synthetic,
                run=run.name,
                caps=_caps(run),
                backend=_backend(run),
            )
        rows.append(row)
    return rows


def compare_table(runs_dir: str | Path, *, include_synthetic: bool = False, fmt: str = "markdown") -> str:
    """The comparison in one of :data:`compare_formats.FORMATS` (Markdown by default)."""
    runs, unreadable = scan_runs(runs_dir)
    best = _best(runs, include_synthetic)
    notes = []
    if unreadable:
        shown = ", ".join(unreadable[:5]) + (f" and {len(unreadable) - 5} more" if len(unreadable) > 5 else "")
        notes.append(f"Skipped {len(unreadable)} unreadable run folder{'s' if len(unreadable) > 1 else ''}: {shown}")
    if not best:
        notes.append(
            f"(no finished runs in {runs_dir}{'' if include_synthetic else ' on real data; --include-synthetic counts synthetic runs'})"
        )
    return compare_formats.FORMATS[fmt](_rows(best), notes)


def _backend(run: rundir.RunInfo) -> str | None:
    """The Keras backend the run trained on: a seed reproduces a run only on the same backend."""
    versions = run.config.get("versions")
    backend = versions.get("backend") if isinstance(versions, dict) else None
    return backend if isinstance(backend, str) else None


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
