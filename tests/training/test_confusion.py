"""confusion.csv: written, read back, validated, and its worst cells."""

from __future__ import annotations

import pytest

from kerasketch.errors import RunError
from kerasketch.runs import confusion, folders


def test_round_trip_with_class_names_that_need_quoting(tmp_path):
    names = ["The Mona Lisa", "a, b", 'say "hi"']
    matrix = [[5, 3, 0], [1, 4, 0], [0, 6, 2]]
    confusion.write(tmp_path / "confusion.csv", names, matrix)
    assert confusion.read(tmp_path / "confusion.csv") == (names, matrix)
    assert [p.name for p in tmp_path.iterdir()] == ["confusion.csv"]


def test_most_confused_orders_the_worst_cells():
    names = ["a", "b", "c"]
    m = [[5, 3, 0], [1, 4, 0], [0, 6, 2]]
    assert confusion.most_confused(names, m) == [("c", "b", 6, 0.75), ("a", "b", 3, 0.375), ("b", "a", 1, 0.2)]
    assert confusion.most_confused(names, [[1, 0, 0], [0, 1, 0], [0, 0, 1]]) == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("true,a,b\na,1,x\nb,0,1\n", "unreadable"),
        ("true,a,b\na,1,0\n", "malformed: 2 class names but a 1-row matrix"),
        ("", "unreadable"),
    ],
)
def test_malformed_files_are_named(tmp_path, text, message):
    (tmp_path / "confusion.csv").write_text(text)
    with pytest.raises(RunError, match=message):
        confusion.read(tmp_path / "confusion.csv")
    assert confusion.read(tmp_path / "missing.csv") is None


def test_a_malformed_run_folder_is_an_error_not_a_crash(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("[1, 2]")
    with pytest.raises(RunError, match="not a JSON object"):
        folders.load(run)
    (run / "config.json").write_text('{"recipe": {"name": "baseline"}}')
    (run / "events.jsonl").write_text(
        '{"event": "epoch", "metrics": {}}\n{"event": "epoch", "epoch": 2, "metrics": {}}\n'
    )
    info = folders.load(run)
    assert info.epochs_done == 2 and [e.epoch for e in info.epochs()] == [2]
    assert [r.name for r in folders.list_runs(tmp_path)] == ["run"]
