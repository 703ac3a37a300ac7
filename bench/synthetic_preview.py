"""Render a grid of samples from the built-in synthetic set to a PNG, one row per class.

Usage: python bench/synthetic_preview.py OUT.png [--per-class 10] [--seed 0] [--size 28] [--zoom 3]

For looking at the synthetic shapes by eye; the images are the ones training
sees (same rasterizer and size), enlarged with nearest-neighbour so that
pixels stay visible.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from kerasketch.data.synthetic import SYNTHETIC_CLASSES, SYNTHETIC_NAME, generate

_LABEL_WIDTH = 90
_GAP = 2


def preview(out: Path, per_class: int, seed: int, size: int, zoom: int) -> None:
    images, labels, names = generate(per_class, seed=seed, size=size)
    cell = size * zoom
    width = _LABEL_WIDTH + per_class * (cell + _GAP)
    height = 20 + len(names) * (cell + _GAP)
    sheet = Image.new("L", (width, height), 60)
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 4), f"{SYNTHETIC_NAME}, seed {seed}, {size}x{size}", fill=255)
    for row, name in enumerate(names):
        y = 20 + row * (cell + _GAP)
        draw.text((4, y + cell // 2 - 6), name, fill=255)
        for col, image in enumerate(images[labels == row]):
            tile = Image.fromarray(np.ascontiguousarray(image)).resize((cell, cell), Image.NEAREST)
            sheet.paste(tile, (_LABEL_WIDTH + col * (cell + _GAP), y))
    sheet.save(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="PNG file to write")
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--zoom", type=int, default=3)
    args = parser.parse_args(argv)
    preview(args.out, args.per_class, args.seed, args.size, args.zoom)
    print(f"{len(SYNTHETIC_CLASSES)} classes x {args.per_class} written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
