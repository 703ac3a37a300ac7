"""The input pipeline alone, against training: do reading, decoding and augmenting keep up?

What a training step waits for before its model runs, measured without the
model, on the real 37-class dataset (its cache is the one a run on
``--data`` uses, built first when absent):

  read      ``Batches`` over the training split, as ``model.fit`` asks for
            them: rows fetched (from memory, or streamed from the cache file
            in the ``exact`` or the ``chunks`` order, with the file's pages
            first dropped from the kernel's page cache: a cold disk) and
            decoded to float32 in [0, 1];
  augment   sketch_resnet's augmentation (its ``RandomAffine`` layer, as in
            its training step) on those batches;
  train     a recipe's whole training step on real batches (like_vgg_adamw,
            sketch_resnet), as ``bench/train_throughput.py`` measures it.

Each at one thread and at all cores: torch's intra-op threads for augment and
train; for reading, one reader or a pool of readers over the batches (what
Keras' ``PyDataset`` ``workers`` gives; positioned reads release the GIL).
Resizing costs nothing per step: drawings are rasterised at the run's size
when the cache is built.

``Batches`` runs in the training thread, so its cost adds to every step: the
ratio pipeline / training is the headroom (above 1 the pipeline keeps up, and
1 / ratio is the share of a step it takes).

    python bench/input_pipeline.py --data ../shared/quickdraw/bitmap
    python bench/input_pipeline.py --data ../shared/quickdraw/bitmap --batches 100 --steps 10   # quicker

The last line holds the headline ratios as name=value pairs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import kerasketch  # noqa: F401  selects the torch backend: before Keras, which otherwise reads ~/.keras/keras.json

# isort: split
import keras
import numpy as np
import torch
from scale import SAMPLE  # the real bitmaps' folder (bench/ is on sys.path)
from train_throughput import KerasPath  # the recipe's own training path

from kerasketch.data.assembly import DataConfig
from kerasketch.data.cache import load_or_build
from kerasketch.models.augment import augmentation_layers
from kerasketch.recipes import registry
from kerasketch.training.inputs import Batches

RECIPES = ("like_vgg_adamw", "sketch_resnet")
BATCH = 64


def drop_page_cache(path: Path) -> None:
    """Ask the kernel to forget the file's cached pages, so the next reads come from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def read_rate(images, labels: np.ndarray, order: str, readers: int, batches: int, cold: Path | None) -> float:
    """Images per second that ``Batches`` hands out over its first ``batches`` shuffled batches."""
    data = Batches(images, labels, BATCH, shuffle=True, seed=0, order=order)
    n = min(batches, len(data))
    if cold is not None:
        drop_page_cache(cold)
    start = time.perf_counter()
    if readers == 1:
        for i in range(n):
            data[i]
    else:
        with ThreadPoolExecutor(readers) as pool:
            for _ in pool.map(data.__getitem__, range(n)):
                pass
    return n * BATCH / (time.perf_counter() - start)


def augment_rate(batches: list[torch.Tensor], rounds: int) -> float:
    """Images per second through sketch_resnet's augmentation in training mode (median of ``rounds``)."""
    (layer,) = augmentation_layers(registry.get("sketch_resnet").augmentation, seed=0)
    layer(batches[0], training=True)  # builds it
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for x in batches:
            layer(x, training=True)
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # a GPU runs the kernels after the loop queued them
        rates.append(len(batches) * BATCH / (time.perf_counter() - start))
    return statistics.median(rates)


def train_rate(recipe: str, x: np.ndarray, y: np.ndarray, rounds: int) -> float:
    """The recipe's training img/s on ``x``, ``y`` (median of ``rounds`` epochs after a warm-up one)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = KerasPath(recipe, x, y, Path(tmp))
        path.epoch_rate()
        return statistics.median(path.epoch_rate() for _ in range(rounds))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=SAMPLE, help="the dataset (default: the real 37-class sample)")
    parser.add_argument("--batches", type=int, default=300, help="batches of 64 read per measurement")
    parser.add_argument("--steps", type=int, default=20, help="training steps of 64 per timed epoch")
    parser.add_argument("--rounds", type=int, default=3, help="timed repeats of augment and train")
    args = parser.parse_args()
    if not args.data.exists():
        print(
            f"no dataset at {args.data}: give --data (the real bitmaps are ../shared/quickdraw/bitmap)", file=sys.stderr
        )
        return 2

    config = DataConfig(data=str(args.data))
    memory = load_or_build(config, stream="never")
    streamed = load_or_build(config, stream="always")
    cache_file = Path(streamed.x_train.path)
    x, y = memory.x_train, memory.y_train
    cores = os.cpu_count() or 1
    print(
        f"{args.data}: {len(y):,} training drawings at {x.shape[1]}x{x.shape[2]}; cache {cache_file} "
        f"({cache_file.stat().st_size / 1e6:.0f} MB); {cores} cores; torch {torch.__version__}\n"
    )
    sample = Batches(x, y, BATCH, shuffle=True, seed=0)
    # On the device the training step augments on (a GPU where there is one), as model.fit hands it the batch.
    aug_batches = [keras.ops.convert_to_tensor(sample[i][0]) for i in range(min(args.batches, len(sample)) // 3)]
    train_x, train_y = x[: BATCH * args.steps], y[: BATCH * args.steps]

    header = "| threads | read, memory | read, streamed exact (cold) | read, streamed chunks (cold) | augment |"
    header += "".join(f" train {r} |" for r in RECIPES)
    print(header + "\n|" + " ---: |" * (5 + len(RECIPES)), flush=True)
    headline: dict[str, float] = {}
    for threads in sorted({1, cores}):
        torch.set_num_threads(threads)
        rates = {
            "memory": read_rate(x, y, "exact", threads, args.batches, None),
            "exact": read_rate(streamed.x_train, y, "exact", threads, args.batches, cache_file),
            # The chunks order reads its windows one after another: one reader.
            "chunks": read_rate(streamed.x_train, y, "chunks", 1, args.batches, cache_file),
            "augment": augment_rate(aug_batches, args.rounds),
        }
        trains = {r: train_rate(r, train_x, train_y, args.rounds) for r in RECIPES}
        print(
            f"| {threads} | {rates['memory']:,.0f} | {rates['exact']:,.0f} | {rates['chunks']:,.0f} "
            f"| {rates['augment']:,.0f} |" + "".join(f" {trains[r]:,.0f} |" for r in RECIPES),
            flush=True,
        )
        # The slowest read (streamed from a cold disk), then the augmentation where the recipe has it.
        read = min(rates["exact"], rates["chunks"])
        for r in RECIPES:
            pipeline = read if not registry.get(r).augmentation else 1 / (1 / read + 1 / rates["augment"])
            headline[f"{r}_pipeline_over_train_{threads}t"] = pipeline / trains[r]
    print("\n" + " ".join(f"{k}={v:.1f}" for k, v in headline.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
