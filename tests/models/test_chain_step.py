"""The twin's lean training and validation steps give exactly what Keras' own steps give."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

from kerasketch.models import chain_step
from kerasketch.models.chain import LayerChain
from kerasketch.recipes import registry
from kerasketch.training.fit import compile_model

pytestmark = pytest.mark.torch_only("the twin and its steps exist on the torch backend only")


def _data(size: int, n: int = 96, classes: int = 7, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, size, size), dtype=np.float32), rng.integers(0, classes, n)


def _fit(recipe: str, precision: str, keras_steps: bool, monkeypatch, **fit_kwargs):
    with monkeypatch.context() as patch:
        if keras_steps:
            patch.setattr(chain_step, "lean_plan", lambda model: None)
        model = compile_model(registry.get(recipe), 7, seed=0, precision=precision)
        assert isinstance(model, LayerChain)
        x, y = _data(registry.get(recipe).image_size)
        history = model.fit(
            x,
            y,
            batch_size=16,
            epochs=2,
            validation_data=_data(model.input_shape[-1], 40, seed=1),
            verbose=0,
            **fit_kwargs,
        )
    return model, history.history


@pytest.mark.parametrize(
    ("recipe", "precision"),
    [
        ("baseline", "float32"),  # SGD
        ("like_vgg_adamw", "float32"),  # BatchNorm, dropout, AdamW
        ("ts_cnn", "float32"),  # L2 penalties: the regularisation losses join the loss
        ("like_vgg_adamw", "mixed_bfloat16"),  # bfloat16 logits
    ],
)
def test_lean_steps_train_and_validate_bit_identically_to_keras_steps(recipe, precision, monkeypatch):
    lean, lean_history = _fit(recipe, precision, False, monkeypatch)
    assert lean._lean is not None  # the lean steps ran
    stock, stock_history = _fit(recipe, precision, True, monkeypatch)
    assert stock._lean is None

    assert set(lean_history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert lean_history == stock_history
    for a, b in zip(lean.weights, stock.weights, strict=True):
        torch.testing.assert_close(a.value, b.value, rtol=0, atol=0)
    for a, b in zip(lean.optimizer.variables, stock.optimizer.variables, strict=True):
        torch.testing.assert_close(a.value, b.value, rtol=0, atol=0)


def test_sample_weights_and_other_compiles_run_keras_steps(monkeypatch):
    calls = []
    real_train_step = chain_step.train_step

    def spy(model, metrics, data):
        logs = real_train_step(model, metrics, data)
        calls.append(logs is not None)
        return logs

    monkeypatch.setattr(chain_step, "train_step", spy)
    model = compile_model(registry.get("baseline"), 7, seed=0)
    x, y = _data(28, 32)
    model.fit(x, y, sample_weight=np.linspace(0.5, 1.5, 32), batch_size=16, verbose=0)
    assert calls == [False, False]  # Keras weighs the loss and the metrics: its own step

    # The focal loss, and a recompile with another metric, leave the lean steps out.
    focal = compile_model(registry.get("like_vgg_focal"), 7, seed=0)
    assert isinstance(focal, LayerChain) and chain_step.lean_plan(focal) is None
    model.compile(optimizer="sgd", loss=model.loss, metrics=[keras.metrics.SparseTopKCategoricalAccuracy(k=2)])
    history = model.fit(x, y, batch_size=16, verbose=0).history
    assert model._lean is None and "top_k_categorical_accuracy" in " ".join(history)
