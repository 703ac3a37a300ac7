"""The focal losses as options of every recipe (issue 36 item 1): ``--loss focal|softmax_focal``,
``--focal-alpha ALPHA|balanced`` and ``--focal-gamma GAMMA``."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from kerasketch.cli.run import main
from kerasketch.errors import ConfigError
from kerasketch.losses import (
    SparseCategoricalFocalCrossentropy,
    SparseSigmoidFocalLoss,
    balanced_alpha,
    build_loss,
)
from kerasketch.recipes import registry
from kerasketch.runs import folders

COUNTS = [500, 120, 40, 5]


def _batch(seed: int = 0, batch: int = 16, classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 3, (batch, classes)).astype(np.float32), rng.integers(0, classes, batch)


def _value(loss, labels, logits) -> float:
    return float(keras.ops.convert_to_numpy(loss(labels, logits)))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_the_softmax_focal_loss_with_one_alpha_is_keras_own(smoothing):
    logits, labels = _batch()
    for alpha, gamma in ((0.25, 2.0), (0.6, 0.5)):
        loss = build_loss("softmax_focal", 4, smoothing, focal_alpha=alpha, focal_gamma=gamma)
        assert isinstance(loss, SparseCategoricalFocalCrossentropy)
        keras_own = keras.losses.CategoricalFocalCrossentropy(
            alpha=alpha, gamma=gamma, from_logits=True, label_smoothing=smoothing
        )
        assert _value(loss, labels, logits) == pytest.approx(_value(keras_own, np.eye(4)[labels], logits), rel=1e-6)


def test_balanced_alpha_is_scikit_learns_class_weight():
    from sklearn.utils.class_weight import compute_class_weight

    y = np.repeat(np.arange(4), COUNTS)
    expected = compute_class_weight("balanced", classes=np.arange(4), y=y)
    np.testing.assert_allclose(balanced_alpha(COUNTS), expected, rtol=1e-12)
    # Weighed by the drawings, the alphas average to 1.
    assert np.dot(balanced_alpha(COUNTS), COUNTS) / sum(COUNTS) == pytest.approx(1.0)
    # A class without training drawings counts as one: finite, and never used in training.
    assert balanced_alpha([6, 0, 2]) == pytest.approx([8 / 18, 8 / 3, 8 / 6])


def test_per_class_alpha_in_both_forms_equals_the_formula_by_hand():
    logits, labels = _batch(1)
    alpha = np.array(balanced_alpha(COUNTS))
    gamma = 1.5
    # Keras' softmax form: per drawing alpha_y (1 - p_y)^gamma (-log p_y), averaged over the batch.
    p_y = _softmax(logits.astype(np.float64))[np.arange(len(labels)), labels]
    softmax_expected = np.mean(alpha[labels] * (1 - p_y) ** gamma * -np.log(p_y))
    softmax = build_loss("softmax_focal", 4, focal_alpha="balanced", focal_gamma=gamma, train_counts=COUNTS)
    assert _value(softmax, labels, logits) == pytest.approx(softmax_expected, rel=1e-5)
    # The log's sigmoid form: per drawing alpha_y sum_c (1 - p_t)^gamma BCE, summed over the batch.
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    y = np.eye(4)[labels]
    p_t = y * p + (1 - y) * (1 - p)
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    sigmoid_expected = np.sum(alpha[labels] * ((1 - p_t) ** gamma * bce).sum(axis=1))
    sigmoid = build_loss("focal", 4, focal_alpha="balanced", focal_gamma=gamma, train_counts=COUNTS)
    assert isinstance(sigmoid, SparseSigmoidFocalLoss)
    assert _value(sigmoid, labels, logits) == pytest.approx(sigmoid_expected, rel=1e-5)
    # Keras takes the per-class list itself: the same value from its own class on one-hot labels.
    keras_own = keras.losses.CategoricalFocalCrossentropy(alpha=alpha.tolist(), gamma=gamma, from_logits=True)
    assert _value(softmax, labels, logits) == pytest.approx(_value(keras_own, y, logits), rel=1e-6)


def test_the_sigmoid_focal_loss_at_the_logs_alpha_is_the_recipes_loss():
    logits, labels = _batch(2)
    logs = _value(build_loss("focal", 4), labels, logits)  # tests/models/test_losses.py: the log's formula
    assert _value(build_loss("focal", 4, focal_alpha=0.25, focal_gamma=2.0), labels, logits) == logs
    # One alpha for every class is a list of equal alphas.
    assert _value(SparseSigmoidFocalLoss(4, [0.25] * 4), labels, logits) == pytest.approx(logs, rel=1e-6)
    assert _value(build_loss("focal", 4, focal_alpha=0.5), labels, logits) == pytest.approx(2 * logs, rel=1e-6)


def test_the_focal_losses_compute_in_float32_under_bfloat16():
    logits, labels = _batch(3)
    half = keras.ops.cast(logits, "bfloat16")
    for name in ("focal", "softmax_focal"):
        loss = build_loss(name, 4, focal_alpha="balanced", train_counts=COUNTS)
        assert keras.backend.standardize_dtype(loss(labels, half).dtype) == "float32"


def test_a_model_with_a_per_class_softmax_focal_loss_saves_and_reloads(tmp_path):
    from kerasketch.models import build_model

    model = build_model("baseline", 4, 28, seed=0)
    model.compile(optimizer="adam", loss=build_loss("softmax_focal", 4, focal_alpha="balanced", train_counts=COUNTS))
    rng = np.random.default_rng(0)
    x, y = rng.random((4, 1, 28, 28), dtype=np.float32), rng.integers(0, 4, 4)
    model.train_on_batch(x, y)
    model.save(tmp_path / "focal.keras")
    restored = keras.saving.load_model(tmp_path / "focal.keras")
    assert isinstance(restored.loss, SparseCategoricalFocalCrossentropy)
    assert restored.loss.get_config() == model.loss.get_config()
    assert restored.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)


def test_bad_focal_values_get_one_message_and_no_run_folder(tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = ["--data", "synthetic", "--classes", "4", "--max-per-class", "10", "--runs-dir", str(runs), "--quiet"]
    focal = registry.get("like_vgg_focal")
    for given, message in (
        (["--focal-alpha", "-1"], "error: --focal-alpha must be in (0, 1], got -1"),
        (["--focal-alpha", "often"], "error: --focal-alpha must be balanced or a number in (0, 1], got 'often'"),
        (["--focal-gamma", "-0.5"], "error: --focal-gamma must be in [0, 10], got -0.5"),
    ):
        assert main(focal, [*argv, *given]) != 0
        assert message in capsys.readouterr().err
    # Options that do not fit the loss: one message each, before any data is read.
    for recipe, given, message in (
        ("baseline", ["--focal-alpha", "balanced"], "--focal-alpha applies to the focal losses"),
        ("baseline", ["--focal-gamma", "1"], "--focal-gamma applies to the focal losses"),
        ("like_vgg_focal", ["--loss", "softmax_focal", "--logit-adjust", "1"], "applies to the cross-entropy"),
        ("sketch_resnet", ["--loss", "focal"], "which the log's sigmoid focal loss does not take"),
    ):
        assert main(registry.get(recipe), [*argv, *given]) != 0
        err = capsys.readouterr().err
        assert err.count("error:") == 1 and message in err
    assert not runs.exists() or not list(runs.iterdir())
    # Unknown class counts: the balanced alpha cannot be made.
    for name in ("focal", "softmax_focal"):
        with pytest.raises(ConfigError, match="needs the training split's count of each class"):
            build_loss(name, 4, focal_alpha="balanced")
        with pytest.raises(ConfigError, match="needs the training split's count of each class"):
            build_loss(name, 4, focal_alpha="balanced", train_counts=[1, 2, 3])
    with pytest.raises(ConfigError, match="--focal-gamma must be"):
        build_loss("softmax_focal", 4, focal_gamma=-1.0)


def _run(runs, recipe: str, *given: str) -> dict:
    argv = ["--data", "synthetic", "--classes", "4", "--max-per-class", "12", "--batch-size", "16", "--epochs", "1"]
    before = set(runs.iterdir()) if runs.exists() else set()
    assert main(registry.get(recipe), [*argv, "--runs-dir", str(runs), "--quiet", *given]) == 0
    (run,) = set(runs.iterdir()) - before
    assert folders.load(run).status == "finished"
    return json.loads((run / folders.CONFIG).read_text())


def test_each_focal_form_trains_under_bfloat16_and_is_recorded(tmp_path, capsys):
    runs = tmp_path / "runs"
    keras_form = _run(runs, "baseline", "--loss", "softmax_focal", "--focal-alpha", "balanced", "--focal-gamma", "1")
    assert keras_form["recipe"]["loss"] == "softmax_focal"
    assert keras_form["options"]["focal_alpha"] == "balanced" and keras_form["options"]["focal_gamma"] == 1.0
    assert len(keras_form["options"]["focal_alpha_per_class"]) == 4
    logs_form = _run(runs, "baseline", "--loss", "focal", "--focal-alpha", "0.5", "--precision", "mixed_bfloat16")
    assert logs_form["recipe"]["loss"] == "focal" and logs_form["options"]["precision"] == "mixed_bfloat16"
    assert logs_form["options"]["focal_alpha"] == 0.5 and "focal_alpha_per_class" not in logs_form["options"]
    keras_half = _run(runs, "baseline", "--loss", "softmax_focal", "--precision", "mixed_bfloat16")
    assert keras_half["options"]["focal_alpha"] == 0.25  # the default, recorded for a focal loss
    plain = _run(runs, "baseline")
    # Every run option is recorded as given; the recipe's loss says that none of the focal ones applied.
    assert plain["recipe"]["loss"] == "cross_entropy" and "focal_alpha_per_class" not in plain["options"]
    fingerprints = {c["fingerprint"] for c in (keras_form, logs_form, keras_half, plain)}
    assert len(fingerprints) == 4


@pytest.mark.matrix  # a cell of the flag matrix (minutes of compiling): make test-matrix
def test_a_focal_loss_trains_with_jit_compile(tmp_path):
    config = _run(tmp_path, "baseline", "--loss", "softmax_focal", "--focal-alpha", "balanced", "--jit-compile")
    assert config["options"]["jit_compile"] is True and config["options"]["focal_alpha"] == "balanced"


def test_the_recipes_default_focal_options_keep_its_fingerprint():
    from kerasketch.data.assembly import DataConfig
    from kerasketch.training.config import fingerprint

    recipe, data = registry.get("like_vgg_focal"), DataConfig(data="synthetic", max_per_class=12)
    plain = fingerprint(recipe, data)
    assert fingerprint(recipe, data, focal_alpha=0.25, focal_gamma=2.0) == plain
    assert fingerprint(recipe, data, focal_alpha="balanced") != plain
    assert fingerprint(recipe, data, focal_gamma=1.0) != plain


def test_a_sweeps_rerun_command_keeps_the_loss_and_its_options():
    from kerasketch.cli.sweep_cmds import rerun_command
    from kerasketch.options import RunSettings

    settings = RunSettings(data="synthetic", loss="softmax_focal", focal_alpha="balanced", focal_gamma=1.5)
    command = rerun_command("baseline", settings)("s", {})
    assert "--loss softmax_focal" in command and "--focal-alpha balanced" in command
    assert "--focal-gamma 1.5" in command


def test_the_config_tab_names_the_focal_form_and_its_options():
    from kerasketch.tui.present import imbalance_remedies

    options = {"focal_alpha": "balanced", "focal_gamma": 2.0, "class_weight": "none"}
    assert imbalance_remedies(options, "softmax_focal") == "softmax focal loss (Keras'), alpha balanced, gamma 2"
    assert imbalance_remedies({**options, "focal_alpha": 0.25}, "focal").startswith(
        "sigmoid focal loss (the log's), alpha 0.25, gamma 2"
    )
    assert imbalance_remedies({"class_weight": "none"}, "focal") == ""  # a run from before the options
    assert imbalance_remedies(options, "cross_entropy") == ""
