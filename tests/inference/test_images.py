"""Images of drawings become bitmaps like the official ones, whatever their size, polarity or line width."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kerasketch.data.rasterize import rasterize
from kerasketch.data.sources import NdjsonSource
from kerasketch.errors import DataError
from kerasketch.inference.images import image_file_to_bitmap, to_bitmap


@pytest.fixture(scope="module")
def cats(quickdraw: Path) -> list:
    source = NdjsonSource(quickdraw / "simplified" / "cat.ndjson")
    return source.drawings("cat", np.arange(12))


def mean_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def test_a_png_of_a_drawing_gives_the_rasterizer_bitmap(cats, tmp_path):
    """Dark strokes on white at 256x256, read back at 28: within a few grey levels of the strokes rendered at 28."""
    errors = []
    for i, (big, small) in enumerate(zip(rasterize(cats, 256), rasterize(cats, 28))):
        Image.fromarray(255 - big).save(tmp_path / f"{i}.png")
        errors.append(mean_error(image_file_to_bitmap(tmp_path / f"{i}.png", 28), small))
    assert np.mean(errors) < 5 and max(errors) < 10, errors
    # Light on dark, and a size the model was not trained at, read the same way.
    big = rasterize(cats[:1], 400)[0]
    Image.fromarray(big).save(tmp_path / "light.png")
    assert mean_error(image_file_to_bitmap(tmp_path / "light.png", 32), rasterize(cats[:1], 32)[0]) < 6


def test_off_centre_with_a_margin_is_cropped_and_centred(cats, tmp_path):
    big = rasterize(cats[:1], 256)[0]
    sheet = np.full((600, 900), 255, np.uint8)
    sheet[300:556, 40:296] = 255 - big
    Image.fromarray(sheet).save(tmp_path / "corner.jpg", quality=90)
    assert mean_error(image_file_to_bitmap(tmp_path / "corner.jpg", 28), rasterize(cats[:1], 28)[0]) < 8


def test_thin_lines_are_widened_to_the_official_width(cats):
    thin = rasterize(cats[:4], 1000, line_diameter=1.0).astype(np.float32) / 255  # about 3 px lines
    for ink, want in zip(thin, rasterize(cats[:4], 28)):
        assert mean_error(to_bitmap(ink, 28), want) < 6


def test_strokes_on_a_transparent_sheet_are_the_opaque_pixels(cats, tmp_path):
    alpha = rasterize(cats[:1], 256)[0]
    rgba = np.zeros((256, 256, 4), np.uint8)
    rgba[..., 3] = alpha  # black strokes on a transparent canvas: grey alone would see nothing
    Image.fromarray(rgba, "RGBA").save(tmp_path / "canvas.png")
    assert mean_error(image_file_to_bitmap(tmp_path / "canvas.png", 28), rasterize(cats[:1], 28)[0]) < 5


def test_a_blank_image_and_a_file_that_is_no_image_are_named(tmp_path):
    Image.new("L", (300, 200), 255).save(tmp_path / "blank.png")
    with pytest.raises(DataError, match=r"blank\.png: no drawing found"):
        image_file_to_bitmap(tmp_path / "blank.png", 28)
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(DataError, match=r"notes\.png: not a readable image"):
        image_file_to_bitmap(tmp_path / "notes.png", 28)
