"""A run folder written by the previous release (tests/fixtures/previous-main) is read, resumed by the
same command and compared by the current code: new options and layouts keep old folders working."""

from __future__ import annotations

import json
import shutil
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
