"""Evaluation: the original's criterion and more, with scikit-learn's metrics.

The original judged a model by its best validation accuracy. ``eval.json``
keeps that and adds what its discussion asked for: accuracy on a held-out
test split, top-3 accuracy, macro-F1, and per-class accuracy beside each
class's size, with the rank correlation between the two, which says whether
the class imbalance hurts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np

Numbers: TypeAlias = Sequence[float] | np.ndarray


def predict_logits(model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    from .inputs import Batches  # imports Keras; the rest of this module does not need it

    batches = Batches(images, np.zeros(len(images), np.int64), batch_size, shuffle=False)
    return np.asarray(model.predict(batches, verbose=0))


def scores(logits: np.ndarray, labels: np.ndarray, num_classes: int) -> dict[str, Any]:
    """Accuracy, top-3, macro-F1 and the confusion matrix.

    A model may have more logits than classes (TS_CNN's original head has
    4 x num_classes): predictions outside the classes count as wrong and are
    counted, not put in the matrix (so a row of the matrix may sum to less
    than the class's support). Macro-F1 averages over the classes present
    in ``labels`` (``present``): a class with no drawings has no F1 to count,
    and counting it as 0 made a two-class evaluation of a 37-class model
    report 0.036 instead of 0.664.
    """
    from sklearn.metrics import confusion_matrix, f1_score

    pred = logits.argmax(axis=1)
    k = min(3, logits.shape[1])
    top = np.argpartition(-logits, k - 1, axis=1)[:, :k]
    classes = np.arange(num_classes)
    present = np.unique(labels)
    matrix = confusion_matrix(labels, pred, labels=classes)
    # A class's support is its drawings, counted from the labels: the matrix's rows leave
    # out the predictions outside the classes, and a TS_CNN run with one such prediction
    # reported 19 test samples of 20.
    support = np.bincount(labels, minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, np.diag(matrix) / support, np.nan)
    return {
        "accuracy": float((pred == labels).mean()),
        "top3_accuracy": float((top == labels[:, None]).any(axis=1).mean()),
        "macro_f1": float(f1_score(labels, pred, labels=present, average="macro", zero_division=0))
        if len(present)
        else float("nan"),
        "present": present,
        "predictions_outside_classes": int((pred >= num_classes).sum()),
        "confusion": matrix,
        "per_class_accuracy": per_class,
        "support": support,
    }


def spearman(a: Numbers, b: Numbers) -> float | None:
    """Rank correlation (ties averaged) over the pairs where both are known, or None when either side is constant."""
    from scipy.stats import spearmanr  # scikit-learn depends on SciPy

    x, y = np.asarray(a, float), np.asarray(b, float)
    ok = ~(np.isnan(x) | np.isnan(y))
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return None
    return float(spearmanr(x[ok], y[ok]).statistic)


def evaluation_report(
    result: dict[str, Any],
    class_names: list[str],
    train_counts: np.ndarray,
    *,
    best_val_accuracy: float | None,
    best_epoch: int | None,
    epochs_run: int,
    train_seconds: float,
) -> dict[str, Any]:
    per_class = [
        {
            "class": name,
            "test_support": int(result["support"][i]),
            "train_count": int(train_counts[i]),
            "accuracy": None
            if np.isnan(result["per_class_accuracy"][i])
            else round(float(result["per_class_accuracy"][i]), 4),
        }
        for i, name in enumerate(class_names)
    ]
    return {
        "criterion": {"best_val_accuracy": best_val_accuracy, "best_epoch": best_epoch},
        "test": {
            "accuracy": result["accuracy"],
            "top3_accuracy": result["top3_accuracy"],
            "macro_f1": result["macro_f1"],
            # Per-class averages (macro-F1) are over the classes with test drawings.
            "averaged_over": [class_names[i] for i in result["present"]],
            "samples": int(result["support"].sum()),
            "predictions_outside_classes": result["predictions_outside_classes"],
        },
        "imbalance": {
            "largest_class": int(train_counts.max()),
            "smallest_class": int(train_counts.min()),
            "ratio": round(float(train_counts.max() / max(train_counts.min(), 1)), 3),
            "spearman_size_vs_accuracy": spearman(train_counts, result["per_class_accuracy"]),
        },
        "per_class": per_class,
        "epochs_run": epochs_run,
        "train_seconds": round(train_seconds, 2),
    }
