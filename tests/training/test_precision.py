"""--precision: Keras' mixed_bfloat16 policy in a real run, its record, and what it leaves alone."""

from __future__ import annotations

import json
from dataclasses import replace

import keras
import numpy as np
import pytest
from prediction_child import in_prediction_child

from kerasketch.cli.run import main
from kerasketch.cli.sweep_cmds import rerun_command
from kerasketch.data.assembly import DataConfig
from kerasketch.errors import ConfigError
from kerasketch.options import RunSettings, TrainOptions
from kerasketch.recipes import registry
from kerasketch.training import execution
from kerasketch.training.config import fingerprint
from kerasketch.training.fit import compile_model
from kerasketch.training.run import RunOptions

SMALL = ["--data", "synthetic", "--classes", "4", "--max-per-class", "12", "--epochs", "1", "--quiet"]


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["like_vgg_adamw", "sketch_resnet"])
def test_a_mixed_bfloat16_run_trains_records_it_and_predicts_in_float32(tmp_path, recipe):
    assert main(registry.get(recipe), [*SMALL, "--precision", "mixed_bfloat16", "--runs-dir", str(tmp_path)]) == 0
    assert keras.config.dtype_policy().name == "float32"  # the global policy is given back
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    config = json.loads((run / "config.json").read_text())
    assert config["options"]["precision"] == "mixed_bfloat16"
    assert np.isfinite(json.loads((run / "eval.json").read_text())["test"]["accuracy"])

    # The saved model keeps the policy (bfloat16 arithmetic, float32 weights), and the dashboard's
    # prediction child gets float32 logits from it.
    checks = (
        "policies = {l.dtype_policy.name for l in t.model.layers if l.weights}\n"
        "assert 'mixed_bfloat16' in policies, policies\n"
        "assert {str(w.dtype) for w in t.model.weights} == {'float32'}\n"
        "a = t.logits(x)\n"
        "assert a.dtype == np.float32 and np.isfinite(a).all() and (a == t.logits(x)).all()\n"
        "print(a.shape)\n"
    )
    assert "(3, 4)" in in_prediction_child(run, checks, drawings=3)


def test_the_policy_reaches_the_layers_and_not_the_weights():
    model = compile_model(registry.get("like_vgg_adamw"), 5, seed=0, precision="mixed_bfloat16")
    assert keras.config.dtype_policy().name == "float32"
    computing = [layer for layer in model.layers if layer.weights]
    assert computing and all(layer.compute_dtype == "bfloat16" for layer in computing)
    assert {str(w.dtype) for w in model.weights} == {"float32"}
    plain = compile_model(registry.get("like_vgg_adamw"), 5, seed=0)
    assert all(layer.compute_dtype == "float32" for layer in plain.layers if layer.weights)


def test_precision_is_part_of_what_makes_a_run_and_float32_keeps_old_fingerprints():
    recipe, data = registry.get("baseline"), DataConfig(data="synthetic", max_per_class=12)
    plain = fingerprint(recipe, data)
    assert fingerprint(recipe, data, precision="float32") == plain
    assert fingerprint(recipe, data, precision="mixed_bfloat16") != plain


def test_an_unknown_precision_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(ConfigError, match="--precision must be one of float32, mixed_bfloat16"):
        RunOptions(data=DataConfig(data="synthetic"), precision="float16")
    assert main(registry.get("baseline"), [*SMALL, "--precision", "half", "--runs-dir", str(tmp_path)]) == 2
    assert "invalid choice: 'half'" in capsys.readouterr().err and not list(tmp_path.iterdir())


def test_a_sweeps_rerun_command_keeps_the_training_options():
    settings = RunSettings(data="synthetic", jit_compile=True, precision="mixed_bfloat16", shuffle="chunks")
    command = rerun_command("like_vgg_adamw", settings)("s", {"learning_rate": 0.002})
    assert "--jit-compile" in command and "--precision mixed_bfloat16" in command and "--shuffle chunks" in command
    plain = rerun_command("like_vgg_adamw", RunSettings(data="synthetic"))("s", {})
    assert "--precision" not in plain and "--shuffle" not in plain and "--seed" not in plain


def test_a_sweep_hands_its_training_options_to_trials_and_counts_what_changes_numbers():
    from kerasketch.sweep.trial import Job
    from kerasketch.sweep.tune import SweepSpec

    recipe, data = registry.get("baseline"), DataConfig(data="synthetic")
    options = TrainOptions(precision="mixed_bfloat16", build_workers=1)
    spec = SweepSpec(recipe=recipe, data=data, space={}, trials=1, run_options=options)
    plain = SweepSpec(recipe=recipe, data=data, space={}, trials=1, run_options=replace(options, precision="float32"))
    assert spec.settings()["precision"] == "mixed_bfloat16" and "precision" not in plain.settings()
    assert spec.fingerprint() != plain.fingerprint()
    assert "build_workers" not in spec.settings() and "shuffle" not in spec.settings()
    # What a trial builds its RunOptions from: every one of them is a RunOptions field.
    job = Job(recipe, data, spec.runs_dir, "s", options)
    assert RunOptions(data=data, **job.run_options.for_trials()).precision == "mixed_bfloat16"


@pytest.mark.backends
def test_accuracy_under_mixed_bfloat16_tells_classes_above_256_apart():
    """Keras' metric compares in the logits' bfloat16, where label 300 and a prediction of 301 were equal."""
    if keras.backend.backend() == "tensorflow" and not execution.tensorflow_runs_bfloat16():
        pytest.skip(
            "TensorFlow runs channels-first bfloat16 convolutions only on a GPU or a CPU with bfloat16 instructions"
        )
    model = compile_model(registry.get("baseline"), 345, seed=0, precision="mixed_bfloat16")
    model.evaluate(np.zeros((1, 1, 28, 28), np.float32), np.zeros(1, np.int64), verbose=0)  # builds the metrics
    (accuracy,) = next(m for m in model.metrics if m.name == "compile_metrics").metrics
    accuracy.reset_state()
    logits = np.zeros((3, 345), np.float32)
    logits[0, 301] = logits[1, 257] = logits[2, 300] = 1.0
    accuracy.update_state(np.array([300, 256, 300]), keras.ops.cast(logits, "bfloat16"))
    assert float(accuracy.result()) == pytest.approx(1 / 3)
