"""``--address``: a run's ranks as a Ray Train job (TorchTrainer) on a real two-node Ray cluster on 127.0.0.1.

Left out of ``make test`` (the ``ray_train`` marker, pyproject's addopts); ``make test-ray-train`` runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .ray_cluster import two_node_cluster

pytest.importorskip("ray.train.torch", reason="the [sweep] extra (Ray) is not installed")

pytestmark = [
    pytest.mark.ray_train,
    pytest.mark.sweep,
    pytest.mark.slow,
    pytest.mark.torch_only("torch.distributed process groups, made by Ray Train"),
]

ROOT = Path(__file__).resolve().parents[2]
RUN_FILES = {"config.json", "events.jsonl", "history.csv", "best.keras", "eval.json", "confusion.csv", "run.log"}


def recipe(tmp_path: Path, address: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "kerasketch.recipes.baseline",
        *("--data", "synthetic", "--max-per-class", "40", "--epochs", "1", "--nproc", "2"),
        *("--address", address, "--runs-dir", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "cache")),
        *extra,
    ]


def run_folders(runs: Path) -> list[Path]:
    return [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")] if runs.is_dir() else []


@pytest.mark.timeout(1200)
def test_address_trains_one_run_as_two_ray_train_workers_and_reports_a_worker_failure_in_one_message(tmp_path, ray_bin):
    with two_node_cluster(ray_bin) as (address, env):
        env = {**env, "KERAS_BACKEND": "torch"}
        done = subprocess.run(recipe(tmp_path, address), env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        (run_dir,) = run_folders(tmp_path / "runs")
        assert f"run folder: {run_dir}" in done.stdout
        assert "2 Ray Train workers" in done.stdout and "test accuracy" in done.stdout
        assert "Traceback" not in done.stderr
        # Rank 0 wrote one complete run folder; rank 1 (on the other node) only its log.
        names = {p.name for p in run_dir.iterdir()}
        assert names >= RUN_FILES and {n for n in names if n.startswith("rank-")} == {"rank-1.log"}, names
        config = json.loads((run_dir / "config.json").read_text())
        assert config["distributed"]["world_size"] == 2 and config["distributed"]["backend"] == "gloo"
        assert config["distributed"]["per_rank_batch"] == 32
        ends = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
        assert [e["reason"] for e in ends if e["event"] == "end"] == ["finished"]
        # Ray Train kept rank 0's last checkpoint: the finished run folder.
        (checkpoint,) = (tmp_path / "runs" / ".ray-train").glob("*/run-*")
        assert (checkpoint / "eval.json").read_text() == (run_dir / "eval.json").read_text()

        # Rank 0 fails at its start (its --events file is a folder): one message naming the rank, no traceback,
        # and rank 1, waiting for rank 0, is stopped by Ray rather than left hanging.
        (tmp_path / "events-folder").mkdir()
        failed = subprocess.run(
            recipe(tmp_path, address, "--events", str(tmp_path / "events-folder"), "--fresh"),
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert failed.returncode != 0
        assert "error: rank 0 of 2 failed: IsADirectoryError" in failed.stderr, failed.stderr[-3000:]
        assert "Traceback" not in failed.stdout + failed.stderr
