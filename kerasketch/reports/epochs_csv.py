"""``epochs.csv``: a run's epochs as a table for spreadsheets and scripts."""

from __future__ import annotations

import csv
from pathlib import Path

from .files import replacing
from .run_data import METRICS, RunData

COLUMNS = ("epoch", *METRICS, "lr", "seconds", "best")


def write_epochs_csv(run: RunData, path: Path) -> Path:
    """One row per finished epoch; ``best`` is 1 on the best epoch; a missing value is an empty cell."""
    with replacing(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for e in run.epochs:
            cells = [e.get(c) for c in COLUMNS[:-1]] + [int(e["epoch"] == run.best_epoch)]
            writer.writerow(["" if v is None else v for v in cells])
    return path
