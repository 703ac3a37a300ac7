"""Whether the class imbalance hurts, as evidence: per-class precision, recall and F1, balanced
accuracy, the recall of the smallest classes, and the rank correlation of class size with recall,
with a bootstrap confidence interval.

Computed from the test confusion matrix (and each class's support, which also counts the
predictions outside the classes as misses), so that a split scored block by block gives the
same figures as one scored at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Classes in "the smallest classes" whose mean recall eval.json records.
SMALLEST = 5
#: Bootstrap resamples of the classes behind the confidence interval of Spearman's rho.
RESAMPLES = 2000


def per_class_scores(confusion: np.ndarray, support: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall and F1 of each class (scikit-learn's, zero where undefined), from the counts.

    The matrix becomes weighted (true, predicted) pairs; a class's drawings predicted outside the
    classes become pairs with a label beyond them, which counts against its recall and no class's
    precision.
    """
    from sklearn.metrics import precision_recall_fscore_support

    n = len(support)
    matrix = np.asarray(confusion, dtype=np.int64)
    outside = np.asarray(support, dtype=np.int64) - matrix.sum(axis=1)
    true_idx, pred_idx = np.nonzero(matrix)
    weights = matrix[true_idx, pred_idx]
    lost = np.flatnonzero(outside > 0)
    y_true = np.concatenate([true_idx, lost])
    y_pred = np.concatenate([pred_idx, np.full(len(lost), n)])
    weight = np.concatenate([weights, outside[lost]]).astype(float)
    if not len(y_true):
        zeros = np.zeros(n)
        return {"precision": zeros, "recall": zeros.copy(), "f1": zeros.copy()}
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=np.arange(n), sample_weight=weight, zero_division=0
    )
    return {"precision": precision, "recall": recall, "f1": f1}


def balanced_accuracy(recall: np.ndarray, support: np.ndarray) -> float | None:
    """The mean recall over the classes with test drawings (scikit-learn's balanced_accuracy_score)."""
    present = np.asarray(support) > 0
    return float(np.mean(np.asarray(recall)[present])) if present.any() else None


def smallest_recall(
    recall: np.ndarray, support: np.ndarray, train_counts: np.ndarray, class_names: list[str], k: int = SMALLEST
) -> tuple[float | None, list[str]]:
    """The mean recall of the ``k`` classes with the fewest training drawings (among those with test
    drawings; ties broken by name), and those classes."""
    present = [i for i in range(len(class_names)) if support[i] > 0]
    chosen = sorted(present, key=lambda i: (int(train_counts[i]), class_names[i]))[:k]
    if not chosen:
        return None, []
    return float(np.mean([recall[i] for i in chosen])), [class_names[i] for i in chosen]


def _rank_rows(a: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(a, axis=-1)


def spearman_with_interval(
    sizes: np.ndarray, recall: np.ndarray, *, seed: int, resamples: int = RESAMPLES
) -> dict[str, Any]:
    """Spearman's rho of class size against recall, and a percentile bootstrap 95% interval.

    The classes are resampled with replacement (``seed`` makes it repeatable); resamples in which
    either side is constant have no rho and are left out (their count is recorded). With fewer
    than 3 classes, or a constant side, there is no rho at all.
    """
    x, y = np.asarray(sizes, float), np.asarray(recall, float)
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    none = {"rho": None, "low": None, "high": None, "resamples": 0, "seed": seed}
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return none
    rho = _pearson_of_ranks(x[None, :], y[None, :])[0]
    picks = np.random.default_rng(seed).integers(0, len(x), size=(resamples, len(x)))
    boot = _pearson_of_ranks(x[picks], y[picks])
    boot = boot[np.isfinite(boot)]
    if not len(boot):
        return {**none, "rho": float(rho)}
    low, high = np.percentile(boot, [2.5, 97.5])
    return {"rho": float(rho), "low": float(low), "high": float(high), "resamples": len(boot), "seed": seed}


def _pearson_of_ranks(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row pair (ties get average ranks, as scipy's spearmanr); NaN where a row is constant."""
    rx, ry = _rank_rows(x), _rank_rows(y)
    rx = rx - rx.mean(axis=1, keepdims=True)
    ry = ry - ry.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=1) / np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
