"""Fetch the official Quick, Draw! numpy bitmap files (``<class>.npy``) into a folder.

The bucket, and what this module assumes about it (each point is checked, and a
file that breaks one is reported, never kept):

* ``<base_url>/<class>.npy`` with the class name URL-quoted
  (``The%20Mona%20Lisa.npy``); ``DEFAULT_BASE_URL`` is the public Google Cloud
  Storage folder, ``base_url`` may point at any mirror with the same layout.
* Each file is an ``.npy`` (format 1.0 in practice, 2.0 and 3.0 accepted) holding a
  C-ordered uint8 array of shape (N, 784), one flattened 28x28 drawing per
  row, so its size is exactly the header length plus N * 784 bytes.
* The server honours ``Range`` (GCS does) and states sizes in
  ``Content-Length`` / ``Content-Range``. A server that ignores ``Range`` and
  answers 200 still works: the body is read only as far as needed.

For each class, in order:

1. Skip. ``<class>.npy`` already in ``dest`` is kept (status ``skipped``, no
   network) when its header says uint8, C order, shape (N, 784), its size is
   header + N * 784, and it satisfies the request. A file that holds only the
   first N drawings of its class is marked by a sidecar
   ``<class>.npy.subset.json`` (written just before such a file is moved into
   place, removed just after a full file is, so that a crash in between can
   only cause one extra download, never a wrong skip). A full request fetches
   such a file again; a first-N request fetches it again only when it has fewer
   than N rows. A valid file without a sidecar counts as complete, e.g. one
   copied from the bucket with gsutil. The sidecar was chosen over asking the
   server for the row count so that re-running with everything present needs no
   network at all.
2. Header. A ranged GET of the first 1 KiB gives the magic, version and header
   length (a longer header is fetched again in full). The header must describe
   uint8 (N, 784) C-order data and agree with the size the server reports.
3. Body. The whole file streams into ``<class>.npy.part``; an existing part
   continues with ``Range: bytes=<len>-`` (206 expected; a 200 restarts cleanly
   from byte 0) provided its first bytes still equal the server's header. The
   first N drawings are one GET of ``bytes=0-<header + N*784 - 1>`` into
   ``<class>.npy.first-n.part``, with the header rewritten for shape (N, 784);
   these are small and are not resumed across runs (a failure deletes that
   part). Every response is checked: status, Content-Range start/end/total,
   Content-Length, the header bytes it repeats and the number of bytes that
   arrive. When N is at least the class's size, the whole file is fetched.
4. Commit. The part is fsynced, its header and size are checked once more, and
   it is moved onto ``<class>.npy`` with ``os.replace``: the final name never
   holds a partial file.

Failures. Connection errors, timeouts, short bodies and HTTP 408/425/429/5xx
are retried ``retries`` times with exponential backoff, continuing from the
bytes already written (``http_range.py``); a full download still failing after
that keeps its ``.part`` for the next run. Content that contradicts itself (bad header, sizes
that disagree) deletes the part, since resuming it could never succeed. HTTP
403/404/410 mean no such file at that URL. Each such error is reported for its
class (status ``failed``) and the other classes go on; ``download`` raises only
when every class failed, or at the first failure with ``fail_fast``. A local
disk error (disk full, permissions) stops the run at once, since every
following class would hit it too, and deletes the part being written: a part
that filled the disk would keep it full.

Errors are :class:`DownloadError` with a ``kind`` saying which setting could
fix them, so that a caller can word the advice its own way (the command line
names its flags); progress is reported to a :class:`DownloadProgress`, which
draws nothing here.
"""

from __future__ import annotations

import difflib
import http.client
import io
import json
import os
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, Protocol, TypeVar

from kerasketch import __version__
from kerasketch.data import http_range
from kerasketch.data.categories import official_classes
from kerasketch.data.fs_errors import output_error
from kerasketch.data.npy_header import BITMAP_WIDTH, NpyHeader, bitmap_header, header_length, read_header
from kerasketch.errors import ConfigError, DataError

DEFAULT_BASE_URL = "https://storage.googleapis.com/quickdraw_dataset/full/numpy_bitmap"

_PIXELS = BITMAP_WIDTH
# Format 1.0 headers written by numpy are 128 bytes for any realistic shape.
_PROBE_BYTES = 1024
_CHUNK_BYTES = 1 << 16
# Seconds before the first retry, doubled for each further one; tests set 0.
_BACKOFF_S = 1.0

T = TypeVar("T")

#: What could fix a failure: ``base_url`` (no such file, or not a bitmap file
#: there), ``network`` (try again later, or another mirror), ``disk`` (free
#: space, permissions of the destination).
FailureKind = Literal["base_url", "network", "disk"]


class DownloadError(DataError):
    """A failed download; ``kind`` says which setting could fix it."""

    def __init__(self, message: str, hint: str | None, kind: FailureKind):
        super().__init__(message, hint)
        self.kind: FailureKind = kind


@dataclass(frozen=True)
class DownloadResult:
    """What happened to one class.

    ``path`` is where the file is (or would have been); ``rows`` the number of
    drawings in it (0 when failed); ``bytes`` what was received from the
    network for this class in this call (0 when skipped); ``error`` the
    message when failed, ``hint`` what to do, and ``failure`` the
    :data:`FailureKind`.
    """

    cls: str
    path: Path
    status: Literal["downloaded", "resumed", "skipped", "failed"]
    rows: int
    bytes: int
    error: str | None
    hint: str | None = None
    failure: FailureKind | None = None


class DownloadProgress(Protocol):
    """What ``download`` reports as it goes; sizes are bytes of the server's file."""

    def file_started(self, cls: str, size: int, done: int) -> None:
        """A class's transfer of ``size`` bytes begins, ``done`` of them already on disk."""

    def file_at(self, offset: int) -> None:
        """A response body starts at ``offset``: below ``done`` when the server ignored Range."""

    def advance(self, size: int) -> None:
        """``size`` more bytes arrived."""

    def file_finished(self, result: DownloadResult) -> None:
        """A class is done, whatever its status."""


class NoProgress:
    """Reports nowhere."""

    def file_started(self, cls: str, size: int, done: int) -> None:
        pass

    def file_at(self, offset: int) -> None:
        pass

    def advance(self, size: int) -> None:
        pass

    def file_finished(self, result: DownloadResult) -> None:
        pass


def download(
    classes: Sequence[str] | None,
    dest: Path,
    *,
    base_url: str = DEFAULT_BASE_URL,
    max_drawings: int | None = None,
    progress: DownloadProgress | None = None,
    retries: int = 3,
    timeout: float = 30.0,
    fail_fast: bool = False,
) -> list[DownloadResult]:
    """Fetch ``<class>.npy`` for each class (all 345 official ones when None) into ``dest``.

    ``max_drawings`` keeps only the first N drawings of each class. Returns one
    result per class, in order; see the module docstring for what is skipped,
    resumed, retried and checked. Raises ``DataError`` for unknown class names
    (before any download), ``DownloadError`` when every class failed, at the
    first failure with ``fail_fast``, and on local disk errors;
    ``ConfigError`` for impossible options.
    """
    _check_options(base_url, max_drawings, retries, timeout)
    names = _resolve_classes(classes)
    dest = Path(dest)
    _make_dest(dest)
    options = _Options(base_url.rstrip("/"), max_drawings, retries, timeout)
    report: DownloadProgress = progress if progress is not None else NoProgress()
    results: list[DownloadResult] = []
    errors: list[DownloadError] = []
    for name in names:
        job = _Job(name, _class_url(options.base_url, name), dest / f"{name}.npy", options, report)
        try:
            result = _download_one(job)
        except DownloadError as err:
            result = DownloadResult(name, job.final, "failed", 0, job.http.received, err.message, err.hint, err.kind)
            errors.append(err)
        except OSError as err:
            raise _disk_error(err, dest) from err
        report.file_finished(result)
        results.append(result)
        if errors and fail_fast:
            raise errors[0]
    if len(errors) == len(results):
        raise _all_failed(errors, options.base_url)
    return results


# ---------------------------------------------------------------- arguments


def _check_options(base_url: str, max_drawings: int | None, retries: int, timeout: float) -> None:
    scheme = urllib.parse.urlsplit(base_url).scheme
    if scheme not in ("http", "https"):
        raise ConfigError(
            f"base URL {base_url!r} is not an http(s) URL",
            f"give the folder that holds <class>.npy files, like {DEFAULT_BASE_URL}",
        )
    if max_drawings is not None and max_drawings < 1:
        raise ConfigError(f"the number of drawings per class must be at least 1, got {max_drawings}")
    if retries < 0:
        raise ConfigError(f"retries must be 0 or more, got {retries}")
    if timeout <= 0:
        raise ConfigError(f"the network timeout must be positive, got {timeout} s")


def _resolve_classes(classes: Sequence[str] | None) -> list[str]:
    official = official_classes()
    if classes is None:
        return official
    if isinstance(classes, str):
        # A bare string is a Sequence too; without this "cat" would mean c, a, t.
        classes = [classes]
    names = list(dict.fromkeys(classes))
    if not names:
        raise ConfigError("no classes to download", "name one or more classes, or none for all 345")
    known = set(official)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise DataError(
            "unknown Quick, Draw! class " + ", ".join(_with_suggestions(name, official) for name in unknown),
            "class names are case-sensitive and may contain spaces (quote them); "
            "the 345 official names are in kerasketch/data/categories.txt",
        )
    return names


def _with_suggestions(name: str, official: list[str]) -> str:
    by_lower = {cls.lower(): cls for cls in official}
    matches = difflib.get_close_matches(name.strip().lower(), list(by_lower), n=3, cutoff=0.6)
    if not matches:
        return repr(name)
    return f"{name!r} (did you mean {' or '.join(repr(by_lower[m]) for m in matches)}?)"


def _make_dest(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise DownloadError(
            f"the destination {dest} is a file, not a folder",
            "give a folder as the destination, or move the file away",
            "disk",
        )
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DownloadError(
            f"the destination {dest} cannot be made: a part of its path is a file, not a folder",
            "give a destination below folders only",
            "disk",
        ) from None
    except OSError as err:
        raise _disk_error(err, dest) from err


def _class_url(base_url: str, name: str) -> str:
    return f"{base_url}/{urllib.parse.quote(name, safe='')}.npy"


# ---------------------------------------------------------------- errors


class _BadContent(DownloadError):
    """Bytes that contradict themselves: a partial file built from them is useless."""


def _disk_error(err: OSError, dest: Path) -> DownloadError:
    plain = output_error(err, Path(err.filename or dest))
    return DownloadError(plain.message, f"{plain.hint} (the destination is {dest})", "disk")


def _all_failed(errors: list[DownloadError], base_url: str) -> DownloadError:
    if len(errors) == 1:
        return errors[0]
    return DownloadError(
        f"all {len(errors)} downloads failed; the first: {errors[0].message}",
        errors[0].hint or f"check the network connection and the base URL {base_url}",
        errors[0].kind,
    )


def _bad(job: _Job, what: str) -> _BadContent:
    return _BadContent(
        f"class {job.cls!r}: {job.url} {what}",
        "check that the base URL points at a Quick, Draw! full/numpy_bitmap folder or a faithful "
        f"mirror of it (the official one is {DEFAULT_BASE_URL})",
        "base_url",
    )


def _status_error(job: _Job, err: http_range.HttpStatus) -> DownloadError:
    if err.code in http_range.MISSING_HTTP:
        return DownloadError(
            f"class {job.cls!r}: no file at {job.url} (HTTP {err.code} {err.reason})",
            f"check the class name and the base URL (the official bucket is {DEFAULT_BASE_URL})",
            "base_url",
        )
    if err.code == 416:
        return _bad(job, "is shorter than its header says (HTTP 416 for a range inside it)")
    return DownloadError(
        f"class {job.cls!r}: {job.url} answered HTTP {err.code} {err.reason}",
        "check the base URL, or try again later",
        "base_url",
    )


# ---------------------------------------------------------------- one class


@dataclass(frozen=True)
class _Options:
    base_url: str
    max_drawings: int | None
    retries: int
    timeout: float


class _Job:
    def __init__(self, cls: str, url: str, final: Path, options: _Options, report: DownloadProgress):
        self.cls = cls
        self.url = url
        self.final = final
        self.options = options
        self.report = report
        self.http = http_range.RangedClient(url, options.timeout, f"kerasketch/{__version__}")

    def beside(self, suffix: str) -> Path:
        return self.final.with_name(self.final.name + suffix)


@dataclass(frozen=True)
class _Remote:
    header: bytes  # exactly as the server sent it
    rows: int

    @property
    def size(self) -> int:
        return len(self.header) + self.rows * _PIXELS


def _download_one(job: _Job) -> DownloadResult:
    kept = _kept_rows(job)
    if kept is not None:
        return DownloadResult(job.cls, job.final, "skipped", kept, 0, None)
    remote = _retrying(job, lambda: _probe(job))
    wanted = job.options.max_drawings
    if wanted is not None and wanted < remote.rows:
        return _fetch_first(job, remote, wanted)
    return _fetch_all(job, remote)


def _kept_rows(job: _Job) -> int | None:
    """Rows of the present file when it already satisfies the request, else None."""
    try:
        rows = _check_file(job.final)
    except (OSError, ValueError):
        return None
    is_subset = job.beside(".subset.json").exists()
    wanted = job.options.max_drawings
    if wanted is None:
        return None if is_subset else rows
    return rows if rows >= wanted or not is_subset else None


def _retrying(job: _Job, action: Callable[[], T]) -> T:
    """``action()`` with retries, its HTTP failures worded for this class."""
    try:
        return http_range.retrying(action, job.options.retries, _BACKOFF_S)
    except http_range.RetriesExhausted as err:
        raise DownloadError(
            f"class {job.cls!r}: could not download {job.url}: {err}",
            "check the network connection (or point the base URL at a reachable mirror) and run the download "
            "again: finished classes are skipped and an interrupted full download resumes",
            "network",
        ) from None
    except http_range.HttpStatus as err:
        raise _status_error(job, err) from None
    except http_range.BadResponse as err:
        raise _bad(job, str(err)) from None


def _fetch_all(job: _Job, remote: _Remote) -> DownloadResult:
    part = _PartFile(job, job.beside(".part"), remote.header)
    reused = part.reuse_existing(remote.size)
    job.report.file_started(job.cls, remote.size, part.offset)
    try:
        with part:
            _retrying(job, lambda: _transfer(job, part, remote.size, remote.size))
            part.finish()
            _verify(job, part.path, remote.rows)
        os.replace(part.path, job.final)
    except (_BadContent, OSError):
        # A network failure keeps the part to resume from; these cannot resume.
        part.discard()
        raise
    _fsync_dir(job.final.parent)
    job.beside(".subset.json").unlink(missing_ok=True)
    kept_old_bytes = reused > 0 and (part.lowest_begin is None or part.lowest_begin >= reused)
    status: Literal["resumed", "downloaded"] = "resumed" if kept_old_bytes else "downloaded"
    return DownloadResult(job.cls, job.final, status, remote.rows, job.http.received, None)


def _fetch_first(job: _Job, remote: _Remote, rows: int) -> DownloadResult:
    part = _PartFile(job, job.beside(".first-n.part"), remote.header, bitmap_header(rows))
    end = len(remote.header) + rows * _PIXELS
    job.report.file_started(job.cls, end, 0)
    sidecar = job.beside(".subset.json")
    try:
        with part:
            _retrying(job, lambda: _transfer(job, part, end, remote.size))
            part.finish()
            _verify(job, part.path, rows)
        _write_atomically(sidecar, json.dumps({"rows": rows, "total_rows": remote.rows, "url": job.url}) + "\n")
        os.replace(part.path, job.final)
    except BaseException:
        part.discard()
        raise
    _fsync_dir(job.final.parent)
    return DownloadResult(job.cls, job.final, "downloaded", rows, job.http.received, None)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _verify(job: _Job, path: Path, rows: int) -> None:
    try:
        found = _check_file(path)
    except ValueError as err:
        raise _bad(job, f"gave a file that does not check out: {err}") from None
    if found != rows:
        raise _bad(job, f"gave {found} rows where its header promised {rows}")


def _fsync_dir(folder: Path) -> None:
    # The rename itself must survive a crash, not only the file's contents.
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- .npy headers


def _bitmap_rows(header: NpyHeader) -> int:
    """Rows of a bitmap file's header; ValueError saying why it is not one.

    Fortran order is refused here although the readers accept it: the first N
    rows of a Fortran-ordered file are not its first bytes.
    """
    if header.dtype != "uint8" or header.fortran_order or len(header.shape) != 2 or header.shape[1] != _PIXELS:
        order = "Fortran" if header.fortran_order else "C"
        raise ValueError(
            f"its header says {header.dtype} of shape {header.shape} in {order} order, "
            f"not uint8 rows of {_PIXELS} pixels in C order"
        )
    return int(header.shape[0])


def _check_file(path: Path) -> int:
    """Rows of a complete bitmap file; ValueError saying why it is not one."""
    with open(path, "rb") as fp:
        header = read_header(fp)
        size = os.fstat(fp.fileno()).st_size
    rows = _bitmap_rows(header)
    if size != header.offset + rows * _PIXELS:
        raise ValueError(
            f"its header says {rows} rows ({header.offset + rows * _PIXELS} bytes) but it has {size} bytes"
        )
    return rows


# ---------------------------------------------------------------- HTTP


def _probe(job: _Job) -> _Remote:
    """The server's header for this class, checked, and the size it implies."""
    want = _PROBE_BYTES
    while True:
        data, total = _fetch_prefix(job, want)
        try:
            needed = header_length(data[:12])
        except ValueError as err:
            raise _bad(job, f"is not a .npy file ({err})") from None
        if needed <= len(data):
            break
        if len(data) < want:
            raise _bad(job, f"ends after {len(data)} bytes, inside its {needed}-byte header")
        want = needed
    header = data[:needed]
    try:
        rows = _bitmap_rows(read_header(io.BytesIO(header)))
    except ValueError as err:
        raise _bad(job, f"is not a Quick, Draw! bitmap file: {err}") from None
    remote = _Remote(header, rows)
    if total is not None and total != remote.size:
        raise _bad(
            job, f"has {total} bytes but its header says {rows} rows, i.e. {remote.size} bytes (corrupt or truncated)"
        )
    return remote


def _fetch_prefix(job: _Job, size: int) -> tuple[bytes, int | None]:
    """The first ``size`` bytes (fewer if the file is shorter) and the file's size if known."""
    with job.http.get(0, size - 1) as response:
        if response.status == 206:
            first, last, total = http_range.content_range(response)
            if first != 0 or last >= size:
                raise _bad(job, f"answered bytes {first}-{last} to a request for bytes 0-{size - 1}")
            expected = last + 1
        elif response.status == 200:
            # Range ignored: the whole file follows; read what we need and hang up.
            total = http_range.content_length(response)
            expected = size if total is None else min(size, total)
        else:
            raise _bad(job, f"answered HTTP {response.status} to a range request")
        data = b""
        while len(data) < expected:
            chunk = job.http.read(response, expected - len(data))
            if not chunk:
                break
            data += chunk
    if len(data) < expected and total is not None:
        raise http_range.Transient(f"the connection closed after {len(data)} of {expected} bytes")
    return data, total


def _transfer(job: _Job, part: _PartFile, end: int, total: int) -> None:
    """Copy the remote bytes [part.offset, end) of a ``total``-byte file into ``part``."""
    start = part.offset
    if start >= end:
        return
    if start == 0 and end == total:
        response = job.http.get()
    else:
        # An open-ended range for the whole rest of the file, as resumers conventionally send.
        response = job.http.get(start, None if end == total else end - 1)
    with response:
        begin = _body_start(job, response, start, end, total)
        part.begin(begin)
        job.report.file_at(begin)
        offset = begin
        while offset < end:
            chunk = job.http.read(response, min(_CHUNK_BYTES, end - offset))
            if not chunk:
                raise http_range.Transient(f"the connection closed after {offset} of {end} bytes")
            part.write(chunk)
            offset += len(chunk)
            job.report.advance(len(chunk))


def _body_start(job: _Job, response: http.client.HTTPResponse, start: int, end: int, total: int) -> int:
    """The remote offset at which the response body begins, after checking its headers."""
    if response.status == 206:
        first, last, size = http_range.content_range(response)
        if size is not None and size != total:
            raise _bad(job, f"now reports {size} bytes instead of {total}: the file changed on the server")
        if first != start or last != end - 1:
            raise _bad(job, f"answered bytes {first}-{last} to a request for bytes {start}-{end - 1}")
        return start
    if response.status == 200:
        length = http_range.content_length(response)
        if length is not None and length != total:
            raise _bad(job, f"sent Content-Length {length} for a file of {total} bytes")
        return 0
    raise _bad(job, f"answered HTTP {response.status} where 200 or 206 was expected")


# ---------------------------------------------------------------- the .part file


class _PartFile:
    """A ``.part`` file receiving the remote bytes [0, end) in order.

    The header bytes are compared with the probed header as they arrive, which
    catches a file that changed on the server between requests. With
    ``new_header`` (first-N downloads) they are replaced by it and the data
    bytes follow unchanged.
    """

    def __init__(self, job: _Job, path: Path, remote_header: bytes, new_header: bytes | None = None):
        self.path = path
        self.offset = 0  # remote bytes [0, offset) are in the file
        self.lowest_begin: int | None = None
        self._job = job
        self._remote_header = remote_header
        self._new_header = new_header
        self._fp: BinaryIO | None = None

    def __enter__(self) -> _PartFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reuse_existing(self, total: int) -> int:
        """Continue an earlier run's part of a full download; the remote offset kept."""
        try:
            size = self.path.stat().st_size
            with open(self.path, "rb") as fp:
                prefix = fp.read(min(size, len(self._remote_header)))
        except FileNotFoundError:
            return 0
        if size > total or prefix != self._remote_header[: len(prefix)]:
            return 0  # another version of the file: begin(0) truncates it
        self.offset = size
        return size

    def begin(self, remote_offset: int) -> None:
        """Position for a response body that starts at ``remote_offset``."""
        if self._fp is None:
            self._fp = open(self.path, "r+b" if self.path.exists() else "w+b")
        local = self._local(remote_offset)
        self._fp.truncate(local)
        if self._new_header is not None and local == len(self._new_header):
            self._fp.seek(0)
            self._fp.write(self._new_header)
        self._fp.seek(local)
        self.offset = remote_offset
        self.lowest_begin = remote_offset if self.lowest_begin is None else min(self.lowest_begin, remote_offset)

    def write(self, chunk: bytes) -> None:
        assert self._fp is not None, "begin() opens the file"
        size = len(chunk)
        header_len = len(self._remote_header)
        if self.offset < header_len:
            n = min(size, header_len - self.offset)
            if chunk[:n] != self._remote_header[self.offset : self.offset + n]:
                raise _bad(self._job, "sent a header different from a moment ago: the file changed on the server")
            if self._new_header is not None:
                chunk = chunk[n:]
        self._fp.write(chunk)
        self.offset += size

    def finish(self) -> None:
        if self._fp is None:  # an earlier run had fetched every byte
            self._fp = open(self.path, "r+b")
        self._fp.flush()
        os.fsync(self._fp.fileno())
        self.close()

    def close(self) -> None:
        if self._fp is not None:
            self._fp.close()
            self._fp = None

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)

    def _local(self, remote_offset: int) -> int:
        if self._new_header is None:
            return remote_offset
        return len(self._new_header) + max(0, remote_offset - len(self._remote_header))
