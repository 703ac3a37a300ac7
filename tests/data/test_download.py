"""``kerasketch.data.download`` against a real HTTP server on 127.0.0.1.

The server serves generated ``.npy`` files from a folder, honours
``Range: bytes=a-b`` and ``bytes=a-`` with 206 + Content-Range, records every
request, and has switches to ignore Range, cut the next body short, answer 503
a few times, or look at the destination folder while a request is served.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from kerasketch.data import download as dl
from kerasketch.data.categories import official_classes
from kerasketch.data.download import DEFAULT_BASE_URL, DownloadResult, download
from kerasketch.errors import DataError

MONA = "The Mona Lisa"
HOT_DOG = "hot dog"
CAT = "cat"


@dataclass
class Bucket:
    root: Path
    base_url: str = ""
    ignore_range: bool = False
    cut_after: int | None = None  # the next body stops after this many bytes, once
    fail_next: int = 0  # answer 503 to this many requests
    on_request: Callable[[], None] | None = None
    requests: list[tuple[str, str | None, str]] = field(default_factory=list)  # (class, Range, raw path)

    def add(self, cls: str, rows: int, seed: int = 0) -> np.ndarray:
        array = np.random.default_rng(seed).integers(0, 256, size=(rows, 784), dtype=np.uint8)
        np.save(self.root / f"{cls}.npy", array)
        return array

    def source(self, cls: str) -> bytes:
        return (self.root / f"{cls}.npy").read_bytes()

    def ranges(self, cls: str) -> list[str | None]:
        return [rng for name, rng, _ in self.requests if name == cls]


def _handler(bucket: Bucket) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            raw = urllib.parse.urlsplit(self.path).path
            name = urllib.parse.unquote(raw.rsplit("/", 1)[-1]).removesuffix(".npy")
            rng = self.headers.get("Range")
            bucket.requests.append((name, rng, raw))
            if bucket.on_request is not None:
                bucket.on_request()
            if bucket.fail_next:
                bucket.fail_next -= 1
                self.send_error(503)
                return
            path = bucket.root / f"{name}.npy"
            if not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            status, body, content_range = 200, data, None
            if rng is not None and not bucket.ignore_range:
                first, last = _parse_range(rng, len(data))
                if first >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status, body = 206, data[first : last + 1]
                content_range = f"bytes {first}-{first + len(body) - 1}/{len(data)}"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            if content_range:
                self.send_header("Content-Range", content_range)
            self.end_headers()
            if bucket.cut_after is not None:
                body, bucket.cut_after = body[: bucket.cut_after], None
                self.close_connection = True
            # The client may hang up once it has what it needed.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def _parse_range(header: str, size: int) -> tuple[int, int]:
    match = re.fullmatch(r"bytes=(\d+)-(\d*)", header)
    assert match, f"the client sent a malformed Range: {header!r}"
    first = int(match[1])
    last = min(int(match[2]), size - 1) if match[2] else size - 1
    return first, last


@pytest.fixture
def bucket(tmp_path: Path) -> Iterator[Bucket]:
    root = tmp_path / "bucket"
    root.mkdir()
    state = Bucket(root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    # A short poll keeps shutdown() from waiting half a second per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/quickdraw_dataset/full/numpy_bitmap"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dl, "_BACKOFF_S", 0.0)


def fetch(bucket: Bucket, dest: Path, classes: list[str], **kwargs) -> list[DownloadResult]:
    kwargs.setdefault("timeout", 5.0)
    return download(classes, dest, base_url=bucket.base_url, **kwargs)


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


# ---------------------------------------------------------------- class names


def test_official_classes_are_the_345_names_with_spaces_kept():
    names = official_classes()
    assert len(names) == 345 == len(set(names))
    assert MONA in names and HOT_DOG in names and all(n == n.strip() and n for n in names)
    names.clear()
    assert len(official_classes()) == 345


def test_unknown_class_is_rejected_with_suggestions_before_any_request(bucket: Bucket, tmp_path: Path):
    bucket.add(CAT, 10)
    with pytest.raises(DataError) as info:
        fetch(bucket, tmp_path / "dest", [CAT, "the mona lisa", "cats", "zzzqqq"])
    message = str(info.value)
    assert "'the mona lisa' (did you mean 'The Mona Lisa'?)" in message
    assert "'cats' (did you mean 'cat'" in message
    assert "'zzzqqq'" in message
    assert bucket.requests == []


# ---------------------------------------------------------------- full files


def test_full_download_equals_the_source_bytes(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 3000, seed=1)
    bucket.add(HOT_DOG, 1200, seed=2)
    dest = tmp_path / "dest"
    results = fetch(bucket, dest, [MONA, HOT_DOG])
    assert [(r.cls, r.status, r.rows, r.error) for r in results] == [
        (MONA, "downloaded", 3000, None),
        (HOT_DOG, "downloaded", 1200, None),
    ]
    for cls in (MONA, HOT_DOG):
        assert (dest / f"{cls}.npy").read_bytes() == bucket.source(cls)
    assert results[0].path == dest / f"{MONA}.npy"
    assert results[0].bytes >= len(bucket.source(MONA))
    assert any(raw.endswith("/The%20Mona%20Lisa.npy") for _, _, raw in bucket.requests)
    assert set(leftovers(dest)) == {f"{MONA}.npy", f"{HOT_DOG}.npy"}


def test_full_download_works_when_the_server_ignores_range(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 2000)
    bucket.ignore_range = True
    dest = tmp_path / "dest"
    [result] = fetch(bucket, dest, [MONA])
    assert result.status == "downloaded"
    assert (dest / f"{MONA}.npy").read_bytes() == bucket.source(MONA)


def test_present_valid_file_is_skipped_without_network(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 1000)
    dest = tmp_path / "dest"
    fetch(bucket, dest, [MONA])
    bucket.requests.clear()
    [result] = fetch(bucket, dest, [MONA])
    assert (result.status, result.rows, result.bytes, result.error) == ("skipped", 1000, 0, None)
    assert bucket.requests == []


def test_present_but_truncated_file_is_fetched_again(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 1000)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / f"{MONA}.npy").write_bytes(bucket.source(MONA)[:-100])
    [result] = fetch(bucket, dest, [MONA])
    assert result.status == "downloaded"
    assert (dest / f"{MONA}.npy").read_bytes() == bucket.source(MONA)


# ---------------------------------------------------------------- first N drawings


@pytest.mark.parametrize("ignore_range", [False, True])
def test_first_n_download_loads_as_the_first_rows(bucket: Bucket, tmp_path: Path, ignore_range: bool):
    rows = bucket.add(MONA, 3000, seed=3)
    bucket.ignore_range = ignore_range
    dest = tmp_path / "dest"
    [result] = fetch(bucket, dest, [MONA], max_drawings=250)
    assert (result.status, result.rows) == ("downloaded", 250)
    loaded = np.load(dest / f"{MONA}.npy")
    assert loaded.shape == (250, 784) and loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, rows[:250])
    header_len = len(bucket.source(MONA)) - rows.nbytes
    # Only the header probe plus exactly the bytes needed, whether or not Range was honoured.
    assert result.bytes <= dl._PROBE_BYTES + header_len + 250 * 784
    if not ignore_range:
        assert bucket.ranges(MONA)[-1] == f"bytes=0-{header_len + 250 * 784 - 1}"
    assert set(leftovers(dest)) == {f"{MONA}.npy", f"{MONA}.npy.subset.json"}


def test_first_n_beyond_the_class_size_fetches_the_whole_file(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 300)
    dest = tmp_path / "dest"
    [result] = fetch(bucket, dest, [MONA], max_drawings=1000)
    assert (result.status, result.rows) == ("downloaded", 300)
    assert (dest / f"{MONA}.npy").read_bytes() == bucket.source(MONA)
    assert leftovers(dest) == [f"{MONA}.npy"]


def test_subset_is_refetched_when_more_rows_or_the_full_file_are_wanted(bucket: Bucket, tmp_path: Path):
    rows = bucket.add(MONA, 2000)
    dest = tmp_path / "dest"
    assert fetch(bucket, dest, [MONA], max_drawings=100)[0].status == "downloaded"
    assert fetch(bucket, dest, [MONA], max_drawings=50)[0].status == "skipped"
    [more] = fetch(bucket, dest, [MONA], max_drawings=400)
    assert (more.status, more.rows) == ("downloaded", 400)
    np.testing.assert_array_equal(np.load(dest / f"{MONA}.npy"), rows[:400])
    [full] = fetch(bucket, dest, [MONA])
    assert (full.status, full.rows) == ("downloaded", 2000)
    assert (dest / f"{MONA}.npy").read_bytes() == bucket.source(MONA)
    assert leftovers(dest) == [f"{MONA}.npy"]
    bucket.requests.clear()
    [again] = fetch(bucket, dest, [MONA], max_drawings=100)
    assert (again.status, again.rows) == ("skipped", 2000)
    assert bucket.requests == []


def test_subset_sidecar_records_what_was_kept(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 500)
    dest = tmp_path / "dest"
    fetch(bucket, dest, [MONA], max_drawings=10)
    sidecar = json.loads((dest / f"{MONA}.npy.subset.json").read_text())
    assert sidecar["rows"] == 10 and sidecar["total_rows"] == 500
    assert sidecar["url"].endswith("/The%20Mona%20Lisa.npy")


# ---------------------------------------------------------------- resuming


def test_cut_download_leaves_only_a_part_and_resumes_from_its_length(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 3000, seed=4)
    dest = tmp_path / "dest"
    final = dest / f"{MONA}.npy"
    seen_final: list[bool] = []

    # The probe is served whole; cut the body of the full GET that follows it.
    def cut_the_body() -> None:
        seen_final.append(final.exists())
        if len(bucket.requests) == 2:
            bucket.cut_after = 700_000

    bucket.on_request = cut_the_body
    with pytest.raises(DataError) as info:
        fetch(bucket, dest, [MONA], retries=0)
    assert "could not download" in str(info.value) and "The%20Mona%20Lisa.npy" in str(info.value)
    assert leftovers(dest) == [f"{MONA}.npy.part"]
    assert (dest / f"{MONA}.npy.part").stat().st_size == 700_000

    bucket.on_request = lambda: seen_final.append(final.exists())
    [result] = fetch(bucket, dest, [MONA])
    assert result.status == "resumed"
    assert bucket.ranges(MONA)[-1] == "bytes=700000-"
    assert result.bytes < len(bucket.source(MONA)) - 700_000 + 2 * dl._PROBE_BYTES
    assert final.read_bytes() == bucket.source(MONA)
    assert leftovers(dest) == [f"{MONA}.npy"]
    assert seen_final and not any(seen_final)


def test_a_cut_is_retried_within_one_call_from_where_it_stopped(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 3000)
    dest = tmp_path / "dest"

    def cut_the_body() -> None:
        if len(bucket.requests) == 2:
            bucket.cut_after = 123_456

    bucket.on_request = cut_the_body
    [result] = fetch(bucket, dest, [MONA], retries=1)
    assert result.status == "downloaded"
    assert bucket.ranges(MONA)[-1] == "bytes=123456-"
    assert (dest / f"{MONA}.npy").read_bytes() == bucket.source(MONA)


def test_resume_restarts_cleanly_when_the_server_ignores_range(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 2000)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / f"{MONA}.npy.part").write_bytes(bucket.source(MONA)[:50_000])
    bucket.ignore_range = True
    [result] = fetch(bucket, dest, [MONA])
    assert result.status == "downloaded"
    assert bucket.ranges(MONA)[-1] == "bytes=50000-"
    assert (dest / f"{MONA}.npy").read_bytes() == bucket.source(MONA)
    assert leftovers(dest) == [f"{MONA}.npy"]


def test_a_complete_part_left_before_the_rename_is_committed_without_a_body_request(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 500)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / f"{MONA}.npy.part").write_bytes(bucket.source(MONA))
    [result] = fetch(bucket, dest, [MONA])
    assert (result.status, result.rows) == ("resumed", 500)
    assert bucket.ranges(MONA) == [f"bytes=0-{dl._PROBE_BYTES - 1}"]
    assert leftovers(dest) == [f"{MONA}.npy"]


def test_a_part_from_another_version_of_the_file_is_not_resumed(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 2000)
    dest = tmp_path / "dest"
    dest.mkdir()
    stale = np.zeros((10, 784), np.uint8)
    np.save(dest / "stale.npy", stale)
    (dest / "stale.npy").rename(dest / f"{MONA}.npy.part")
    [result] = fetch(bucket, dest, [MONA])
    assert result.status == "downloaded"
    assert all(rng is None or rng.startswith("bytes=0-") for rng in bucket.ranges(MONA))
    assert (dest / f"{MONA}.npy").read_bytes() == bucket.source(MONA)


# ---------------------------------------------------------------- failures


def test_404_is_reported_per_class_and_the_others_go_on(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 100)
    dest = tmp_path / "dest"
    results = fetch(bucket, dest, [HOT_DOG, MONA])
    failed, done = results
    assert (failed.cls, failed.status, failed.rows) == (HOT_DOG, "failed", 0)
    assert "'hot dog'" in failed.error and "hot%20dog.npy" in failed.error and "404" in failed.error
    assert failed.failure == "base_url" and "base URL" in failed.hint
    assert done.status == "downloaded"
    assert leftovers(dest) == [f"{MONA}.npy"]


def test_the_command_words_the_advice_as_its_flags(bucket: Bucket, tmp_path: Path, capsys: pytest.CaptureFixture):
    # The data layer says "the base URL"; the command line, which owns the flags, says --base-url.
    from kerasketch.cli import main

    bucket.add(MONA, 100)
    argv = ["data", "download", HOT_DOG, MONA, "--dest", str(tmp_path), "--base-url", bucket.base_url, "--quiet"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "'hot dog'" in out and "hot%20dog.npy" in out and "404" in out
    assert "--base-url" in out
    assert main([*argv[:2], HOT_DOG, *argv[4:]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "hot%20dog.npy" in err and "--base-url" in err


def test_every_class_failing_raises(bucket: Bucket, tmp_path: Path):
    with pytest.raises(DataError, match="all 2 downloads failed"):
        fetch(bucket, tmp_path / "dest", [HOT_DOG, CAT])


def test_fail_fast_stops_at_the_first_failure(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 100)
    with pytest.raises(DataError, match="hot dog"):
        fetch(bucket, tmp_path / "dest", [HOT_DOG, MONA], fail_fast=True)
    assert all(name == HOT_DOG for name, _, _ in bucket.requests)


def test_transient_errors_are_retried(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 100)
    bucket.fail_next = 2
    [result] = fetch(bucket, tmp_path / "dest", [MONA], retries=2)
    assert result.status == "downloaded"
    bucket.fail_next = 5
    with pytest.raises(DataError, match=r"HTTP 503.*3 attempts"):
        fetch(bucket, tmp_path / "other", [MONA], retries=2)


def test_connection_refused_names_the_url_and_what_to_do(tmp_path: Path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}/numpy_bitmap"
    with pytest.raises(DataError) as info:
        download([MONA], tmp_path / "dest", base_url=base, retries=0, timeout=2.0)
    assert f"{base}/The%20Mona%20Lisa.npy" in info.value.message
    assert "network" in info.value.hint
    assert leftovers(tmp_path / "dest") == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"this is not a numpy file at all" * 10, "no numpy magic"),
        (lambda: np.zeros((50, 785), np.uint8), "784"),
        (lambda: np.zeros((50, 784), np.float32), "float32"),
        (lambda: np.asfortranarray(np.zeros((50, 784), np.uint8)), "Fortran"),
        (lambda: np.zeros((50, 28, 28), np.uint8), "(50, 28, 28)"),
    ],
    ids=["garbage", "785 wide", "float32", "fortran", "3d"],
)
def test_files_that_are_not_bitmaps_are_rejected(bucket: Bucket, tmp_path: Path, content, expected: str):
    path = bucket.root / f"{MONA}.npy"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.save(path, content())
    dest = tmp_path / "dest"
    with pytest.raises(DataError) as info:
        fetch(bucket, dest, [MONA])
    assert expected in str(info.value) and "The%20Mona%20Lisa.npy" in str(info.value)
    assert leftovers(dest) == []


def test_a_file_whose_size_contradicts_its_header_is_rejected(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 100)
    path = bucket.root / f"{MONA}.npy"
    path.write_bytes(path.read_bytes()[:-392])  # half a row short
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match="100 rows"):
        fetch(bucket, dest, [MONA])
    assert leftovers(dest) == []


def test_bad_content_deletes_the_part_but_network_failure_keeps_it(bucket: Bucket, tmp_path: Path):
    bucket.add(MONA, 1000)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / f"{MONA}.npy.part").write_bytes(bucket.source(MONA)[:10_000])
    bucket.fail_next = 1
    with pytest.raises(DataError):
        fetch(bucket, dest, [MONA], retries=0)
    assert leftovers(dest) == [f"{MONA}.npy.part"]
    # The server's file changes to one of another size: resuming the old part cannot work.
    bucket.add(MONA, 999)
    (dest / f"{MONA}.npy.part").write_bytes(bucket.source(MONA)[:10_000])

    def grow() -> None:
        if len(bucket.requests) == 3:  # after the probe, before the body
            bucket.add(MONA, 1000)

    bucket.on_request = grow
    with pytest.raises(DataError, match="changed on the server"):
        fetch(bucket, dest, [MONA], retries=0)
    assert leftovers(dest) == []


def test_invalid_options_are_config_errors(tmp_path: Path):
    from kerasketch.errors import ConfigError

    with pytest.raises(ConfigError):
        download([MONA], tmp_path, base_url="ftp://example.org/x")
    with pytest.raises(ConfigError):
        download([MONA], tmp_path, max_drawings=0)
    with pytest.raises(ConfigError):
        download([], tmp_path)


def test_progress_bars_run_and_report_each_file(bucket: Bucket, tmp_path: Path, capsys: pytest.CaptureFixture):
    from kerasketch.cli.download_progress import RichDownloadProgress

    bucket.add(MONA, 500)
    dest = tmp_path / "dest"
    with RichDownloadProgress(2) as progress:
        results = fetch(bucket, dest, [MONA, HOT_DOG], progress=progress)
    assert [r.status for r in results] == ["downloaded", "failed"]
    with RichDownloadProgress(1) as progress:
        fetch(bucket, dest, [MONA], progress=progress)
    err = capsys.readouterr().err
    assert "downloaded" in err and "The Mona Lisa" in err and "failed" in err and "skipped" in err


def test_default_base_url_is_the_public_bucket():
    assert DEFAULT_BASE_URL == "https://storage.googleapis.com/quickdraw_dataset/full/numpy_bitmap"
    assert dl._class_url(DEFAULT_BASE_URL, MONA).endswith("/numpy_bitmap/The%20Mona%20Lisa.npy")


# ---------------------------------------------------------------- the command line


def test_the_command_downloads_then_data_info_reads_it(bucket: Bucket, tmp_path: Path, capsys: pytest.CaptureFixture):
    from kerasketch.cli import main

    bucket.add(CAT, 500)
    bucket.add(HOT_DOG, 300, seed=1)
    dest = tmp_path / "quickdraw"
    argv = [
        "data",
        "download",
        CAT,
        HOT_DOG,
        "--first",
        "200",
        "--dest",
        str(dest),
        "--base-url",
        bucket.base_url,
        "--quiet",
    ]
    assert main(argv) == 0
    assert "2 downloaded" in capsys.readouterr().out
    assert main(["data", "info", "--data", str(dest), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["classes"] == {CAT: 200, HOT_DOG: 200}
    assert main(argv) == 0 and "2 skipped" in capsys.readouterr().out
    # A class the bucket lacks is reported and makes the exit status non-zero.
    assert main(["data", "download", "dog", "--dest", str(dest), "--base-url", bucket.base_url, "--quiet"]) != 0
    captured = capsys.readouterr()
    assert "dog" in captured.out + captured.err and "Traceback" not in captured.err
