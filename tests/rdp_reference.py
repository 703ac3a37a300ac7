"""A brute-force Ramer-Douglas-Peucker for the stroke tests: every inner point of every chord, one chord at a
time (ties to the first), as the reference package and kerasketch's implementation before its pruning."""

from __future__ import annotations

import numpy as np

from kerasketch.data import strokes


def brute_rdp(points: np.ndarray, epsilon: float) -> np.ndarray:
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
            keep[first + 1 + i] = True
            stack += [(first, first + 1 + i), (first + 1 + i, last)]
    return points[keep]


def brute_simplify(drawing) -> list[np.ndarray]:
    """kerasketch's simplification of ``drawing`` (align, scale, resample, RDP at 2 px, round) with the brute RDP."""
    return [np.round(brute_rdp(strokes.resample(s), 2.0)) for s in strokes.align_and_scale(drawing)]
