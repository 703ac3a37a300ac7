"""The class-imbalance remedies of issue 36: ``--class-weight balanced`` and ``--logit-adjust TAU``."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from kerasketch.cli.run import main
from kerasketch.errors import ConfigError
from kerasketch.losses import LogitAdjustedCrossentropy, build_loss, class_prior
from kerasketch.recipes import registry
from kerasketch.runs import folders
from kerasketch.runs.eventlog import EventSink
from kerasketch.training.evaluate import predict_logits
from kerasketch.training.fit import balanced_class_weight, compile_model, fit, plan_fit


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_the_logit_adjusted_loss_equals_its_formula(smoothing):
    rng = np.random.default_rng(0)
    counts = np.array([500, 120, 40, 5])
    logits = rng.normal(0, 3, (16, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 16)
    tau = 1.5
    loss = build_loss("cross_entropy", 4, smoothing, logit_adjust=tau, train_counts=counts.tolist())
    assert isinstance(loss, LogitAdjustedCrossentropy)
    got = float(keras.ops.convert_to_numpy(loss(labels, logits)))
    # Menon et al. 2021, eq. 11: -log softmax(z + tau log pi)_y, averaged over the batch.
    target = np.eye(4)[labels] * (1 - smoothing) + smoothing / 4
    expected = -(target * _log_softmax(logits + tau * np.log(counts / counts.sum()))).sum(axis=1).mean()
    assert got == pytest.approx(expected, rel=1e-5)
    plain = build_loss("cross_entropy", 4, smoothing)
    assert got != pytest.approx(float(keras.ops.convert_to_numpy(plain(labels, logits))), rel=1e-3)


def test_tau_zero_is_the_plain_cross_entropy_and_focal_refuses_it():
    rng = np.random.default_rng(1)
    logits, labels = rng.normal(0, 2, (8, 3)).astype(np.float32), rng.integers(0, 3, 8)
    adjusted = LogitAdjustedCrossentropy(class_prior([10, 20, 30]), tau=0.0)
    plain = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(keras.ops.convert_to_numpy(adjusted(labels, logits))) == pytest.approx(
        float(keras.ops.convert_to_numpy(plain(labels, logits))), rel=1e-6
    )
    assert class_prior([3, 0, 1]) == [0.6, 0.2, 0.2]  # an absent class counts as one drawing
    with pytest.raises(ConfigError, match="cross-entropy"):
        build_loss("focal", 3, logit_adjust=1.0, train_counts=[1, 2, 3])
    restored = LogitAdjustedCrossentropy.from_config(adjusted.get_config())
    assert restored.prior == adjusted.prior and restored.tau == 0.0


def test_balanced_class_weights_are_scikit_learns():
    y = np.array([0] * 30 + [1] * 10 + [3] * 20)  # class 2 absent from training
    assert balanced_class_weight(y) == pytest.approx({0: 60 / 90, 1: 60 / 30, 3: 60 / 60})


def test_both_remedies_reach_training_and_leave_the_models_outputs_plain(tmp_path):
    recipe = registry.get("baseline").with_(batch_size=16)
    rng = np.random.default_rng(0)
    y = np.array([0] * 40 + [1] * 8, dtype=np.int64)
    x = rng.integers(0, 255, (48, recipe.image_size, recipe.image_size), dtype=np.uint8)
    counts = np.bincount(y)

    def first_loss(folder: str, *, class_weight: str = "none", tau: float = 0.0) -> tuple[float, np.ndarray]:
        model = compile_model(recipe, 2, seed=0, logit_adjust=tau, train_counts=counts)
        before = predict_logits(model, x[:4])
        (tmp_path / folder).mkdir()
        plan = plan_fit(
            recipe,
            x,
            y,
            x[:16],
            y[:16],
            run_dir=tmp_path / folder,
            sink=EventSink(),
            name=folder,
            seed=0,
            class_weight=class_weight,
        )
        return fit(model, plan, 1).history["loss"][0], before

    plain, outputs = first_loss("plain")
    weighted, _ = first_loss("weighted", class_weight="balanced")
    adjusted, adjusted_outputs = first_loss("adjusted", tau=1.0)
    assert weighted != pytest.approx(plain, rel=1e-3) and adjusted != pytest.approx(plain, rel=1e-3)
    # The same seed makes the same weights: the logit adjustment lives in the loss, not in the model.
    np.testing.assert_array_equal(adjusted_outputs, outputs)


def test_remedies_compose_with_streaming_and_bfloat16_and_are_recorded(tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = ["--data", "synthetic", "--classes", "4", "--max-per-class", "10", "--batch-size", "16", "--epochs", "1"]
    argv += ["--stream", "always", "--precision", "mixed_bfloat16", "--runs-dir", str(runs), "--quiet"]
    assert main(registry.get("baseline"), [*argv, "--class-weight", "balanced", "--logit-adjust", "1"]) == 0
    assert main(registry.get("baseline"), [*argv, "--name", "plain"]) == 0
    remedied, plain = sorted(runs.iterdir(), key=lambda p: p.name.startswith("plain"))
    config = json.loads((remedied / folders.CONFIG).read_text())
    assert config["options"]["class_weight"] == "balanced" and config["options"]["logit_adjust"] == 1.0
    assert config["input"]["streaming"] and config["options"]["precision"] == "mixed_bfloat16"
    plain_config = json.loads((plain / folders.CONFIG).read_text())
    assert plain_config["options"]["class_weight"] == "none" and plain_config["fingerprint"] != config["fingerprint"]
    assert "recall" in json.loads((remedied / folders.EVAL).read_text())["per_class"][0]


def test_bad_remedies_get_one_message_and_no_run_folder(tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = ["--data", "synthetic", "--classes", "4", "--max-per-class", "10", "--runs-dir", str(runs), "--quiet"]
    assert main(registry.get("baseline"), [*argv, "--logit-adjust", "-1"]) != 0
    assert "error: --logit-adjust must be in [0, 10], got -1" in capsys.readouterr().err
    assert main(registry.get("like_vgg_focal"), [*argv, "--logit-adjust", "1"]) != 0
    assert "applies to the cross-entropy" in capsys.readouterr().err
    assert main(registry.get("baseline"), [*argv, "--class-weight", "inverse"]) != 0
    assert "invalid choice" in capsys.readouterr().err
    assert not runs.exists() or not list(runs.iterdir())


def test_remedies_change_the_fingerprint_and_a_sweeps_rerun_command_keeps_them():
    from kerasketch.cli.sweep_cmds import rerun_command
    from kerasketch.data.assembly import DataConfig
    from kerasketch.options import RunSettings
    from kerasketch.training.config import fingerprint

    recipe, data = registry.get("baseline"), DataConfig(data="synthetic", max_per_class=12)
    plain = fingerprint(recipe, data)
    assert fingerprint(recipe, data, class_weight="none", logit_adjust=0.0) == plain  # old runs keep theirs
    assert fingerprint(recipe, data, class_weight="balanced") != plain
    assert fingerprint(recipe, data, logit_adjust=1.0) not in (plain, fingerprint(recipe, data, logit_adjust=2.0))
    settings = RunSettings(data="synthetic", class_weight="balanced", logit_adjust=1.5)
    command = rerun_command("baseline", settings)("s", {})
    assert "--class-weight balanced" in command and "--logit-adjust 1.5" in command
