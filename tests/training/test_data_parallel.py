"""Data-parallel training on real torch.distributed process groups (gloo, 2 processes on 127.0.0.1).

As PyTorch's own DDP tests do it: 2 ranks x 32 drawings reach the weights 1
process x 64 reaches over the same rows; every rank ends with the same
weights and optimiser state; evaluation over 2 ranks equals 1 process.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kerasketch.options import settings_from_args
from kerasketch.training import distributed
from kerasketch.training.inputs import Batches

pytestmark = pytest.mark.torch_only("torch.distributed process groups")

WORKER = Path(__file__).with_name("dp_ranks.py")
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_env(rank: int, size: int, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "KERAS_BACKEND": "torch",
        "RANK": str(rank),
        "WORLD_SIZE": str(size),
        "LOCAL_RANK": str(rank),
        "LOCAL_WORLD_SIZE": str(size),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
    }


def launch(recipe: str, tmp_path: Path, size: int, *extra: str, rows: int | None = None) -> list:
    """The worker as ``size`` ranks (or, for 1, a plain process), started: [(process, its output file)]."""
    port = free_port()
    started = []
    for rank in range(size):
        out = tmp_path / f"{recipe}-{size}-{rank}.npz"
        env = rank_env(rank, size, port) if size > 1 else {k: v for k, v in os.environ.items() if k != "RANK"}
        if rows is not None:
            env["DP_ROWS"] = str(rows)
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), recipe, str(out), *extra],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append((proc, out))
    return started


def collect(started: list) -> list[dict]:
    """Each started process's saved arrays and logs, once it has ended well."""
    loaded = []
    for proc, out in started:
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, output[-3000:]
        with np.load(out) as f:
            arrays = {k: f[k] for k in f.files if k != "logs"}
            loaded.append({"arrays": arrays, **(json.loads(str(f["logs"])) if "logs" in f.files else {})})
    return loaded


def run_ranks(recipe: str, tmp_path: Path, size: int, *extra: str) -> list[dict]:
    return collect(launch(recipe, tmp_path, size, *extra))


def single_and_two(recipe: str, tmp_path: Path, *extra: str, rows: int | None = None) -> tuple[dict, list[dict]]:
    """One process and two ranks of the same worker, side by side (the single process without ``extra``)."""
    single = launch(recipe, tmp_path, 1, rows=rows)
    ranks = launch(recipe, tmp_path, 2, *extra, rows=rows)
    return collect(single)[0], collect(ranks)


def largest_difference(a: dict[str, np.ndarray], b: dict[str, np.ndarray], prefix: str) -> float:
    keys = sorted(k for k in a if k.startswith(prefix))
    assert keys and keys == sorted(k for k in b if k.startswith(prefix))
    return max(float(np.max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)))) for k in keys)


@pytest.fixture(scope="module")
def baseline_runs(tmp_path_factory):
    return single_and_two("baseline", tmp_path_factory.mktemp("dp"))


def test_two_ranks_reach_the_single_process_weights(baseline_runs):
    single, ranks = baseline_runs
    for rank in ranks:
        for key, value in single["arrays"].items():
            if key.startswith("w"):
                np.testing.assert_allclose(rank["arrays"][key], value, rtol=1.3e-6, atol=1e-5, err_msg=key)
    # and the ranks are alike to the bit: weights and SGD's state
    assert largest_difference(ranks[0]["arrays"], ranks[1]["arrays"], "w") == 0.0
    assert largest_difference(ranks[0]["arrays"], ranks[1]["arrays"], "o") == 0.0


def test_metrics_are_the_single_process_ones_on_every_rank(baseline_runs):
    single, ranks = baseline_runs
    for rank in ranks:
        # an uneven last training batch (37 drawings) and a validation split of 150 in batches of 256 over 2 ranks
        assert rank["evaluate"]["accuracy"] == single["evaluate"]["accuracy"]
        assert rank["evaluate"]["loss"] == pytest.approx(single["evaluate"]["loss"], rel=1e-6)
        assert rank["fit"]["accuracy"] == single["fit"]["accuracy"]
        assert rank["fit"]["val_accuracy"] == single["fit"]["val_accuracy"]
        assert rank["fit"]["loss"] == pytest.approx(single["fit"]["loss"], rel=1e-5)
    assert ranks[0]["steps"] == ranks[1]["steps"] == single["steps"] == 11


def test_sync_bn_is_batchnorm_over_the_global_batch(tmp_path):
    """Two ranks of --sync-bn's BatchNorm give one process's outputs and gradients: the statistics' all-reduce
    is differentiated, so each rank's input gradient takes the other rank's drawings into account."""
    one, two = single_and_two("batchnorm", tmp_path)
    single, ranks = one["arrays"], [r["arrays"] for r in two]
    for key in ("outputs", "inputs"):
        np.testing.assert_allclose(np.concatenate([r[key] for r in ranks]), single[key], rtol=1e-5, atol=1e-6)
    for key in single:
        if key[0] in "ps":
            for r in ranks:
                np.testing.assert_allclose(r[key], single[key], rtol=1e-5, atol=1e-5, err_msg=key)


@pytest.mark.heavy  # a whole like_vgg on 3 processes; the layers' own check above runs in make test
def test_adamw_with_sync_bn_takes_the_single_process_step(tmp_path):
    # One step (64 drawings) is what this compares; it then checks the ranks end alike.
    single, ranks = single_and_two("like_vgg_adamw", tmp_path, "sync_bn", rows=64)
    # The first step's gradients from the last BatchNorm on (gamma, beta, the dense layers) are the single
    # process's. Before it they differ by a few percent, measured and understood: float noise of 1e-5 in
    # the activations flips a near-tie in a max-pooling window, which routes one gradient elsewhere, and
    # the synchronised statistics then pass that change to every drawing (docs/scaling-out.md).
    last_batchnorm = 14  # like_vgg's gradients: ..., bn2_2's gamma and beta (14, 15), the two dense layers
    for key, value in single["arrays"].items():
        if key.startswith("g") and int(key[1:]) >= last_batchnorm:
            scale = max(float(np.max(np.abs(value))), 1e-3)
            assert float(np.max(np.abs(ranks[0]["arrays"][key] - value))) <= 1e-4 * scale, key
    a, b = ranks[0]["arrays"], ranks[1]["arrays"]
    assert largest_difference(a, b, "w") == 0.0  # weights, moving statistics included
    assert largest_difference(a, b, "o") == 0.0  # AdamW's moments and iteration count
    assert any(k.startswith("s") for k in a)  # like_vgg has BatchNorm: its statistics were averaged alike
    assert ranks[0]["fit"] == ranks[1]["fit"]


def test_each_rank_reads_its_share_of_every_batch():
    x = np.zeros((677, 28, 28), np.uint8)
    y = np.arange(677) % 5
    world = [Batches(x, y, 64, shuffle=True, seed=3, shard=(rank, 2)) for rank in range(2)]
    single = Batches(x, y, 64, shuffle=True, seed=3)
    assert len(world[0]) == len(world[1]) == len(single) == 11
    for index in range(len(single)):
        spans = [b.span(index) for b in world]
        assert (
            spans[0][1] == spans[1][0] and spans[0][0] == single.span(index)[0] and spans[1][1] == single.span(index)[1]
        )
    # a last batch with fewer drawings than ranks is left out rather than leaving a rank without rows
    assert len(Batches(x[:65], y[:65], 64, shuffle=False, shard=(0, 2))) == 1
    assert len(Batches(x[:66], y[:66], 64, shuffle=False, shard=(1, 2))) == 2


def test_evaluation_batches_give_every_rank_a_share():
    two = distributed.World(rank=0, size=2)
    assert distributed.even_batch_size(150, 256, two) == 256
    size = distributed.even_batch_size(513, 256, two)  # 513 = 2 x 256 + 1: one drawing would be left to one rank
    assert 513 % size == 0 or 513 % size >= 2
    with pytest.raises(distributed.ConfigError, match="1 validation drawings"):
        distributed.even_batch_size(1, 256, two)


def test_an_uneven_global_batch_is_refused():
    with pytest.raises(distributed.ConfigError, match="does not split evenly over 3 processes"):
        distributed.check_batch(64, distributed.World(size=3))


def test_sync_bn_needs_processes_and_runs_eagerly():
    two = distributed.World(size=2)
    distributed.check_sync_bn(sync_bn=True, jit_compile=False, world=two)
    with pytest.raises(distributed.ConfigError, match="use it with --nproc or torchrun"):
        distributed.check_sync_bn(sync_bn=True, jit_compile=False, world=distributed.SINGLE)
    with pytest.raises(distributed.ConfigError, match="cannot be compiled"):
        distributed.check_sync_bn(sync_bn=True, jit_compile=True, world=two)


def test_tensorflow_gets_one_message():
    distributed.check_backend("torch")
    distributed.check_backend("jax")  # keras.distribution.DataParallel: tests/training/test_data_parallel_jax.py
    with pytest.raises(distributed.ConfigError, match="not tensorflow"):
        distributed.check_backend("tensorflow")


def test_the_learning_rate_is_scaled_only_when_asked():
    from kerasketch.cli.run import apply_overrides, build_parser
    from kerasketch.recipes import params, registry

    recipe = registry.get("baseline")
    parser = build_parser(recipe)

    def rate(*argv: str) -> float:
        return params.lookup(
            apply_overrides(recipe, settings_from_args(parser.parse_args(list(argv)))), "learning_rate"
        ).default

    assert rate("--nproc", "2", "--batch-size", "128") == 0.01  # never silently
    assert rate("--batch-size", "128", "--scale-lr", "linear") == pytest.approx(0.02)
    assert rate("--batch-size", "256", "--scale-lr", "linear", "--set", "learning_rate=0.001") == pytest.approx(0.004)


def test_keras_own_data_parallelism_takes_over(monkeypatch):
    """Where Keras distributes torch itself, our step and metrics are Keras' own: nothing reduced twice.

    The model believes it is one of 2 ranks with no process group: had it all-reduced anything, the
    collective would have raised. Training and evaluating go through, and the logs are this process's own."""
    import keras

    from kerasketch.recipes import registry
    from kerasketch.training import data_parallel
    from kerasketch.training.fit import compile_model

    monkeypatch.setattr(data_parallel, "keras_distributes_torch", lambda: True)
    two = distributed.World(rank=0, size=2)
    model = compile_model(registry.get("baseline"), 5, 0, world=two)
    assert isinstance(model, data_parallel.DataParallelModel) and not model.reduces
    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 5, 64)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    local = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    plain = keras.Model(model.inputs, model.outputs)
    plain.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert local["accuracy"] == plain.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)["accuracy"]
