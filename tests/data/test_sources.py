"""Readers for every format, on real files and on broken ones."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kerasketch.data.sources import BAD_LINE_ALLOWANCE, class_from_filename, scan
from kerasketch.errors import DataError


def test_counts_of_the_real_sample(quickdraw_sample):
    for sub, (classes, total) in quickdraw_sample.counts.items():
        catalog = scan(quickdraw_sample.root / sub)
        assert (len(catalog.counts), sum(catalog.counts.values())) == (classes, total), sub
    assert "The Mona Lisa" in scan(quickdraw_sample.root / "bitmap").counts


def test_class_names_from_official_and_kaggle_file_names():
    assert class_from_filename(Path("full_numpy_bitmap_house plant.npy")) == "house plant"
    assert class_from_filename(Path("The Mona Lisa.npy")) == "The Mona Lisa"
    assert class_from_filename(Path("cat.npz")) == "cat"


def test_bitmap_rows_are_read_memory_mapped(quickdraw, tmp_path):
    catalog = scan(quickdraw / "bitmap" / "cat.npy")
    rows = np.load(quickdraw / "bitmap" / "cat.npy", mmap_mode="r")
    got = catalog.images("cat", np.array([7, 3, 450]), 28)
    assert np.array_equal(got.reshape(3, -1), rows[[3, 7, 450]])


_PEAK_OF_A_ONE_PERCENT_SAMPLE = """
import sys
from pathlib import Path
from kerasketch.data.assembly import sample_indices
from kerasketch.data.sources import scan

def kb(field):
    return next(int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(field))

scan(sys.argv[2]).images("small", sample_indices("small", 100, 0.5, None, 0), 28)  # warm the same code paths
before = kb("VmHWM:")
catalog = scan(sys.argv[1])
images = catalog.images("big", sample_indices("big", catalog.counts["big"], 0.01, None, 0), 28)
print(kb("VmHWM:") - before, len(images))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak memory from /proc (Linux)")
def test_a_one_percent_sample_of_a_100_mb_file_reads_only_its_pages(tmp_path):
    rows = 130_000  # 102 MB, an official file's size
    mm = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.uint8, shape=(rows, 784))
    mm[:] = np.random.default_rng(0).integers(0, 256, (1, 784), dtype=np.uint8)
    mm.flush()
    del mm
    np.save(tmp_path / "small.npy", np.zeros((100, 784), np.uint8))
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK_OF_A_ONE_PERCENT_SAMPLE, str(tmp_path / "big.npy"), str(tmp_path / "small.npy")],
        capture_output=True,
        text=True,
        check=True,
    )
    grown_kb, n = map(int, proc.stdout.split())
    assert n == 1300
    # The sample is 1 MB of a 102 MB file. Slicing a memory map of it grew the
    # process by 98 MB (the kernel maps 64 KB around every touched page).
    assert grown_kb < 0.03 * rows * 784 / 1024, f"the sample's process grew by {grown_kb} KB"


def test_a_class_in_several_files_and_formats_is_merged(quickdraw, tmp_path):
    (tmp_path / "a").mkdir()
    shutil.copy(quickdraw / "simplified" / "cat.ndjson", tmp_path / "a" / "cat.ndjson")
    shutil.copy(quickdraw / "raw" / "cat.ndjson", tmp_path / "cat.ndjson")
    rows = np.load(quickdraw / "bitmap" / "cat.npy", mmap_mode="r")[:40]
    np.save(tmp_path / "full_numpy_bitmap_cat.npy", rows)
    catalog = scan(tmp_path)
    raw_n = len((quickdraw / "raw" / "cat.ndjson").read_text().splitlines())
    assert catalog.counts == {"cat": 25 + raw_n + 40}
    assert catalog.formats == {"ndjson": 2, "bitmap": 1}
    assert catalog.images("cat", np.arange(catalog.counts["cat"]), 32).shape == (25 + raw_n + 40, 32, 32)


def test_ndjson_class_comes_from_each_lines_word(quickdraw, tmp_path):
    mixed = (quickdraw / "simplified" / "cat.ndjson").read_text() + (
        quickdraw / "simplified" / "dog.ndjson"
    ).read_text()
    (tmp_path / "mixed.ndjson").write_text(mixed)
    assert scan(tmp_path / "mixed.ndjson").counts == {"cat": 25, "dog": 25}


def test_sketch_rnn_npz_renders_like_the_strokes_it_encodes(quickdraw, tmp_path):
    lines = (quickdraw / "simplified" / "apple.ndjson").read_text().splitlines()
    sketches = []
    for ln in lines:
        points, pen = [], []
        for xs, ys in json.loads(ln)["drawing"]:
            points += list(zip(xs, ys))
            pen += [0] * (len(xs) - 1) + [1]
        pts = np.asarray(points, dtype=np.int16)
        deltas = np.diff(pts, axis=0, prepend=np.zeros((1, 2), np.int16))
        sketches.append(np.column_stack((deltas, pen)).astype(np.int16))
    arr = np.empty(len(sketches), dtype=object)
    arr[:] = sketches
    np.savez(tmp_path / "apple.npz", train=arr[:15], valid=arr[15:20], test=arr[20:])
    from_npz = scan(tmp_path / "apple.npz")
    from_ndjson = scan(quickdraw / "simplified" / "apple.ndjson")
    assert from_npz.counts == {"apple": 25}
    a = from_npz.images("apple", np.arange(25), 28).astype(int)
    b = from_ndjson.images("apple", np.arange(25), 28).astype(int)
    assert np.abs(a - b).mean() < 0.5


@pytest.mark.parametrize(
    "writer, message",
    [
        (lambda p: p.write_bytes(np.lib.format.magic(1, 0) + b"garbage"), "not a readable .npy"),
        (lambda p: np.save(p, np.zeros((5, 100), np.uint8)), r"expected a \(N, 784\) uint8"),
        (lambda p: np.save(p, np.zeros((5, 784), np.float32)), r"expected a \(N, 784\) uint8"),
    ],
)
def test_broken_npy_files_are_named(tmp_path, writer, message):
    path = tmp_path / "cat.npy"
    writer(path)
    with pytest.raises(DataError, match=message) as err:
        scan(tmp_path)
    assert str(path) in err.value.message


def test_truncated_npy_is_named(tmp_path):
    path = tmp_path / "cat.npy"
    np.save(path, np.ones((100, 784), np.uint8))
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(DataError, match="truncated or corrupt") as err:
        scan(path)
    assert "cat.npy" in err.value.message and "download" in err.value.hint


def test_a_bad_ndjson_line_is_an_error_naming_file_and_line(quickdraw, tmp_path):
    lines = (quickdraw / "simplified" / "cat.ndjson").read_text().splitlines()
    lines[6] = "this is not json"
    (tmp_path / "cat.ndjson").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"cat\.ndjson, line 7: not a JSON object"):
        scan(tmp_path)


def test_a_line_without_strokes_is_found_when_read(quickdraw, tmp_path):
    lines = (quickdraw / "simplified" / "cat.ndjson").read_text().splitlines()
    lines[3] = json.dumps({"word": "cat", "drawing": []})
    (tmp_path / "cat.ndjson").write_text("\n".join(lines))
    catalog = scan(tmp_path)
    with pytest.raises(DataError, match=r"line 4"):
        catalog.images("cat", np.arange(25), 28)


def test_a_few_bad_lines_in_a_large_file_are_skipped_and_counted(quickdraw, tmp_path):
    line = (quickdraw / "simplified" / "cat.ndjson").read_text().splitlines()[0]
    lines = [line] * (2 * BAD_LINE_ALLOWANCE)
    lines[10] = '{"word": "cat", "drawing": [[[1, 2], [3]]]}'  # x and y of different lengths
    lines[500] = "{truncated"
    (tmp_path / "cat.ndjson").write_text("\n".join(lines))
    catalog = scan(tmp_path)
    assert catalog.counts == {"cat": len(lines) - 1} and catalog.skipped == 1
    images = catalog.images("cat", np.arange(len(lines) - 1), 28)
    assert len(images) == len(lines) - 2 and catalog.skipped == 2


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("cat.ndjson", "", "is empty"),
        ("cat.ndjson", "\n\n", "holds no lines"),
        ("cat.npz", "not a zip", "not a readable sketch-rnn"),
    ],
)
def test_empty_or_unreadable_files(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(DataError, match=message):
        scan(tmp_path)


def test_missing_path_empty_folder_and_wrong_type(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        scan(tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"no \.npy, \.ndjson or \.npz files"):
        scan(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="unsupported file type"):
        scan(tmp_path / "notes.txt")


def test_line_numbers_count_blank_lines_and_crlf_endings_are_read(quickdraw, tmp_path):
    lines = (quickdraw / "simplified" / "cat.ndjson").read_text().splitlines()
    text = "\r\n".join(lines[:3]) + "\r\n\r\n" + lines[3] + "\r\n" + "{broken\r\n" + "\r\n".join(lines[4:])
    (tmp_path / "cat.ndjson").write_text(text)
    with pytest.raises(DataError, match=r"cat\.ndjson, line 6: not a JSON object"):
        scan(tmp_path)
    (tmp_path / "cat.ndjson").write_text(text.replace("{broken\r\n", ""))
    catalog = scan(tmp_path)
    assert catalog.counts == {"cat": 25} and catalog.images("cat", np.arange(25), 28).shape == (25, 28, 28)


def test_resizing_needs_no_torch_and_gives_torchs_pixels(quickdraw):
    from kerasketch.data.sources import resize

    rows = np.load(quickdraw / "bitmap" / "cat.npy", mmap_mode="r")[:2000].reshape(-1, 28, 28)
    torch = pytest.importorskip("torch")
    for size in (32, 64, 20):
        tensor = torch.from_numpy(np.array(rows)).float().unsqueeze(1)
        expected = torch.nn.functional.interpolate(
            tensor, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
        expected = expected.squeeze(1).round_().clamp_(0, 255).to(torch.uint8).numpy()
        diff = np.abs(resize(rows, size).astype(int) - expected)
        assert diff.max() <= 1 and (diff > 0).mean() < 0.01, size  # rounding order when shrinking
        if size == 32:
            assert diff.max() == 0  # the recipes' size: exactly the pixels torch made


def test_reading_data_imports_no_torch(quickdraw):
    code = (
        "import sys, numpy as np; from kerasketch.data.sources import scan; "
        f"scan({str(quickdraw / 'bitmap' / 'cat.npy')!r}).images('cat', np.arange(10), 32); "
        "print('torch' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"
