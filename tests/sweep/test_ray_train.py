"""``--address``: a run's ranks as a Ray Train job (TorchTrainer) on a real two-node Ray cluster on 127.0.0.1.

Left out of ``make test`` (the ``ray_train`` marker, pyproject's addopts); ``make test-ray-train`` runs it.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .ray_cluster import MARKER_VARIABLE, cluster_processes, two_node_cluster

pytest.importorskip("ray.train.torch", reason="the [sweep] extra (Ray) is not installed")

pytestmark = [
    pytest.mark.ray_train,
    pytest.mark.sweep,
    pytest.mark.slow,
    pytest.mark.torch_only("torch.distributed process groups, made by Ray Train"),
]

ROOT = Path(__file__).resolve().parents[2]
RUN_FILES = {"config.json", "events.jsonl", "history.csv", "best.keras", "eval.json", "confusion.csv", "run.log"}


def recipe(
    tmp_path: Path, address: str, *extra: str, per_class: int = 40, epochs: int = 1, runs: str = "runs"
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "kerasketch.recipes.baseline",
        *("--data", "synthetic", "--max-per-class", str(per_class), "--epochs", str(epochs), "--nproc", "2"),
        *("--address", address, "--runs-dir", str(tmp_path / runs), "--cache-dir", str(tmp_path / "cache")),
        *extra,
    ]


def train_workers(env: dict[str, str]) -> set[int]:
    """The pids of the test cluster's Ray Train worker actors (Ray titles them ``ray::RayTrainWorker...``)."""
    found = set()
    for pid in cluster_processes(env[MARKER_VARIABLE]):
        with contextlib.suppress(OSError):
            if b"RayTrainWorker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.add(pid)
    return found


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def run_folders(runs: Path) -> list[Path]:
    return [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")] if runs.is_dir() else []


@pytest.mark.timeout(1200)
def test_address_trains_as_two_ray_train_workers_a_failure_is_one_message_and_ctrl_c_ends_the_job(tmp_path, ray_bin):
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

        # Ctrl-C on the driver: Ray Train aborts the job, its workers are gone, the command says how to resume
        # and exits 130; the run folder keeps its backup and no end event, and the same command resumes it.
        before = train_workers(env)
        runs = tmp_path / "interrupted"
        command = recipe(tmp_path, address, per_class=400, epochs=4, runs="interrupted")
        driver = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            history = wait_for(lambda: list(runs.glob("baseline-*/history.csv")), 300, "the run's first epoch")
            wait_for(lambda: len(history[0].read_text().splitlines()) >= 2, 300, "the run's first epoch")
            workers = train_workers(env) - before
            assert len(workers) == 2, workers
            driver.send_signal(signal.SIGINT)
            out, err = driver.communicate(timeout=120)
        finally:
            driver.kill()
        assert driver.returncode == 130, out[-2000:] + err[-2000:]
        assert "cancelled; the same command resumes the run" in out and "Traceback" not in out + err
        wait_for(lambda: not workers & train_workers(env), 60, "the workers to end")
        (run_dir,) = run_folders(runs)
        assert (run_dir / "backup").is_dir()
        events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
        assert {e["reason"] for e in events if e["event"] == "end"} <= {"cancelled"}

        resumed = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
        assert run_folders(runs) == [run_dir] and f"run folder: {run_dir}" in resumed.stdout
        assert "resuming after epoch" in (run_dir / "run.log").read_text()
        assert len((run_dir / "history.csv").read_text().splitlines()) == 1 + 4
        check = json.loads((run_dir / "config.json").read_text())["distributed"]
        assert check["world_size"] == 2


@pytest.mark.timeout(1200)
def test_a_sweep_trial_of_two_ray_train_workers(tmp_path, ray_bin):
    """``kerasketch sweep ... --nproc 2``: each Ray Tune trial a TorchTrainer job of 2 workers."""
    from .conftest import run_sweep

    # Two CPUs a node: a trial holds a token share of one (sweep/tune.py's TRIAL_CPU), its workers one each.
    with two_node_cluster(ray_bin, cpus=2) as (address, env):
        env = {**env, "KERAS_BACKEND": "torch"}
        args = ["--trials", "2", "--scheduler", "none", "--epochs", "2", "--max-per-class", "40", "--batch-size", "32"]
        args += ["--max-concurrent", "1"]  # one trial's 2 workers at a time on this machine's 2 cores
        done = run_sweep(
            tmp_path, *args, "--nproc", "2", "--address", address, "--name", "wide", "--runs-dir", "runs", env=env
        )
        folder = tmp_path / "runs" / "wide"
        sweep = json.loads((folder / "sweep.json").read_text())
        assert sweep["status"] == "finished" and sweep["search"]["nproc"] == 2, done.stdout[-3000:]
        assert [t["status"] for t in sweep["trials"]] == ["finished", "finished"]
        for trial in sweep["trials"]:
            assert trial["world_size"] == 2 and trial["epochs"] == 2
            run_dir = folder / trial["run_dir"]
            names = {p.name for p in run_dir.iterdir()}
            assert {"config.json", "history.csv", "best.keras", "run.log", "rank-1.log"} <= names, names
            config = json.loads((run_dir / "config.json").read_text())
            assert config["distributed"]["world_size"] == 2 and config["distributed"]["per_rank_batch"] == 16
            # The trial's best val_accuracy is its run's, as rank 0's history has it.
            rows = (run_dir / "history.csv").read_text().splitlines()[1:]
            header = (run_dir / "history.csv").read_text().splitlines()[0].split(",")
            best = max(float(r.split(",")[header.index("val_accuracy")]) for r in rows)
            assert trial["best_val_accuracy"] == pytest.approx(best)
            ends = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
            assert [e["reason"] for e in ends if e["event"] == "end"] == ["finished"]
        assert sweep["best"]["test_accuracy"] is not None
        assert "--nproc 2" in sweep["best"]["command"]
