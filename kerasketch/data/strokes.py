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
            raise ValueError("has a stroke without x and y lists")
        xs = np.asarray(stroke[0], dtype=np.float64)
        ys = np.asarray(stroke[1], dtype=np.float64)
        if xs.ndim != 1 or ys.ndim != 1:
            raise ValueError("has a stroke whose x or y values are not a flat list of numbers")
        if len(xs) != len(ys):
            raise ValueError(f"has a stroke with {len(xs)} x values but {len(ys)} y values")
        if len(xs) == 0:
            continue
        if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
            raise ValueError("holds a coordinate that is not a finite number (NaN or infinite)")
        drawing.append(np.column_stack((xs, ys)))
    if not drawing:
        raise ValueError("has no strokes")
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


#: The most work one raw drawing may cost to simplify, in points looked at
#: (resampled points, distances computed, and a fixed charge per split): about
#: a tenth of a second. The costliest of the 9,570 real raw drawings of the
#: sample costs 213,000, the median 10,000; a hostile zig-zag reaches the bound
#: quickly and is skipped (and counted) instead of hanging.
MAX_SIMPLIFY_WORK = 5_000_000
# Points looked at per split, on top of its distances: the cost of a numpy step.
_SPLIT_COST = 64
# Larger than the rounding error of a distance (values below 1,000, float64).
_NOISE = 1e-9


class TooCostly(ValueError):
    """A drawing whose simplification would cost more than its work bound."""


def resample(stroke: np.ndarray, spacing: float = 1.0) -> np.ndarray:
    """Points every ``spacing`` units of arc length along the polyline, ends kept."""
    return _resample_with_runs(stroke, spacing)[0]


def _resample_with_runs(stroke: np.ndarray, spacing: float = 1.0) -> tuple[np.ndarray, np.ndarray | None]:
    """``resample`` and where its runs of collinear points begin (points on one input segment)."""
    if len(stroke) < 2:
        return stroke, None
    seg = np.hypot(*np.diff(stroke, axis=0).T)
    arc = np.concatenate(([0.0], np.cumsum(seg)))
    total = arc[-1]
    if total == 0:
        return stroke[:1], None
    at = np.arange(0.0, total, spacing)
    if total - at[-1] > 1e-9:
        at = np.append(at, total)
    points = np.column_stack((np.interp(at, arc, stroke[:, 0]), np.interp(at, arc, stroke[:, 1])))
    segment = np.searchsorted(arc, at, side="right")
    return points, np.concatenate(([0], np.flatnonzero(np.diff(segment)) + 1))


def rdp(points: np.ndarray, epsilon: float, runs: np.ndarray | None = None, max_work: float = np.inf) -> np.ndarray:
    """Ramer-Douglas-Peucker: keep the points farther than ``epsilon`` from the chord.

    Distances are to the infinite line through the chord's ends (to the first
    point where the ends coincide), as the reference ``rdp`` package does;
    ties go to the first point. Iterative, so long strokes cannot hit the
    recursion limit.

    ``runs``: sorted start indices of runs of collinear points (``resample``'s
    points between two input points). A distance to a line is affine along a
    run, so a run's farthest point is one of its ends unless the run is
    parallel to the chord: only the ends are looked at, and parallel runs in
    full. The result is the same as looking at every point (rounding is
    allowed for); a split costs the number of runs instead of points, which
    makes a long zig-zag, where every split peels off one corner, linear in
    its points times its corners rather than quadratic in its points.

    Raises :class:`TooCostly` once more than ``max_work`` points were looked at.
    """
    return _rdp(points, epsilon, runs, max_work)[0]


def _rdp(points: np.ndarray, epsilon: float, runs: np.ndarray | None, max_work: float) -> tuple[np.ndarray, int]:
    """``rdp`` and the work it took."""
    n = len(points)
    if n < 3:
        return points, 0
    starts = np.arange(n) if runs is None else np.asarray(runs, dtype=np.int64)
    ends = np.append(starts[1:], n) - 1  # last point of each run
    run_of = np.repeat(np.arange(len(starts)), ends - starts + 1)
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    work = 0
    stack = [(0, n - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        a, b = points[first], points[last]
        r0, r1 = int(run_of[first + 1]), int(run_of[last - 1])
        if last - first < 4 * (r1 - r0 + 1) + 256:
            # Few points per run: looking at all of them is cheaper than choosing.
            offset, idx = first + 1, None
            dist = _distance(points[first + 1 : last], a, b)
        else:
            offset = 0
            idx, dist = _candidates(points, a, b, starts[r0 : r1 + 1], ends[r0 : r1 + 1], first, last, epsilon)
        work += len(dist) + 2 * (r1 - r0 + 1) + _SPLIT_COST
        if work > max_work:
            raise TooCostly(f"simplifying it takes more than {max_work:,.0f} steps (a stroke of {n:,} points)")
        i = int(np.argmax(dist))
        if dist[i] > epsilon:
            mid = offset + (i if idx is None else int(idx[i]))
            keep[mid] = True
            stack.append((first, mid))
            stack.append((mid, last))
    return points[keep], work


def _distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances of ``p`` to the line through a and b (to a where they coincide)."""
    d = b - a
    norm = np.hypot(d[0], d[1])
    if norm == 0:
        return np.hypot(*(p - a).T)
    return np.abs(d[0] * (p[:, 1] - a[1]) - d[1] * (p[:, 0] - a[0])) / norm


def _candidates(
    points: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    first: int,
    last: int,
    epsilon: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The points inside (first, last) that can be the farthest, in order, and their distances:
    each run's ends, and the runs parallel to the chord whole where they could pass ``epsilon``."""
    lo = np.maximum(starts, first + 1)
    hi = np.minimum(ends, last - 1)
    d_lo, d_hi = _distance(points[lo], a, b), _distance(points[hi], a, b)
    best = max(d_lo.max(), d_hi.max())
    # Runs whose inside could reach the best end: parallel to the chord within
    # rounding, and near enough the best. Any other run's inside is strictly
    # below its own farther end.
    near = np.maximum(d_lo, d_hi) + 2 * _NOISE
    flat = (np.abs(d_hi - d_lo) <= 2 * _NOISE * (hi - lo + 1)) & (near >= best)
    # A parallel run within epsilon cannot make a split, whichever of its points is the farthest:
    # without this, a stroke going back and forth along one line (every run parallel to the
    # chord, at distance 0) looked at every resampled point and was refused as too costly.
    flat &= (hi - lo >= 2) & (near > epsilon)
    if not flat.any():
        distinct = np.column_stack((np.ones(len(lo), bool), hi > lo)).ravel()
        return np.column_stack((lo, hi)).ravel()[distinct], np.column_stack((d_lo, d_hi)).ravel()[distinct]
    whole = [np.arange(s, e + 1) for s, e in zip(lo[flat].tolist(), hi[flat].tolist())]
    idx = np.unique(np.concatenate([lo, hi, *whole]))
    return idx, _distance(points[idx], a, b)


def simplify_raw(drawing: Drawing, epsilon: float = 2.0, max_work: float = MAX_SIMPLIFY_WORK) -> Drawing:
    """The published raw-to-simplified pipeline (see the module docstring).

    Raises :class:`TooCostly` when the drawing would cost more than
    ``max_work`` (see :data:`MAX_SIMPLIFY_WORK`), before resampling when its
    length alone says so.
    """
    aligned = align_and_scale(drawing)
    length = sum(float(np.hypot(*np.diff(s, axis=0).T).sum()) for s in aligned if len(s) > 1)
    if length > max_work:
        raise TooCostly(f"its strokes are {length:,.0f} pixels long, too long to simplify (at most {max_work:,.0f})")
    out = []
    budget = max_work - length
    for s in aligned:
        points, runs = _resample_with_runs(s, 1.0)
        simplified, work = _rdp(points, epsilon, runs, budget)
        budget -= work
        out.append(np.round(simplified))
    return out
