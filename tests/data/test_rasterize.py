"""The rasterizer against the official bitmaps: the 775 (strokes, bitmap) pairs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kerasketch.data.rasterize import rasterize
from kerasketch.data.strokes import from_xy_lists, simplify_raw


def _pairs(sample, kind="simplified"):
    quickdraw = sample.root
    drawings, official = [], []
    for cls in sample.paired_classes:
        lines = (quickdraw / "simplified" / f"{cls}.ndjson").read_text().splitlines()[:25]
        bitmap = np.load(quickdraw / "bitmap" / f"{cls}.npy", mmap_mode="r")
        if kind == "simplified":
            drawings += [from_xy_lists(json.loads(ln)["drawing"]) for ln in lines]
            official.append(np.asarray(bitmap[:25]))
        else:  # the raw drawing with the same key_id, normalised by our pipeline
            raw = {}
            raw_file = quickdraw / "raw" / f"{cls}.ndjson"
            for ln in raw_file.read_text().splitlines() if raw_file.exists() else []:
                obj = json.loads(ln)
                raw[obj["key_id"]] = obj["drawing"]
            for i, ln in enumerate(lines):
                key = json.loads(ln)["key_id"]
                if key in raw:
                    drawings.append(simplify_raw(from_xy_lists(raw[key])))
                    official.append(np.asarray(bitmap[i : i + 1]))
    return drawings, np.concatenate([o.reshape(-1, 784) for o in official]).astype(np.float64)


def test_matches_official_bitmaps_within_two_grey_levels(quickdraw_sample):
    drawings, official = _pairs(quickdraw_sample)
    pairs = 25 * len(quickdraw_sample.paired_classes)  # 775 in ../shared, 225 in the fixture
    assert len(drawings) == pairs
    mine = rasterize(drawings, 28).reshape(pairs, -1).astype(np.float64)
    mae = np.abs(mine - official).mean()
    assert mae <= 2.0, f"mean absolute error {mae:.3f} grey levels"
    # Each drawing's nearest official row is its own.
    dist = (mine**2).sum(1)[:, None] + (official**2).sum(1)[None, :] - 2.0 * mine @ official.T
    assert (dist.argmin(axis=1) == np.arange(pairs)).all()


def test_raw_strokes_normalised_like_the_published_pipeline(quickdraw_sample):
    drawings, official = _pairs(quickdraw_sample, kind="raw")
    assert len(drawings) == quickdraw_sample.raw_pairs  # the paired drawings that raw/ holds too
    mine = rasterize(drawings, 28).reshape(len(drawings), -1).astype(np.float64)
    assert np.abs(mine - official).mean() <= 2.0


@pytest.mark.parametrize("size", [28, 32, 64])
def test_any_size_keeps_the_drawing_centred(size):
    square = [np.array([[0, 0], [255, 0], [255, 255], [0, 255], [0, 0]], dtype=float)]
    img = rasterize([square], size)[0]
    assert img.shape == (size, size) and img.dtype == np.uint8
    ys, xs = np.nonzero(img > 127)
    assert abs(xs.min() - (size - 1 - xs.max())) <= 1 and abs(ys.min() - (size - 1 - ys.max())) <= 1
    # The official layout puts the line's centre 16 + 8 units inside the 304-unit
    # frame, so its ink starts after the 16-unit padding.
    pad, centre = 16 / 304 * size, 24 / 304 * size
    assert pad - 1 <= xs.min() <= centre
    assert img.max() >= 250


def test_dot_stroke_and_batch_independence():
    dot = [np.array([[100.0, 100.0]])]
    line = [np.array([[0.0, 0.0], [255.0, 255.0]])]
    both = rasterize([dot, line], 28)
    assert both[0].sum() > 0, "a one-point stroke is drawn as a round dot"
    assert np.array_equal(both[1], rasterize([line], 28)[0])


def test_rejects_an_empty_drawing():
    with pytest.raises(ValueError, match="at least one stroke"):
        rasterize([[]], 28)
