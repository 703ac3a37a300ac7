"""The ablation of sketch_resnet: each ingredient as a real run, one after another, then the table.

Usage: python bench/ablation.py --data ../shared/quickdraw/bitmap [--runs-dir runs/ablation] [--seed 0]
                                [--rows NAME,...] [--epochs N] [--max-per-class N] [--table-only]

Rows (recipe variants made with ``Recipe.with_``, run through the normal run
machinery, each in its own folder ``RUNS_DIR/<row>-<UTC>/``):

  like_vgg_adamw          the log's best, as it is
  +schedule               ... with sketch_resnet's warm-up and cosine decay, over its epochs and patience
  +label_smoothing        ... and label smoothing 0.1
  +augmentation           ... and sketch_resnet's augmentation
  resnet_alone            sketch_resnet's architecture with like_vgg_adamw's training (AdamW, constant lr,
                          no smoothing, no augmentation) over the full recipe's epochs and patience
  sketch_resnet           the full recipe

Rows run one at a time; a row whose finished (or early-stopped) run is
already in RUNS_DIR is skipped, and an unfinished one resumes from its last
epoch, so the script can be stopped and started again. The table (test
accuracy, top-3, macro-F1, epochs, training minutes) is read back from the
run folders with ``kerasketch.training.compare``'s scanner.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from kerasketch.cli.run import main as run_recipe
from kerasketch.errors import RunError
from kerasketch.recipes import registry
from kerasketch.recipes.base import Recipe
from kerasketch.runs import folders
from kerasketch.training import compare

FULL = registry.get("sketch_resnet")
VGG = registry.get("like_vgg_adamw")
#: The schedule's fields, carried over to like_vgg_adamw with the length it is defined over: a cosine
#: over 100 epochs would still be near its peak when patience 7 stopped the run.
SCHEDULE = {
    "schedule": FULL.schedule,
    "warmup_epochs": FULL.warmup_epochs,
    "epochs": FULL.epochs,
    "patience": FULL.patience,
}

ROWS: dict[str, Callable[[], Recipe]] = {
    "like_vgg_adamw": lambda: VGG,
    "+schedule": lambda: VGG.with_(**SCHEDULE),
    "+label_smoothing": lambda: VGG.with_(**SCHEDULE, label_smoothing=FULL.label_smoothing),
    "+augmentation": lambda: VGG.with_(
        **SCHEDULE, label_smoothing=FULL.label_smoothing, augmentation=dict(FULL.augmentation)
    ),
    "resnet_alone": lambda: FULL.with_(
        optimizer_settings={},
        schedule="constant",
        warmup_epochs=0,
        label_smoothing=0.0,
        augmentation={},
        # The full recipe's length: like_vgg_adamw's 100 epochs with patience 7 would let a constant rate run
        # the residual net for hours here, and a longer budget than the full row's would flatter the row.
        epochs=FULL.epochs,
        patience=FULL.patience,
    ),
    "sketch_resnet": lambda: FULL,
}


def folder_name(row: str) -> str:
    """A run name is one plain folder name: '+schedule' becomes 'ablation-schedule'."""
    return "ablation-" + row.lstrip("+").replace("_", "-")


def finished_runs(runs_dir) -> dict[str, folders.RunInfo]:
    """The best finished or early-stopped run of each row found in ``runs_dir``."""
    try:
        runs, _ = compare.scan_runs(runs_dir)
    except RunError:  # no runs folder yet
        return {}
    names = {folder_name(r): r for r in ROWS}
    out: dict[str, folders.RunInfo] = {}
    for run in runs:
        options = run.config.get("options", {})
        row = names.get(options.get("name") if isinstance(options, dict) else None)
        if row is None or run.status not in ("finished", "early_stopped"):
            continue
        if row not in out or (run.best_val_accuracy or 0.0) > (out[row].best_val_accuracy or 0.0):
            out[row] = run
    return out


def table(runs_dir) -> str:
    done = finished_runs(runs_dir)
    lines = [
        "| row | recipe | test acc | top-3 | macro-F1 | epochs to best / run | training minutes | run |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in ROWS:
        run = done.get(row)
        if run is None:
            lines.append(f"| {row} | | - | - | - | - | - | not run yet |")
            continue
        ev = run.evaluation() or {}
        test = ev.get("test", {}) if isinstance(ev, dict) else {}
        seconds = ev.get("train_seconds") if isinstance(ev, dict) else None
        minutes = f"{seconds / 60:.1f}" if isinstance(seconds, int | float) else "-"
        lines.append(
            f"| {row} | {run.recipe} | {_f(test.get('accuracy'))} | {_f(test.get('top3_accuracy'))} | "
            f"{_f(test.get('macro_f1'))} | {run.best_epoch} / {run.epochs_done} | {minutes} | {run.name} |"
        )
    return "\n".join(lines)


def _f(value) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the data folder (the issue: ../shared/quickdraw/bitmap)")
    parser.add_argument("--runs-dir", default="runs/ablation")
    parser.add_argument("--seed", default="0")
    parser.add_argument("--rows", help=f"comma-separated rows to run (default all: {', '.join(ROWS)})")
    parser.add_argument("--epochs", help="cap every row's epochs (smoke tests only: the table is for full runs)")
    parser.add_argument("--max-per-class", help="cap the drawings per class (smoke tests only)")
    parser.add_argument("--table-only", action="store_true", help="print the table of the runs already there")
    args = parser.parse_args(argv)
    rows = list(ROWS) if not args.rows else args.rows.split(",")
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        print(f"error: unknown row {', '.join(unknown)}; the rows are: {', '.join(ROWS)}", file=sys.stderr)
        return 2
    if not args.table_only:
        for row in rows:
            if row in finished_runs(args.runs_dir):
                print(f"{row}: finished run found, skipped", file=sys.stderr)
                continue
            print(f"{row}: running", file=sys.stderr)
            argv_row = ["--data", args.data, "--seed", args.seed, "--runs-dir", args.runs_dir]
            argv_row += ["--name", folder_name(row), "--quiet"]
            if args.epochs:
                argv_row += ["--epochs", args.epochs]
            if args.max_per_class:
                argv_row += ["--max-per-class", args.max_per_class]
            code = run_recipe(ROWS[row](), argv_row)
            if code != 0:
                print(f"{row}: the run ended with exit status {code}; stopping", file=sys.stderr)
                return code
    print(table(args.runs_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
