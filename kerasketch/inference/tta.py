"""``--tta``: test-time augmentation, the softmax probabilities averaged over a fixed set of views of each drawing.

The views (:data:`VIEWS`) are the drawing itself, moved by one pixel left,
right, up and down, and scaled to 0.9 and 1.1 of its size about the image's
centre: the small changes of position and size that the rasterisation's
framing leaves between drawings of one class. Each view is made with Keras'
``keras.ops.image.affine_transform`` (bilinear, the background filled with
black, as the bitmaps are), a batch at a time; an integer shift moves pixels
exactly. Every view goes through the model a batch at a time, and the
probabilities (the softmax over every logit, cut to the classes, as
:func:`~kerasketch.inference.model.softmax_classes` scores one model) are
averaged with equal weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class View:
    """A drawing moved by (``dy``, ``dx``) pixels (down, right) and scaled by ``scale`` about the image's centre."""

    name: str
    dy: float = 0.0
    dx: float = 0.0
    scale: float = 1.0

    @property
    def identity(self) -> bool:
        return self.dy == 0 and self.dx == 0 and self.scale == 1


IDENTITY = View("identity")
#: ``--tta``'s views, in order.
VIEWS: tuple[View, ...] = (
    IDENTITY,
    View("right 1 px", dx=1),
    View("left 1 px", dx=-1),
    View("down 1 px", dy=1),
    View("up 1 px", dy=-1),
    View("scale 0.9", scale=0.9),
    View("scale 1.1", scale=1.1),
)


def transform(view: View, size: int) -> list[float]:
    """``view`` as the 8 numbers of ``affine_transform``: each output pixel (x, y) reads the input at
    ``(c + (x - c - dx) / scale, c + (y - c - dy) / scale)``, ``c`` the centre."""
    c = (size - 1) / 2
    s = view.scale
    return [1 / s, 0.0, c - c / s - view.dx / s, 0.0, 1 / s, c - c / s - view.dy / s, 0.0, 0.0]


def apply(view: View, images: np.ndarray) -> np.ndarray:
    """``images`` (k, S, S), grey levels in any range, seen through ``view``: float32, same shape and range."""
    images = np.asarray(images)
    if view.identity:
        return images.astype(np.float32)
    import keras

    size = images.shape[-1]
    moved = keras.ops.image.affine_transform(
        images.astype(np.float32)[..., None],
        np.tile(np.asarray(transform(view, size), np.float32), (len(images), 1)),  # one row per image
        interpolation="bilinear",
        fill_mode="constant",
        fill_value=0,
        data_format="channels_last",
    )
    return np.asarray(keras.ops.convert_to_numpy(moved), dtype=np.float32)[..., 0]


def averaged_probabilities(
    probabilities: Callable[[np.ndarray], np.ndarray], images: np.ndarray, views: Sequence[View] = VIEWS
) -> np.ndarray:
    """The mean over ``views`` of ``probabilities`` (of (k, S, S) images, as uint8 bitmaps are read) of each view."""
    total: np.ndarray | None = None
    for view in views:
        p = np.asarray(probabilities(apply(view, images)), dtype=np.float64)
        total = p if total is None else total + p
    assert total is not None, "at least one view"
    return total / len(views)
