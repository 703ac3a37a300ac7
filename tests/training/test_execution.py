"""--precision auto's choice, and the path a run records in config.json."""

from __future__ import annotations

import json

import pytest

from kerasketch.cli.run import main
from kerasketch.errors import ConfigError
from kerasketch.recipes.baseline import RECIPE as BASELINE
from kerasketch.runs import folders
from kerasketch.training import execution


@pytest.mark.parametrize(
    "flags, expected",
    [
        ({"avx2", "amx_bf16", "amx_tile"}, "mixed_bfloat16"),
        ({"avx512f", "avx512_bf16"}, "mixed_bfloat16"),
        ({"avx2", "fma"}, "float32"),
        (set(), "float32"),
    ],
)
def test_auto_picks_bfloat16_only_where_the_cpu_has_it(flags, expected, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    precision, why = execution.resolve_precision("auto", backend="torch", flags=flags)
    assert precision == expected and why.startswith("auto: ")


def test_auto_stays_float32_off_torch_and_explicit_choices_pass_through():
    assert execution.resolve_precision("auto", backend="jax", flags={"amx_bf16"})[0] == "float32"
    assert execution.resolve_precision("mixed_bfloat16", backend="torch") == ("mixed_bfloat16", "as asked")
    with pytest.raises(ConfigError, match="--precision"):
        execution.resolve_precision("float16", backend="torch")


def test_cpu_flags_reads_the_flags_line(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert execution.cpu_flags(cpuinfo) == {"fpu", "avx2", "amx_bf16"}
    assert execution.cpu_flags(tmp_path / "absent") == set()


@pytest.mark.slow
def test_a_run_with_auto_records_and_prints_its_choice(tmp_path, capsys):
    argv = ["--classes", "4", "--max-per-class", "12", "--epochs", "1", "--precision", "auto"]
    assert main(BASELINE, [*argv, "--runs-dir", str(tmp_path)]) == 0
    (run,) = tmp_path.iterdir()
    recorded = json.loads((run / folders.CONFIG).read_text())["execution"]
    expected, why = execution.resolve_precision("auto", backend="torch")
    assert recorded["precision"] == expected and recorded["precision_why"] == why
    assert recorded["mode"] == "eager" and recorded["step"] == "keras train_step" and recorded["threads"] >= 1
    assert recorded["optimizer_update"] == "Keras' sgd"
    assert f"{expected} ({why})" in capsys.readouterr().out


def test_bfloat16_on_tensorflow_without_the_hardware_is_one_message(monkeypatch):
    """TensorFlow's CPU kernel refuses channels-first bfloat16 convolutions (an AMD EPYC without AVX-512 BF16)."""
    assert execution.resolve_precision("mixed_bfloat16", backend="tensorflow", flags={"avx512_bf16"})[0] == (
        "mixed_bfloat16"
    )
    monkeypatch.setattr(execution, "tensorflow_runs_bfloat16", lambda flags=None: False)
    with pytest.raises(ConfigError, match="mixed_bfloat16 on tensorflow"):
        execution.resolve_precision("mixed_bfloat16", backend="tensorflow")
    assert execution.resolve_precision("float32", backend="tensorflow") == ("float32", "as asked")
