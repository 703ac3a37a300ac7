"""Help and hints that say what the code does: the constants they state are the code's own."""

from __future__ import annotations

import numpy as np
import pytest

from kerasketch.cli import main
from kerasketch.data.assembly import DataConfig, build
from kerasketch.options import BUFFER_CHUNKS, CHUNK_ROWS


def test_the_shuffle_help_states_the_chunk_sizes_the_code_uses(capsys):
    assert main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"chunks of {CHUNK_ROWS:,} cached rows" in text and f"windows of {BUFFER_CHUNKS:,} chunks" in text


@pytest.mark.parametrize(
    ("argv", "command", "wrong"),
    [
        (["run", "baseline", "--epochz", "1"], "kerasketch run", "--epochz 1"),
        (["data", "info", "--bogus"], "kerasketch data info", "--bogus"),
        (["compare", "--formatt", "csv"], "kerasketch compare", "--formatt"),
    ],
)
def test_a_wrong_option_shows_the_sub_commands_usage(capsys, argv, command, wrong):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: {command} ") and f"{command}: error: unrecognized arguments: {wrong}" in err


def test_one_class_and_equal_classes_are_said_as_such(quickdraw, tmp_path, capsys):
    for cls in ("The Mona Lisa", "cat"):
        np.save(tmp_path / f"{cls}.npy", np.load(quickdraw / "bitmap" / f"{cls}.npy", mmap_mode="r")[:30])
    assert main(["data", "info", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 classes, 60 drawings" in out and "imbalance 1.0: every class has 30 drawings" in out
    assert "largest" not in out
    assert main(["data", "info", "--data", str(tmp_path / "cat.npy")]) == 0
    out = capsys.readouterr().out
    assert "1 class, 30 drawings" in out and "1 classes" not in out and "one class, 'cat', of 30 drawings" in out
    described = build(DataConfig(data=str(tmp_path))).describe()
    assert "2 classes, 60 drawings at 28x28" in described and "every class has 30 drawings" in described
