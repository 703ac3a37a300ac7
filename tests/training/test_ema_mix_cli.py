"""``--ema``, ``--mixup``, ``--cutmix`` and ``--mix-prob`` as a user runs them: composed, recorded, refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kerasketch.cli.run import main
from kerasketch.options import averaging_and_mixing
from kerasketch.recipes import registry
from kerasketch.runs import folders

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--data", "synthetic", "--classes", "4", "--max-per-class", "10", "--batch-size", "16", "--quiet"]
EXTRAS = ["--ema", "--ema-momentum", "0.9", "--mixup", "0.2", "--cutmix", "1", "--mix-prob", "0.5"]


def test_averaging_and_mixing_compose_with_the_remedies_streaming_and_bfloat16_and_are_recorded(tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = [*SMALL, "--epochs", "2", "--stream", "always", "--precision", "mixed_bfloat16", "--runs-dir", str(runs)]
    remedies = ["--class-weight", "balanced", "--sampler", "balanced"]
    assert main(registry.get("baseline"), [*argv, *EXTRAS, *remedies]) == 0
    assert main(registry.get("baseline"), [*argv, *remedies, "--name", "plain"]) == 0
    mixed, plain = sorted(runs.iterdir(), key=lambda p: p.name.startswith("plain"))
    config = json.loads((mixed / folders.CONFIG).read_text())
    options = config["options"]
    assert (options["ema"], options["ema_momentum"], options["mixup"], options["cutmix"], options["mix_prob"]) == (
        True,
        0.9,
        0.2,
        1.0,
        0.5,
    )
    assert config["input"]["streaming"] and options["precision"] == "mixed_bfloat16"
    plain_config = json.loads((plain / folders.CONFIG).read_text())
    assert plain_config["options"]["ema"] is False and plain_config["fingerprint"] != config["fingerprint"]
    assert json.loads((mixed / folders.EVAL).read_text())["test"]["accuracy"] >= 0
    assert averaging_and_mixing(options) == (
        "EMA of the weights, momentum 0.9; MixUp alpha 0.2 or CutMix alpha 1 on 0.5 of the batches"
    )
    assert averaging_and_mixing(plain_config["options"]) == "" and averaging_and_mixing({}) == ""


def test_refinements_without_their_option_and_values_out_of_range_are_one_message_and_no_folder(tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = [*SMALL, "--runs-dir", str(runs)]
    for extra, message in (
        (["--ema-momentum", "0.9"], "--ema-momentum applies with --ema"),
        (["--mix-prob", "0.5"], "--mix-prob applies with --mixup or --cutmix"),
        (["--mixup", "-1"], "--mixup must be in [0, 10], got -1"),
        (["--ema", "--ema-momentum", "0"], "--ema-momentum must be in (0, 1], got 0"),
        (["--cutmix", "1", "--mix-prob", "1.5"], "--mix-prob must be in (0, 1], got 1.5"),
    ):
        assert main(registry.get("baseline"), [*argv, *extra]) != 0
        assert message in capsys.readouterr().err
    assert not runs.exists() or not list(runs.iterdir())


def test_the_options_change_the_fingerprint_and_a_sweeps_rerun_command_keeps_them():
    from kerasketch.cli.sweep_cmds import rerun_command
    from kerasketch.data.assembly import DataConfig
    from kerasketch.options import RunSettings
    from kerasketch.training.config import fingerprint

    recipe, data = registry.get("baseline"), DataConfig(data="synthetic", max_per_class=12)
    plain = fingerprint(recipe, data)
    assert fingerprint(recipe, data, ema=False, ema_momentum=0.99, mixup=0.0, cutmix=0.0, mix_prob=1.0) == plain
    changed = {
        fingerprint(recipe, data, ema=True),
        fingerprint(recipe, data, ema=True, ema_momentum=0.9),
        fingerprint(recipe, data, mixup=0.2),
        fingerprint(recipe, data, cutmix=1.0),
        fingerprint(recipe, data, cutmix=1.0, mix_prob=0.5),
    }
    assert len(changed) == 5 and plain not in changed
    settings = RunSettings(data="synthetic", ema=True, ema_momentum=0.9, mixup=0.2, cutmix=1.0, mix_prob=0.5)
    command = rerun_command("baseline", settings)("s", {})
    for words in ("--ema ", "--ema-momentum 0.9", "--mixup 0.2", "--cutmix 1.0", "--mix-prob 0.5"):
        assert words in command


@pytest.mark.torch_only("torch.distributed process groups")
def test_two_ranks_train_with_the_average_and_mixed_batches(tmp_path):
    """Each rank mixes its share; the ranks keep one average (the same weights, the same steps)."""
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "kerasketch.recipes.baseline", "--data", "synthetic", "--max-per-class", "40"]
    command += ["--nproc", "2", "--epochs", "2", *EXTRAS, "--class-weight", "balanced", "--runs-dir", str(runs)]
    command += ["--cache-dir", str(tmp_path / "cache")]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    done = subprocess.run(
        command, env={**env, "KERAS_BACKEND": "torch"}, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    config = json.loads((run / folders.CONFIG).read_text())
    assert config["distributed"]["world_size"] == 2 and config["options"]["ema"] is True
    assert (run / folders.BEST).is_file() and (run / folders.EVAL).is_file()


@pytest.mark.matrix  # minutes of compiling on 2 cores: make test-matrix
def test_averaging_and_mixing_train_with_jit_compile(tmp_path):
    runs = tmp_path / "runs"
    assert (
        main(registry.get("baseline"), [*SMALL, "--epochs", "2", *EXTRAS, "--jit-compile", "--runs-dir", str(runs)])
        == 0
    )
    (run,) = list(runs.iterdir())
    assert json.loads((run / folders.CONFIG).read_text())["options"]["jit_compile"] is True
