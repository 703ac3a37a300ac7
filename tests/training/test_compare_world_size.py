"""``kerasketch compare`` says how many processes trained each best run (issue 32 item 3):
config.json's ``distributed.world_size``, 1 for a folder from before ``--nproc``."""

from __future__ import annotations

import csv
import io
import json

from run_folders import classes, write_run

from kerasketch.training.compare import compare_paths

TWO = {"world_size": 2, "backend": "gloo", "global_batch": 64, "per_rank_batch": 32, "local_ranks": 2}


def _compare(runs, fmt: str = "markdown") -> str:
    """What ``kerasketch compare RUNS --format FMT`` prints."""
    return compare_paths([runs], fmt=fmt)


def _cells(table: str, recipe: str) -> list[str]:
    line = next(line for line in table.splitlines() if f"| {recipe} |" in line)
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_compare_shows_each_best_runs_processes_and_one_for_an_old_folder(tmp_path):
    runs = tmp_path / "runs"
    write_run(runs, "two-ranks", classes=classes(5), best=0.6, distributed=TWO)
    write_run(runs, "old", recipe="baseline", classes=classes(5), best=0.3)  # no "distributed": one process
    table = _compare(runs)
    header = [cell.strip() for cell in table.splitlines()[2].strip("|").split("|")]
    assert header[-1] == "processes"
    assert _cells(table, "like_vgg_adamw")[-1] == "2" and _cells(table, "baseline")[-1] == "1"
    assert _cells(table, "sketch_resnet")[-1] == "-"  # no finished run
    # Every row has as many cells as the header.
    assert {len(_cells(table, r)) for r in ("like_vgg_adamw", "baseline", "sketch_resnet")} == {len(header)}

    rows = json.loads(_compare(runs, "json"))
    sizes = {r["run"]: r["world_size"] for r in rows if r["run"]}
    assert sizes == {"two-ranks": 2, "old": 1}
    by_run = {r["run"]: r for r in csv.DictReader(io.StringIO(_compare(runs, "csv")))}
    assert by_run["two-ranks"]["world_size"] == "2" and by_run["old"]["world_size"] == "1"


def test_a_damaged_distributed_record_counts_as_one_process(tmp_path):
    runs = tmp_path / "runs"
    write_run(runs, "odd", classes=classes(5), best=0.6, distributed={"world_size": "two"})
    rows = json.loads(_compare(runs, "json"))
    assert [r["world_size"] for r in rows if r["run"]] == [1]
