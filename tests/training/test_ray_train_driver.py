"""``--address``'s driver without a cluster: what it refuses before Ray starts, and how a failed job reads.

The job itself, on a real two-node Ray cluster, is ``make test-ray-train`` (tests/sweep/test_ray_train.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kerasketch.data.assembly import DataConfig
from kerasketch.errors import ConfigError, RunError
from kerasketch.training import ray_train
from kerasketch.training.run import RunOptions

ROOT = Path(__file__).resolve().parents[2]


def test_the_workers_get_absolute_paths_and_no_listeners(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "drawings").mkdir()
    options = RunOptions(
        data=DataConfig(data="drawings"),
        runs_dir=Path("runs"),
        cache_dir=Path("cache"),
        events="events.jsonl",
        listeners=(print,),
    )
    sent = ray_train.driver_options(options)
    assert sent.runs_dir == tmp_path / "runs" and sent.cache_dir == tmp_path / "cache"
    assert sent.data.data == str(tmp_path / "drawings") and sent.events == str(tmp_path / "events.jsonl")
    assert sent.listeners == ()


def test_events_on_the_terminal_are_refused():
    with pytest.raises(ConfigError, match="--events -"):
        ray_train.driver_options(RunOptions(data=DataConfig(data="synthetic"), events="-"))


@pytest.mark.parametrize(
    ("backend", "gpus", "expected"),
    [("auto", 0, False), ("auto", 1, False), ("auto", 2, True), ("gloo", 2, False), ("nccl", 2, True)],
)
def test_a_gpu_per_worker_where_the_cluster_has_one_for_each(backend, gpus, expected):
    assert ray_train._use_gpu(backend, 2, gpus) is expected


def test_nccl_without_a_gpu_for_each_worker_is_refused():
    with pytest.raises(ConfigError, match="a GPU for each of the 2 workers; the cluster has 1"):
        ray_train._use_gpu("nccl", 2, 1)


class FailedJob(Exception):
    """Stands in for Ray Train's WorkerGroupError: ``worker_failures`` by rank, each read as its text."""

    def __init__(self, failures: dict[int, Exception]):
        super().__init__("Training failed due to worker errors")
        self.worker_failures = failures


def traceback_text(last: str) -> str:
    return f'Traceback (most recent call last):\n  File "x.py", line 1, in f\n    g()\n{last}\n'


def test_a_workers_own_error_is_one_message_with_its_hint():
    mark = ray_train.MARK + json.dumps(
        {"message": "the run trained with 1 process", "hint": "resume it with --nproc 1"}
    )
    err = ray_train._failure(
        FailedJob({1: Exception(traceback_text(f"RuntimeError: {mark}"))}), RunOptions(data=DataConfig()), 2
    )
    assert isinstance(err, RunError)
    assert err.message == "rank 1 of 2 failed: the run trained with 1 process"
    assert err.hint == "resume it with --nproc 1"


def test_any_other_worker_error_is_its_last_line_and_the_lowest_rank_speaks():
    failures = {3: Exception(traceback_text("ValueError: later")), 0: Exception(traceback_text("OSError: disk full"))}
    err = ray_train._failure(FailedJob(failures), RunOptions(data=DataConfig(), runs_dir=Path("/r")), 4)
    assert err.message == "rank 0 of 4 failed: OSError: disk full"
    assert err.hint is not None and "the same command resumes" in err.hint and "/r" in err.hint


def test_an_uneven_global_batch_is_refused_before_any_ray_worker_is_asked_for(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "kerasketch.recipes.baseline", "--data", "synthetic", "--max-per-class", "10"]
        + ["--nproc", "2", "--batch-size", "63", "--address", "127.0.0.1:1", "--runs-dir", str(tmp_path / "runs")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "error: --batch-size 63 does not split evenly over 2 processes" in done.stderr
    assert not (tmp_path / "runs").exists()  # nothing started: no run folder, no Ray storage
