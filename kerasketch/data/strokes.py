"""Drawings as strokes, and the dataset's published normalisation of raw strokes.

A *drawing* is a list of strokes; a stroke is a float array of shape (n, 2)
holding (x, y) points. The "simplified" convention, which the rasterizer
expects, has the drawing aligned to the top-left (minimum 0 on both axes) and
scaled uniformly so that its longer side spans 0-255.

The raw files carry screen coordinates and timestamps. The Quick, Draw!
maintainers describe how they made the simplified files from them:
align to the top-left, scale uniformly to a maximum of 255, resample every
stroke at 1-pixel spacing, simplify it with Ramer-Douglas-Peucker (epsilon
2.0). :func:`simplify_raw` does those four steps; it then rounds to integers,
as the simplified files hold integer coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Drawing = list[np.ndarray]

#: The span of the longer side of a normalised drawing.
SPAN = 255.0


def from_xy_lists(strokes: Sequence[Sequence[Sequence[float]]]) -> Drawing:
    """Strokes as the ndjson files hold them, ``[[x0, x1, ...], [y0, y1, ...], (t...)]``.

    Timestamps (raw files) are dropped. Raises ``ValueError`` on a malformed stroke.
    """
    drawing: Drawing = []
    for stroke in strokes:
        if len(stroke) < 2:
            raise ValueError("a stroke needs x and y lists")
        xs, ys = stroke[0], stroke[1]
        if len(xs) != len(ys):
            raise ValueError(f"a stroke has {len(xs)} x values but {len(ys)} y values")
        if len(xs) == 0:
            continue
        drawing.append(np.column_stack((np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))))
    if not drawing:
        raise ValueError("the drawing has no strokes")
    return drawing


def from_stroke3(offsets: np.ndarray) -> Drawing:
    """sketch-rnn's stroke-3 format: rows ``[dx, dy, pen_lifted]``.

    Offsets are summed into absolute points; ``pen_lifted == 1`` ends the
    stroke at that point. The first offset is taken from the origin.
    """
    offsets = np.asarray(offsets)
    if offsets.ndim != 2 or offsets.shape[1] != 3 or len(offsets) == 0:
        raise ValueError(f"stroke-3 data must have shape (n, 3), got {offsets.shape}")
    points = np.cumsum(offsets[:, :2].astype(np.float64), axis=0)
    ends = np.flatnonzero(offsets[:, 2] > 0) + 1
    if len(ends) == 0 or ends[-1] != len(points):
        ends = np.append(ends, len(points))
    starts = np.concatenate(([0], ends[:-1]))
    return [points[s:e] for s, e in zip(starts, ends) if e > s]


def align_and_scale(drawing: Drawing, span: float = SPAN) -> Drawing:
    """Align to the top-left and scale uniformly so the longer side spans ``span``.

    A drawing that is a single point stays at the origin.
    """
    allpts = np.concatenate(drawing)
    lo = allpts.min(axis=0)
    extent = float((allpts.max(axis=0) - lo).max())
    scale = span / extent if extent > 0 else 1.0
    return [(s - lo) * scale for s in drawing]


def resample(stroke: np.ndarray, spacing: float = 1.0) -> np.ndarray:
    """Points every ``spacing`` units of arc length along the polyline, ends kept."""
    if len(stroke) < 2:
        return stroke
    seg = np.hypot(*np.diff(stroke, axis=0).T)
    arc = np.concatenate(([0.0], np.cumsum(seg)))
    total = arc[-1]
    if total == 0:
        return stroke[:1]
    at = np.arange(0.0, total, spacing)
    if total - at[-1] > 1e-9:
        at = np.append(at, total)
    return np.column_stack((np.interp(at, arc, stroke[:, 0]), np.interp(at, arc, stroke[:, 1])))


def rdp(points: np.ndarray, epsilon: float) -> np.ndarray:
    """Ramer-Douglas-Peucker: keep the points farther than ``epsilon`` from the chord.

    Distances are to the infinite line through the chord's ends (to the first
    point where the ends coincide), as the reference ``rdp`` package does.
    Iterative, so long raw strokes cannot hit the recursion limit.
    """
    n = len(points)
    if n < 3:
        return points
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        a, b = points[first], points[last]
        inner = points[first + 1 : last]
        d = b - a
        norm = np.hypot(d[0], d[1])
        if norm == 0:
            dist = np.hypot(*(inner - a).T)
        else:
            dist = np.abs(d[0] * (inner[:, 1] - a[1]) - d[1] * (inner[:, 0] - a[0])) / norm
        i = int(np.argmax(dist))
        if dist[i] > epsilon:
            mid = first + 1 + i
            keep[mid] = True
            stack.append((first, mid))
            stack.append((mid, last))
    return points[keep]


def simplify_raw(drawing: Drawing, epsilon: float = 2.0) -> Drawing:
    """The published raw-to-simplified pipeline (see the module docstring)."""
    aligned = align_and_scale(drawing)
    return [np.round(rdp(resample(s, 1.0), epsilon)) for s in aligned]
