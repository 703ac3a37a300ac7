"""``--sampler balanced`` (issue 36): each epoch draws every class equally often, seeded per epoch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kerasketch.cli.run import main
from kerasketch.errors import ConfigError
from kerasketch.recipes import registry
from kerasketch.runs import folders
from kerasketch.runs.eventlog import EventSink
from kerasketch.training.evaluate import predict_logits
from kerasketch.training.fit import compile_model, fit, plan_fit
from kerasketch.training.inputs import Batches


def _brightness_set(rng: np.random.Generator, counts: list[int], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Noise images whose class shows only in an overlapping brightness offset (class 1 brighter by two spreads)."""
    labels = np.repeat(np.arange(len(counts)), counts)
    offsets = rng.normal(0, 20, len(labels)) + 40 * labels
    images = rng.normal(100, 30, (len(labels), size, size)) + offsets[:, None, None]
    return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int64)


def test_balanced_epochs_draw_the_classes_equally_and_repeat_with_the_seed():
    labels = np.array([0] * 900 + [1] * 90 + [2] * 10)
    images = np.zeros((len(labels), 4, 4), np.uint8)
    batches = Batches(images, labels, 100, shuffle=True, seed=3, sampler="balanced")
    drawn = np.concatenate([batches[i][1] for i in range(len(batches))])
    assert len(drawn) == len(labels)
    shares = np.bincount(drawn, minlength=3) / len(drawn)
    np.testing.assert_allclose(shares, [1 / 3] * 3, atol=0.06)
    first = batches._order.copy()
    batches.on_epoch_end()
    assert not np.array_equal(first, batches._order), "each epoch draws anew"
    again = Batches(images, labels, 100, shuffle=True, seed=3, sampler="balanced", start_epoch=1)
    np.testing.assert_array_equal(again._order, batches._order)  # a resumed run draws the same epoch
    with pytest.raises(ValueError, match="exact order"):
        Batches(images, labels, 100, shuffle=True, sampler="balanced", order="chunks")


def test_balanced_sampling_raises_the_minority_class_recall(tmp_path):
    # AdamW learns the brightness within 3 epochs (the baseline's SGD does not); with 20 minority drawings of
    # 420, uniform epochs teach it to answer the majority (a minority recall of 0 here), balanced ones do not.
    recipe = registry.get("like_vgg_adamw").with_(batch_size=32)
    rng = np.random.default_rng(0)
    x, y = _brightness_set(rng, [400, 20], recipe.image_size)
    x_test, y_test = _brightness_set(rng, [200, 200], recipe.image_size)

    def minority_recall(sampler: str) -> float:
        model = compile_model(recipe, 2, seed=0)
        (tmp_path / sampler).mkdir()
        plan = plan_fit(
            recipe,
            x,
            y,
            x[:64],
            y[:64],
            run_dir=tmp_path / sampler,
            sink=EventSink(),
            name=sampler,
            seed=0,
            sampler=sampler,
        )
        fit(model, plan, 3)
        predicted = predict_logits(model, x_test).argmax(axis=1)
        return float((predicted[y_test == 1] == 1).mean())

    uniform, balanced = minority_recall("uniform"), minority_recall("balanced")
    assert balanced > uniform + 0.2, (uniform, balanced)


def test_the_sampler_composes_with_the_other_remedies_streaming_and_bfloat16(tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = ["--data", "synthetic", "--classes", "4", "--max-per-class", "10", "--batch-size", "16", "--epochs", "2"]
    argv += ["--stream", "always", "--precision", "mixed_bfloat16", "--runs-dir", str(runs), "--quiet"]
    argv += ["--sampler", "balanced", "--class-weight", "balanced", "--logit-adjust", "1"]
    assert main(registry.get("baseline"), argv) == 0
    (run,) = runs.iterdir()
    config = json.loads((run / folders.CONFIG).read_text())
    assert config["options"]["sampler"] == "balanced" and config["input"]["streaming"]
    assert json.loads((run / folders.EVAL).read_text())["test"]["balanced_accuracy"] is not None
    bad = ["--data", "synthetic", "--classes", "4", "--max-per-class", "10", "--runs-dir", str(tmp_path / "bad")]
    assert main(registry.get("baseline"), [*bad, "--sampler", "balanced", "--shuffle", "chunks"]) != 0
    assert "does not combine with --shuffle chunks" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists() or not list((tmp_path / "bad").iterdir())
    with pytest.raises(ConfigError, match="--sampler must be one of"):
        from kerasketch.data.assembly import DataConfig
        from kerasketch.training.run import RunOptions

        RunOptions(data=DataConfig(data="synthetic"), sampler="oversample")
