"""Readers for every official Quick, Draw! format, behind one small interface.

A ``--data PATH`` is a file or a folder (searched recursively) that may mix:

* numpy bitmaps ``<class>.npy`` / ``full_numpy_bitmap_<class>.npy``: (N, 784)
  uint8; only the header is read on opening and the chosen rows alone later;
* ``.ndjson`` in the *simplified* (``[[x...], [y...]]``, 0-255) or *raw*
  (``[[x...], [y...], [t...]]``, screen pixels) layout; raw drawings are
  normalised with the dataset's published pipeline before rendering. The
  class is each line's ``word``, or the file name where a line has none;
* sketch-rnn ``.npz`` (arrays ``train``, ``valid``, ``test`` of stroke-3
  ``[dx, dy, pen_lifted]`` arrays; the Kaggle "Tiny Quickdraw" files). The
  three arrays are read as one pool: kerasketch makes its own split.
  These are pickled object arrays; ``sketch_npz.py`` unpickles them allowing
  nothing but numpy arrays, so a crafted file cannot run code.

Each file becomes a :class:`Source` that knows its classes and counts without
decoding drawings, and renders chosen drawings to images of any size.

Bad lines in ndjson: a file may hold a few lines that are not a JSON object
with strokes (at most one in a thousand, see :data:`BAD_LINE_ALLOWANCE`); they
are skipped and counted in the dataset summary. More than that, or any bad
line in a small file, is an error naming the file, the first bad line and what
is wrong with it (not JSON, a ``word`` that is not UTF-8 text, coordinates
that are not finite numbers, nesting too deep). A byte-order mark before the
first line is accepted. A raw drawing too costly to simplify
(:data:`~kerasketch.data.strokes.MAX_SIMPLIFY_WORK`) and a simplified drawing
with coordinates outside 0-255, which the format promises (it is scaled into
that range), are counted in the source's notes.
"""

from __future__ import annotations

import json
import mmap
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from . import sketch_npz
from .npy_header import BITMAP_SIDE, BITMAP_WIDTH, read_header
from .rasterize import rasterize
from .strokes import SPAN, Drawing, TooCostly, align_and_scale, from_stroke3, from_xy_lists, simplify_raw

#: Bad ndjson lines tolerated per file: one per this many lines.
BAD_LINE_ALLOWANCE = 1000
_BOM = b"\xef\xbb\xbf"
_NOT_JSON = "not a JSON object with strokes"

_PREFIXES = ("full_numpy_bitmap_", "full_simplified_", "full_raw_", "sketchrnn_")
_WORD = re.compile(rb'"word"\s*:\s*"((?:[^"\\]|\\.)*)"')


def class_from_filename(path: Path) -> str:
    """``full_numpy_bitmap_The Mona Lisa.npy`` -> ``The Mona Lisa``."""
    name = path.stem
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


class Source(ABC):
    """One data file: which classes it holds, how many of each, how to render them."""

    def __init__(self, path: Path, format: str, counts: dict[str, int], layout: str):
        self.path = path
        self.format = format  # "bitmap", "ndjson" or "npz"
        self.counts = counts
        # What the drawings are: "bitmap", "simplified" or "raw" strokes, "stroke-3".
        self.layout = layout

    @property
    def skipped(self) -> int:
        """Bad lines skipped so far (only ndjson files have lines to skip)."""
        return 0

    @property
    def too_costly(self) -> int:
        """Raw drawings skipped so far as too costly to simplify."""
        return 0

    def notes(self) -> list[str]:
        """What a reader of the dataset summary should know about this file's drawings."""
        return []

    @abstractmethod
    def images(self, cls: str, indices: np.ndarray, size: int) -> np.ndarray:
        """Images (k, size, size) uint8 of the drawings of ``cls`` at ``indices``.

        ``indices`` count within this file's drawings of that class. A row
        that turns out to be unreadable is dropped, so fewer may come back.
        """

    def images_kept(self, cls: str, indices: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        """``images`` and which of the sorted ``indices`` they are (a boolean mask).

        Only ndjson files drop drawings (bad or too costly lines); the others keep all.
        """
        images = self.images(cls, indices, size)
        if len(images) != len(indices):
            raise AssertionError(f"{type(self).__name__} dropped drawings without saying which")
        return images, np.ones(len(indices), dtype=bool)


class BitmapSource(Source):
    """A numpy bitmap file, whose chosen rows alone are read.

    Only the header is read on opening; rows are fetched with positioned reads
    (``os.preadv``), one per run of consecutive rows, straight into the result.
    A memory map would do the same on paper, but the kernel's fault-around maps
    64 KB around every touched page of a cached file, so a small sample maps
    most of the file (``MADV_RANDOM`` does not prevent it; measured in
    docs/results/data-scale.md).
    """

    def __init__(self, path: Path):
        self._offset, rows, self._fortran = _read_bitmap_header(path)
        super().__init__(path, "bitmap", {class_from_filename(path): rows}, "bitmap")

    def images(self, cls: str, indices: np.ndarray, size: int) -> np.ndarray:
        return resize(self.rows(np.sort(indices)).reshape(-1, BITMAP_SIDE, BITMAP_SIDE), size)

    def rows(self, sorted_indices: np.ndarray) -> np.ndarray:
        if self._fortran:
            return self._fortran_rows(sorted_indices)
        out = np.empty((len(sorted_indices), BITMAP_WIDTH), dtype=np.uint8)
        if len(sorted_indices) == 0:
            return out
        breaks = np.flatnonzero(np.diff(sorted_indices) != 1) + 1
        starts = np.concatenate(([0], breaks)).tolist()
        ends = np.concatenate((breaks, [len(sorted_indices)])).tolist()
        with open(self.path, "rb", buffering=0) as f:
            for s, e in zip(starts, ends):
                want = (e - s) * BITMAP_WIDTH
                got = os.preadv(
                    f.fileno(),
                    [memoryview(out[s:e]).cast("B")],  # type: ignore[arg-type]  # numpy arrays are buffers; its stubs do not say so
                    self._offset + int(sorted_indices[s]) * BITMAP_WIDTH,
                )
                if got != want:
                    raise DataError(f"{self.path}: the file ended early (changed while reading?)", "download it again")
        return out

    def _fortran_rows(self, sorted_indices: np.ndarray) -> np.ndarray:
        # Column-major: a row's pixels lie a column apart, so no positioned read
        # fetches a row alone; a memory map reads what the rows touch.
        rows = self.counts[class_from_filename(self.path)]
        mapped = np.memmap(self.path, np.uint8, "r", self._offset, (rows, BITMAP_WIDTH), order="F")
        try:
            return np.ascontiguousarray(mapped[sorted_indices])
        finally:
            del mapped


def _read_bitmap_header(path: Path) -> tuple[int, int, bool]:
    """(data offset, rows, Fortran order) of a (N, 784) uint8 .npy file, or a clear error."""

    def unreadable(why: str) -> DataError:
        return DataError(
            f"{path}: not a readable .npy bitmap file ({why}); it may be truncated or corrupt",
            "download it again with `kerasketch data download`, or remove it from the data folder",
        )

    try:
        with open(path, "rb") as f:
            header = read_header(f)
            size = os.fstat(f.fileno()).st_size
    except ValueError as err:
        raise unreadable(str(err)) from None
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror or err})", "check the file's permissions") from None
    problem = header.bitmap_problem()
    if problem:
        raise DataError(
            f"{path}: {problem}",
            "numpy bitmap files hold one flattened 28x28 drawing per row; check that this is a Quick, Draw! numpy_bitmap file",
        )
    rows = int(header.shape[0])
    if rows == 0:
        raise DataError(f"{path}: the file holds no drawings", "remove it or download it again")
    if size < header.offset + rows * BITMAP_WIDTH:
        raise unreadable(
            f"the header promises {rows:,} rows but the file holds {(size - header.offset) // BITMAP_WIDTH:,}"
        )
    return header.offset, rows, header.fortran_order


class NdjsonSource(Source):
    """Simplified or raw ndjson.

    Opening only finds line offsets and ``word`` values, with one regex pass
    over a memory map that is closed afterwards, so that a large file costs
    little until drawings are chosen; those lines alone are read and parsed.
    """

    def __init__(self, path: Path):
        try:
            with open(path, "rb") as f:
                if os.fstat(f.fileno()).st_size == 0:
                    raise DataError(
                        f"{path}: the file is empty", "remove it or replace it with a Quick, Draw! ndjson file"
                    )
                buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as err:
            raise DataError(f"{path}: cannot be read ({err.strerror or err})", "check the file's permissions") from None
        data = np.frombuffer(buf, dtype=np.uint8)
        nl = np.flatnonzero(data == ord("\n"))
        starts = np.concatenate(([0], nl + 1))
        # A byte-order mark (editors on Windows write one) is not part of the first line.
        if buf[: len(_BOM)] == _BOM:
            starts[0] = len(_BOM)
        ends = np.concatenate((nl, [len(data)]))
        ends -= (ends > starts) & (data[np.maximum(ends - 1, 0)] == ord("\r"))
        present = ends > starts  # blank lines are not drawings
        if not present.any():
            raise DataError(
                f"{path}: the file holds no lines", "remove it or replace it with a Quick, Draw! ndjson file"
            )
        # A line that does not even look like a JSON object is bad without parsing it.
        first_byte = data[np.minimum(starts, len(data) - 1)]
        shaped = present & (first_byte == ord("{")) & (data[np.maximum(ends - 1, 0)] == ord("}"))
        words = np.full(len(starts), class_from_filename(path), dtype=object)
        self._why: dict[int, str] = {}  # line index -> what is wrong with it, where not _NOT_JSON
        found = [(m.start(), m.group(1)) for m in _WORD.finditer(buf)]
        if found:
            at, raw = zip(*found)
            line = np.searchsorted(starts, np.asarray(at), side="right") - 1
            decoded = {w: _decode_word(w) for w in set(raw)}
            for ln, w in zip(line.tolist(), raw):
                word = decoded[w]
                if word is None:
                    shaped[ln] = False
                    self._why[ln] = "its 'word' field is not UTF-8 text (fix the file's encoding, or delete the line)"
                else:
                    words[ln] = word
        super().__init__(path, "ndjson", {}, "simplified")
        # What stays per line: its start (8 bytes) and, in its class, its index (4
        # bytes). Line i is read as bounds[i]:bounds[i + 1], newline included.
        self._bounds = np.append(starts, len(buf))
        # The scan touched every page of the map; unmap it. Chosen lines are
        # read later with positioned reads, so only they cost memory.
        del data
        buf.close()
        self._lines = int(present.sum())
        self._bad: list[int] = np.flatnonzero(present & ~shaped).tolist()
        self._too_costly = 0
        self._out_of_range = 0
        self._check_bad()
        self._by_class: dict[str, np.ndarray] = {}
        for w in sorted(set(words[shaped].tolist())):
            self._by_class[w] = np.flatnonzero(shaped & (words == w)).astype(np.int32)
            self.counts[w] = len(self._by_class[w])
        self.layout = self._first_layout(np.flatnonzero(shaped))

    def _first_layout(self, lines: np.ndarray) -> str:
        """The layout of the first readable line (a file holds one in practice)."""
        with open(self.path, "rb", buffering=0) as f:
            for i in lines[:10].tolist():
                text = os.pread(f.fileno(), int(self._bounds[i + 1] - self._bounds[i]), int(self._bounds[i]))
                try:
                    return "raw" if _parse_line(text)[1] else "simplified"
                except _BadLine:
                    continue
        return "simplified"

    @property
    def skipped(self) -> int:
        return len(self._bad)

    @property
    def too_costly(self) -> int:
        return self._too_costly

    def notes(self) -> list[str]:
        notes = []
        if self._too_costly:
            notes.append(
                f"{self.path}: skipped {self._too_costly} raw drawing(s) too costly to simplify "
                "(hostile or broken strokes; remove them from the file to silence this)"
            )
        if self._out_of_range:
            notes.append(
                f"{self.path}: {self._out_of_range} simplified drawing(s) have coordinates outside 0-255, "
                "which the format promises; they were scaled into 0-255 (check how the file was made)"
            )
        return notes

    def _check_bad(self) -> None:
        if len(self._bad) > self._lines // BAD_LINE_ALLOWANCE:
            first = min(self._bad)
            raise DataError(
                f"{self.path}, line {first + 1}: {self._why.get(first, _NOT_JSON)} "
                f"({len(self._bad)} bad line{'s' if len(self._bad) > 1 else ''} of {self._lines})",
                "fix or delete the bad lines, or remove the file from the data folder "
                f"(up to one bad line per {BAD_LINE_ALLOWANCE} is skipped)",
            )

    def drawings(self, cls: str, indices: np.ndarray) -> list[Drawing]:
        """The drawings of ``cls`` at ``indices`` (bad lines among them skipped)."""
        return self._parse(self._by_class[cls][np.sort(indices)])[0]

    def line_numbers(self, cls: str) -> np.ndarray:
        """The 0-based line of each drawing of ``cls``, in the order ``images`` numbers them."""
        return self._by_class[cls]

    def drawings_in_file_order(self, chunk: int = 10_000) -> Iterator[list[Drawing]]:
        """Every drawing of the file in line order, ``chunk`` at a time."""
        if not self._by_class:
            return
        lines = np.sort(np.concatenate(list(self._by_class.values())))
        for start in range(0, len(lines), chunk):
            yield self._parse(lines[start : start + chunk])[0]

    def _parse(self, lines: np.ndarray) -> tuple[list[Drawing], np.ndarray]:
        """The drawings of ``lines`` and a mask of the lines they came from (bad ones are skipped)."""
        out: list[Drawing] = []
        kept = np.zeros(len(lines), dtype=bool)
        with open(self.path, "rb", buffering=0) as f:
            texts = [
                os.pread(f.fileno(), int(self._bounds[i + 1] - self._bounds[i]), int(self._bounds[i]))
                for i in lines.tolist()
            ]
        for position, (text, line_no) in enumerate(zip(texts, lines.tolist())):
            try:
                drawing, raw = _parse_line(text)
            except _BadLine as err:
                self._bad.append(line_no)
                self._why[line_no] = str(err)
                continue
            if raw:
                try:
                    drawing = simplify_raw(drawing)
                except TooCostly:
                    self._too_costly += 1
                    continue
            elif _outside_the_simplified_range(drawing):
                self._out_of_range += 1
                drawing = align_and_scale(drawing)
            out.append(drawing)
            kept[position] = True
        self._check_bad()
        return out, kept

    def images(self, cls: str, indices: np.ndarray, size: int) -> np.ndarray:
        return rasterize(self.drawings(cls, indices), size)

    def images_kept(self, cls: str, indices: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        drawings, kept = self._parse(self._by_class[cls][np.sort(indices)])
        return rasterize(drawings, size), kept

    def counters(self) -> tuple[dict[int, str], int, int]:
        """What reading has found so far: bad lines (line -> why), too costly and out-of-range drawings.

        A parallel build reads in worker processes; each hands back what its
        reads added (:meth:`add_counters`), so that the summary and the
        bad-line allowance count the whole file.
        """
        return {ln: self._why.get(ln, _NOT_JSON) for ln in self._bad}, self._too_costly, self._out_of_range

    def add_counters(self, bad: dict[int, str], too_costly: int, out_of_range: int) -> None:
        for ln, why in bad.items():
            if ln not in self._why and why != _NOT_JSON:
                self._why[ln] = why
        known = set(self._bad)
        self._bad.extend(ln for ln in bad if ln not in known)
        self._too_costly += too_costly
        self._out_of_range += out_of_range
        self._check_bad()


class _BadLine(ValueError):
    """What is wrong with one ndjson line, worded for the user."""


def _decode_word(escaped: bytes) -> str | None:
    """A ``word`` value's text, or None when it is not UTF-8 (or holds lone surrogates)."""
    try:
        word = json.loads(b'"' + escaped + b'"')
        word.encode("utf-8")  # a lone surrogate (\\ud800) decodes but cannot be written anywhere
    except (ValueError, RecursionError):
        return None
    return word if isinstance(word, str) else None


def _parse_line(text: bytes) -> tuple[Drawing, bool]:
    """(drawing, is raw) of one line; ``_BadLine`` saying what is wrong."""
    try:
        record = json.loads(text)
    except UnicodeDecodeError:
        raise _BadLine("the line is not UTF-8 text (fix the file's encoding, or delete the line)") from None
    except RecursionError:
        raise _BadLine("the line's JSON is nested too deeply to be a drawing (delete the line)") from None
    except ValueError:
        raise _BadLine(_NOT_JSON) from None
    strokes = record.get("drawing") if isinstance(record, dict) else None
    if not isinstance(strokes, list) or not strokes or not all(isinstance(s, list) for s in strokes):
        raise _BadLine(f"{_NOT_JSON}: its 'drawing' field is not a list of strokes")
    try:
        drawing = from_xy_lists(strokes)
    except (ValueError, TypeError, OverflowError, RecursionError) as err:
        raise _BadLine(f"{_NOT_JSON}: its 'drawing' field {_first_line(err)}") from None
    # Raw strokes carry a third list (timestamps) and screen coordinates.
    return drawing, len(strokes[0]) == 3


def _first_line(err: Exception) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text if text.startswith(("has", "holds", "is")) else f"is malformed ({text[:100]})"


def _outside_the_simplified_range(drawing: Drawing) -> bool:
    # Rounding in tools that write these files can step a little over 255.
    return any(float(s.min()) < -1.0 or float(s.max()) > SPAN + 1.0 for s in drawing)


class Stroke3Source(Source):
    """sketch-rnn ``.npz``: the train, valid and test arrays as one pool."""

    def __init__(self, path: Path):
        def unreadable(why: str) -> DataError:
            return DataError(
                f"{path}: not a readable sketch-rnn .npz file ({why})",
                "replace it with a stroke-3 .npz file holding arrays train, valid and test",
            )

        try:
            arrays = sketch_npz.load_arrays(path, ("train", "valid", "test"))
        except sketch_npz.RefusedPickle as err:
            raise DataError(
                f"{path}: refused to load: its pickled data asks for {err}, which no sketch-rnn file needs "
                "(a pickle can run code; nothing was run)",
                "remove the file unless you know where it came from; sketch-rnn files hold only numpy arrays",
            ) from None
        except OSError as err:
            raise DataError(f"{path}: cannot be read ({err.strerror or err})", "check the file's permissions") from None
        except Exception as err:  # zipfile, zlib, pickle and numpy each raise their own
            raise unreadable(f"{type(err).__name__}: {_first_line(err)}") from None
        if not arrays:
            raise DataError(
                f"{path}: the .npz holds none of the arrays train, valid, test", "is this a sketch-rnn file?"
            )
        self._sketches: list[np.ndarray] = []
        for name, part in arrays.items():
            for i, sketch in enumerate(part if part.ndim else [part]):
                if not _is_stroke3(sketch):
                    shape = getattr(sketch, "shape", type(sketch).__name__)
                    raise unreadable(f"{name}[{i}] is {shape}, not an (n, 3) array of [dx, dy, pen_lifted]")
                self._sketches.append(sketch)
        if not self._sketches:
            raise DataError(f"{path}: the .npz holds no drawings", "remove it or download it again")
        super().__init__(path, "npz", {class_from_filename(path): len(self._sketches)}, "stroke-3")

    def images(self, cls: str, indices: np.ndarray, size: int) -> np.ndarray:
        drawings = []
        for i in np.sort(indices).tolist():
            try:
                drawings.append([np.round(s) for s in align_and_scale(from_stroke3(self._sketches[i]))])
            except ValueError as err:
                raise DataError(f"{self.path}, drawing {i}: {err}", "remove the file from the data folder") from None
        return rasterize(drawings, size)


def _is_stroke3(sketch: object) -> bool:
    return (
        isinstance(sketch, np.ndarray)
        and sketch.ndim == 2
        and sketch.shape[0] > 0
        and sketch.shape[1] == 3
        and (sketch.dtype.kind in "iu" or (sketch.dtype.kind == "f" and bool(np.isfinite(sketch).all())))
    )


READERS: dict[str, type[BitmapSource] | type[NdjsonSource] | type[Stroke3Source]] = {
    ".npy": BitmapSource,
    ".ndjson": NdjsonSource,
    ".npz": Stroke3Source,
}


@dataclass
class Catalog:
    """All sources under a path, with each class's drawings numbered across files."""

    root: Path
    sources: list[Source]
    counts: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        counts: dict[str, int] = {}
        for src in self.sources:
            for cls, n in src.counts.items():
                counts[cls] = counts.get(cls, 0) + n
        self.counts = dict(sorted(counts.items()))

    @property
    def formats(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for src in self.sources:
            out[src.format] = out.get(src.format, 0) + 1
        return out

    @property
    def skipped(self) -> int:
        return sum(s.skipped for s in self.sources)

    @property
    def too_costly(self) -> int:
        return sum(s.too_costly for s in self.sources)

    def notes(self) -> list[str]:
        return [note for s in self.sources for note in s.notes()]

    def layouts_per_class(self) -> dict[str, list[str]]:
        """Each class's drawing layouts (bitmap, simplified, raw, stroke-3), sorted."""
        out: dict[str, set[str]] = {}
        for src in self.sources:
            for cls in src.counts:
                out.setdefault(cls, set()).add(src.layout)
        return {cls: sorted(out[cls]) for cls in sorted(out)}

    def images(self, cls: str, indices: np.ndarray, size: int) -> np.ndarray:
        """Images of ``cls`` at class-wide ``indices`` (files taken in path order)."""
        return self.images_kept(cls, indices, size)[0]

    def images_kept(self, cls: str, indices: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        """``images`` and a mask of the sorted ``indices`` they are (bad ndjson lines are dropped)."""
        parts = []
        kept = []
        offset = 0
        indices = np.sort(np.asarray(indices, dtype=np.int64))
        for src in self.sources:
            n = src.counts.get(cls, 0)
            if n == 0:
                continue
            mine = indices[(indices >= offset) & (indices < offset + n)] - offset
            if len(mine):
                imgs, mask = src.images_kept(cls, mine, size)
                parts.append(imgs)
                kept.append(mask)
            offset += n
        if not parts:
            return np.zeros((0, size, size), np.uint8), np.zeros(len(indices), dtype=bool)
        return np.concatenate(parts), np.concatenate(kept)


def scan(path: str | Path) -> Catalog:
    """Open every supported file at ``path`` (a file, or a folder searched recursively)."""
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(
            f"data path {root} does not exist",
            "give a file or folder of .npy, .ndjson or .npz files with --data, "
            "or fetch data with `kerasketch data download`",
        )
    if root.is_file():
        files = [root]
        if root.suffix.lower() not in READERS:
            raise DataError(
                f"{root}: unsupported file type '{root.suffix}'",
                "kerasketch reads numpy bitmap .npy, simplified or raw .ndjson, and sketch-rnn .npz files",
            )
    else:
        try:
            files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in READERS)
        except OSError as err:
            raise DataError(
                f"{root}: cannot be searched ({err.strerror or err}: {err.filename or root})",
                "check the folder's permissions, or point the data path at a folder you can read",
            ) from None
        if not files:
            raise DataError(
                f"{root}: no .npy, .ndjson or .npz files in this folder",
                "point --data at Quick, Draw! files, or fetch some with `kerasketch data download`",
            )
    return Catalog(root, [READERS[f.suffix.lower()](f) for f in files])


def fingerprint(paths: Iterable[Path]) -> list[tuple[str, int, int]]:
    """What identifies the sources' contents cheaply: path, size and modification time."""
    out = []
    for p in paths:
        st = p.stat()
        out.append((str(p.resolve()), st.st_size, st.st_mtime_ns))
    return out


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Resize (k, 28, 28) uint8 bitmaps to (k, size, size) with antialiased bilinear filtering.

    The filter is torch's ``interpolate(mode="bilinear", antialias=True,
    align_corners=False)`` (and Pillow's ``BILINEAR``), written as one weight
    matrix per axis so that no deep-learning framework is needed to read data.
    """
    if images.shape[-1] == size:
        return images
    weights = _bilinear_weights(images.shape[-1], size)
    out = np.einsum("oi,kij,pj->kop", weights, images.astype(np.float32), weights, optimize=True)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _bilinear_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights: a triangle filter widened by the scale when shrinking, normalised per row."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    centres = (np.arange(n_out) + 0.5) * scale
    taps = np.arange(n_in) + 0.5
    w = np.clip(1.0 - np.abs(taps[None, :] - centres[:, None]) / support, 0.0, None)
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)
