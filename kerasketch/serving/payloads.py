"""Request bodies to model inputs, checked against the limits before any work is done.

A JSON body names one drawing or a list of them::

    {"drawing": [[[x0, x1, ...], [y0, y1, ...]], ...], "format": "simplified", "top": 5}
    {"drawings": [DRAWING, ...], "format": "raw"}

``format`` is how the strokes are written (default ``simplified``):

* ``simplified``: the ndjson files' ``drawing`` field, coordinates 0-255 aligned
  to the top-left. A line of an ndjson file can be posted as it is.
* ``raw``: the raw files' ``drawing`` field (or any screen coordinates, with or
  without a third list of timestamps): normalised as the dataset normalised its
  raw drawings (:func:`kerasketch.data.strokes.simplify_raw`).
* ``stroke3``: sketch-rnn's rows ``[dx, dy, pen_lifted]``.

Each is rendered exactly as ``kerasketch predict`` renders a drawing file
(:mod:`kerasketch.data.sources`): a simplified drawing whose coordinates stray
past 0-255 is aligned and scaled first, a drawing whose strokes carry
timestamps is raw. An image (PNG, JPEG, ...) comes as the whole body with its
``Content-Type`` or as ``image`` parts of a multipart form, and is read like
``predict``'s image files (:mod:`kerasketch.inference.images`).

Everything wrong with a body is a :class:`BadRequest` with an HTTP status, a
short code and a message naming the problem.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.rasterize import rasterize
from ..data.strokes import SPAN, Drawing, TooCostly, align_and_scale, from_stroke3, from_xy_lists, simplify_raw
from ..errors import DataError
from .limits import Limits

FORMATS = ("simplified", "raw", "stroke3")


class BadRequest(Exception):
    """A request the service refuses: ``status`` (4xx), ``code`` (for programs) and a message (for people)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Parsed:
    """What a request asks for: bitmaps (k, S, S) uint8, and how many classes to answer with."""

    images: np.ndarray
    top: int | None
    names: list[str | None]


def _reject_constant(name: str) -> float:
    raise BadRequest(400, "not_a_number", f"the body holds {name}, which is not a number JSON allows")


def parse_json(body: bytes, size: int, limits: Limits) -> Parsed:
    """The drawings of a JSON body, rendered at ``size``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadRequest(400, "not_utf8", f"the body is not UTF-8 text (byte {err.start} is not valid UTF-8)") from None
    try:
        request = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise BadRequest(400, "too_deep", "the body's JSON is nested too deeply to be a drawing") from None
    except ValueError as err:  # JSONDecodeError, and int() of more than 4300 digits
        raise BadRequest(
            400, "malformed_json", f"the body is not valid JSON ({str(err).splitlines()[0][:200]})"
        ) from None
    if not isinstance(request, dict):
        raise BadRequest(422, "not_an_object", 'the body must be a JSON object with "drawing" or "drawings"')
    fmt = request.get("format", "simplified")
    if fmt not in FORMATS:
        raise BadRequest(422, "unknown_format", f'"format" must be one of {", ".join(FORMATS)}, got {_shown(fmt)}')
    if ("drawing" in request) == ("drawings" in request):
        raise BadRequest(422, "no_drawing", 'give either "drawing" (one drawing) or "drawings" (a list of them)')
    if "drawing" in request:
        drawings = [request["drawing"]]
    else:
        drawings = request["drawings"]
        if not isinstance(drawings, list) or not drawings:
            raise BadRequest(422, "no_drawing", '"drawings" must be a non-empty list of drawings')
        if len(drawings) > limits.max_drawings:
            raise BadRequest(
                413, "too_many_drawings", f"{len(drawings)} drawings in one request; the limit is {limits.max_drawings}"
            )
    top = parse_top(request.get("top"), limits)
    rendered = [_drawing(d, fmt, i, len(drawings), limits) for i, d in enumerate(drawings)]
    return Parsed(rasterize(rendered, size), top, [None] * len(rendered))


def parse_top(value: Any, limits: Limits) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limits.max_top:
        raise BadRequest(
            422, "bad_top", f'"top" must be a whole number from 1 to {limits.max_top}, got {_shown(value)}'
        )
    return value


def _shown(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _drawing(value: Any, fmt: str, index: int, count: int, limits: Limits) -> Drawing:
    where = "the drawing" if count == 1 else f"drawing {index}"

    def bad(code: str, message: str, status: int = 422) -> BadRequest:
        return BadRequest(status, code, f"{where} {message}")

    if not isinstance(value, list) or not value:
        raise bad(
            "bad_drawing", "must be a non-empty list of strokes" + (" (rows [dx, dy, pen])" if fmt == "stroke3" else "")
        )
    if fmt == "stroke3":
        if len(value) > limits.max_points:
            raise bad("too_many_points", f"has {len(value)} rows; the limit is {limits.max_points}", 413)
        rows = [_numbers(row, 3, bad) for row in value]
        offsets = np.array(rows, dtype=np.float64)
        _check_range(np.cumsum(offsets[:, :2], axis=0), limits, bad)  # the points the offsets add up to
        drawing = align_and_scale(from_stroke3(offsets))
        return [np.round(s) for s in drawing]
    if len(value) > limits.max_strokes:
        raise bad("too_many_strokes", f"has {len(value)} strokes; the limit is {limits.max_strokes}", 413)
    points = 0
    strokes = []
    for stroke in value:
        if not isinstance(stroke, list) or len(stroke) not in (2, 3) or not all(isinstance(a, list) for a in stroke):
            raise bad("bad_stroke", "has a stroke that is not [[x...], [y...]] (or [[x...], [y...], [t...]])")
        points += len(stroke[0])
        if points > limits.max_points:
            raise bad("too_many_points", f"has more than {limits.max_points} points; that is the limit", 413)
        xs, ys = _numbers(stroke[0], None, bad), _numbers(stroke[1], None, bad)
        strokes.append([xs, ys])
    try:
        drawing = from_xy_lists(strokes)
    except ValueError as err:
        raise bad("bad_drawing", str(err)) from None
    _check_range(np.concatenate(drawing), limits, bad)
    if fmt == "raw" or len(value[0]) == 3:  # timestamps: a raw drawing, as the ndjson reader decides
        try:
            return simplify_raw(drawing)
        except TooCostly:
            raise bad("too_costly", "is too costly to simplify (too many points on too long a path)", 413) from None
    if any(float(s.min()) < -1.0 or float(s.max()) > SPAN + 1.0 for s in drawing):
        return align_and_scale(drawing)  # as the ndjson reader does with a simplified drawing out of its range
    return drawing


def _numbers(value: Any, length: int | None, bad) -> list[float]:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        shape = f"a list of {length} numbers" if length else "a list of numbers"
        raise bad("bad_stroke", f"has a row or coordinate list that is not {shape}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise bad("not_a_number", f"holds {_shown(v)} where a number belongs")
        if isinstance(v, float) and not math.isfinite(v):
            raise bad("not_finite", "holds a coordinate that is not a finite number (too large for a float)")
    return value


def _check_range(points: np.ndarray, limits: Limits, bad) -> None:
    if not np.isfinite(points).all():
        raise bad("not_finite", "holds a coordinate that is not a finite number")
    largest = float(np.abs(points).max()) if points.size else 0.0
    if largest > limits.max_coordinate:
        raise bad(
            "coordinate_too_large", f"holds a coordinate of {largest:.3g}; the limit is {limits.max_coordinate:g}"
        )


def parse_images(files: Sequence[tuple[str | None, bytes]], size: int, limits: Limits) -> Parsed:
    """Image files (name, bytes) as bitmaps at ``size``, read like ``kerasketch predict``'s images."""
    from ..inference.images import ImageTooLarge, read_image, to_bitmap

    if not files:
        raise BadRequest(422, "no_image", 'the form holds no "image" file')
    if len(files) > limits.max_drawings:
        raise BadRequest(413, "too_many_drawings", f"{len(files)} images; the limit is {limits.max_drawings}")
    out = []
    for i, (name, data) in enumerate(files):
        shown = name or ("the image" if len(files) == 1 else f"image {i}")
        try:
            ink = read_image(io.BytesIO(data), name=shown, max_pixels=limits.max_image_pixels)
            out.append(to_bitmap(ink, size, name=shown))
        except ImageTooLarge as err:
            raise BadRequest(413, "image_too_large", err.message) from None
        except DataError as err:
            raise BadRequest(422, "bad_image", err.message) from None
    return Parsed(np.stack(out), None, [name for name, _ in files])
