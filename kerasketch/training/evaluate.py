"""Evaluation: the original's criterion and more, with scikit-learn's metrics.

The original judged a model by its best validation accuracy. ``eval.json``
keeps that and adds what its discussion asked for: accuracy on a held-out
test split, top-3 accuracy, macro-F1, and per-class accuracy beside each
class's size, with the rank correlation between the two, which says whether
the class imbalance hurts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np

from ..data.assembly import Dataset, Images

Numbers: TypeAlias = Sequence[float] | np.ndarray


def predict_logits(model, images: Images, batch_size: int = 256) -> np.ndarray:
    from .inputs import Batches  # imports Keras; the rest of this module does not need it

    batches = Batches(images, np.zeros(len(images), np.int64), batch_size, shuffle=False)
    # float32 whatever the model computed in: a mixed_bfloat16 model's logits come back as ml_dtypes' bfloat16.
    return np.asarray(model.predict(batches, verbose=0), dtype=np.float32)


#: Drawings predicted at a time by :func:`predicted_scores`: the logits of a block, not of the
#: whole split, are in memory (a 5-million-drawing test split has 6.9 GB of logits at 345 classes).
BLOCK = 32_768


def predicted_scores(
    model, images: Images, labels: np.ndarray, num_classes: int, batch_size: int = 256, block: int = BLOCK
) -> dict[str, Any]:
    """:func:`scores` of ``model`` on ``images``, predicted a block at a time in bounded memory."""
    tally = Tally(num_classes)
    for lo in range(0, len(labels), block):
        tally.add(predict_logits(model, images[lo : lo + block], batch_size), labels[lo : lo + block])
    return tally.result()


class Tally:
    """The counts behind :func:`scores`, added up block by block: what evaluation keeps in memory."""

    def __init__(self, num_classes: int):
        self.num_classes = num_classes
        self.confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
        self.true_counts = np.zeros(num_classes, dtype=np.int64)
        self.top3_hits = 0
        self.outside = 0
        # Each drawing's predicted class and its softmax probability, in order (what a report's grid of
        # mistakes picks from): 8 bytes a drawing.
        self._predicted: list[np.ndarray] = []
        self._confidence: list[np.ndarray] = []

    def add(self, logits: np.ndarray, labels: np.ndarray) -> None:
        labels = np.asarray(labels, dtype=np.int64)
        if not len(labels):
            return
        pred = logits.argmax(axis=1)
        peak = logits.max(axis=1, keepdims=True)
        self._predicted.append(pred.astype(np.int32))
        self._confidence.append((1.0 / np.exp(logits - peak).sum(axis=1)).astype(np.float32))
        k = min(3, logits.shape[1])
        top = np.argpartition(-logits, k - 1, axis=1)[:, :k]
        self.top3_hits += int((top == labels[:, None]).any(axis=1).sum())
        inside = pred < self.num_classes
        self.outside += int((~inside).sum())
        n = self.num_classes
        self.confusion += np.bincount(labels[inside] * n + pred[inside], minlength=n * n).reshape(n, n)
        self.true_counts += np.bincount(labels, minlength=n)

    def result(self) -> dict[str, Any]:
        matrix, counts = self.confusion, self.true_counts
        total = int(counts.sum())
        tp = np.diag(matrix)
        present = np.flatnonzero(counts > 0)
        # F1 = 2 TP / (2 TP + FP + FN), 0 where nothing was predicted or present (scikit-learn's
        # zero_division=0); a prediction outside the classes is a miss of its true class.
        predicted = matrix.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            denominator = predicted + counts
            f1 = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)
            per_class = np.where(counts > 0, tp / np.maximum(counts, 1), np.nan)
        return {
            "accuracy": float(tp.sum() / total) if total else float("nan"),
            "top3_accuracy": float(self.top3_hits / total) if total else float("nan"),
            "macro_f1": float(f1[present].mean()) if len(present) else float("nan"),
            "present": present,
            "predictions_outside_classes": self.outside,
            "confusion": matrix,
            "per_class_accuracy": per_class,
            # A class's support is its drawings, counted from the labels: the matrix's rows leave out
            # the predictions outside the classes (a TS_CNN run with one reported 19 test samples of 20).
            "support": counts.copy(),
            "predicted": np.concatenate(self._predicted) if self._predicted else np.zeros(0, np.int32),
            "confidence": np.concatenate(self._confidence) if self._confidence else np.zeros(0, np.float32),
        }


def scores(logits: np.ndarray, labels: np.ndarray, num_classes: int) -> dict[str, Any]:
    """Accuracy, top-3, macro-F1 and the confusion matrix.

    A model may have more logits than classes (TS_CNN's original head has
    4 x num_classes): predictions outside the classes count as wrong and are
    counted, not put in the matrix (so a row of the matrix may sum to less
    than the class's support). Macro-F1 averages over the classes present
    in ``labels`` (``present``): a class with no drawings has no F1 to count,
    and counting it as 0 made a two-class evaluation of a 37-class model
    report a small fraction of its real macro-F1. (Computed from the counts of :class:`Tally`,
    so that a split too large for its logits to fit in memory is scored the
    same way; the tests check it against scikit-learn's ``f1_score``.)
    """
    tally = Tally(num_classes)
    tally.add(logits, labels)
    return tally.result()


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
    seed: int = 0,
) -> dict[str, Any]:
    from . import class_evidence

    support = result["support"]
    scored = class_evidence.per_class_scores(result["confusion"], support)
    per_class = [
        {
            "class": name,
            "test_support": int(support[i]),
            "train_count": int(train_counts[i]),
            "accuracy": None
            if np.isnan(result["per_class_accuracy"][i])
            else round(float(result["per_class_accuracy"][i]), 4),
            # None for a class without test drawings: it has no recall (and so no F1) to show.
            **{
                key: round(float(scored[key][i]), 4) if support[i] > 0 else None
                for key in ("precision", "recall", "f1")
            },
        }
        for i, name in enumerate(class_names)
    ]
    recall = np.where(support > 0, scored["recall"], np.nan)
    smallest, smallest_names = class_evidence.smallest_recall(scored["recall"], support, train_counts, class_names)
    rank = class_evidence.spearman_with_interval(train_counts, recall, seed=seed)
    return {
        "criterion": {"best_val_accuracy": best_val_accuracy, "best_epoch": best_epoch},
        "test": {
            "accuracy": result["accuracy"],
            "top3_accuracy": result["top3_accuracy"],
            "macro_f1": result["macro_f1"],
            "balanced_accuracy": class_evidence.balanced_accuracy(scored["recall"], support),
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
            # Recall is per-class accuracy; the interval resamples the classes (seeded by the run's seed).
            "spearman_size_vs_recall": rank["rho"],
            "spearman_ci95_low": rank["low"],
            "spearman_ci95_high": rank["high"],
            "bootstrap_resamples": rank["resamples"],
            "bootstrap_seed": rank["seed"],
            "smallest_recall": smallest,
            "smallest_classes": smallest_names,
        },
        "per_class": per_class,
        "epochs_run": epochs_run,
        "train_seconds": round(train_seconds, 2),
    }


def evaluate_test_split(
    run_dir: Path,
    dataset: Dataset,
    history: list[dict[str, float]] | None = None,
    *,
    precise_bn: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Evaluate a run folder's best model on ``dataset``'s test split: writes ``eval.json`` and
    ``confusion.csv``; returns (the report, the scores). A sweep calls this for its best trial.
    ``precise_bn``: what ``--precise-bn`` did to the model before (training/precise_bn.py), recorded beside."""
    import keras

    from .. import models  # noqa: F401  registers the custom layers that load_model needs
    from ..runs import confusion, folders
    from ..runs.jsonfile import write_json_atomically
    from . import mistakes
    from .history import best_so_far, read_history

    history = read_history(run_dir / folders.HISTORY) if history is None else history
    best, best_epoch, _ = best_so_far(history)
    # Across a resume, the epochs' own durations add up to the training time.
    train_seconds = sum(e.seconds or 0.0 for e in folders.load(run_dir).epochs())
    best_model = keras.saving.load_model(run_dir / folders.BEST, compile=False)
    result = predicted_scores(best_model, dataset.x_test, dataset.y_test, dataset.num_classes)
    train_counts = np.bincount(dataset.y_train, minlength=dataset.num_classes)
    report = evaluation_report(
        result,
        dataset.class_names,
        train_counts,
        best_val_accuracy=best,
        best_epoch=best_epoch + 1,
        epochs_run=len(history),
        train_seconds=train_seconds,
        seed=int((folders.read_config(run_dir).get("data") or {}).get("seed", 0)),
    )
    confused = confusion.most_confused(dataset.class_names, result["confusion"].tolist())
    report["most_confused"] = [{"true": t, "predicted": p, "count": c, "share": round(s, 4)} for t, p, c, s in confused]
    report["synthetic"] = dataset.synthetic
    if precise_bn is not None:
        report["precise_bn"] = precise_bn
    mistakes.write(run_dir, dataset.x_test, dataset.y_test, result, dataset.class_names, confused)
    write_json_atomically(run_dir / folders.EVAL, report)
    confusion.write(run_dir / folders.CONFUSION, dataset.class_names, result["confusion"].tolist())
    return report, result
