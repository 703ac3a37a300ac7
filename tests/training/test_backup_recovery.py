"""An unreadable backup, however it was torn, falls back to the other copy or starts afresh: never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from kerasketch.models import build_model
from kerasketch.runs import folders
from kerasketch.training.fit import resume_point

pytestmark = pytest.mark.backends
HISTORY = "epoch,val_accuracy\n0,0.5\n1,0.6\n2,0.7\n"


def _truncate(fraction: float):
    def tear(path: Path) -> None:
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])

    return tear


def _overwrite(offset: int, length: int):
    def tear(path: Path) -> None:
        data = bytearray(path.read_bytes())
        data[offset : offset + length] = b"\xff" * length
        path.write_bytes(bytes(data))

    return tear


# Ways a kill, a full disk or a bad block leaves the weights file. Cutting it short
# past its index gave the "Object visitation failed (addr overflow ...)" RuntimeError.
TEARS = {
    "empty": _truncate(0.0),
    "superblock only": lambda p: p.write_bytes(p.read_bytes()[:96]),
    "cut at a tenth": _truncate(0.1),
    "cut in half": _truncate(0.5),
    "cut just short": _truncate(0.995),
    "superblock overwritten": _overwrite(0, 64),
    "not hdf5": lambda p: p.write_bytes(b"torn"),
}


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory) -> bytes:
    """A real Keras weights file of a small model, as BackupAndRestore writes it."""
    path = tmp_path_factory.mktemp("weights") / "model.weights.h5"
    build_model("baseline", 5, seed=0).save_weights(path)
    return path.read_bytes()


def _backup(run: Path, weights: bytes, *, latest_epoch: int = 3, previous_epoch: int | None = 2) -> Path:
    backup = run / folders.BACKUP
    backup.mkdir(parents=True)
    (backup / "latest.weights.h5").write_bytes(weights)
    (backup / "training_metadata.json").write_text(json.dumps({"epoch": latest_epoch, "batch": -1}))
    if previous_epoch is not None:
        (backup / "latest.weights.h5.bkp").write_bytes(weights)
        (backup / "training_metadata.json.bkp").write_text(json.dumps({"epoch": previous_epoch, "batch": -1}))
    (run / folders.HISTORY).write_text(HISTORY)
    return backup


def test_an_intact_backup_resumes_at_its_epoch(tmp_path, weights_file):
    _backup(tmp_path, weights_file)
    assert resume_point(tmp_path) == 3
    assert (tmp_path / folders.HISTORY).read_text() == HISTORY


@pytest.mark.parametrize("tear", list(TEARS))
def test_a_torn_latest_backup_gives_way_to_the_previous_copy(tear, tmp_path, weights_file):
    backup = _backup(tmp_path, weights_file)
    TEARS[tear](backup / "latest.weights.h5")
    said = []
    assert resume_point(tmp_path, said.append) == 2
    assert (tmp_path / folders.HISTORY).read_text() == "epoch,val_accuracy\n0,0.5\n1,0.6\n"
    assert len(said) == 1 and "copy before it" in said[0]
    # What BackupAndRestore will load is whole.
    model = build_model("baseline", 5, seed=1)
    model.load_weights(backup / "latest.weights.h5")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model.weights[0]),
        keras.ops.convert_to_numpy(build_model("baseline", 5, seed=0).weights[0]),
    )


@pytest.mark.parametrize("tear", ["cut in half", "superblock overwritten", "empty"])
def test_with_both_copies_torn_the_run_starts_afresh(tear, tmp_path, weights_file):
    backup = _backup(tmp_path, weights_file)
    TEARS[tear](backup / "latest.weights.h5")
    TEARS[tear](backup / "latest.weights.h5.bkp")
    said = []
    assert resume_point(tmp_path, said.append) == 0
    assert len(said) == 1 and "afresh" in said[0]
    assert not backup.exists(), "Keras would try to load what is left"
    assert (tmp_path / folders.HISTORY).read_text() == "epoch,val_accuracy\n"


@pytest.mark.parametrize("metadata", ["", "{", '{"batch": -1}', '{"epoch": "x"}'])
def test_torn_metadata_counts_as_a_torn_backup(metadata, tmp_path, weights_file):
    backup = _backup(tmp_path, weights_file)
    (backup / "training_metadata.json").write_text(metadata)
    assert resume_point(tmp_path) == 2


def test_a_torn_backup_with_no_previous_copy_starts_afresh(tmp_path, weights_file):
    backup = _backup(tmp_path, weights_file, previous_epoch=None)
    TEARS["cut in half"](backup / "latest.weights.h5")
    assert resume_point(tmp_path) == 0 and not backup.exists()
