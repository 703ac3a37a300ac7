"""``--nproc`` on Keras' jax backend: keras.distribution.DataParallel across jax.distributed processes (gloo on CPU).

The end-to-end test runs in ``make test``'s jax pass (``-m backends`` with
KERAS_BACKEND=jax) and skips on the others; the shares each process feeds
Keras are checked on any backend.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kerasketch.training.inputs import Batches

ROOT = Path(__file__).resolve().parents[2]
# 13 classes x 50: train 520 (global batches of 64 and a last one of 8), val 65 and test 65 (odd: one process's
# share of the validation batch is padded).
RUN = ["--data", "synthetic", "--classes", "13", "--max-per-class", "50", "--seed", "1", "--epochs", "1"]


def run(tmp_path: Path, name: str, *args: str) -> Path:
    clean = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    clean.pop("JAX_COORDINATOR_ADDRESS", None)
    runs = tmp_path / name
    command = [sys.executable, "-m", "kerasketch.recipes.baseline", *RUN, "--runs-dir", str(runs)]
    command += ["--cache-dir", str(tmp_path / "cache"), *args]
    done = subprocess.run(
        command, env={**clean, "KERAS_BACKEND": "jax"}, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (folder,) = [p for p in runs.iterdir() if p.is_dir()]
    return folder


def history(folder: Path) -> dict[str, float]:
    (row,) = list(csv.DictReader((folder / "history.csv").open()))
    return {k: float(v) for k, v in row.items()}


@pytest.mark.backends
@pytest.mark.slow
def test_two_jax_processes_train_one_epoch_like_one(tmp_path):
    from kerasketch import active_backend

    if active_backend.name() != "jax":
        pytest.skip("runs in make test's jax pass (KERAS_BACKEND=jax)")
    two = run(tmp_path, "two", "--nproc", "2")
    names = {p.name for p in two.iterdir()}
    assert {"config.json", "events.jsonl", "history.csv", "best.keras", "eval.json", "run.log", "rank-1.log"} <= names
    assert not {n for n in names if n.startswith("rank-") and n != "rank-1.log"}
    config = json.loads((two / "config.json").read_text())
    assert config["distributed"]["world_size"] == 2
    assert config["distributed"]["backend"] == "jax/gloo"
    assert config["distributed"]["per_rank_batch"] == 32

    one = run(tmp_path, "one")
    h2, h1 = history(two), history(one)
    # The same global batches from the same weights: the same epoch, to float32's rounding of the reductions.
    assert h2["accuracy"] == h1["accuracy"]
    assert h2["val_accuracy"] == h1["val_accuracy"]  # the padded drawing weighs 0
    np.testing.assert_allclose(h2["loss"], h1["loss"], rtol=1e-5)
    # val_loss is the mean over the padded count: 65 drawings over 66.
    np.testing.assert_allclose(h2["val_loss"], h1["val_loss"] * 65 / 66, rtol=1e-4)
    e2, e1 = (json.loads((f / "eval.json").read_text()) for f in (two, one))
    # Rank 0 evaluates the test split alone, off the distribution: a single process's evaluation.
    assert e2["test"]["accuracy"] == e1["test"]["accuracy"]
    assert e2["test"]["top3_accuracy"] == e1["test"]["top3_accuracy"]


def shares(batches: Batches) -> list[tuple]:
    return [batches[i] for i in range(len(batches))]


def test_equal_shares_trim_a_training_batch_and_pad_an_evaluation_batch():
    x = np.arange(7 * 2 * 2, dtype=np.uint8).reshape(7, 2, 2)
    y = np.arange(7)
    train = [Batches(x, y, 4, shuffle=True, seed=3, shard=(r, 2), equal_shares=True) for r in range(2)]
    rows = [[b[1] for b in shares(t)] for t in train]
    assert [[len(r) for r in rank] for rank in rows] == [[2, 1], [2, 1]]  # the last batch of 3 gives 2, 1 of 3 left
    seen = np.concatenate([r for rank in rows for r in rank])
    assert len(set(seen.tolist())) == 6  # disjoint shares

    val = [Batches(x, y, 4, shuffle=False, shard=(r, 2), equal_shares=True) for r in range(2)]
    batches = [shares(v) for v in val]
    assert [[len(b[1]) for b in rank] for rank in batches] == [[2, 2], [2, 2]]
    weights = np.concatenate([b[2] for rank in batches for b in rank])
    labels = np.concatenate([b[1] for rank in batches for b in rank])
    assert weights.sum() == 7  # every drawing once, the padding weighs 0
    assert sorted(labels[weights > 0].tolist()) == list(range(7))


def test_a_dead_peer_on_jax_reads_as_a_lost_rank():
    from kerasketch.training import distributed

    # What XLA's gloo collectives raised in rank 0 when rank 1 was killed (kill -9) mid-epoch.
    for text in (
        "UNKNOWN: Gloo all-reduce failed: [external/gloo/gloo/transport/tcp/pair.cc:547] Connection closed by peer",
        "UNKNOWN: Gloo all-reduce failed: [external/gloo/gloo/transport/tcp/pair.cc:538] Read error: "
        "Connection reset by peer",
    ):
        assert distributed.lost_a_rank(ValueError(text)) and distributed.lost_a_rank(RuntimeError(text))
    assert not distributed.lost_a_rank(ValueError("Incompatible shapes for broadcasting"))
