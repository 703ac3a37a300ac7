"""Image files to model inputs, the way the official bitmaps were made.

The official 28x28 bitmaps are strokes drawn white on black, the drawing
scaled so its longer side spans 255 of a 256 square, centred, with a padding
of 16 and a line diameter of 16 around it, and the whole ``256 + 2*16 + 16``
square scaled onto 28x28 (:mod:`kerasketch.data.rasterize`). A photo or a
screenshot of a doodle becomes such a bitmap in five steps:

1. greyscale; where the image has transparency, the opaque pixels are the ink
   (a canvas export draws on a transparent sheet, in any colour);
2. strokes bright on black: the background is the median of the image's
   border, and an image whose border is light is inverted;
3. the background level is taken away and the contrast stretched, so a grey
   photo of paper and a clean screenshot look alike;
4. cropped to the ink, padded to a centred square with the official margins;
   a drawing whose lines are much thinner than the official lines (a pen on
   paper, a 1-pixel line in a screenshot) has its lines widened to their width;
5. resized to the model's size with area averaging, which is what the
   anti-aliased rendering amounts to.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..data.rasterize import LINE_DIAMETER, ORIGINAL_SIDE, PADDING
from ..errors import DataError

#: Suffixes read as images (what Pillow reads and people save doodles as).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")

# Ink is what stands this far above the background after the contrast stretch (of 1).
_INK = 0.25
# Of the official square, the strokes' centre lines span 255 units, their ink 255 + 16.
_CENTRE_SPAN = (ORIGINAL_SIDE - 1) / (ORIGINAL_SIDE + 2 * PADDING + LINE_DIAMETER)
_INK_SPAN = (ORIGINAL_SIDE - 1 + LINE_DIAMETER) / (ORIGINAL_SIDE + 2 * PADDING + LINE_DIAMETER)
_LINE_SHARE = LINE_DIAMETER / (ORIGINAL_SIDE + 2 * PADDING + LINE_DIAMETER)
# Of the ink's contrast, what lies below this share is taken for noise.
_NOISE = 0.1
# Lines thinner than this share of the official width are widened to it.
_THIN = 0.7


class ImageTooLarge(DataError):
    """An image with more pixels than the caller allows, refused before it was decoded."""


def read_image(path: Path | BinaryIO, *, name: str | None = None, max_pixels: int | None = None) -> np.ndarray:
    """The image at ``path`` (or in an open binary file) as greyscale ink in [0, 1], bright on black.

    A clear error if it is none. With ``max_pixels``, an image whose header
    promises more pixels is refused before any of it is decoded (a
    decompression bomb is a small file that decodes to gigabytes).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    shown = name or str(path)
    try:
        with Image.open(path) as opened:
            width, height = opened.size
            if max_pixels is not None and width * height > max_pixels:
                raise ImageTooLarge(
                    f"{shown}: {width} x {height} pixels is more than the limit of {max_pixels:,} pixels",
                    "scale the image down; a doodle needs a few hundred pixels a side",
                )
            img = ImageOps.exif_transpose(opened)  # a phone photo is stored sideways with a rotation tag
            img.load()
    except Image.DecompressionBombError as err:  # Pillow's own ceiling, past any max_pixels
        raise ImageTooLarge(
            f"{shown}: {err}", "scale the image down; a doodle needs a few hundred pixels a side"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise DataError(
            f"{shown}: not a readable image ({type(err).__name__}: {(str(err).splitlines() or [''])[0][:200]})",
            "give PNG or JPEG images of drawings, or drawing files (.ndjson, .npy, .npz)",
        ) from None
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        alpha = np.asarray(img.convert("RGBA"), dtype=np.float32)[..., 3] / 255.0
        if alpha.min() < 0.5:  # a transparent sheet: what is painted on it is the drawing
            return alpha
    grey = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    border = np.concatenate((grey[0], grey[-1], grey[:, 0], grey[:, -1]))
    return 1.0 - grey if np.median(border) > 0.5 else grey


def to_bitmap(ink: np.ndarray, size: int, *, name: str = "the image") -> np.ndarray:
    """Ink in [0, 1] (bright on black, any size) to a (size, size) uint8 bitmap like the official ones."""
    from PIL import Image

    border = np.concatenate((ink[0], ink[-1], ink[:, 0], ink[:, -1]))
    background = float(np.median(border))
    peak = float(np.percentile(ink, 99.9)) if ink.size > 1000 else float(ink.max())
    if peak - background < 0.1:
        raise DataError(f"{name}: no drawing found (the image is blank)", "give an image with visible strokes")
    # Paper grain, sensor noise and JPEG ringing sit just above the background: the stretch starts past them.
    floor = background + _NOISE * (peak - background)
    ink = _crop(np.clip((ink - floor) / (peak - floor), 0.0, 1.0))
    width = _line_width(ink > _INK)
    # The strokes' centre lines span 255/304 of the official square, whatever the lines' width.
    line = _LINE_SHARE * (max(ink.shape) - width) / _CENTRE_SPAN
    if width < _THIN * line:
        ink = _crop(_widen(ink, (line - width) / 2.0))
    # Lines of about the official width: the ink's extent frames the drawing
    # (the width estimate errs by a fifth, the extent does not).
    side = max(round(max(ink.shape) / _INK_SPAN), max(ink.shape) + 2)
    square = np.zeros((side, side), np.float32)
    top, left = (side - ink.shape[0]) // 2, (side - ink.shape[1]) // 2
    square[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    small = Image.fromarray(square, mode="F").resize((size, size), Image.Resampling.BOX)
    return np.rint(np.clip(np.asarray(small), 0.0, 1.0) * 255.0).astype(np.uint8)


def _crop(ink: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero((ink > _INK).any(axis=1))
    cols = np.flatnonzero((ink > _INK).any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _line_width(mask: np.ndarray) -> float:
    """About twice the ink's area over its outline: a stroke of width w and length l has area w*l, outline 2*l."""
    from scipy import ndimage  # scikit-learn depends on SciPy

    outline = mask & ~ndimage.binary_erosion(mask)
    return 2.0 * float(mask.sum()) / max(int(outline.sum()), 1)


def _widen(ink: np.ndarray, grow: float) -> np.ndarray:
    """Lines grown by ``grow`` pixels on each side, with the rasterizer's coverage ``clip(r + 0.5 - distance, 0, 1)``."""
    from scipy import ndimage

    pad = int(np.ceil(grow)) + 1
    mask = np.pad(ink > _INK, pad)
    distance = ndimage.distance_transform_edt(~mask)
    grown = np.clip(grow + 0.5 - distance, 0.0, 1.0).astype(np.float32)
    return np.maximum(grown, np.pad(ink, pad))


def image_file_to_bitmap(path: Path, size: int) -> np.ndarray:
    return to_bitmap(read_image(path), size, name=str(path))
