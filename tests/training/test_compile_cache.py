"""torch.compile's artefacts outlive a ``--jit-compile`` run: the next identical run loads them instead of compiling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kerasketch.training import compile_cache

SMALL = ["--max-per-class", "40", "--classes", "6", "--epochs", "1", "--quiet"]

# The counters live in the child's torch: each run starts with them at zero, as a new command does.
CHILD = """
import json, sys
from torch._dynamo.utils import counters
from kerasketch.cli.run import main
from kerasketch.recipes.baseline import RECIPE
code = main(RECIPE, sys.argv[1:])
print(json.dumps({"code": code, "inductor": dict(counters["inductor"]), "aot": dict(counters["aot_autograd"])}))
"""


def _jit_run(data_root: Path, runs: Path) -> dict:
    env = {**os.environ, "KERASKETCH_DATA": str(data_root)}
    env.pop(compile_cache.ENV, None)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, *SMALL, "--jit-compile", "--runs-dir", str(runs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert counts["code"] == 0
    return counts


@pytest.mark.heavy  # two compiled runs, minutes on 2 cores: make test-heavy
def test_a_second_jit_run_loads_the_compiled_graphs_the_first_one_kept(tmp_path):
    data_root = tmp_path / "data"
    first = _jit_run(data_root, tmp_path / "runs1")
    folder = data_root / "torch-compile"
    assert first["inductor"].get("fxgraph_cache_miss", 0) > 0, first
    assert first["aot"].get("autograd_cache_saved", 0) > 0, first
    assert any(folder.rglob("*")), "nothing kept beside the dataset cache"
    run = next((tmp_path / "runs1").iterdir())
    assert json.loads((run / "config.json").read_text())["options"]["compile_cache"] == str(folder.absolute())

    second = _jit_run(data_root, tmp_path / "runs2")
    assert second["inductor"].get("fxgraph_cache_miss", 0) == 0, second
    assert second["inductor"].get("fxgraph_cache_hit", 0) >= first["inductor"]["fxgraph_cache_miss"], second
    assert second["aot"].get("autograd_cache_miss", 0) == 0, second
    assert second["aot"].get("autograd_cache_hit", 0) > 0, second


def test_the_folder_is_beside_the_dataset_cache_unless_torchs_variable_names_one(monkeypatch, tmp_path):
    monkeypatch.setenv("KERASKETCH_DATA", str(tmp_path / "root"))
    monkeypatch.delenv(compile_cache.ENV, raising=False)
    assert compile_cache.compile_cache_dir() == tmp_path / "root" / "torch-compile"
    monkeypatch.setenv(compile_cache.ENV, str(tmp_path / "mine"))
    assert compile_cache.compile_cache_dir() == tmp_path / "mine"


def test_torchs_default_written_back_by_its_import_is_not_taken_for_the_users_choice(monkeypatch, tmp_path):
    # What importing Keras' torch backend does: torch writes its default into the variable.
    from torch._inductor.runtime.cache_dir_utils import cache_dir, default_cache_dir

    monkeypatch.setenv("KERASKETCH_DATA", str(tmp_path / "root"))
    monkeypatch.delenv(compile_cache.ENV, raising=False)
    cache_dir()
    assert os.environ[compile_cache.ENV] == os.path.abspath(default_cache_dir())
    assert compile_cache.compile_cache_dir() == tmp_path / "root" / "torch-compile"


def test_other_backends_keep_their_own_compilers_caches(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert not compile_cache.applies(True)
    with compile_cache.kept(True) as folder:
        assert folder is None


def test_the_variable_is_set_for_the_run_only(monkeypatch, tmp_path):
    monkeypatch.setenv("KERASKETCH_DATA", str(tmp_path))
    monkeypatch.delenv(compile_cache.ENV, raising=False)
    with compile_cache.kept(False) as folder:
        assert folder is None and compile_cache.ENV not in os.environ
    with pytest.raises(RuntimeError), compile_cache.kept(True) as folder:
        assert os.environ[compile_cache.ENV] == str(tmp_path / "torch-compile") == str(folder)
        raise RuntimeError("a failed run")
    assert compile_cache.ENV not in os.environ
    monkeypatch.setenv(compile_cache.ENV, str(tmp_path / "mine"))
    with compile_cache.kept(True) as folder:
        os.environ[compile_cache.ENV] = "changed by torch"
    assert folder == tmp_path / "mine" and os.environ[compile_cache.ENV] == str(tmp_path / "mine")
