"""Streamed batches from a cache larger than the page cache: read in turn against read ahead.

Writes a file of random 28x28 rows (``--gb``, default 12.7: about 16 million
drawings, more than this machine's page cache can hold beside everything
else), drops it from the page cache, and reads training batches of 64 rows
in the ``exact`` order through the real ``Batches`` over ``CachedRows``,
with a pause between batches standing in for the training step
(``--step-ms``). Two ways alternate, each on another epoch's order (so
neither finds the other's rows cached), with the file's pages dropped before
each: ``PREFETCH_BATCHES = 0`` (each batch's rows read when asked) and the
default (the kernel told of the next batches' rows while one "trains").
Only the time inside ``Batches.__getitem__`` counts.

    python bench/read_ahead.py                  # about 13 GB under bench/out, removed after
    python bench/read_ahead.py --gb 2 --batches 50
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kerasketch.data.cached_rows import CachedRows  # noqa: E402
from kerasketch.training import inputs  # noqa: E402

ROW = 28 * 28


def write(path: Path, gb: float) -> int:
    rows = int(gb * 1e9) // ROW
    rng = np.random.default_rng(0)
    chunk = (16 << 20) // ROW
    with open(path, "wb") as f:
        for lo in range(0, rows, chunk):
            f.write(rng.integers(0, 256, (min(chunk, rows - lo)) * ROW, dtype=np.uint8).tobytes())
        f.flush()
        os.fsync(f.fileno())
    return rows


def drop(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def ms_per_batch(rows: CachedRows, ahead: int, epoch: int, batches: int, step_s: float) -> float:
    inputs.PREFETCH_BATCHES = ahead
    data = inputs.Batches(rows, np.zeros(len(rows), np.int32), 64, shuffle=True, seed=0, start_epoch=epoch)
    spent = 0.0
    for i in range(batches):
        t = time.perf_counter()
        data[i]
        spent += time.perf_counter() - t
        time.sleep(step_s)
    return spent / batches * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=12.7, help="size of the file of rows")
    parser.add_argument("--batches", type=int, default=100, help="batches read per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--step-ms", type=float, default=100.0, help="the pause standing in for a training step")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "read_ahead")
    args = parser.parse_args()
    if not hasattr(os, "posix_fadvise"):
        sys.exit("this platform has no posix_fadvise: nothing to compare")
    args.out.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.out).free
    if args.gb * 1e9 + (1 << 30) > free:
        sys.exit(f"{args.gb} GB do not fit in the {free / 1e9:.1f} GB free under {args.out}: give --gb or --out")
    path = args.out / "rows.bin"
    default = inputs.PREFETCH_BATCHES
    try:
        t = time.perf_counter()
        n = write(path, args.gb)
        print(f"{n:,} rows, {path.stat().st_size / 1e9:.1f} GB written in {time.perf_counter() - t:.0f} s")
        rows = CachedRows(path, 0, n, 28)
        results: dict[int, list[float]] = {0: [], default: []}
        epoch = 0
        for _ in range(args.rounds):
            for ahead in results:
                drop(path)
                results[ahead].append(ms_per_batch(rows, ahead, epoch, args.batches, args.step_ms / 1000))
                epoch += 1
        rows.close()
    finally:
        inputs.PREFETCH_BATCHES = default
        path.unlink(missing_ok=True)
    print(f"\nms inside __getitem__ per batch of 64, {args.step_ms:.0f} ms pause between batches, {args.rounds} rounds")
    print("| batches advised ahead | median | min | max |\n| ---: | ---: | ---: | ---: |")
    for ahead, ms in results.items():
        print(f"| {ahead} | {statistics.median(ms):.2f} | {min(ms):.2f} | {max(ms):.2f} |")
    print(f"\nread_in_turn_over_read_ahead={statistics.median(results[0]) / statistics.median(results[default]):.1f}")


if __name__ == "__main__":
    main()
