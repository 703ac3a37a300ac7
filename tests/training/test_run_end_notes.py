"""Where a run ends, a recipe known to start slowly says so (the baseline's 0.06 after a few epochs)."""

from __future__ import annotations

from kerasketch.cli import main
from kerasketch.recipes import slow_starts


def test_a_short_baseline_run_ends_with_the_note_and_a_full_one_without():
    known = slow_starts.SLOW_STARTS["baseline"]
    short = slow_starts.note("baseline", 3)
    assert short is not None and f"its best epoch was {known.epochs_to_best}" in short and "stopped after 3" in short
    assert "\n" not in short and known.source in short
    assert slow_starts.note("baseline", known.epochs_to_best) is None
    assert slow_starts.note("like_vgg_adamw", 1) is None


def test_the_note_is_printed_where_the_run_ends(tmp_path, capsys):
    argv = ["--data", "synthetic", "--classes", "4", "--max-per-class", "30", "--epochs", "1", "--quiet"]
    assert main(["run", "baseline", *argv, "--runs-dir", str(tmp_path / "a")]) == 0
    out = capsys.readouterr()
    assert "note: baseline is slow to start, by design" in out.out + out.err
