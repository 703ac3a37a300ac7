"""``kerasketch compare``: the original's summary table beside ours, best run per recipe on each data.

A best is only picked among runs on the same data (:mod:`.datakey`), and
runs on fewer than two classes never count; a sweep's trials count like runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import validation
from ..errors import RunError
from ..recipes import registry
from ..runs import folders, sweepfile
from ..runs.documents import distributed_record
from ..runs.events import SUCCEEDED
from ..wording import plural
from . import compare_formats, datakey


def require_runs_dir(runs_dir: str | Path) -> Path:
    """``runs_dir`` if it is a folder, else one message saying what it is."""
    path = Path(runs_dir)
    if not path.exists():
        raise RunError(
            f"runs folder {path} does not exist",
            "give the folder the runs were made in (their --runs-dir, default runs/), or run folders to compare",
        )
    if not path.is_dir():
        raise RunError(f"{path} is a file, not a runs folder", "give the folder that holds the run folders")
    return path


def _score(run: folders.RunInfo) -> float | None:
    value = run.best_val_accuracy
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value == value else None


def _readable(run: folders.RunInfo) -> bool:
    """Whether the fields the table reads have the shapes it needs."""
    config = run.config
    return (
        isinstance(config.get("recipe"), dict)
        and isinstance(config["recipe"].get("name"), str)
        and isinstance(config.get("data", {}), dict)
        and isinstance(config.get("dataset", {}), dict)
    )


def scan_runs(runs_dir: str | Path) -> tuple[list[folders.RunInfo], list[str]]:
    """(the readable runs, the names of folders that look like runs but cannot be read)."""
    path = require_runs_dir(runs_dir)
    readable = [run for run in folders.list_runs(path) if _readable(run)]
    names = {run.name for run in readable}
    unreadable = sorted(
        p.name for p in path.iterdir() if p.is_dir() and (p / folders.CONFIG).exists() and p.name not in names
    )
    return readable, unreadable


def best_runs(
    runs_dir: str | Path, *, include_synthetic: bool = False, data_key: str | None = None
) -> dict[str, folders.RunInfo]:
    """The run with the best validation accuracy per recipe, among finished and early-stopped runs
    on one data (``data_key``, or else the first of :func:`best_by_data`'s groups)."""
    groups = best_by_data(scan_runs(runs_dir)[0], include_synthetic, data_key)
    return groups[0][1] if groups else {}


def comparable(run: folders.RunInfo) -> bool:
    """:func:`.datakey.comparable`, and a score of the shape the table reads."""
    return datakey.comparable(run.summary) and _score(run) is not None


def best_by_data(
    runs: list[folders.RunInfo], include_synthetic: bool = False, data_key: str | None = None
) -> list[tuple[datakey.DataKey, dict[str, folders.RunInfo]]]:
    """The best run per recipe within each data (:mod:`.datakey`): a score is only compared with
    scores on the same classes and selection. Real data first; synthetic only when asked.
    ``data_key``: only the data whose key starts with it."""
    eligible = [r for r in runs if comparable(r) and (include_synthetic or not r.synthetic)]
    groups = datakey.grouped(eligible, lambda r: r.config)
    if data_key:
        groups = [(k, g) for k, g in groups if k.key.startswith(data_key)]
    return [(key, _best(group)) for key, group in groups]


def _best(runs: list[folders.RunInfo]) -> dict[str, folders.RunInfo]:
    best: dict[str, folders.RunInfo] = {}
    for run in runs:
        score = _score(run)
        current = best.get(run.recipe)
        if current is None or (score or 0.0) > (_score(current) or 0.0):
            best[run.recipe] = run
    return best


def compare_rows(
    runs_dir: str | Path, *, include_synthetic: bool = False, data_key: str | None = None
) -> list[dict[str, Any]]:
    """One row per recipe and data (:data:`compare_formats.COLUMNS`): the original's result beside our best run."""
    groups = best_by_data(scan_runs(runs_dir)[0], include_synthetic, data_key)
    if not groups:
        return _rows({})
    return [row for key, best in groups for row in _rows(best, key)]


def _rows(best: dict[str, folders.RunInfo], key: datakey.DataKey | None = None) -> list[dict[str, Any]]:
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
            data_key=key.key if key else None,
            data=key.label if key else None,
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
                # Processes that trained it (--nproc, torchrun): the minutes are theirs together.
                world_size=distributed_record(run.config)["world_size"],
            )
        rows.append(row)
    return rows


def compare_table(
    runs_dir: str | Path, *, include_synthetic: bool = False, fmt: str = "markdown", data_key: str | None = None
) -> str:
    """The comparison in one of :data:`compare_formats.FORMATS` (Markdown by default), one table per data."""
    runs, unreadable = scan_runs(runs_dir)
    runs += sweep_trials(runs_dir)
    return _table(runs, unreadable, str(runs_dir), include_synthetic, fmt, data_key)


def _table(
    runs: list[folders.RunInfo],
    unreadable: list[str],
    where: str,
    include_synthetic: bool,
    fmt: str,
    data_key: str | None,
) -> str:
    groups = best_by_data(runs, include_synthetic, data_key)
    notes = []
    if unreadable:
        shown = ", ".join(unreadable[:5]) + (f" and {len(unreadable) - 5} more" if len(unreadable) > 5 else "")
        notes.append(f"Skipped {len(unreadable)} unreadable run folder{'s' if len(unreadable) > 1 else ''}: {shown}")
    few = [r.name for r in runs if r.status in SUCCEEDED and not comparable(r) and _score(r) is not None]
    if few:
        notes.append(
            f"Left out {plural(len(few), 'run')} on fewer than {validation.MIN_CLASSES} classes "
            f"(a score that means nothing): {', '.join(few[:5])}{' ...' if len(few) > 5 else ''}"
        )
    hidden = [] if include_synthetic else [r for r in runs if comparable(r) and r.synthetic]
    if hidden and groups:
        notes.append(f"{plural(len(hidden), 'run')} on synthetic data not shown: --include-synthetic shows them")
    if not groups:
        which = f" on data {data_key}" if data_key else ""
        synthetic = "" if include_synthetic else " on real data; --include-synthetic counts synthetic runs"
        notes.append(f"(no finished runs in {where}{which}{synthetic})")
    elif len(groups) > 1:
        notes.append(
            f"The runs trained on {len(groups)} different data: each table compares runs on one data only "
            "(--data-key KEY shows one)"
        )
    tables: compare_formats.Tables = [(key, _rows(best, key)) for key, best in groups] or [(None, _rows({}))]
    return compare_formats.FORMATS[fmt](tables, notes)


def compare_paths(
    paths: list[Path], *, include_synthetic: bool = False, fmt: str = "markdown", data_key: str | None = None
) -> str:
    """``kerasketch compare [PATH ...]``: one runs (or sweep) folder, or the run folders given."""
    if not paths:
        paths = [Path("runs")]
    if len(paths) == 1 and not (paths[0] / folders.CONFIG).is_file():
        return compare_table(paths[0], include_synthetic=include_synthetic, fmt=fmt, data_key=data_key)
    for path in paths:
        if sweepfile.is_sweep_folder(path) or (path.is_dir() and not (path / folders.CONFIG).is_file()):
            raise RunError(
                f"{path} is a folder of runs, not a run folder",
                "give one runs or sweep folder alone, or run folders (runs/NAME-TIME) to compare",
            )
    runs = [folders.load(folders.require_run_dir(p)) for p in paths]
    runs = [r for r in runs if _readable(r)]
    where = "the runs given" if len(paths) > 1 else str(paths[0])
    return _table(runs, [], where, include_synthetic or all(r.synthetic for r in runs), fmt, data_key)


def sweep_trials(runs_dir: str | Path) -> list[folders.RunInfo]:
    """The trial runs inside the sweep folders of ``runs_dir`` (a sweep's trials are run folders too)."""
    path = Path(runs_dir)
    out: list[folders.RunInfo] = []
    try:
        sweeps = [p for p in path.iterdir() if sweepfile.is_sweep_folder(p)]
    except OSError:
        return out
    for sweep in sorted(sweeps):
        out += [run for run in folders.list_runs(sweep) if _readable(run)]
    return out


def _backend(run: folders.RunInfo) -> str | None:
    """The Keras backend the run trained on: a seed reproduces a run only on the same backend."""
    versions = run.config.get("versions")
    backend = versions.get("backend") if isinstance(versions, dict) else None
    return backend if isinstance(backend, str) else None


def _caps(run: folders.RunInfo) -> str:
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
