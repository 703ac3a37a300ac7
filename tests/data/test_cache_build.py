"""The cache builder: bounded memory, every core, no incomplete file under the final name, resumable."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from kerasketch.data import assembly, cache, cache_build
from kerasketch.data.assembly import SPLITS, DataConfig
from kerasketch.data.digest import content_digest
from kerasketch.errors import DataError


def _config(quickdraw: Path) -> DataConfig:
    # 150 drawings of each of 5 classes (fewer where a class has fewer): units enough at small budgets.
    return DataConfig(data=str(quickdraw / "bitmap"), classes=5, max_per_class=150, seed=3)


def _contents(path: Path) -> dict:
    """Every array and attribute of a cache but the time it was made."""
    with h5py.File(path, "r") as f:
        out = {name: f[name][: len(f[f"y_{name[2:]}"])] if name.startswith("x_") else f[name][()] for name in f}
        out.update({f"attr:{k}": v for k, v in f.attrs.items() if k != "created"})
    return out


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_a_tiny_budget_builds_in_many_units_the_same_dataset_as_memory(quickdraw, tmp_path):
    cfg = _config(quickdraw)
    in_memory = assembly.build(cfg)
    calls = []
    # 100 KB of images in flight: a few dozen drawings per unit, on two worker processes.
    built = cache.load_or_build(
        cfg, tmp_path, build_memory=100_000, build_workers=2, progress=lambda *call: calls.append(call)
    )
    assert cache_build.unit_rows(100_000, 2, 28, False) < 100
    units = [total for what, _, total in calls if what == "reading drawings"]
    assert units and units[-1] > 20, "the build was not split into units"
    # Then the digest reads the images back, and says so.
    assert calls[-1] == ("hashing drawings", in_memory.summary()["total"], in_memory.summary()["total"])
    for split in SPLITS:
        assert np.array_equal(getattr(built, f"x_{split}"), getattr(in_memory, f"x_{split}"))
        assert np.array_equal(getattr(built, f"y_{split}"), getattr(in_memory, f"y_{split}"))
        # As stored: an int64 copy would cost 4 more bytes a drawing, what the scale bench's memory bound watches.
        assert getattr(built, f"y_{split}").dtype == np.int32
    assert built.summary() | {"cache": None} == in_memory.summary()
    assert [p.name for p in tmp_path.iterdir()] == [built.cache_path.name], "no temporary or lock file left"
    # The content digest (what a run is resumed by) is the same however the data was read.
    assert in_memory.digest is not None and built.digest == in_memory.digest
    assert cache.open_cache(built.cache_path, "always").digest == in_memory.digest


def test_the_digest_changes_with_any_drawing_label_or_class_name(quickdraw):
    data = assembly.build(_config(quickdraw))
    splits = [(getattr(data, f"x_{s}").copy(), getattr(data, f"y_{s}").copy()) for s in SPLITS]
    assert content_digest(data.class_names, splits) == data.digest
    x, y = splits[2]
    x[-1, 14, 14] ^= 1
    assert content_digest(data.class_names, splits) != data.digest
    x[-1, 14, 14] ^= 1
    y[0] = (y[0] + 1) % data.num_classes
    assert content_digest(data.class_names, splits) != data.digest
    y[0] = (y[0] - 1) % data.num_classes
    assert content_digest([*data.class_names[:-1], "other"], splits) != data.digest
    assert content_digest(data.class_names, splits) == data.digest


def test_the_parallel_build_counts_the_bad_lines_its_workers_skipped(tmp_path):
    line = json.dumps({"word": "cat", "drawing": [[[0, 100, 200], [0, 150, 20]]]})
    folder = tmp_path / "data"
    folder.mkdir()
    for word in ("cat", "dog"):
        lines = [line.replace("cat", word)] * 1500
        lines[700] = json.dumps({"word": word, "drawing": [[[0, 1], [0, 1]]]}).replace(
            "1]", "1e999]", 1
        )  # found when parsed
        (folder / f"{word}.ndjson").write_text("\n".join(lines) + "\n")
    cfg = DataConfig(data=str(folder), max_per_class=1200, seed=1)
    in_memory = assembly.build(cfg)
    built = cache.load_or_build(cfg, tmp_path / "cache", build_memory=2_000_000, build_workers=2)
    assert built.skipped == in_memory.skipped
    for split in SPLITS:
        assert np.array_equal(getattr(built, f"y_{split}"), getattr(in_memory, f"y_{split}"))
        assert np.array_equal(getattr(built, f"x_{split}"), getattr(in_memory, f"x_{split}"))


_BUILDER = """
import sys, time
from pathlib import Path
from kerasketch.data import cache, cache_build
from kerasketch.data.assembly import DataConfig
cache_build.CHECKPOINT_SECONDS = 0.0  # a checkpoint after every unit
cfg = DataConfig(data=sys.argv[1], classes=5, max_per_class=150, seed=3)
cache.load_or_build(cfg, Path(sys.argv[2]), build_memory=400_000, build_workers=2, progress=lambda *a: time.sleep(0.1))
"""


def test_a_build_killed_mid_way_resumes_to_the_same_cache_and_never_shows_an_incomplete_one(quickdraw, tmp_path):
    cfg = _config(quickdraw)
    reference = cache.load_or_build(cfg, tmp_path / "reference", build_workers=1).cache_path
    folder = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", _BUILDER, str(quickdraw / "bitmap"), str(folder)])
    final = folder / reference.name
    state = cache_build.state_path(final)
    deadline = time.monotonic() + 240
    done = 0
    while time.monotonic() < deadline and done < 5:
        assert proc.poll() is None, "the build ended before it could be killed"
        with contextlib.suppress(OSError, ValueError, KeyError):  # not written yet, or being replaced
            done = json.loads(state.read_text())["done"]
        time.sleep(0.05)
    assert done >= 5, "no checkpoint within 240 s"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not final.exists(), "an incomplete cache under the final name"
    assert cache_build.partial_path(final).exists()

    seen = []
    resumed = cache.load_or_build(cfg, folder, build_workers=2, progress=lambda what, d, total: seen.append(d))
    assert seen[0] > 5, "the build started again instead of resuming"
    assert resumed.cache_path == final and not resumed.from_cache
    assert _same(_contents(final), _contents(reference))
    assert not cache_build.partial_path(final).exists() and not state.exists()


def test_a_partial_file_that_cannot_be_trusted_is_built_afresh(quickdraw, tmp_path):
    cfg = _config(quickdraw)
    final = tmp_path / f"dataset-{cache.cache_key(cfg)}.h5"
    cache_build.partial_path(final).write_bytes(b"torn by a power cut")
    cache_build.state_path(final).write_text('{"identity": "of another build", "done": 9}')
    built = cache.load_or_build(cfg, tmp_path, build_workers=1)
    assert _same(_contents(built.cache_path), _contents(cache.load_or_build(cfg, tmp_path / "b").cache_path))
    assert not cache_build.partial_path(final).exists()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "labels", "float labels"])
def test_a_damaged_cache_is_one_clear_error_and_is_rebuilt(quickdraw, tmp_path, capsys, damage):
    cfg = _config(quickdraw)
    path = cache.load_or_build(cfg, tmp_path).cache_path
    if damage == "truncated":
        with open(path, "r+b") as f:
            f.truncate(path.stat().st_size // 2)
    elif damage == "garbage":
        path.write_bytes(b"\x89HDF\r\n" + bytes(5000))
    elif damage == "labels":
        with h5py.File(path, "r+") as f:
            f["y_val"][0] = 999
    else:
        with h5py.File(path, "r+") as f:
            labels = f["y_val"][()]
            del f["y_val"]
            f["y_val"] = labels.astype(np.float32)
    for stream in ("never", "always"):
        with pytest.raises(DataError, match=f"dataset cache {path} is unreadable"):
            cache.open_cache(path, stream)
    rebuilt = cache.load_or_build(cfg, tmp_path, stream="always")
    assert "is unreadable" in capsys.readouterr().err and rebuilt.streaming
    assert np.array_equal(rebuilt.x_val[0 : len(rebuilt.y_val)], assembly.build(cfg).x_val)


def test_a_cache_truncated_under_a_streaming_reader_is_named(quickdraw, tmp_path):
    dataset = cache.load_or_build(_config(quickdraw), tmp_path, stream="always")
    with open(dataset.cache_path, "r+b") as f:
        f.truncate(dataset.x_train.offset + 10 * 784)
    with pytest.raises(DataError, match="ended early"):
        dataset.x_train[np.array([5, 50, 51])]
