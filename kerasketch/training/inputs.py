"""How images reach ``model.fit``: uint8 in memory, float32 one batch at a time.

The dataset stays uint8 (a quarter of float32's memory); each batch is
converted to float32 in [0, 1], shaped (B, 1, S, S) for the channels-first
models. The training order is a permutation drawn from (seed, epoch), so a
resumed run sees the same batches it would have seen.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from . import stop


class Batches(keras.utils.PyDataset):
    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        batch_size: int,
        *,
        shuffle: bool,
        seed: int = 0,
        start_epoch: int = 0,
    ):
        super().__init__()
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = labels.astype(np.int64, copy=False)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = start_epoch
        self._order = self._permutation()

    def _permutation(self) -> np.ndarray | None:
        if not self.shuffle:
            return None
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.labels))

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        stop.check()  # where a stop the signal handler could not raise is honoured
        lo = index * self.batch_size
        hi = min(lo + self.batch_size, len(self.labels))
        idx = slice(lo, hi) if self._order is None else np.sort(self._order[lo:hi])
        x = self.images[idx].astype(np.float32)
        x *= np.float32(1.0 / 255.0)
        return x[:, None, :, :], self.labels[idx]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order = self._permutation()
