"""config.json's ``format_version``: every run records it; a folder without it is the old format and
reads as before; a newer format is named, never misread."""

from __future__ import annotations

import json
import shutil

import pytest

from kerasketch.cli import main as cli_main
from kerasketch.cli.run import main
from kerasketch.recipes import registry
from kerasketch.runs import folders
from kerasketch.runs.eventlog import read

SMALL = ["--max-per-class", "40", "--classes", "6", "--epochs", "1"]  # the synthetic set, 6 classes x 40


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(registry.get("baseline"), [*SMALL, "--runs-dir", str(runs), "--quiet"]) == 0
    return next(runs.iterdir())


def with_config(run, folder, change):
    copy = shutil.copytree(run, folder / run.name)
    config = json.loads((copy / folders.CONFIG).read_text())
    change(config)
    (copy / folders.CONFIG).write_text(json.dumps(config))
    return copy


def test_every_run_records_the_format_it_was_written_in(run):
    assert json.loads((run / folders.CONFIG).read_text())["format_version"] == folders.FORMAT_VERSION == 1
    start = next(e for e in read(run / folders.EVENTS) if e["event"] == "start")
    assert start["config"]["format_version"] == folders.FORMAT_VERSION
    assert folders.format_version(folders.read_config(run)) == folders.FORMAT_VERSION


def test_a_folder_without_it_is_format_0_and_reads_compares_and_evaluates_as_before(run, tmp_path, capsys):
    old = with_config(run, tmp_path, lambda config: config.pop("format_version"))
    assert folders.format_version(folders.read_config(old)) == 0
    new_info, old_info = folders.load(run), folders.load(old)
    assert old_info.status == new_info.status == "finished"
    assert [e.metrics for e in old_info.epochs()] == [e.metrics for e in new_info.epochs()]
    assert old_info.evaluation() == new_info.evaluation() is not None
    assert (old_info.best_epoch, old_info.test_accuracy) == (new_info.best_epoch, new_info.test_accuracy)
    assert cli_main(["compare", str(tmp_path), "--format", "json", "--include-synthetic"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["recipe"] == "baseline")
    assert (row["test_acc"], row["epochs_run"]) == (new_info.test_accuracy, 1)
    assert cli_main(["evaluate", str(old), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["samples"] > 0


def test_a_newer_format_is_one_message_naming_it(run, tmp_path, capsys):
    newer = with_config(run, tmp_path, lambda config: config.update(format_version=folders.FORMAT_VERSION + 1))
    assert cli_main(["compare", str(newer)]) == 2
    err = capsys.readouterr().err
    assert f"run folder format {folders.FORMAT_VERSION + 1} is newer than this kerasketch reads" in err
    assert "upgrade" in err and "Traceback" not in err
