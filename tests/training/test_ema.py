"""``--ema``: the optimiser's moving average of the weights, validated and saved in their place; and mixed
batches (``--mixup``, ``--cutmix``) through real training with every loss option."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerasketch.models.augment import without_augmentation
from kerasketch.optimizers import ORIGINAL_SETTINGS, build_optimizer
from kerasketch.recipes import registry
from kerasketch.runs import folders
from kerasketch.runs.eventlog import EventSink
from kerasketch.training import ema
from kerasketch.training.batch_mix import BatchMix
from kerasketch.training.fit import compile_model, fit, plan_fit


@pytest.mark.parametrize("name", sorted(ORIGINAL_SETTINGS))
def test_every_recipe_optimizer_keeps_the_average_keras_defines(name):
    """SGD, RMSprop and kerasketch's PyTorch-rule Adam and AdamW (Keras subclasses) all take use_ema."""
    momentum = 0.6
    optimizer = build_optimizer(name, **ema.optimizer_settings(momentum))
    assert optimizer.use_ema and optimizer.ema_momentum == momentum
    rng = np.random.default_rng(0)
    variable = keras.Variable(rng.normal(size=(3, 2)).astype("float32"))
    average = None
    for _ in range(4):
        gradient = keras.ops.convert_to_tensor(rng.normal(size=(3, 2)).astype("float32"))
        optimizer.apply([gradient], [variable])
        now = keras.ops.convert_to_numpy(variable)
        average = now if average is None else momentum * average + (1 - momentum) * now  # the first step starts it
    raw = keras.ops.convert_to_numpy(variable).copy()
    optimizer.finalize_variable_values([variable])  # Keras' end of fit: the average into the variable
    np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), average, rtol=1e-5, atol=1e-7)
    assert not np.allclose(raw, average)


class Weights(keras.callbacks.Callback):
    """The model's weights at each epoch's end, where this callback stands in the list."""

    def __init__(self):
        super().__init__()
        self.seen: list[list[np.ndarray]] = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append([w.copy() for w in without_augmentation(self.model).get_weights()])


def _data(recipe, n: int = 64, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(4), n // 4).astype(np.int64)
    x = rng.integers(0, 60, (n, recipe.image_size, recipe.image_size), dtype=np.uint8)
    for c in range(4):  # a bright quarter per class: learnable in a few steps
        r, s = divmod(c, 2)
        half = recipe.image_size // 2
        x[y == c, r * half : (r + 1) * half, s * half : (s + 1) * half] += 150
    return x, y


@pytest.mark.parametrize("recipe_name", ["baseline", "like_vgg_adamw"])  # Keras' SGD, kerasketch's AdamW
def test_validation_and_the_best_model_use_the_average_and_the_backup_the_raw_weights(recipe_name, tmp_path):
    recipe = registry.get(recipe_name).with_(batch_size=16)
    x, y = _data(recipe)
    model = compile_model(recipe, 4, seed=0, ema_momentum=0.5)
    plan = plan_fit(recipe, x, y, x[::2], y[::2], run_dir=tmp_path, sink=EventSink(), name="r", seed=0, ema=True)
    swap = plan.callbacks[0]
    assert isinstance(swap, keras.callbacks.SwapEMAWeights)
    backup = next(i for i, c in enumerate(plan.callbacks) if isinstance(c, keras.callbacks.BackupAndRestore))
    assert isinstance(plan.callbacks[backup - 1], ema.RawWeightsBack)
    averaged, raw = Weights(), Weights()
    plan.callbacks.insert(1, averaged)  # right after the swap: what early stopping and the checkpoint see
    plan.callbacks.insert(backup + 1, raw)  # just before the backup: what it writes
    history = fit(model, plan, 3).history
    # The average is not the raw weights (at the last epoch Keras makes the slot the average too: fit then ends).
    for a, r in zip(averaged.seen[:-1], raw.seen[:-1]):
        assert max(float(np.abs(wa - wr).max()) for wa, wr in zip(a, r)) > 1e-6
    best_epoch = int(np.argmax(history["val_accuracy"]))
    best = keras.saving.load_model(tmp_path / folders.BEST, compile=False)
    for saved, seen in zip(best.get_weights(), averaged.seen[best_epoch]):
        np.testing.assert_allclose(saved, seen, rtol=1e-6, atol=1e-7)
    # The logged validation accuracy is the averaged weights' (and the model ends on the best of them).
    val_x = x[::2].astype(np.float32)[:, None] / 255.0
    accuracy = float(np.mean(best.predict(val_x, verbose=0).argmax(axis=1) == y[::2]))
    assert accuracy == pytest.approx(history["val_accuracy"][best_epoch])
    for end, seen in zip(without_augmentation(model).get_weights(), averaged.seen[best_epoch]):
        np.testing.assert_allclose(end, seen, rtol=1e-6, atol=1e-7)


def test_a_resumed_ema_run_trains_on_as_the_uninterrupted_one(tmp_path):
    recipe = registry.get("baseline").with_(batch_size=16, patience=100)
    x, y = _data(recipe)

    class StopAfter(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    def train(folder: str, *, stop: bool = False, initial_epoch: int = 0) -> list[np.ndarray]:
        model = compile_model(recipe, 4, seed=0, ema_momentum=0.7)
        plan = plan_fit(
            recipe,
            x,
            y,
            x[::2],
            y[::2],
            run_dir=tmp_path / folder,
            sink=EventSink(),
            name=folder,
            seed=0,
            ema=True,
            initial_epoch=initial_epoch,
        )
        averaged = Weights()
        plan.callbacks.insert(1, averaged)
        if stop:
            plan.callbacks.append(StopAfter())
        fit(model, plan, 3)
        return averaged.seen[-1]  # the last epoch's average (fit then restores the best epoch's)

    (tmp_path / "whole").mkdir()
    (tmp_path / "cut").mkdir()
    whole = train("whole")
    with pytest.raises(KeyboardInterrupt):
        train("cut", stop=True)
    assert (tmp_path / "cut" / folders.BACKUP).is_dir()
    resumed = train("cut", initial_epoch=1)
    for a, b in zip(whole, resumed):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "options",
    [
        {"loss": "cross_entropy"},
        {"loss": "cross_entropy", "logit_adjust": 1.0},
        {"loss": "cross_entropy", "class_weight": "balanced"},
        {"loss": "cross_entropy", "sampler": "balanced"},
        {"loss": "focal", "focal_alpha": "balanced"},
        {"loss": "softmax_focal"},
    ],
)
def test_mixed_batches_train_with_every_loss_option_and_leave_a_plain_model(options, tmp_path):
    options = dict(options)
    recipe = registry.get("baseline").with_(batch_size=16, loss=options.pop("loss"))
    x, y = _data(recipe, n=48)
    counts = np.bincount(y, minlength=4)
    model = compile_model(
        recipe,
        4,
        seed=0,
        soft_labels=True,
        train_counts=counts,
        logit_adjust=options.pop("logit_adjust", 0.0),
        focal_alpha=options.pop("focal_alpha", 0.25),
    )
    plan = plan_fit(
        recipe,
        x,
        y,
        x[:16],
        y[:16],
        run_dir=tmp_path,
        sink=EventSink(),
        name="m",
        seed=0,
        mix=BatchMix(4, mixup=0.4, cutmix=1.0),
        **options,
    )
    assert plan.class_weight is None  # class weights travel as the mix's sample weights
    batch = plan.train[0]
    assert batch[1].shape == (16, 4) and len(batch) == (3 if "class_weight" in options else 2)
    loss = fit(model, plan, 1).history["loss"][0]
    assert np.isfinite(loss)
    saved = keras.saving.load_model(tmp_path / folders.BEST, compile=False)
    assert not any(type(layer).__name__ in ("MixUp", "CutMix") for layer in saved.layers)
    assert saved.output_shape == (None, 4)
