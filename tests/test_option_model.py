"""One option model (kerasketch.options): a run option added to it reaches the command line, the
dashboard's launch form, a sweep's trials and config.json with no other edit, under one name."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

import pytest

from kerasketch import options
from kerasketch.cli.options import data_config
from kerasketch.cli.run import build_parser
from kerasketch.options import RunSettings, TrainOptions, option
from kerasketch.recipes import registry


@dataclass(frozen=True, kw_only=True)
class WithDummy(TrainOptions):
    dummy_level: int = option(
        3,
        group=options.TRAINING,
        metavar="N",
        parse=int,
        label="Dummy level",
        hint="a test's option",
        help="a test's option, to show where a new one appears",
    )


@dataclass(frozen=True, kw_only=True)
class SettingsWithDummy(RunSettings, WithDummy):
    pass


def test_a_new_option_appears_in_the_parser_the_form_the_sweep_and_config_json(tmp_path):
    from kerasketch.training.run import RunOptions, run

    @dataclass(frozen=True, kw_only=True)
    class RunWithDummy(RunOptions, WithDummy):
        pass

    parser = argparse.ArgumentParser()
    options.add_options(parser, SettingsWithDummy)
    assert "--dummy-level N" in parser.format_help() and "a test's option, to show" in parser.format_help()
    argv = ["--data", "synthetic", "--classes", "3", "--max-per-class", "20", "--quiet", "--dummy-level", "5"]
    settings = options.settings_from_args(parser.parse_args(argv), SettingsWithDummy)
    assert settings.dummy_level == 5 and settings.for_trials()["dummy_level"] == 5  # a sweep hands it on

    assert ("dummy_level", "Dummy level", "a test's option") in options.form_fields(SettingsWithDummy)
    assert options.parse_text("dummy_level", " 7 ", SettingsWithDummy) == 7
    assert options.argv({"dummy_level": 7}, SettingsWithDummy) == ["--dummy-level", "7"]
    assert options.argv({"dummy_level": 3}, SettingsWithDummy) == []  # its default is left out

    recipe = registry.get("baseline").with_(epochs=1)
    opts = RunWithDummy(
        data=data_config(settings, image_size=recipe.image_size),
        **{**settings.values(), "runs_dir": tmp_path},
    )
    result = run(recipe, opts)
    assert result.exit_code == 0
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["options"]["dummy_level"] == 5


def test_every_option_has_one_name_in_the_parser_the_form_and_the_record():
    parsed = vars(build_parser(registry.get("baseline")).parse_args([]))
    for f, spec in options.option_fields(RunSettings):
        assert f.name in parsed, f"{f.name} is not the parser's name for {spec.flag_of(f.name)}"
    form = {name for name, _, _ in [*options.form_fields(), *options.form_switches()]}
    assert form <= set(parsed)
    recorded = set(RunSettings().record())
    assert recorded <= {f.name for f, _ in options.option_fields(TrainOptions)}
    assert {"precision", "sampler", "build_memory", "cache_dir", "sync_bn"} <= recorded
    assert not recorded & {"events", "quiet", "fresh"}  # how a run is watched, not what it is


def test_values_arrive_parsed_and_checked_with_the_options_limits():
    parser = build_parser(registry.get("baseline"))
    settings = options.settings_from_args(
        parser.parse_args(["--epochs", "4", "--build-memory", "1G", "--set", "learning_rate=0.1", "--set", "l2=0"])
    )
    assert settings.epochs == 4 and settings.build_memory == 2**30 and settings.set == ("learning_rate=0.1", "l2=0")
    from kerasketch.validation import OptionError

    with pytest.raises(OptionError, match="--epochs must be at least 1"):
        parser.parse_args(["--epochs", "0"])
    with pytest.raises(OptionError, match="--batch-size must be a whole number"):
        parser.parse_args(["--batch-size", "x"])
    # The form checks the same limits, and names a choice's alternatives.
    assert options.parse_text("seed", "12") == 12
    with pytest.raises(OptionError) as err:
        options.parse_text("shuffle", "random")
    assert err.value.brief == "exact or chunks"
