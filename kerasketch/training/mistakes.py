"""``mistakes.npz``: the test drawings behind a run's most confused pairs of classes.

Written with the evaluation (:func:`kerasketch.training.evaluate.evaluate_test_split`), so that a report
can show what the model got wrong without loading it or the data again: for each of the
:data:`PAIRS` most confused (true, predicted) pairs, up to :data:`PER_PAIR` of its test drawings,
the most confidently wrong first, with the probability the model gave its wrong answer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..data.assembly import Images

MISTAKES = "mistakes.npz"
PAIRS = 6
PER_PAIR = 8


def pick(y_true: np.ndarray, predicted: np.ndarray, confidence: np.ndarray, pairs: list[tuple[int, int]]) -> dict:
    """The test indices to show for each (true, predicted) pair of class indices, most confident first."""
    rows, pair_of = [], []
    for k, (t, p) in enumerate(pairs[:PAIRS]):
        where = np.flatnonzero((y_true == t) & (predicted == p))
        order = where[np.argsort(-confidence[where], kind="stable")][:PER_PAIR]
        rows.append(order)
        pair_of.append(np.full(len(order), k))
    index = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    return {"index": index.astype(np.int64), "pair": np.concatenate(pair_of) if pair_of else np.zeros(0, np.int64)}


def write(
    run_dir: Path,
    x_test: Images,
    y_test: np.ndarray,
    result: dict[str, Any],
    class_names: list[str],
    confused: list[tuple[str, str, int, float]],
) -> None:
    """Save the drawings of the most confused pairs (atomically: a reader never sees half a file)."""
    at = {name: i for i, name in enumerate(class_names)}
    pairs = [(at[t], at[p]) for t, p, _, _ in confused]
    chosen = pick(np.asarray(y_test), result["predicted"], result["confidence"], pairs)
    index = chosen["index"]
    order = np.argsort(index, kind="stable")  # a streamed split reads sorted rows
    images = np.empty((len(index), *x_test.shape[1:]), np.uint8)
    if len(index):
        images[order] = x_test[index[order]]
    path = Path(run_dir) / MISTAKES
    tmp = path.with_name(f".{path.name}.tmp.npz")
    try:
        np.savez_compressed(
            tmp,
            images=images,
            true=np.asarray(y_test)[index].astype(np.int32),
            predicted=result["predicted"][index].astype(np.int32),
            confidence=result["confidence"][index].astype(np.float32),
            pair=chosen["pair"].astype(np.int32),
            pairs=np.asarray(pairs[:PAIRS], dtype=np.int32).reshape(-1, 2),
            pair_counts=np.asarray([c for _, _, c, _ in confused[:PAIRS]], dtype=np.int64),
            class_names=np.asarray(class_names, dtype=str),
        )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read(run_dir: Path) -> dict[str, np.ndarray] | None:
    """A run's mistakes, None where it has none recorded (a run evaluated before they were) or the
    file cannot be read (a report then goes without the grid)."""
    try:
        with np.load(Path(run_dir) / MISTAKES, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, KeyError):
        return None
