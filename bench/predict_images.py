"""kerasketch predict on real strokes, and on the same drawings as 256x256 PNG files.

Usage: python bench/predict_images.py RUN [--simplified ../shared/quickdraw/simplified] [--out DIR]

For every simplified drawing of the classes the run knows: the run's
prediction from the strokes (rendered at the model's size by the
rasterizer), and from a PNG of the same drawing rendered at 256x256 with
dark strokes on white and read back through the image preprocessing. Prints
the accuracy of both and how often the two predictions agree.

Note: for 31 of the 37 sample classes, the first 25 simplified lines are the
first 25 bitmap rows (the shared README's pairs), so a run trained on the
bitmaps may have trained on some of them; the six others (candle, car,
guitar, octopus, snowman, umbrella) are printed apart as drawings it never saw.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from kerasketch.data.rasterize import rasterize
from kerasketch.data.sources import NdjsonSource
from kerasketch.inference.model import load_trained
from kerasketch.inference.predict import Tally, predictions

UNPAIRED = {"candle", "car", "guitar", "octopus", "snowman", "umbrella"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--simplified", type=Path, default=Path("../shared/quickdraw/simplified"))
    parser.add_argument("--out", type=Path, help="keep the PNG files here (default: a temporary folder)")
    args = parser.parse_args()

    trained = load_trained(args.run)
    files = [args.simplified / f"{c}.ndjson" for c in trained.classes if (args.simplified / f"{c}.ndjson").is_file()]
    out = args.out or Path(tempfile.mkdtemp(prefix="kerasketch-png-"))
    out.mkdir(parents=True, exist_ok=True)
    pngs = []
    for f in files:
        source = NdjsonSource(f)
        for cls, n in source.counts.items():
            for i, img in enumerate(rasterize(source.drawings(cls, np.arange(n)), 256)):
                pngs.append(out / f"{cls}_{i:02d}.png")
                Image.fromarray(255 - img).save(pngs[-1])

    started = time.perf_counter()
    from_strokes, strokes_tally = [], Tally(3)
    for row in predictions(trained, files, 3, strokes_tally):
        from_strokes.append(row)
    strokes_s = time.perf_counter() - started
    started = time.perf_counter()
    from_png, png_tally = [], Tally(3)
    for row in predictions(trained, pngs, 3, png_tally):
        from_png.append(row)
    png_s = time.perf_counter() - started

    agree = [a["top"][0]["class"] == b["top"][0]["class"] for a, b in zip(from_strokes, from_png)]
    unseen = [r["top"][0]["class"] == r["class"] for r in from_strokes if r["class"] in UNPAIRED]
    s, p = strokes_tally.summary(), png_tally.summary()
    print(
        f"run {trained.run_dir.name}: {len(trained.classes)} classes; {len(from_strokes)} simplified drawings of them"
    )
    print(f"strokes: accuracy {s['accuracy']:.4f}, top-3 {s['top3_accuracy']:.4f} ({strokes_s:.1f} s)")
    if unseen:
        print(
            f"strokes of the {len(UNPAIRED & set(trained.classes))} classes whose lines are not bitmap rows: "
            f"accuracy {np.mean(unseen):.4f} over {len(unseen)}"
        )
    print(f"256x256 PNG, dark on white: accuracy {p['accuracy']:.4f}, top-3 {p['top3_accuracy']:.4f} ({png_s:.1f} s)")
    print(f"same top-1 from the PNG as from the strokes: {np.mean(agree):.4f} ({sum(agree)} of {len(agree)})")
    print(f"png_agreement={np.mean(agree):.4f} strokes_accuracy={s['accuracy']:.4f} png_accuracy={p['accuracy']:.4f}")


if __name__ == "__main__":
    main()
