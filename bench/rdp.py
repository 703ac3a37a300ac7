"""Raw-stroke simplification on hostile zig-zags and on the real raw drawings; prints its figures.

    python bench/rdp.py [--quickdraw ../shared/quickdraw]

A zig-zag whose every split peels off one corner was the worst case of the
previous RDP (5,000 points: 22 s; 100,000: never finished). Each case prints
its time and whether the drawing was simplified or skipped by the work bound.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from kerasketch.data.strokes import MAX_SIMPLIFY_WORK, TooCostly, from_xy_lists, simplify_raw


def zigzag(points: int) -> list[np.ndarray]:
    i = np.arange(points, dtype=float)
    return [np.column_stack((np.where(i % 2 == 0, 0.0, 255.0), i * 255 / points))]


def timed(drawing: list[np.ndarray]) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        kept = sum(len(s) for s in simplify_raw(drawing))
        outcome = f"simplified to {kept:,} points"
    except TooCostly as err:
        outcome = f"skipped: {err}"
    return time.perf_counter() - start, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quickdraw", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "quickdraw")
    args = parser.parse_args()
    print(f"work bound per drawing: {MAX_SIMPLIFY_WORK:,}")
    worst = 0.0
    for points in (1_000, 5_000, 20_000, 100_000):
        seconds, outcome = timed(zigzag(points))
        worst = max(worst, seconds)
        print(f"zig-zag of {points:>7,} points: {seconds:6.3f} s, {outcome}")
    raw = sorted((args.quickdraw / "raw").glob("*.ndjson"))
    if raw:
        drawings = [from_xy_lists(json.loads(ln)["drawing"]) for p in raw for ln in p.read_text().splitlines()]
        start = time.perf_counter()
        for d in drawings:
            simplify_raw(d)
        seconds = time.perf_counter() - start
        print(f"real raw drawings: {len(drawings):,} in {seconds:.2f} s ({len(drawings) / seconds:,.0f} drawings/s)")
    else:
        print(f"no raw drawings under {args.quickdraw}/raw: real-data figure skipped")
    print(f"worst_zigzag_s={worst:.3f}")


if __name__ == "__main__":
    main()
