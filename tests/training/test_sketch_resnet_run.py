"""sketch_resnet as a run: a short real training, its config, its best.keras in the prediction path,
and the new recipe fields leaving the nine recipes' configs as they were."""

from __future__ import annotations

import json

import numpy as np
import pytest
from prediction_child import in_prediction_child

from kerasketch.cli import main as cli_main
from kerasketch.cli.run import main
from kerasketch.recipes import registry
from kerasketch.recipes.base import LATER_FIELDS
from kerasketch.runs.eventlog import read

#: The recipe keys of config.json before sketch_resnet came.
NINE_KEYS = {
    "name",
    "model",
    "loss",
    "optimizer",
    "image_size",
    "original",
    "optimizer_settings",
    "l2",
    "batch_size",
    "epochs",
    "patience",
    "weights",
    "model_options",
}


def test_the_new_fields_leave_the_nine_recipes_configs_unchanged():
    nine = [registry.get(n) for n in registry.NAMES if n != "sketch_resnet"]
    assert len(nine) == 9
    for recipe in nine:
        assert set(recipe.to_json()) == NINE_KEYS, recipe.name
        assert recipe.label_smoothing == 0.0 and recipe.schedule == "constant" and not recipe.augmentation
    ours = registry.get("sketch_resnet").to_json()
    assert set(ours) == NINE_KEYS | set(LATER_FIELDS) and ours["original"] is None
    variant = registry.get("like_vgg_adamw").with_(augmentation={"rotation": 0.03})
    assert variant.to_json()["augmentation"] == {"rotation": 0.03} and "schedule" not in variant.to_json()


def test_bad_recipe_fields_are_config_errors():
    from kerasketch.errors import ConfigError

    recipe = registry.get("like_vgg_adamw")
    with pytest.raises(ConfigError, match="schedule"):
        recipe.with_(schedule="step")
    with pytest.raises(ConfigError, match="label_smoothing"):
        recipe.with_(label_smoothing=1.5)
    with pytest.raises(ConfigError, match="warmup_epochs"):
        recipe.with_(warmup_epochs=-1)


def test_compare_shows_a_dash_where_ours_has_no_original(tmp_path, capsys):
    assert cli_main(["compare", str(tmp_path)]) == 0
    line = next(r for r in capsys.readouterr().out.splitlines() if "| sketch_resnet |" in r)
    assert line.startswith("| 10 | sketch_resnet | CEL+LS 0.1 | AdamW cos | - |")
    assert cli_main(["compare", str(tmp_path), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[-1]["recipe"] == "sketch_resnet" and rows[-1]["original_val_acc"] is None


@pytest.mark.slow
@pytest.mark.backends
def test_a_short_real_run_records_its_recipe_and_predicts_the_same_twice(tmp_path, capsys):
    recipe = registry.get("sketch_resnet")
    argv = ["--data", "synthetic", "--max-per-class", "12", "--epochs", "2", "--runs-dir", str(tmp_path), "--quiet"]
    assert main(recipe, argv) == 0
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    config = json.loads((run / "config.json").read_text())
    for field in ("augmentation", "label_smoothing", "schedule", "warmup_epochs", "model_options"):
        assert config["recipe"][field] == recipe.to_json()[field], field
    assert config["recipe"]["original"] is None and config["recipe"]["epochs"] == 2
    from kerasketch.models import param_counts

    assert config["params"]["trainable"] == param_counts("sketch_resnet", 16, **recipe.model_options)[0]
    lrs = [e["lr"] for e in read(run / "events.jsonl") if e["event"] == "epoch"]
    # Two epochs: the warm-up is capped at the first, so the rate peaks there and decays to 0 by the end.
    assert len(lrs) == 2 and lrs[0] == pytest.approx(0.002, rel=1e-3) and lrs[1] == pytest.approx(0.0, abs=1e-9)
    evaluation = json.loads((run / "eval.json").read_text())
    assert 0.0 <= evaluation["test"]["accuracy"] <= 1.0
    assert "no result to set beside it" in capsys.readouterr().out
    # The recipe recomputes its BatchNorm statistics after training (precise_bn) without being asked.
    assert config["recipe"]["precise_bn"] is True and config["options"]["precise_bn"] is False
    assert evaluation["precise_bn"]["drawings"] > 0

    # The dashboard's prediction child loads best.keras through kerasketch.inference.model alone.
    checks = (
        "a, b = t.logits(x), t.logits(x)\n"
        "assert (a == b).all(), 'augmentation acted in inference'\n"
        "print(t.architecture, a.shape)\n"
    )
    out = in_prediction_child(run, checks, drawings=4)
    assert out.split()[0] == "sketch_resnet" and "(4, 16)" in out
    assert np.isfinite(evaluation["test"]["macro_f1"])


@pytest.mark.slow
def test_set_precise_bn_false_turns_the_recipes_recomputation_off(tmp_path):
    argv = ["--data", "synthetic", "--classes", "3", "--max-per-class", "12", "--epochs", "1"]
    argv += ["--set", "precise_bn=false", "--runs-dir", str(tmp_path), "--quiet"]
    assert main(registry.get("sketch_resnet"), argv) == 0
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert "precise_bn" not in json.loads((run / "eval.json").read_text())
    assert "precise_bn" not in json.loads((run / "config.json").read_text())["recipe"]  # as the rows before it
