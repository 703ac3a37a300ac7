"""``kerasketch compare``: a best is picked only among runs on the same data, shown as a data key;
one-class runs never count; synthetic runs stay apart; sweeps' trials count; chosen runs compare."""

from __future__ import annotations

import json

import pytest
from run_folders import classes, write_run

from kerasketch.cli import main
from kerasketch.runs import folders
from kerasketch.training import datakey


def _compare(capsys, *argv: str) -> str:
    assert main(["compare", *argv]) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def _row(table: str, recipe: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(f"| {registry_number(recipe)} | {recipe} "))


def registry_number(recipe: str) -> int:
    from kerasketch.recipes import registry

    return registry.number(registry.get(recipe))


def test_a_one_class_run_is_never_the_best_and_is_named(tmp_path, capsys):
    runs = tmp_path / "runs"
    write_run(runs, "real", classes=classes(37), best=0.61, day=1)
    write_run(runs, "cat-only", classes={"cat": 25}, source="/data/simplified/cat.ndjson", best=1.0, day=2)
    table = _compare(capsys, str(runs))
    assert "| 0.6100 |" in _row(table, "like_vgg_adamw") and "1.0000" not in table and "1 classes" not in table
    assert "Left out 1 run on fewer than 2 classes" in table and "cat-only" in table
    objects = json.loads(_compare(capsys, str(runs), "--format", "json"))
    assert [o["run"] for o in objects if o["run"]] == ["real"]


def test_runs_on_other_data_are_compared_apart_under_their_data_key(tmp_path, capsys):
    runs = tmp_path / "runs"
    big = write_run(runs, "big", classes=classes(37, 1000), max_per_class=1000, best=0.62, day=1)
    small = write_run(runs, "small", classes=classes(3, 300), max_per_class=300, best=0.95, day=2)
    base = write_run(runs, "base-big", recipe="baseline", classes=classes(37, 1000), max_per_class=1000, best=0.3)
    keys = {p.name: datakey.of_config(folders.read_config(p)) for p in (big, small, base)}
    assert keys["big"] == keys["base-big"] != keys["small"]
    assert keys["big"].label == "bitmap: 37 classes, at most 1,000 each, 37,000 drawings, seed 0"
    table = _compare(capsys, str(runs))
    big_at, small_at = table.index(f"Data {keys['big'].key}: "), table.index(f"Data {keys['small'].key}: ")
    assert big_at < small_at  # the data with more runs first
    first, second = table[big_at:small_at], table[small_at:]
    assert "| 0.6200 |" in _row(first, "like_vgg_adamw") and "| 0.3000 |" in _row(first, "baseline")
    assert "| 0.9500 |" in _row(second, "like_vgg_adamw") and "no finished run" in _row(second, "baseline")
    assert "2 different data" in table
    # One data alone, by its key (or the key's start).
    one = _compare(capsys, str(runs), "--data-key", keys["small"].key[:5])
    assert keys["big"].key not in one and "| 0.9500 |" in _row(one, "like_vgg_adamw")
    rows = json.loads(_compare(capsys, str(runs), "--format", "json"))
    assert {(r["data_key"], r["run"]) for r in rows if r["run"]} == {
        (keys["big"].key, "big"),
        (keys["big"].key, "base-big"),
        (keys["small"].key, "small"),
    }


def test_the_same_data_under_another_spelling_has_one_key(tmp_path):
    a = write_run(tmp_path, "a", classes=classes(5), source="../shared/quickdraw/bitmap")
    b = write_run(tmp_path, "b", classes=classes(5), source="/work/shared/quickdraw/bitmap/")
    c = write_run(tmp_path, "c", classes=classes(5), source="/work/shared/quickdraw/simplified")
    key = {p.name: datakey.of_config(folders.read_config(p)).key for p in (a, b, c)}
    assert key["a"] == key["b"] != key["c"]


def test_synthetic_runs_are_kept_apart_from_real_ones(tmp_path, capsys):
    runs = tmp_path / "runs"
    write_run(runs, "real", classes=classes(10), best=0.4)
    write_run(runs, "syn", classes=classes(10), synthetic=True, source="synthetic shapes", best=0.99, day=2)
    table = _compare(capsys, str(runs))
    assert "| 0.4000 |" in _row(table, "like_vgg_adamw") and "0.9900" not in table
    assert "1 run on synthetic data not shown" in table
    both = _compare(capsys, str(runs), "--include-synthetic")
    real_at, syn_at = both.index("Data "), both.index("SYNTHETIC: 10 classes")
    assert real_at < syn_at and "| 0.9900 |" in _row(both[syn_at:], "like_vgg_adamw")
    assert "| 0.4000 |" in _row(both[:syn_at], "like_vgg_adamw")


def test_compare_picks_the_runs_given(tmp_path, capsys):
    runs = tmp_path / "runs"
    a = write_run(runs, "a", classes=classes(4), best=0.5)
    b = write_run(runs, "b", recipe="baseline", classes=classes(4), best=0.3)
    write_run(runs, "c", classes=classes(4), best=0.9)
    table = _compare(capsys, str(a), str(b))
    assert "| 0.5000 |" in _row(table, "like_vgg_adamw") and "| 0.3000 |" in _row(table, "baseline")
    assert "0.9000" not in table
    assert main(["compare", str(a), str(runs)]) == 2
    assert "is a folder of runs, not a run folder" in capsys.readouterr().err


def test_a_missing_runs_folder_hints_at_the_positional_argument(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "--runs-dir the runs" not in err and "give the folder the runs were made in" in err


def _sweep(runs, name: str, trials: list[tuple[str, float]]):
    folder = runs / name
    folder.mkdir(parents=True)
    (folder / "sweep.json").write_text(json.dumps({"name": name, "recipe": "like_vgg_adamw", "status": "finished"}))
    for trial, best in trials:
        write_run(folder, trial, classes=classes(6), best=best)
    return folder


@pytest.mark.parametrize("where", ["sweep", "runs"])
def test_compare_reads_a_sweeps_trials(tmp_path, capsys, where):
    runs = tmp_path / "runs"
    sweep = _sweep(runs, "lr-sweep", [("trial-a", 0.41), ("trial-b", 0.47)])
    folder = str(sweep if where == "sweep" else runs)
    assert "| 0.4700 |" in _row(_compare(capsys, folder), "like_vgg_adamw")
    rows = json.loads(_compare(capsys, folder, "--format", "json"))
    assert [r["run"] for r in rows if r["run"]] == ["trial-b"]


def test_training_on_one_class_is_refused_before_a_run_folder_exists(quickdraw, tmp_path, capsys):
    runs = tmp_path / "runs"
    one_file = ["--data", str(quickdraw / "simplified" / "cat.ndjson"), "--max-per-class", "20"]
    for argv in (one_file, ["--data", str(quickdraw / "bitmap"), "--classes", "cat"]):
        assert main(["run", "like_vgg_adamw", *argv, "--epochs", "1", "--runs-dir", str(runs), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "Traceback" not in err
        assert "at least 2" in err and "1 class" in err
        assert not runs.exists() or not any(runs.iterdir())
