"""eval.json's scores, on logits made by hand: what counts as a sample, a class's support, an accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from kerasketch.training.evaluate import evaluation_report, scores


def _one_hot_logits(predicted: list[int], width: int) -> np.ndarray:
    logits = np.zeros((len(predicted), width), np.float32)
    logits[np.arange(len(predicted)), predicted] = 5.0
    return logits


def test_a_prediction_outside_the_classes_is_a_wrong_sample_not_a_missing_one():
    # TS_CNN's head has 4 x num_classes logits: 3 classes, 12 logits. Drawing 4 (class 1)
    # goes to logit 9, which is no class.
    labels = np.array([0, 0, 1, 1, 1, 2])
    result = scores(_one_hot_logits([0, 1, 1, 1, 9, 2], 12), labels, 3)
    assert result["predictions_outside_classes"] == 1
    assert result["support"].tolist() == [2, 3, 1]
    assert result["accuracy"] == pytest.approx(4 / 6)
    np.testing.assert_allclose(result["per_class_accuracy"], [1 / 2, 2 / 3, 1.0])
    # The matrix has no column for logit 9: class 1's row counts 2 of its 3 drawings.
    assert result["confusion"].sum(axis=1).tolist() == [2, 2, 1]
    report = evaluation_report(
        result,
        ["a", "b", "c"],
        np.array([10, 20, 30]),
        best_val_accuracy=0.5,
        best_epoch=1,
        epochs_run=1,
        train_seconds=1.0,
    )
    assert report["test"]["samples"] == 6
    assert [c["test_support"] for c in report["per_class"]] == [2, 3, 1]
    assert [c["accuracy"] for c in report["per_class"]] == [0.5, 0.6667, 1.0]


def test_a_class_without_test_drawings_has_no_accuracy():
    result = scores(_one_hot_logits([0, 1], 3), np.array([0, 1]), 3)
    assert result["support"].tolist() == [1, 1, 0]
    assert np.isnan(result["per_class_accuracy"][2]) and result["predictions_outside_classes"] == 0
