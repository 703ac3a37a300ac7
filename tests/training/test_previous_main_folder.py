"""A run folder written by the previous release (tests/fixtures/previous-main) is read, resumed by the
same command and compared by the current code: new options and layouts keep old folders working."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from kerasketch.cli import main as cli_main
from kerasketch.cli.run import main
from kerasketch.recipes import registry
from kerasketch.runs import folders
from kerasketch.runs.eventlog import read

FIXTURE = Path(__file__).parents[1] / "fixtures" / "previous-main" / "baseline-20261207-033007"
COMMAND = ["--data", "synthetic", "--classes", "4", "--max-per-class", "40", "--epochs", "3", "--quiet"]


def test_the_previous_releases_folder_reads_resumes_and_compares(tmp_path, capsys):
    runs = tmp_path / "runs"
    old = Path(shutil.copytree(FIXTURE, runs / FIXTURE.name))
    info = folders.load(old)
    assert info.status != "finished" and [e.epoch for e in info.epochs()] == [1]
    assert folders.read_config(old)["fingerprint"] == "8aa2d8b551b101a4"

    # The same command finds it by its fingerprint and trains on from its second epoch.
    assert main(registry.get("baseline"), [*COMMAND, "--runs-dir", str(runs), "--cache-dir", str(tmp_path)]) == 0
    assert [p.name for p in runs.iterdir() if p.is_dir()] == [FIXTURE.name]
    resumed = folders.load(old)
    assert resumed.status == "finished" and [e.epoch for e in resumed.epochs()] == [1, 2, 3]
    starts = [e for e in read(old / folders.EVENTS) if e["event"] == "start"]
    assert len(starts) == 2 and starts[-1]["initial_epoch"] == 1

    capsys.readouterr()  # the run's summary, which --quiet still prints: compare's JSON is read alone
    capsys.readouterr()  # the run's own summary
    assert cli_main(["compare", str(runs), "--format", "json", "--include-synthetic"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["recipe"] == "baseline")
    assert row["epochs_run"] == 3 and row["test_acc"] == resumed.test_accuracy is not None


def test_the_previous_releases_backup_resumes_under_nproc_2(tmp_path):
    """Issue 32's item 7: a backup written before data parallelism resumes on 2 ranks (the world size is
    not part of what makes a run the same run)."""
    runs = tmp_path / "runs"
    old = Path(shutil.copytree(FIXTURE, runs / FIXTURE.name))
    argv = [*COMMAND, "--runs-dir", str(runs), "--cache-dir", str(tmp_path), "--nproc", "2"]
    # --nproc starts its ranks with this process's command line: a command of its own, not pytest's.
    done = subprocess.run(
        [sys.executable, "-m", "kerasketch", "run", "baseline", *argv], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert [p.name for p in runs.iterdir() if p.is_dir()] == [FIXTURE.name]
    resumed = folders.load(old)
    assert resumed.status == "finished" and [e.epoch for e in resumed.epochs()] == [1, 2, 3]
    # config.json keeps the first start's settings; the resumed start's event records the 2 ranks.
    starts = [e for e in read(old / folders.EVENTS) if e["event"] == "start"]
    assert [s["config"].get("distributed", {}).get("world_size", 1) for s in starts] == [1, 2]
