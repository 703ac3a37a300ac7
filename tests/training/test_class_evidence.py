"""eval.json's per-class evidence (issue 36): checked against scikit-learn and SciPy on predictions made by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import balanced_accuracy_score, precision_recall_fscore_support

from kerasketch.errors import RunError
from kerasketch.runs import folders
from kerasketch.training import class_evidence
from kerasketch.training.evaluate import evaluation_report, scores


def _one_hot_logits(predicted: np.ndarray, width: int) -> np.ndarray:
    logits = np.zeros((len(predicted), width), np.float32)
    logits[np.arange(len(predicted)), predicted] = 5.0
    return logits


def _report(labels, predicted, width, train_counts, names, seed=0):
    result = scores(_one_hot_logits(np.asarray(predicted), width), np.asarray(labels), len(names))
    return evaluation_report(
        result,
        names,
        np.asarray(train_counts),
        best_val_accuracy=0.5,
        best_epoch=1,
        epochs_run=1,
        train_seconds=1.0,
        seed=seed,
    )


def test_per_class_precision_recall_f1_and_balanced_accuracy_are_scikit_learns():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 6, 400)
    predicted = np.where(rng.random(400) < 0.6, labels, rng.integers(0, 6, 400))
    names = list("abcdef")
    report = _report(labels, predicted, 6, [60, 50, 40, 30, 20, 10], names)
    p, r, f, _ = precision_recall_fscore_support(labels, predicted, labels=range(6), zero_division=0)
    rows = report["per_class"]
    np.testing.assert_allclose([c["precision"] for c in rows], p, atol=5e-5)
    np.testing.assert_allclose([c["recall"] for c in rows], r, atol=5e-5)
    np.testing.assert_allclose([c["f1"] for c in rows], f, atol=5e-5)
    assert report["test"]["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(labels, predicted))
    # The five classes with the fewest training drawings are b..f.
    assert report["imbalance"]["smallest_classes"] == ["f", "e", "d", "c", "b"]
    assert report["imbalance"]["smallest_recall"] == pytest.approx(r[1:].mean())


def test_a_prediction_outside_the_classes_lowers_recall_and_no_precision():
    # 3 classes, 12 logits (TS_CNN's head): drawing 4 (class 1) goes to logit 9.
    report = _report([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 9, 2], 12, [10, 20, 30], ["a", "b", "c"])
    rows = {c["class"]: c for c in report["per_class"]}
    assert rows["b"]["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert rows["b"]["precision"] == pytest.approx(2 / 3, abs=1e-4)  # 3 predicted b, 2 of them right
    assert rows["a"]["precision"] == 1.0 and rows["a"]["recall"] == 0.5
    assert report["test"]["balanced_accuracy"] == pytest.approx((0.5 + 2 / 3 + 1.0) / 3)


def test_a_class_without_test_drawings_has_no_recall_and_is_not_among_the_smallest():
    report = _report([0, 1, 1], [0, 1, 0], 3, [5, 50, 1], ["a", "b", "c"])
    rows = {c["class"]: c for c in report["per_class"]}
    assert rows["c"]["recall"] is None and rows["c"]["f1"] is None
    assert report["imbalance"]["smallest_classes"] == ["a", "b"]
    assert report["test"]["balanced_accuracy"] == pytest.approx(0.75)


def test_spearman_interval_is_scipys_rho_with_a_seeded_bootstrap_around_it():
    rng = np.random.default_rng(0)
    sizes = rng.integers(100, 6000, 37)
    recall = np.clip(0.7 + sizes / 30000 + rng.normal(0, 0.05, 37), 0, 1)
    first = class_evidence.spearman_with_interval(sizes, recall, seed=7)
    assert first["rho"] == pytest.approx(spearmanr(sizes, recall).statistic)
    assert first["low"] < first["rho"] < first["high"]
    assert first == class_evidence.spearman_with_interval(sizes, recall, seed=7)
    assert first["low"] != class_evidence.spearman_with_interval(sizes, recall, seed=8)["low"]
    # Tied sizes get average ranks, as SciPy's.
    tied = np.array([1, 1, 2, 2, 3, 3, 4])
    got = class_evidence.spearman_with_interval(tied, np.arange(7.0), seed=0)["rho"]
    assert got == pytest.approx(spearmanr(tied, np.arange(7.0)).statistic)


def test_spearman_without_enough_classes_or_with_a_constant_side_is_none():
    assert class_evidence.spearman_with_interval([1, 2], [0.5, 0.6], seed=0)["rho"] is None
    assert class_evidence.spearman_with_interval([3, 3, 3, 3], [0.1, 0.2, 0.3, 0.4], seed=0)["low"] is None


def test_the_new_keys_read_back_and_an_old_eval_json_without_them_still_reads(tmp_path):
    report = _report([0, 1, 2, 2], [0, 1, 2, 1], 3, [10, 20, 30], ["a", "b", "c"])
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / folders.EVAL).write_text(json.dumps(report))
    assert folders.read_evaluation(tmp_path / "new")["imbalance"]["smallest_classes"] == ["a", "b", "c"]
    old = {
        "test": {"accuracy": 0.5, "macro_f1": 0.4},
        "imbalance": {"largest_class": 30, "smallest_class": 10, "ratio": 3.0, "spearman_size_vs_accuracy": None},
        "per_class": [{"class": "a", "test_support": 1, "train_count": 10, "accuracy": 1.0}],
    }
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / folders.EVAL).write_text(json.dumps(old))
    assert folders.read_evaluation(tmp_path / "old") == old
    bad = dict(report, imbalance=dict(report["imbalance"], smallest_classes="a"))
    (tmp_path / "new" / folders.EVAL).write_text(json.dumps(bad))
    with pytest.raises(RunError, match="smallest_classes"):
        folders.read_evaluation(tmp_path / "new")
