"""A run folder's ``history.csv`` (Keras' CSVLogger, one row per finished epoch) read back, and its best epoch."""

from __future__ import annotations

import csv
from pathlib import Path


def read_history(path: Path) -> list[dict[str, float]]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]
    except FileNotFoundError:
        return []


def best_so_far(history: list[dict[str, float]]) -> tuple[float | None, int, int]:
    """(best val_accuracy, its 0-based epoch, epochs since) from the CSV history."""
    scores_ = [row.get("val_accuracy", float("nan")) for row in history]
    valid = [(v, i) for i, v in enumerate(scores_) if v == v]
    if not valid:
        return None, 0, 0
    best, epoch = max(valid, key=lambda t: (t[0], -t[1]))
    return best, epoch, len(history) - 1 - epoch
