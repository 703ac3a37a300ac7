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
  These are object arrays, so they are loaded with ``allow_pickle=True``;
  only open ``.npz`` files you trust.

Each file becomes a :class:`Source` that knows its classes and counts without
decoding drawings, and renders chosen drawings to images of any size.

Bad lines in ndjson: a file may hold a few lines that are not a JSON object
with strokes (at most one in a thousand, see :data:`BAD_LINE_ALLOWANCE`); they
are skipped and counted in the dataset summary. More than that, or any bad
line in a small file, is an error naming the file and the first bad line.
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
from .rasterize import rasterize
from .strokes import Drawing, align_and_scale, from_stroke3, from_xy_lists, simplify_raw

BITMAP_SIDE = 28
BITMAP_WIDTH = BITMAP_SIDE * BITMAP_SIDE
#: Bad ndjson lines tolerated per file: one per this many lines.
BAD_LINE_ALLOWANCE = 1000

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

    def __init__(self, path: Path, format: str, counts: dict[str, int]):
        self.path = path
        self.format = format  # "bitmap", "ndjson" or "npz"
        self.counts = counts

    @property
    def skipped(self) -> int:
        """Bad lines skipped so far (only ndjson files have lines to skip)."""
        return 0

    @abstractmethod
    def images(self, cls: str, indices: np.ndarray, size: int) -> np.ndarray:
        """Images (k, size, size) uint8 of the drawings of ``cls`` at ``indices``.

        ``indices`` count within this file's drawings of that class. A row
        that turns out to be unreadable is dropped, so fewer may come back.
        """


class BitmapSource(Source):
    """A numpy bitmap file, whose chosen rows alone are read.

    Only the header is read on opening; rows are fetched with positioned reads
    (``os.preadv``), one per run of consecutive rows, straight into the result.
    A memory map would do the same on paper, but the kernel's fault-around maps
    64 KB around every touched page of a cached file: a 1% sample of a 100 MB
    file mapped 96% of it (measured; ``MADV_RANDOM`` does not prevent it).
    """

    def __init__(self, path: Path):
        self._offset, rows = _read_bitmap_header(path)
        super().__init__(path, "bitmap", {class_from_filename(path): rows})

    def images(self, cls: str, indices: np.ndarray, size: int) -> np.ndarray:
        return resize(self.rows(np.sort(indices)).reshape(-1, BITMAP_SIDE, BITMAP_SIDE), size)

    def rows(self, sorted_indices: np.ndarray) -> np.ndarray:
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
                    f.fileno(), [memoryview(out[s:e]).cast("B")], self._offset + int(sorted_indices[s]) * BITMAP_WIDTH
                )
                if got != want:
                    raise DataError(f"{self.path}: the file ended early (changed while reading?)", "download it again")
        return out


def _read_bitmap_header(path: Path) -> tuple[int, int]:
    """(data offset, rows) of a (N, 784) uint8 .npy file, or a clear error."""

    def unreadable(why: str) -> DataError:
        return DataError(
            f"{path}: not a readable .npy bitmap file ({why}); it may be truncated or corrupt",
            "download it again with `kerasketch data download`, or remove it from the data folder",
        )

    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            # Versions 2.0 and 3.0 differ from 1.0 only in the header length field.
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(f)
            offset = f.tell()
            size = os.fstat(f.fileno()).st_size
    except (ValueError, OSError, EOFError) as err:
        raise unreadable(str(err)) from None
    if dtype != np.uint8 or len(shape) != 2 or shape[1] != BITMAP_WIDTH or fortran:
        raise DataError(
            f"{path}: expected a (N, {BITMAP_WIDTH}) uint8 array of 28x28 bitmaps, found {shape} {dtype}",
            "numpy bitmap files hold one flattened 28x28 drawing per row; check that this is a Quick, Draw! numpy_bitmap file",
        )
    if shape[0] == 0:
        raise DataError(f"{path}: the file holds no drawings", "remove it or download it again")
    if size < offset + shape[0] * BITMAP_WIDTH:
        raise unreadable(
            f"the header promises {shape[0]:,} rows but the file holds {(size - offset) // BITMAP_WIDTH:,}"
        )
    return offset, int(shape[0])


class NdjsonSource(Source):
    """Simplified or raw ndjson.

    Opening only finds line offsets and ``word`` values, with one regex pass
    over a memory map that is closed afterwards, so that a large file costs
    little until drawings are chosen; those lines alone are read and parsed.
    """

    def __init__(self, path: Path):
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                raise DataError(f"{path}: the file is empty", "remove it or replace it with a Quick, Draw! ndjson file")
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        data = np.frombuffer(buf, dtype=np.uint8)
        nl = np.flatnonzero(data == ord("\n"))
        starts = np.concatenate(([0], nl + 1))
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
        found = [(m.start(), m.group(1)) for m in _WORD.finditer(buf)]
        if found:
            at, raw = zip(*found)
            line = np.searchsorted(starts, np.asarray(at), side="right") - 1
            decoded = {w: json.loads(b'"' + w + b'"') for w in set(raw)}
            for ln, w in zip(line.tolist(), raw):
                words[ln] = decoded[w]
        super().__init__(path, "ndjson", {})
        # What stays per line: its start (8 bytes) and, in its class, its index (4
        # bytes). Line i is read as bounds[i]:bounds[i + 1], newline included.
        self._bounds = np.append(starts, len(buf))
        # The scan touched every page of the map; unmap it. Chosen lines are
        # read later with positioned reads, so only they cost memory.
        del data
        buf.close()
        self._lines = int(present.sum())
        self._bad: list[int] = np.flatnonzero(present & ~shaped).tolist()
        self._check_bad()
        self._by_class: dict[str, np.ndarray] = {}
        for w in sorted(set(words[shaped].tolist())):
            self._by_class[w] = np.flatnonzero(shaped & (words == w)).astype(np.int32)
            self.counts[w] = len(self._by_class[w])

    @property
    def skipped(self) -> int:
        return len(self._bad)

    def _check_bad(self) -> None:
        if len(self._bad) > self._lines // BAD_LINE_ALLOWANCE:
            first = min(self._bad)
            raise DataError(
                f"{self.path}, line {first + 1}: not a JSON object with strokes "
                f"({len(self._bad)} bad line{'s' if len(self._bad) > 1 else ''} of {self._lines})",
                "fix or delete the bad lines, or remove the file from the data folder "
                f"(up to one bad line per {BAD_LINE_ALLOWANCE} is skipped)",
            )

    def drawings(self, cls: str, indices: np.ndarray) -> list[Drawing]:
        """The drawings of ``cls`` at ``indices`` (bad lines among them skipped)."""
        return self._parse(self._by_class[cls][np.sort(indices)])

    def line_numbers(self, cls: str) -> np.ndarray:
        """The 0-based line of each drawing of ``cls``, in the order ``images`` numbers them."""
        return self._by_class[cls]

    def drawings_in_file_order(self, chunk: int = 10_000) -> Iterator[list[Drawing]]:
        """Every drawing of the file in line order, ``chunk`` at a time."""
        lines = np.sort(np.concatenate(list(self._by_class.values())))
        for start in range(0, len(lines), chunk):
            yield self._parse(lines[start : start + chunk])

    def _parse(self, lines: np.ndarray) -> list[Drawing]:
        out: list[Drawing] = []
        with open(self.path, "rb", buffering=0) as f:
            texts = [
                os.pread(f.fileno(), int(self._bounds[i + 1] - self._bounds[i]), int(self._bounds[i]))
                for i in lines.tolist()
            ]
        for text, line_no in zip(texts, lines.tolist()):
            try:
                strokes = json.loads(text)["drawing"]
                drawing = from_xy_lists(strokes)
            except (ValueError, KeyError, TypeError, IndexError):
                self._bad.append(line_no)
                continue
            # Raw strokes carry a third list (timestamps) and screen coordinates.
            out.append(simplify_raw(drawing) if len(strokes[0]) == 3 else drawing)
        self._check_bad()
        return out

    def images(self, cls: str, indices: np.ndarray, size: int) -> np.ndarray:
        return rasterize(self.drawings(cls, indices), size)


class Stroke3Source(Source):
    """sketch-rnn ``.npz``: the train, valid and test arrays as one pool."""

    def __init__(self, path: Path):
        try:
            with np.load(path, allow_pickle=True, encoding="latin1") as npz:
                parts = [npz[k] for k in ("train", "valid", "test") if k in npz.files]
        except Exception as err:  # zipfile, pickle and numpy each raise their own
            raise DataError(
                f"{path}: not a readable sketch-rnn .npz file ({type(err).__name__}: {err})",
                "replace it with a stroke-3 .npz file holding arrays train, valid and test",
            ) from None
        if not parts:
            raise DataError(
                f"{path}: the .npz holds none of the arrays train, valid, test", "is this a sketch-rnn file?"
            )
        self._sketches = [s for part in parts for s in part]
        if not self._sketches:
            raise DataError(f"{path}: the .npz holds no drawings", "remove it or download it again")
        super().__init__(path, "npz", {class_from_filename(path): len(self._sketches)})

    def images(self, cls: str, indices: np.ndarray, size: int) -> np.ndarray:
        drawings = []
        for i in np.sort(indices).tolist():
            try:
                drawings.append([np.round(s) for s in align_and_scale(from_stroke3(self._sketches[i]))])
            except ValueError as err:
                raise DataError(f"{self.path}, drawing {i}: {err}", "remove the file from the data folder") from None
        return rasterize(drawings, size)


READERS = {".npy": BitmapSource, ".ndjson": NdjsonSource, ".npz": Stroke3Source}


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

    def images(self, cls: str, indices: np.ndarray, size: int) -> np.ndarray:
        """Images of ``cls`` at class-wide ``indices`` (files taken in path order)."""
        parts = []
        offset = 0
        indices = np.sort(np.asarray(indices, dtype=np.int64))
        for src in self.sources:
            n = src.counts.get(cls, 0)
            if n == 0:
                continue
            mine = indices[(indices >= offset) & (indices < offset + n)] - offset
            if len(mine):
                parts.append(src.images(cls, mine, size))
            offset += n
        if not parts:
            return np.zeros((0, size, size), np.uint8)
        return np.concatenate(parts)


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
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in READERS)
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
    """Resize (k, 28, 28) uint8 bitmaps to (k, size, size) with antialiased bilinear filtering."""
    if images.shape[-1] == size:
        return images
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(images)).float().unsqueeze(1)
    out = F.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return out.squeeze(1).round_().clamp_(0, 255).to(torch.uint8).numpy()
