"""What one request may hold: every limit is a ``kerasketch serve`` option, with a default safe to expose.

A limit exists so that a request costs the service a bounded amount of memory
and time whatever its sender does; each default is far above what a person
drawing sends (a drawing on the page is a few hundred points) and far below
what would hurt a small machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ConfigError


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 4 * 1024 * 1024  # a phone photo of a doodle is 2-4 MB
    max_drawings: int = 64  # per request
    max_strokes: int = 256  # per drawing
    max_points: int = 20_000  # per drawing (stroke-3: rows)
    max_coordinate: float = 1_000_000.0  # |x|, |y| of raw screen coordinates
    max_image_pixels: int = 4_000_000  # width x height, checked from the header before decoding
    max_top: int = 50

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be a positive number, got {value!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: What each limit bounds, for ``kerasketch serve --help`` ("the limit of ...").
MEANING = {
    "max_body_bytes": "bytes in one request body (JSON or image), refused with 413 before they are read",
    "max_drawings": "drawings (or images) in one request",
    "max_strokes": "strokes in one drawing",
    "max_points": "points in one drawing (all its strokes), or rows of a stroke-3 drawing",
    "max_coordinate": "largest |x| or |y| of a point (raw coordinates, and the sums of stroke-3 offsets)",
    "max_image_pixels": "width x height of an image, read from its header before it is decoded (decompression bombs)",
    "max_top": "largest 'top' (classes per answer) a request may ask for",
}
