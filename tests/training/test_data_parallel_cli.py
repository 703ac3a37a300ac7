"""``--nproc`` and torchrun end to end: a complete run folder, rank 0 alone writing it, a killed rank, resuming."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.torch_only("torch.distributed process groups")

ROOT = Path(__file__).resolve().parents[2]
RUN = ["--data", "synthetic", "--max-per-class", "40", "--seed", "1"]
# What a run folder of one process holds, and what the other rank adds.
RUN_FILES = {"config.json", "events.jsonl", "history.csv", "best.keras", "eval.json", "confusion.csv", "run.log"}


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    return {**clean, "KERAS_BACKEND": "torch"}


def recipe_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "kerasketch.recipes.baseline", *RUN, *args]


def run_to_the_end(command: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(command, env=env(), cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def only_run(runs: Path) -> Path:
    folders = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(folders) == 1, folders
    return folders[0]


def check_complete(run_dir: Path, world_size: int) -> dict:
    names = {p.name for p in run_dir.iterdir()}
    assert names >= RUN_FILES, names
    assert {n for n in names if n.startswith("rank-")} == {f"rank-{r}.log" for r in range(1, world_size)}
    config = json.loads((run_dir / "config.json").read_text())
    assert config["distributed"]["world_size"] == world_size
    assert config["distributed"]["per_rank_batch"] == 64 // world_size
    return config


def test_nproc_2_trains_to_one_complete_run_folder(tmp_path):
    runs = tmp_path / "runs"
    done = run_to_the_end(
        recipe_command("--nproc", "2", "--epochs", "2", "--runs-dir", str(runs), "--cache-dir", str(tmp_path / "c"))
    )
    assert "data-parallel: 2 processes (gloo), global batch 64, 32 per process" in done.stdout
    assert done.stdout.count("test accuracy") == 1  # rank 0 alone speaks
    config = check_complete(only_run(runs), 2)
    assert config["distributed"]["backend"] == "gloo"
    assert config["execution"]["step"].startswith("kerasketch data-parallel train_step")


def test_torchrun_runs_the_module_unchanged(tmp_path):
    """torchrun's ranks, with the options a 2-process run meets (streamed cache rows, bfloat16)."""
    runs = tmp_path / "runs"
    run_to_the_end(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            "-m",
            "kerasketch.recipes.baseline",
            *RUN,
            "--epochs",
            "1",
            "--precision",
            "mixed_bfloat16",
            "--stream",
            "always",
            "--runs-dir",
            str(runs),
            "--cache-dir",
            str(tmp_path / "c"),
        ]
    )
    config = check_complete(only_run(runs), 2)
    assert config["execution"]["precision"] == "mixed_bfloat16" and config["input"]["streaming"] is True


@pytest.mark.matrix  # make test-matrix: minutes of compiling per cell
@pytest.mark.parametrize("recipe", ["baseline", "like_vgg_adamw"])
@pytest.mark.parametrize(
    "options",
    [
        ("--jit-compile",),
        ("--jit-compile", "--precision", "mixed_bfloat16", "--stream", "always"),
        ("--precision", "mixed_bfloat16", "--stream", "always", "--sync-bn"),
    ],
)
def test_nproc_composes_with_the_speed_and_data_options(tmp_path, recipe, options):
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", f"kerasketch.recipes.{recipe}", *RUN, "--nproc", "2", "--epochs", "1", *options]
    command += ["--runs-dir", str(runs), "--cache-dir", str(tmp_path / "c")]
    run_to_the_end(command, timeout=900)
    check_complete(only_run(runs), 2)


def rank_pid(launcher: psutil.Process, rank: int) -> int | None:
    for child in launcher.children(recursive=True):
        try:
            if child.environ().get("RANK") == str(rank):
                return child.pid
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return None


def wait_for(condition, proc: subprocess.Popen, what: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, f"ended (exit {proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        time.sleep(0.2)


def epochs_in(events: Path) -> int:
    return events.read_text().count('"event":"epoch"') if events.exists() else 0


def test_a_killed_rank_ends_the_run_and_the_same_command_resumes(tmp_path):
    """One process stopped, resumed by 2 (a backup of one process resumes under --nproc); a rank killed
    (all end within the bound, the message names it); the same command resumes; Ctrl-C stops every rank."""
    runs, events = tmp_path / "runs", tmp_path / "events.jsonl"
    single = recipe_command(
        "--epochs", "200", "--patience", "500", "--runs-dir", str(runs), "--cache-dir", str(tmp_path / "c"),
        "--events", str(events),
    )  # fmt: skip
    command = [*single, "--nproc", "2"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "env": env(), "cwd": ROOT}

    alone = subprocess.Popen(single, **pipes)
    wait_for(lambda: epochs_in(events) >= 1, alone, "epoch")
    alone.send_signal(signal.SIGTERM)
    alone.communicate(timeout=120)
    assert alone.returncode == 130
    run_dir = only_run(runs)
    log = run_dir / "run.log"

    launcher = subprocess.Popen(command, **pipes)
    try:
        wait_for(lambda: "resumes with 2" in log.read_text(), launcher, "resume by 2 processes")
        done = epochs_in(events)
        wait_for(lambda: epochs_in(events) > done, launcher, "epoch of 2 processes")
        process = psutil.Process(launcher.pid)
        victim = rank_pid(process, 1)
        assert victim is not None
        everyone = process.children(recursive=True)
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        _, err = launcher.communicate(timeout=120)
        assert time.monotonic() - killed < 90
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode != 0
    assert "rank 1 of 2" in err and "SIGKILL" in err and "resume" in err
    assert "Traceback" not in err.split("error:")[-1]
    _, alive = psutil.wait_procs(everyone, timeout=10)
    assert not alive, alive

    # The same command resumes from the last finished epoch; Ctrl-C then stops every rank cleanly.
    resumes = log.read_text().count("resuming after epoch")
    again = subprocess.Popen(command, **pipes)
    try:
        wait_for(lambda: log.read_text().count("resuming after epoch") > resumes, again, "resume")
        ranks = psutil.Process(again.pid).children(recursive=True)
        again.send_signal(signal.SIGINT)
        out, err = again.communicate(timeout=120)
    finally:
        if again.poll() is None:
            again.kill()
    assert again.returncode == 130, err[-3000:]
    assert "cancelled" in out + err
    _, alive = psutil.wait_procs(ranks, timeout=10)
    assert not alive, alive
    assert only_run(runs) == run_dir  # resumed in place, no second folder
