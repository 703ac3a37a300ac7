"""How images reach ``model.fit``: uint8 in memory or in the cache file, float32 one batch at a time.

The dataset stays uint8 (a quarter of float32's memory); each batch is
converted to float32 in [0, 1], shaped (B, 1, S, S) for the channels-first
models. The images are an array (the in-memory path) or a
:class:`~kerasketch.data.cached_rows.CachedRows` (the streaming path: rows
read from the cache file as batches need them); both are indexed the same
way, so both paths give the same batches.

The training order is drawn from (seed, epoch), so a resumed run sees the
same batches it would have seen. Two orders:

* ``exact``: a permutation of all the drawings (the default, on both paths:
  streaming then reads each batch's rows where they lie in the file);
* ``chunks``, for disks where reading rows at random is too slow: the
  drawings are cut into chunks of :data:`CHUNK_ROWS` consecutive rows, the
  chunks are permuted, and the rows within each window of
  :data:`BUFFER_CHUNKS` chunks are permuted again; a batch then reads from a
  window of 32,768 rows (25 MB at 28x28) loaded in 512 reads of 50 KB. Not the
  same order as ``exact``, so a run records which it used (and its chunk
  sizes), and resumes only with the same.

The cache stores each split in class order, so a chunk holds one class (two at
a border). A window must therefore draw from many chunks for its batches to
mix the classes: with 8 chunks of 4,096 rows, each window held about 17 of the
37 real classes, and like_vgg_adamw trained in a few classes at a time, far
below ``exact`` (docs/results/accuracy.md, "The chunks order"). 512 chunks of 64 rows
give each window about 14 chunks of each of 37 classes (1.5 of each of 345
on average), for the same memory.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import keras
import numpy as np

from ..data.assembly import Images, index_dtype
from ..data.cached_rows import CachedRows
from ..options import BUFFER_CHUNKS, CHUNK_ROWS, SHUFFLES
from ..validation import SAMPLERS
from . import stop
from .batch_mix import BatchMix
from .distributed import shard_span

#: Batches whose rows a streamed epoch asks the kernel to read ahead of the one being trained on.
PREFETCH_BATCHES = 8


class Batches(keras.utils.PyDataset):
    def __init__(
        self,
        images: Images,
        labels: np.ndarray,
        batch_size: int,
        *,
        shuffle: bool,
        seed: int = 0,
        start_epoch: int = 0,
        order: str = "exact",
        chunk_rows: int = CHUNK_ROWS,
        buffer_chunks: int = BUFFER_CHUNKS,
        sampler: str = "uniform",
        shard: tuple[int, int] = (0, 1),
        equal_shares: bool = False,
        mix: BatchMix | None = None,
    ):
        super().__init__()
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        if order not in SHUFFLES:
            raise ValueError(f"order must be one of {SHUFFLES}, got {order!r}")
        if sampler not in SAMPLERS or (sampler == "balanced" and order != "exact"):
            raise ValueError(f"sampler must be one of {SAMPLERS} (balanced with the exact order), got {sampler!r}")
        self.sampler = sampler
        # MixUp / CutMix of each batch (training/batch_mix.py): soft labels, drawn from (seed, epoch, batch, rank).
        self.mix = mix
        # (rank, ranks) of data-parallel training: each batch index is the same global batch on every
        # rank, of which this one trains on its contiguous share (distributed.shard_span).
        self.rank, self.ranks = shard
        # On jax (keras.distribution) every rank's share of a batch must be the same size, as one global
        # array is made of them: a training batch loses its last (batch % ranks) drawings (the next epoch's
        # order differs), an evaluation batch is padded with drawings of weight 0, so none is left out.
        self.equal_shares = equal_shares and self.ranks > 1
        self.images = images
        # Kept as given (the cache's int32) and widened a batch at a time: the per-drawing
        # index is what grows with the dataset (see _permutation).
        self.labels = labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = start_epoch
        self.order = order
        self.chunk_rows = chunk_rows
        self.window_rows = chunk_rows * buffer_chunks
        self._windows: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._advised = -1  # the last batch of this epoch whose rows were advised (streaming only)
        self._order = self._permutation()

    def _permutation(self) -> np.ndarray | None:
        self._windows.clear()
        self._advised = -1
        if not self.shuffle:
            return None
        rng = np.random.default_rng([self.seed, self.epoch])
        n = len(self.labels)
        # int32 below 2**31 rows: half the memory of rng.permutation's int64, in the same
        # order (shuffling an arange draws exactly what permutation(n) draws).
        dtype = index_dtype(n)
        if self.sampler == "balanced":
            return self._balanced_draw(rng, dtype)
        if self.order == "exact":
            order = np.arange(n, dtype=dtype)
            rng.shuffle(order)
            return order
        chunks = rng.permutation(math.ceil(n / self.chunk_rows))
        starts = chunks * self.chunk_rows
        # Each chunk's rows in chunk order; the last chunk may be short, so rows past the end go.
        order = np.add.outer(starts.astype(dtype), np.arange(self.chunk_rows, dtype=dtype)).ravel()
        order = order[order < n]
        for lo in range(0, n, self.window_rows):
            order[lo : lo + self.window_rows] = rng.permutation(order[lo : lo + self.window_rows])
        return order

    def _balanced_draw(self, rng: np.random.Generator, dtype) -> np.ndarray:
        """An epoch of as many drawings as the split, drawn with replacement so that every class present
        is equally likely (a drawing of a class of ``c`` drawings has weight ``1 / c``)."""
        labels = np.asarray(self.labels, dtype=np.int64)
        counts = np.bincount(labels)
        weights = 1.0 / counts[labels]
        weights /= weights.sum()
        return rng.choice(len(labels), size=len(labels), replace=True, p=weights).astype(dtype)

    def __len__(self) -> int:
        full, rest = divmod(len(self.labels), self.batch_size)
        # Under data parallelism a last batch with fewer drawings than ranks is left out of the
        # epoch (every rank needs a share; the next epoch's order differs). Evaluation avoids it
        # by its choice of batch size (distributed.even_batch_size).
        return full + (1 if rest >= self.ranks else 0)

    def span(self, index: int) -> tuple[int, int]:
        """Positions (in the epoch's order) of this rank's share of batch ``index``."""
        lo = index * self.batch_size
        hi = min(lo + self.batch_size, len(self.labels))
        if self.equal_shares and self.shuffle:
            hi -= (hi - lo) % self.ranks
        return shard_span(lo, hi, self.rank, self.ranks) if self.ranks > 1 else (lo, hi)

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        x, y = self._batch(index)
        if self.mix is not None:
            return self.mix(x, y, (self.seed, self.epoch, index, self.rank))
        if not (self.equal_shares and not self.shuffle):
            return x, y
        share = -(-(min((index + 1) * self.batch_size, len(self.labels)) - index * self.batch_size) // self.ranks)
        weight = np.ones(share, np.float32)
        weight[len(y) :] = 0.0
        pad = share - len(y)
        return np.concatenate([x, x[:1].repeat(pad, 0)]), np.concatenate([y, y[:1].repeat(pad)]), weight

    def _batch(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        stop.check()  # where a SIGTERM or Ctrl-C is honoured (see training/stop.py)
        lo, hi = self.span(index)
        if self._order is None:
            idx: slice | np.ndarray = slice(lo, hi)
            images = self.images[idx]
        else:
            idx = np.sort(self._order[lo:hi])
            if self.sampler == "balanced":  # drawn with replacement: the cached rows are read once each
                rows, again = np.unique(idx, return_inverse=True)
                images = self.images[rows][again]
            else:
                images = self._rows(idx, lo) if self.order == "chunks" else self.images[idx]
            if self.order == "exact" and isinstance(self.images, CachedRows):
                self._advise(index)
        x = images.astype(np.float32)
        x *= np.float32(1.0 / 255.0)
        return x[:, None, :, :], self.labels[idx].astype(np.int64)

    def _advise(self, index: int) -> None:
        """Have the kernel read the next few batches' rows while this one trains (see CachedRows.prefetch)."""
        assert self._order is not None and isinstance(self.images, CachedRows)
        last = min(index + PREFETCH_BATCHES, len(self) - 1)
        for ahead in range(max(self._advised + 1, index + 1), last + 1):
            lo, hi = self.span(ahead)
            # unique: sorted, and distinct where the balanced sampler drew a drawing twice
            self.images.prefetch(np.unique(self._order[lo:hi]))
        self._advised = max(self._advised, last)

    def _rows(self, rows: np.ndarray, lo: int) -> np.ndarray:
        """The sorted ``rows`` of a ``chunks`` batch starting at position ``lo`` of the order.

        A batch lies within one window of the order, or across the border of two.
        """
        out = np.empty((len(rows), *self.images.shape[1:]), np.uint8)
        filled = np.zeros(len(rows), dtype=bool)
        window = lo // self.window_rows
        while not filled.all():
            members, pixels = self._window(window)
            at = np.searchsorted(members, rows)
            hit = (at < len(members)) & (members[np.minimum(at, len(members) - 1)] == rows)
            out[hit] = pixels[at[hit]]
            filled |= hit
            window += 1
        return out

    def _window(self, window: int) -> tuple[np.ndarray, np.ndarray]:
        """(sorted rows, their images) of one window of the order, read once and kept while used."""
        if window not in self._windows:
            assert self._order is not None
            members = np.sort(self._order[window * self.window_rows : (window + 1) * self.window_rows])
            self._windows[window] = (members, self.images[members])
            following = self._order[(window + 1) * self.window_rows : (window + 2) * self.window_rows]
            if isinstance(self.images, CachedRows) and len(following):
                self.images.prefetch(np.sort(following))  # read while this window's batches train
            while len(self._windows) > 2:  # the current window and the next
                self._windows.popitem(last=False)
        return self._windows[window]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order = None  # dropped first, so that two orders never coexist
        self._order = self._permutation()
