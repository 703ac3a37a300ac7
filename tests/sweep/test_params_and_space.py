"""Recipe parameters by name and the sweep's space: derived from the dataclass, bad input one message."""

from __future__ import annotations

import dataclasses
import json

import pytest

from kerasketch.cli import main
from kerasketch.errors import ConfigError
from kerasketch.recipes import params, registry
from kerasketch.recipes.base import Recipe
from kerasketch.sweep.space import parse_space


@pytest.mark.parametrize("name", registry.NAMES)
def test_every_recipe_lists_learning_rate_weight_decay_and_batch_size(name):
    listed = params.tunable(registry.get(name))
    assert {"learning_rate", "weight_decay", "batch_size", "optimizer"} <= set(listed)
    assert listed["batch_size"].kind is int and listed["learning_rate"].kind is float


def test_a_field_added_to_the_recipe_is_a_parameter_without_change():
    """What another recipe adds (a float field, a schedule name, model options) is listed and applied."""
    extended = dataclasses.make_dataclass(
        "Extended",
        [
            ("label_smoothing", float, dataclasses.field(default=0.0)),
            ("schedule", str, dataclasses.field(default="constant")),
        ],
        bases=(Recipe,),
        frozen=True,
    )
    base = registry.get("like_vgg_adamw")
    recipe = extended(**{f.name: getattr(base, f.name) for f in dataclasses.fields(Recipe)}).with_(
        model_options={"dropout": 0.1, "width": 32}
    )
    listed = params.tunable(recipe)
    assert listed["label_smoothing"].kind is float and listed["schedule"].default == "constant"
    assert listed["dropout"].kind is float and listed["width"].kind is int
    changed = params.apply(recipe, {"dropout": 0.3, "width": 48, "learning_rate": 0.003, "schedule": "cosine"})
    assert changed.schedule == "cosine"  # type: ignore[attr-defined]
    assert changed.model_options == {"dropout": 0.3, "width": 48}
    assert changed.optimizer_settings["learning_rate"] == 0.003


def test_weight_decay_is_coupled_l2_on_sgd_and_decoupled_on_adamw():
    assert params.apply(registry.get("baseline"), {"weight_decay": 0.001}).l2 == pytest.approx(0.0005)
    assert params.apply(registry.get("like_vgg_adamw"), {"weight_decay": 0.05}).optimizer_settings == {
        "weight_decay": 0.05
    }
    # Switching optimiser drops the settings the new one does not take.
    moved = params.apply(registry.get("ts_cnn"), {"optimizer": "adamw", "weight_decay": 0.02})
    assert moved.optimizer == "adamw" and moved.optimizer_settings == {"learning_rate": 0.001, "weight_decay": 0.02}


@pytest.mark.parametrize(
    "values, says",
    [
        ({"learning_rate": 0.0}, "learning_rate must be in (0, 10]"),
        ({"batch_size": 0}, "--batch-size must be at least 1"),
        ({"batch_size": 2.5}, "batch_size takes an int value"),
        ({"optimizer": "adagrad"}, "unknown optimizer 'adagrad'"),
        ({"lr": 0.1}, "baseline has no parameter 'lr'"),
    ],
)
def test_bad_values_are_one_clear_error(values, says):
    with pytest.raises(ConfigError) as err:
        params.apply(registry.get("baseline"), values)
    assert says in err.value.message


def test_list_params_prints_names_defaults_and_types(capsys):
    assert main(["sweep", "like_vgg_adamw", "--list-params"]) == 0
    out = capsys.readouterr().out
    assert "learning_rate" in out and "0.001" in out and "float" in out
    assert "batch_size" in out and "64" in out and "int" in out


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--param", "lr=loguniform:1e-4:1e-2"], "baseline has no parameter 'lr'"),
        (["--param", "learning_rate=normal:0:1"], "parameter learning_rate: bad distribution 'normal:0:1'"),
        (["--param", "learning_rate=loguniform:0:1"], "loguniform needs LOW > 0"),
        (["--param", "learning_rate=uniform:0.1"], "give LOW:HIGH"),
        (["--param", "batch_size=uniform:16:64"], "batch_size is an int: use int or choice"),
        (["--param", "batch_size=int:0:64"], "--batch-size must be at least 1"),
        (["--param", "optimizer=choice:"], "no choices"),
        ([], "a sweep needs a search space"),
        (["--param", "learning_rate=uniform:0.01:0.1", "--trials", "0"], "--trials must be a whole number"),
        (["--param", "learning_rate=uniform:0.01:0.1", "--grace-period", "x"], "--grace-period must be a whole number"),
        (
            ["--param", "learning_rate=uniform:0.01:0.1", "--epochs", "3", "--grace-period", "4"],
            "--grace-period 4 is more than the 3 epochs a trial runs",
        ),
        (["--param", "learning_rate=uniform:0.01:0.1", "--fresh"], "--fresh applies to kerasketch run"),
        (["--param", "learning_rate=uniform:0.01:0.1", "--events", "-"], "--events applies to kerasketch run"),
    ],
)
def test_a_bad_space_is_one_message_before_ray_starts(tmp_path, capsys, argv, says):
    assert main(["sweep", "baseline", "--runs-dir", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing made


def test_a_space_file_in_toml(tmp_path):
    space = tmp_path / "space.toml"
    space.write_text('[space]\nlearning_rate = "loguniform:1e-4:1e-2"\nbatch_size = "choice:32,64"\n')
    parsed = parse_space(registry.get("like_vgg_adamw"), [], space)
    assert parsed["learning_rate"].text == "loguniform:0.0001:0.01"
    assert parsed["batch_size"].choices == (32, 64)
    space.write_text("learning_rate = 0.1\n")
    with pytest.raises(ConfigError, match="should be a string"):
        parse_space(registry.get("like_vgg_adamw"), [], space)
    space.write_text("learning_rate = [\n")
    with pytest.raises(ConfigError, match="not a readable TOML file"):
        parse_space(registry.get("like_vgg_adamw"), [], space)


@pytest.mark.slow
def test_run_set_saves_the_resolved_values_in_config_json(tmp_path):
    argv = ["run", "baseline", "--data", "synthetic", "--max-per-class", "20", "--epochs", "1", "--quiet"]
    argv += ["--runs-dir", str(tmp_path), "--set", "learning_rate=0.05", "--set", "weight_decay=0.002"]
    assert main(argv) == 0
    (run,) = tmp_path.iterdir()
    recipe = json.loads((run / "config.json").read_text())["recipe"]
    assert recipe["optimizer_settings"] == {"learning_rate": 0.05} and recipe["l2"] == pytest.approx(0.001)


def test_run_set_rejects_what_is_not_name_equals_value(tmp_path, capsys):
    assert main(["run", "baseline", "--runs-dir", str(tmp_path), "--set", "learning_rate"]) == 2
    assert "--set 'learning_rate' is not NAME=VALUE" in capsys.readouterr().err
