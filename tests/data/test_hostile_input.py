"""Files made to break the data layer: each class of fault ends in one message, exit 2, nothing left behind."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from rdp_reference import brute_simplify

from kerasketch.cli import main
from kerasketch.data import assembly, strokes
from kerasketch.data.sources import scan
from kerasketch.errors import DataError

OMNIGLOT = Path(os.environ.get("KERASKETCH_SKETCHRNN", Path(__file__).resolve().parents[3] / "shared" / "sketchrnn"))
if not (OMNIGLOT / "omniglot.npz").exists():
    OMNIGLOT = Path("/work/shared/sketchrnn")

LINE = {"word": "cat", "countrycode": "US", "recognized": True, "drawing": [[[0, 100, 255], [0, 200, 30]]]}


def run_cli(*argv: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "kerasketch", *argv], capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def one_error(stderr: str) -> str:
    assert stderr.startswith("error: ") and "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    return stderr


def write_ndjson(path: Path, records: list, extra_lines: list[bytes] = ()) -> Path:
    body = b"".join(json.dumps(r).encode() + b"\n" for r in records) + b"".join(ln + b"\n" for ln in extra_lines)
    path.write_bytes(body)
    return path


# ---------------------------------------------------------------- code execution


class _RunsCode:
    """Unpickling this calls os.system: what a crafted .npz would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_npz_runs_nothing_and_is_refused_by_name(tmp_path):
    marker = tmp_path / "pwned"
    arr = np.empty(2, dtype=object)
    arr[0] = np.zeros((3, 3), np.int16)
    arr[1] = _RunsCode(marker)
    folder = tmp_path / "data" / "deep"
    folder.mkdir(parents=True)
    np.savez(folder / "cat.npz", train=arr)
    # The same pickle through plain np.load would run: the marker proves the test can fail.
    with np.load(folder / "cat.npz", allow_pickle=True) as npz:
        npz["train"]
    assert marker.exists()
    marker.unlink()

    code, _, err = run_cli("data", "info", "--data", str(tmp_path / "data"))
    assert code == 2
    assert "cat.npz" in one_error(err) and "refused" in err and ".system" in err
    assert not marker.exists()


def test_a_sketch_rnn_file_made_here_reads(tmp_path):
    rng = np.random.default_rng(0)
    sketches = np.empty(30, dtype=object)
    for i in range(30):
        s = rng.integers(-20, 20, (12, 3)).astype(np.int16)
        s[:, 2] = 0
        s[[5, 11], 2] = 1
        sketches[i] = s
    np.savez(tmp_path / "zigzag.npz", train=sketches[:20], valid=sketches[20:25], test=sketches[25:])
    catalog = scan(tmp_path / "zigzag.npz")
    assert catalog.counts == {"zigzag": 30}
    assert catalog.images("zigzag", np.arange(30), 28).max() > 0


def test_the_real_omniglot_file_reads():
    path = OMNIGLOT / "omniglot.npz"
    if not path.exists():
        pytest.skip(f"{path} not found (it lives in ../shared/sketchrnn)")
    catalog = scan(path)
    assert catalog.counts == {"omniglot": 32_000}
    assert catalog.images("omniglot", np.arange(0, 32_000, 4000), 28).shape == (8, 28, 28)


# ---------------------------------------------------------------- the RDP hang


def _zigzag(corners: int) -> list[np.ndarray]:
    i = np.arange(corners, dtype=float)
    return [np.column_stack((np.where(i % 2 == 0, 0.0, 255.0), i * 255 / corners))]


def test_simplification_equals_the_reference_on_real_raw_drawings_and_a_zigzag(quickdraw):
    drawings = []
    for path in sorted((quickdraw / "raw").glob("*.ndjson"))[:40]:
        drawings += [strokes.from_xy_lists(json.loads(ln)["drawing"]) for ln in path.read_text().splitlines()]
    drawings += [_zigzag(300), _zigzag(41)]
    for drawing in drawings:
        mine, reference = strokes.simplify_raw(drawing), brute_simplify(drawing)
        assert len(mine) == len(reference)
        assert all(np.array_equal(a, b) for a, b in zip(mine, reference))


def test_a_hostile_raw_drawing_is_skipped_and_counted_quickly(tmp_path):
    with pytest.raises(strokes.TooCostly):
        strokes.simplify_raw(_zigzag(5000))
    zig = _zigzag(20_000)[0]
    hostile = {"word": "cat", "drawing": [[zig[:, 0].tolist(), zig[:, 1].tolist(), list(range(len(zig)))]]}
    raw = {"word": "cat", "drawing": [[[0, 100, 255], [0, 200, 30], [0, 1, 2]]]}
    write_ndjson(tmp_path / "cat.ndjson", [raw] * 9 + [hostile] + [raw] * 10)
    write_ndjson(tmp_path / "dog.ndjson", [{**raw, "word": "dog"}] * 20)
    start = time.perf_counter()
    dataset = assembly.build(assembly.DataConfig(data=str(tmp_path), split=(0.5, 0.25, 0.25)))
    assert time.perf_counter() - start < 60  # before: the hostile line alone never finished
    summary = dataset.summary()
    assert summary["total"] == 39 and summary["skipped_too_costly"] == 1
    assert any("cat.ndjson" in note and "too costly" in note for note in summary["notes"])
    assert "too costly" in dataset.describe()


# ---------------------------------------------------------------- malformed text


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = write_ndjson(tmp_path / "cat.ndjson", [LINE] * 3)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    catalog = scan(path)
    assert catalog.counts == {"cat": 3}
    assert catalog.images("cat", np.arange(3), 28).shape == (3, 28, 28)


@pytest.mark.parametrize(
    "bad_line, expected",
    [
        (b'{"word": "c\xffat", "drawing": [[[1, 2], [3, 4]]]}', "'word' field is not UTF-8"),
        (b'{"word": "c\\ud800t", "drawing": [[[1, 2], [3, 4]]]}', "'word' field is not UTF-8"),
        (b'{"word": "cat", "drawing": [[[1, NaN], [3, 4]]]}', "not a finite number"),
        (b'{"word": "cat", "drawing": [[[1, 2], [3, Infinity]]]}', "not a finite number"),
        (b'{"word": "cat", "drawing": [[[1, 1e999], [3, 4]]]}', "not a finite number"),
        (b'{"word": "cat", "drawing": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        (b'{"word": "cat", "drawing": [[[1, 2], [3, 4]]], "k": "\xc3"}', "not UTF-8"),
    ],
    ids=["non-utf8-word", "lone-surrogate", "nan", "infinity", "overflow", "deep", "non-utf8-line"],
)
def test_malformed_text_names_file_line_and_field(tmp_path, bad_line, expected):
    write_ndjson(tmp_path / "cat.ndjson", [LINE] * 3, [bad_line])
    code, _, err = run_cli("data", "prepare", "--data", str(tmp_path), "--no-cache", "--quiet")
    assert code == 2
    assert "cat.ndjson, line 4" in one_error(err) and expected in err
    assert "hint:" in err


def test_coordinates_outside_0_255_in_a_simplified_file_are_noted(tmp_path):
    far = {**LINE, "drawing": [[[0, 100_000, 200_000_000], [0, 5, 10]]]}
    write_ndjson(tmp_path / "cat.ndjson", [LINE] * 5 + [far] * 5)
    write_ndjson(tmp_path / "dog.ndjson", [{**LINE, "word": "dog"}] * 10)
    dataset = assembly.build(assembly.DataConfig(data=str(tmp_path), split=(0.6, 0.2, 0.2)))
    assert dataset.summary()["total"] == 20
    [note] = dataset.notes
    assert "cat.ndjson" in note and "outside 0-255" in note and "5 simplified" in note


# ---------------------------------------------------------------- unusual and broken arrays


def test_a_fortran_ordered_bitmap_file_is_read(tmp_path):
    rows = np.random.default_rng(1).integers(0, 256, (50, 784), dtype=np.uint8)
    np.save(tmp_path / "cat.npy", np.asfortranarray(rows))
    catalog = scan(tmp_path / "cat.npy")
    np.testing.assert_array_equal(catalog.images("cat", np.array([3, 0, 49]), 28).reshape(3, -1), rows[[0, 3, 49]])


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_every_npy_format_version_is_read(tmp_path, version):
    rows = np.arange(784 * 4, dtype=np.uint32).astype(np.uint8).reshape(4, 784)
    with open(tmp_path / "cat.npy", "wb") as f:
        np.lib.format.write_array(f, rows, version=version)
    np.testing.assert_array_equal(scan(tmp_path).images("cat", np.arange(4), 28).reshape(4, -1), rows)


@pytest.mark.parametrize("name", ["cat.npy", "cat.npz", "cat.ndjson"])
def test_truncated_files_are_named(tmp_path, quickdraw, name):
    if name == "cat.npy":
        np.save(tmp_path / name, np.ones((100, 784), np.uint8))
    elif name == "cat.npz":
        arr = np.empty(1, dtype=object)
        arr[0] = np.ones((5, 3), np.int16)
        np.savez_compressed(tmp_path / name, train=arr)
    else:
        (tmp_path / name).write_bytes((quickdraw / "simplified" / "cat.ndjson").read_bytes())
    data = (tmp_path / name).read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) * 2 // 3])
    code, _, err = run_cli("data", "prepare", "--data", str(tmp_path), "--no-cache", "--quiet")
    assert code == 2 and name in one_error(err)


# ---------------------------------------------------------------- file-system faults


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    path.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or 'mount failed'}); needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_full_disk_leaves_no_partial_file(tmp_path, quickdraw):
    with tmpfs(tmp_path / "small", "size=256k") as small:
        # 64x64 rows of 25 drawings fit; 256x256 rows (1.6 MB) do not.
        code, _, err = run_cli(
            "data", "rasterize", str(quickdraw / "simplified" / "cat.ndjson"), "--size", "256", "-o",
            str(small / "cat.npy"), "--quiet",
        )  # fmt: skip
        assert code == 2 and "disk is full" in one_error(err) and "cat.npy" in err
        assert leftovers(small) == []
        code, _, err = run_cli(
            "data", "prepare", "--data", str(quickdraw / "bitmap"), "--classes", "cat,dog", "--cache-dir",
            str(small / "cache"), "--quiet",
        )  # fmt: skip
        assert code == 2 and "disk is full" in one_error(err) and "cache" in err
        assert leftovers(small / "cache") == []


def test_a_full_disk_during_a_download_leaves_no_part(tmp_path):
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    bucket = tmp_path / "bucket"
    bucket.mkdir()
    np.save(bucket / "cat.npy", np.ones((2000, 784), np.uint8))  # 1.5 MB

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: Quiet(*a, directory=str(bucket)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tmpfs(tmp_path / "small", "size=512k") as small:
            url = f"http://127.0.0.1:{server.server_address[1]}"
            code, _, err = run_cli("data", "download", "cat", "--dest", str(small), "--base-url", url, "--quiet")
            assert code == 2 and "disk is full" in one_error(err)
            assert leftovers(small) == []
    finally:
        server.shutdown()
        server.server_close()


def test_a_read_only_cache_folder_is_one_message(tmp_path, quickdraw):
    with tmpfs(tmp_path / "ro", "ro,size=64k") as ro:
        code, _, err = run_cli(
            "data", "prepare", "--data", str(quickdraw / "bitmap" / "cat.npy"), "--cache-dir", str(ro / "cache"),
            "--quiet",
        )  # fmt: skip
        assert code == 2 and "read-only" in one_error(err) and "cache" in err
        code, _, err = run_cli("data", "download", "cat", "--dest", str(ro / "q"), "--quiet")
        assert code == 2 and "read-only" in one_error(err)


def test_a_file_where_a_folder_belongs_and_the_reverse(tmp_path, quickdraw):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    source = str(quickdraw / "simplified" / "cat.ndjson")
    cases = [
        (["data", "prepare", "--data", source, "--cache-dir", str(blocker)], "not a folder"),
        (["data", "prepare", "--data", source, "--cache-dir", str(blocker / "cache")], "not a folder"),
        (["data", "rasterize", source, "-o", str(blocker / "out.npy")], "not a folder"),
        (["data", "rasterize", source, "-o", str(tmp_path)], "is a folder"),
        (["data", "download", "cat", "--dest", str(blocker)], "not a folder"),
    ]
    for argv, expected in cases:
        code, _, err = run_cli(*argv, "--quiet")
        assert code == 2, argv
        assert expected in one_error(err), argv
    assert leftovers(tmp_path) == ["blocker"] and blocker.read_text() == "a file"


# ---------------------------------------------------------------- the command line


def test_info_into_a_closed_pipe_ends_quietly(quickdraw):
    proc = subprocess.Popen(
        [sys.executable, "-m", "kerasketch", "data", "info", "--data", str(quickdraw / "simplified"), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) in (0, 141)
    assert err == ""


def test_info_says_which_classes_merge_formats(quickdraw, tmp_path, capsys):
    (tmp_path / "simplified").mkdir()
    (tmp_path / "simplified" / "cat.ndjson").write_bytes((quickdraw / "simplified" / "cat.ndjson").read_bytes())
    (tmp_path / "raw.ndjson").write_bytes((quickdraw / "raw" / "cat.ndjson").read_bytes())
    np.save(tmp_path / "cat.npy", np.load(quickdraw / "bitmap" / "cat.npy", mmap_mode="r")[:10])
    np.save(tmp_path / "dog.npy", np.load(quickdraw / "bitmap" / "dog.npy", mmap_mode="r")[:10])
    assert main(["data", "info", "--data", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["class_formats"] == {"cat": ["bitmap", "raw", "simplified"], "dog": ["bitmap"]}
    assert report["mixed_format_classes"] == ["cat"]
    assert main(["data", "info", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "merged from bitmap, raw, simplified" in out and "1 class merges drawings of several formats" in out


def test_rasterize_reads_sketch_rnn_npz(tmp_path, capsys):
    sketch = np.array([[0, 0, 0], [50, 0, 0], [0, 50, 1]], np.int16)
    arr = np.empty(3, dtype=object)
    arr[:] = [sketch, sketch * 2, sketch]
    np.savez(tmp_path / "hook.npz", train=arr[:2], test=arr[2:])
    assert main(["data", "rasterize", str(tmp_path / "hook.npz"), "--size", "32", "-o", str(tmp_path / "o.npy")]) == 0
    out = np.load(tmp_path / "o.npy")
    assert out.shape == (3, 32 * 32) and out.max() > 0
    np.testing.assert_array_equal(out[0], out[1])  # scaled to the same 0-255 span


def test_npz_pickle_check_is_not_fooled_by_other_numpy_globals(tmp_path):
    # numpy itself holds callables (np.load, np.save, np.lib...) that a pickle could name.
    class _NamesNumpyLoad:
        def __reduce__(self):
            return (np.load, (str(tmp_path / "elsewhere.npy"),))

    arr = np.empty(1, dtype=object)
    arr[0] = _NamesNumpyLoad()
    np.savez(tmp_path / "cat.npz", train=arr)
    with pytest.raises(DataError, match=r"refused.*numpy.*load"):
        scan(tmp_path / "cat.npz")
