"""One split's images in a cache file, read a few rows at a time and never loaded whole.

The cache's image arrays are contiguous and uncompressed (``cache_build``
makes them so), so a row is a fixed number of bytes at a known offset: rows
are fetched with positioned reads (``os.preadv``), one per run of
consecutive rows, straight into the result, the way
:class:`~kerasketch.data.sources.BitmapSource` reads ``.npy`` files. Only the
rows asked for cost memory; the kernel's page cache keeps what fits.

Rows read at random from a file larger than the page cache each wait for the
disk, a batch of 64 read one after another a sizeable share of a training
step. :meth:`CachedRows.prefetch` tells the kernel which rows come next
(``posix_fadvise(WILLNEED)``, which queues the reads and returns), so that they
arrive while the model trains on the batch before (``Batches`` advises the next
8). ``bench/read_ahead.py`` measures both; its figures are in
docs/results/data-scale.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError


class CachedRows:
    """A read-only (n, S, S) uint8 array-like over rows of a cache file."""

    dtype = np.dtype(np.uint8)
    ndim = 3

    def __init__(self, path: Path, offset: int, rows: int, side: int):
        self.path = Path(path)
        self.offset = offset
        self.shape = (rows, side, side)
        self._row_bytes = side * side
        self._fd: int | None = None

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self._row_bytes

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_fd": None}  # a file descriptor means nothing in another process

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __getitem__(self, index: slice | np.ndarray) -> np.ndarray:
        """Rows ``start:stop`` (step 1) or at sorted indices."""
        return self.read_runs(*self._runs(index))

    def prefetch(self, index: slice | np.ndarray) -> None:
        """Ask the kernel to start reading these rows (as for ``self[index]``) into its page cache; returns at once."""
        if not hasattr(os, "posix_fadvise"):  # not on macOS or Windows: reads then simply wait
            return
        starts, ends = self._runs(index)
        fd = self._open()
        for s, e in zip(starts.tolist(), ends.tolist()):
            os.posix_fadvise(fd, self.offset + s * self._row_bytes, (e - s) * self._row_bytes, os.POSIX_FADV_WILLNEED)

    def _runs(self, index: slice | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) of the runs of consecutive rows that ``index`` names."""
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise IndexError("cached rows are read in order: a slice with a step is not supported")
            return np.array([start]), np.array([max(start, stop)])
        idx = np.asarray(index, dtype=np.int64)
        if idx.ndim != 1 or (len(idx) and (idx[0] < 0 or idx[-1] >= len(self) or np.any(np.diff(idx) <= 0))):
            raise IndexError("cached rows are read at sorted, distinct indices within the split")
        if len(idx) == 0:
            return idx, idx
        breaks = np.flatnonzero(np.diff(idx) != 1) + 1
        starts = idx[np.concatenate(([0], breaks))]
        ends = idx[np.concatenate((breaks - 1, [len(idx) - 1]))] + 1
        return starts, ends

    def _open(self) -> int:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDONLY)
            except OSError as err:
                raise DataError(
                    f"dataset cache {self.path} cannot be read ({err.strerror or err})",
                    "the cache was removed or its disk went away: run again to rebuild it",
                ) from None
        return self._fd

    def read_runs(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Rows of the runs ``starts[i]:ends[i]``, concatenated."""
        out = np.empty((int((ends - starts).sum()), *self.shape[1:]), np.uint8)
        fd = self._open() if len(starts) else -1  # reading nothing needs no file
        at = 0
        flat = out.reshape(len(out), -1)
        for s, e in zip(starts.tolist(), ends.tolist()):
            want = (e - s) * self._row_bytes
            got = os.preadv(fd, [memoryview(flat[at : at + e - s]).cast("B")], self.offset + s * self._row_bytes)  # type: ignore[arg-type]  # numpy arrays are buffers
            if got != want:
                raise DataError(
                    f"dataset cache {self.path} ended early (truncated while training?)",
                    "remove it and run again: it will be rebuilt",
                )
            at += e - s
        return out
