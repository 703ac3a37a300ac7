"""The two losses against the log's PyTorch definitions."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import kerasketch  # noqa: F401  (selects the torch backend before keras loads)
from kerasketch.errors import ConfigError
from kerasketch.losses import SparseSigmoidFocalLoss, build_loss
from kerasketch.models import build_model

pytestmark = pytest.mark.backends
NUM_CLASSES = 200


def log_focal_loss(inputs: torch.Tensor, targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The log's FocalLoss(alpha=0.25, gamma=2, logits=True, reduce=True).forward."""
    y = torch.zeros(targets.shape[0], num_classes)
    y[range(y.shape[0]), targets] = 1
    bce_loss = F.binary_cross_entropy_with_logits(inputs, y, reduction="none")
    pt = torch.exp(-bce_loss)
    f_loss = 0.25 * (1 - pt) ** 2 * bce_loss
    return torch.sum(f_loss)


def random_batch(seed: int, batch: int = 16, scale: float = 3.0, num_classes: int = NUM_CLASSES):
    rng = np.random.default_rng(seed)
    logits = (rng.normal(size=(batch, num_classes)) * scale).astype(np.float32)
    labels = rng.integers(0, num_classes, batch)
    return logits, labels


def loss_and_grad(fn, logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """The torch reference's loss and its gradient with respect to the logits."""
    z = torch.tensor(logits, requires_grad=True)
    loss = fn(z, torch.from_numpy(labels))
    loss.backward()
    return loss.item(), z.grad.numpy()


def keras_loss_and_grad(value_and_grads, loss, logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """A Keras loss and its gradient with respect to the logits, on the active backend."""
    value, (grad,) = value_and_grads(lambda z: loss(labels, z), logits)
    return value, grad


@pytest.mark.parametrize("seed", range(3))
def test_cross_entropy_equals_torch_cross_entropy_loss(seed, value_and_grads):
    logits, labels = random_batch(seed)
    keras_loss = build_loss("cross_entropy", NUM_CLASSES)
    got, got_grad = keras_loss_and_grad(value_and_grads, keras_loss, logits, labels)
    expected, expected_grad = loss_and_grad(nn.CrossEntropyLoss(), logits, labels)
    assert got == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(got_grad, expected_grad, atol=1e-8)


@pytest.mark.parametrize("seed, num_classes", [(0, NUM_CLASSES), (1, NUM_CLASSES), (2, 7)])
def test_focal_loss_equals_the_logs_formula(seed, num_classes, value_and_grads):
    logits, labels = random_batch(seed, num_classes=num_classes)
    keras_loss = build_loss("focal", num_classes)
    got, got_grad = keras_loss_and_grad(value_and_grads, keras_loss, logits, labels)
    expected, expected_grad = loss_and_grad(lambda z, y: log_focal_loss(z, y, num_classes), logits, labels)
    assert got == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(got_grad, expected_grad, rtol=1e-4, atol=1e-6)


def test_focal_loss_is_a_sum_over_the_batch_not_a_mean():
    logits, labels = random_batch(0, batch=8)
    loss = build_loss("focal", NUM_CLASSES)
    whole = float(loss(labels, logits))
    halves = float(loss(labels[:4], logits[:4])) + float(loss(labels[4:], logits[4:]))
    assert whole == pytest.approx(halves, rel=1e-6)


def test_focal_loss_saturates_where_keras_clips_probabilities(value_and_grads):
    """A measured deviation (see docs/deviations-models.md): Keras' focal loss
    computes sigmoid then BCE on probabilities clipped to [1e-7, 1 - 1e-7], so
    a class logit beyond ~16 on the wrong side adds a constant and (almost) no
    gradient, where the log's BCE-with-logits keeps growing."""
    logits = np.zeros((1, 4), np.float32)
    logits[0, 2] = -20.0  # the true class, confidently rejected
    labels = np.array([2])
    loss = build_loss("focal", 4)
    _, got_grad = keras_loss_and_grad(value_and_grads, loss, logits, labels)
    _, expected_grad = loss_and_grad(lambda z, y: log_focal_loss(z, y, 4), logits, labels)
    assert expected_grad[0, 2] == pytest.approx(-0.25, rel=1e-3)
    assert abs(got_grad[0, 2]) < 1e-6
    # Below the clip the two agree.
    logits[0, 2] = -12.0
    _, got_grad = keras_loss_and_grad(value_and_grads, loss, logits, labels)
    _, expected_grad = loss_and_grad(lambda z, y: log_focal_loss(z, y, 4), logits, labels)
    np.testing.assert_allclose(got_grad, expected_grad, rtol=1e-3, atol=1e-7)


def test_focal_loss_refuses_a_model_of_another_width():
    logits, labels = random_batch(0, num_classes=800)  # ts_cnn's flatten head
    with pytest.raises(ConfigError, match="800"):
        build_loss("focal", NUM_CLASSES)(labels, logits)


def test_unknown_loss_names_the_known_ones():
    with pytest.raises(ConfigError, match="cross_entropy, focal"):
        build_loss("hinge", NUM_CLASSES)


def test_a_model_compiled_with_the_focal_loss_saves_and_reloads(tmp_path):
    model = build_model("like_vgg", 10, seed=0)
    model.compile(optimizer="adam", loss=build_loss("focal", 10))
    rng = np.random.default_rng(0)
    x, y = rng.random((4, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 4)
    model.train_on_batch(x, y)
    path = tmp_path / "focal.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored.loss, SparseSigmoidFocalLoss)
    assert restored.loss.get_config() == model.loss.get_config()
    assert restored.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)
