"""``--mixup`` and ``--cutmix``: mixed training batches with soft labels, and every loss taking them."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerasketch.losses import build_loss
from kerasketch.metrics import SparseCategoricalAccuracy
from kerasketch.training.batch_mix import BatchMix, cutmix


def _batch(n: int = 16, classes: int = 4, size: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    # Each image a constant grey level of its own, so a mixed pixel says which images it mixes.
    x = (np.arange(1, n + 1, dtype=np.float32) / n)[:, None, None, None] * np.ones((n, 1, size, size), np.float32)
    return x, labels


def test_mixup_batches_are_convex_combinations_with_labels_of_the_same_mix():
    x, labels = _batch()
    mix = BatchMix(4, mixup=0.4)
    out, soft = mix(x, labels, (0, 0, 3, 0))
    assert out.dtype == np.float32 and soft.dtype == np.float32 and soft.shape == (16, 4)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(soft >= 0) and np.all((soft > 0).sum(axis=1) <= 2)  # each label mixes two classes at most
    assert not np.array_equal(out, x)
    # Each image stays one grey level, between its own and another image's.
    levels = x[:, 0, 0, 0]
    for i in range(16):
        assert np.all(out[i] == out[i, 0, 0, 0])
        between = [
            j
            for j in range(16)
            if min(levels[i], levels[j]) - 1e-6 <= out[i, 0, 0, 0] <= max(levels[i], levels[j]) + 1e-6
        ]
        assert between
    # The same key mixes the same way (a resumed run's batch), another key another way.
    again, soft_again = mix(x, labels, (0, 0, 3, 0))
    np.testing.assert_array_equal(again, out)
    np.testing.assert_array_equal(soft_again, soft)
    other, _ = mix(x, labels, (0, 1, 3, 0))
    assert not np.array_equal(other, out)


def test_mixup_mixes_images_and_one_hot_labels_by_one_lam():
    x, labels = _batch()
    mix = BatchMix(4, mixup=1.0)
    rng = np.random.default_rng([5, 2, 7, 0, 0x6D6978])
    rng.random()  # the draw that says whether the batch is mixed
    partner = rng.permutation(16)
    lam = rng.beta(1.0, 1.0)
    out, soft = mix(x, labels, (5, 2, 7, 0))
    np.testing.assert_allclose(out, lam * x + (1 - lam) * x[partner], rtol=1e-6)
    one_hot = np.eye(4, dtype=np.float32)[labels]
    np.testing.assert_allclose(soft, lam * one_hot + (1 - lam) * one_hot[partner], rtol=1e-6)


def test_cutmix_pastes_one_box_and_labels_count_its_pixels():
    x, labels = _batch(size=20)
    rng = np.random.default_rng(3)
    partner = rng.permutation(16)
    mixed, kept = cutmix(x, partner, 0.6, rng)
    i = int(np.flatnonzero(partner != np.arange(16))[0])  # an image with another image as its partner
    pasted = mixed[i, 0] != x[i, 0]  # every pasted pixel differs: the grey levels are distinct
    rows, cols = np.nonzero(pasted)
    assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)  # one rectangle
    np.testing.assert_array_equal(mixed[i, 0][pasted], x[partner[i], 0][pasted])
    assert kept == pytest.approx(1 - pasted.mean())
    # Through BatchMix: the same draws, the labels in the pixels' shares.
    mix = BatchMix(4, cutmix=1.0)
    rng = np.random.default_rng([1, 1, 1, 0, 0x6D6978])
    rng.random()  # whether the batch is mixed
    partner = rng.permutation(16)
    expected, kept = cutmix(x, partner, rng.beta(1.0, 1.0), rng)
    out, soft = mix(x, labels, (1, 1, 1, 0))
    np.testing.assert_array_equal(out, expected)
    one_hot = np.eye(4, dtype=np.float32)[labels]
    np.testing.assert_allclose(soft, kept * one_hot + (1 - kept) * one_hot[partner], rtol=1e-6)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-6)


def test_prob_leaves_batches_unmixed_with_one_hot_labels_and_class_weights_become_sample_weights():
    x, labels = _batch()
    never = BatchMix(4, mixup=0.4, prob=1e-9)
    out, soft = never(x, labels, (0, 0, 0, 0))
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(soft, np.eye(4, dtype=np.float32)[labels])
    weights = {0: 0.5, 1: 2.0, 2: 1.0}  # class 3 left out: it weighs 1, as in Keras
    weighted = BatchMix.of(4, mixup=0.4, class_weight=weights)
    assert weighted is not None and weighted.class_weights == (0.5, 2.0, 1.0, 1.0)
    _, soft, sample_weight = weighted(x, labels, (0, 0, 0, 0))
    np.testing.assert_allclose(sample_weight, soft @ np.array([0.5, 2.0, 1.0, 1.0]), rtol=1e-6)
    assert BatchMix.of(4) is None
    with pytest.raises(ValueError):
        BatchMix(4, mixup=0.2, prob=0.0)


def _loss_value(loss, y, logits) -> np.ndarray:
    return keras.ops.convert_to_numpy(loss.call(keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(logits)))


@pytest.mark.parametrize(
    "name, options",
    [
        ("cross_entropy", {}),
        ("cross_entropy", {"label_smoothing": 0.1}),
        ("cross_entropy", {"logit_adjust": 1.0}),
        ("focal", {}),
        ("focal", {"focal_alpha": "balanced"}),
        ("softmax_focal", {}),
        ("softmax_focal", {"focal_alpha": "balanced", "label_smoothing": 0.1}),
    ],
)
def test_every_loss_takes_a_soft_label_as_the_mix_of_its_values_on_the_two_labels(name, options):
    rng = np.random.default_rng(0)
    counts = [50, 20, 10, 5]
    logits = rng.normal(0, 2, (8, 4)).astype(np.float32)
    a, b = rng.integers(0, 4, 8), rng.integers(0, 4, 8)
    lam = rng.uniform(0, 1, 8).astype(np.float32)
    eye = np.eye(4, dtype=np.float32)
    soft = lam[:, None] * eye[a] + (1 - lam[:, None]) * eye[b]
    smoothing = options.pop("label_smoothing", 0.0)
    loss = build_loss(name, 4, smoothing, train_counts=counts, soft_labels=True, **options)
    mixed = _loss_value(loss, soft, logits)
    by_label = lam * _loss_value(loss, a.astype(np.float32), logits) + (1 - lam) * _loss_value(
        loss, b.astype(np.float32), logits
    )
    np.testing.assert_allclose(mixed, by_label, rtol=2e-5, atol=1e-6)
    # One-hot rows are the integer labels.
    np.testing.assert_allclose(
        _loss_value(loss, eye[a], logits), _loss_value(loss, a.astype(np.float32), logits), rtol=1e-6
    )


def test_the_plain_cross_entropy_with_soft_labels_is_keras_sparse_one_on_integer_labels():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (8, 5)).astype(np.float32)
    labels = rng.integers(0, 5, 8)
    soft_capable = build_loss("cross_entropy", 5, soft_labels=True)
    sparse = build_loss("cross_entropy", 5)
    assert isinstance(sparse, keras.losses.SparseCategoricalCrossentropy)
    assert float(keras.ops.convert_to_numpy(soft_capable(labels, logits))) == pytest.approx(
        float(keras.ops.convert_to_numpy(sparse(labels, logits))), rel=1e-6
    )


def test_accuracy_counts_a_soft_label_as_its_larger_share():
    metric = SparseCategoricalAccuracy()
    logits = np.array([[3.0, 0.0, 0.0], [0.0, 3.0, 0.0]], np.float32)
    soft = np.array([[0.7, 0.3, 0.0], [0.6, 0.4, 0.0]], np.float32)
    metric.update_state(keras.ops.convert_to_tensor(soft), keras.ops.convert_to_tensor(logits))
    assert float(metric.result()) == pytest.approx(0.5)


@pytest.mark.parametrize("name", ["cross_entropy", "softmax_focal", "focal"])
def test_soft_labels_of_the_classes_meet_a_wider_head_as_integer_labels_do(name):
    """ts_cnn's flatten head emits 4 x classes logits: soft rows of the classes are padded with zeros."""
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 2, (6, 12)).astype(np.float32)
    labels = rng.integers(0, 3, 6)
    loss = build_loss(name, 12, soft_labels=True)
    np.testing.assert_allclose(
        _loss_value(loss, np.eye(3, dtype=np.float32)[labels], logits),
        _loss_value(loss, labels.astype(np.float32), logits),
        rtol=1e-6,
    )
