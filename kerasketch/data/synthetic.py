"""A built-in *synthetic* sketch dataset: simple shapes drawn as strokes.

This is not Quick, Draw! data and no substitute for it. It exists so that the
main job, the demos and the tests run anywhere -- offline, in CI, in a fresh
clone -- with nothing downloaded. Every output that uses it must say so;
:data:`SYNTHETIC_NAME` is the name to show.

Each class has a generator that builds a drawing the way a person would: as
strokes, lifting the pen where a person would (a house is walls, a roof and a
door; a smiley is a face, two eyes and a mouth). Hand-drawn variation is then
added to every drawing: smooth wobble along each stroke plus a little tremor,
rotation, anisotropic scale and shear, strokes slightly displaced from each
other, overshoot or undershoot at stroke ends and some corners, random stroke
order and direction, and now and then a stray extra stroke or a missing part.
Translation of the whole drawing is left out on purpose: the normalisation
below removes it, as it does for real drawings. Finally the drawing is normalised exactly like the published "simplified"
files (top-left aligned, longer side 0-255, integer coordinates) and rendered
by the same rasterizer as real data.

Generation is deterministic: every class draws from its own random streams,
seeded from ``(seed, crc32(class name))``, so the drawings of a class depend
only on the seed and the class, not on which other classes are asked for or
in which order, and the first ``k`` drawings of a class are the same whatever
``count`` is.

Shapes are built in a unit frame of roughly [-1, 1] x [-1, 1] with y pointing
down, as on screen and in the dataset.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from .rasterize import rasterize
from .strokes import SPAN, Drawing

#: The name every output uses to say that the data is synthetic.
SYNTHETIC_NAME = "synthetic shapes (built-in)"

Generator = np.random.Generator
TAU = 2.0 * math.pi

# Hand-drawn variation, in unit-frame lengths (the frame is about 2 wide).
_SPACING = 0.15  # points along straight segments, so that the wobble has points to bend
_WOBBLE = 0.035  # amplitude of the slow wobble along a stroke
_TREMOR = 0.006  # white jitter on each point
_STROKE_SHIFT = 0.035  # a lifted pen never lands exactly where the last stroke ended
_ROTATION_SD = math.radians(9.0)
_ROTATION_MAX = math.radians(20.0)
_SCALE_SD = 0.13  # log-normal scale per axis: aspect varies by roughly +-30%
_SHEAR_MAX = 0.15
_P_SHUFFLE = 0.3  # people mostly draw the main outline first, but not always
_P_REVERSE = 0.3
_P_STRAY = 0.05


# ---------------------------------------------------------------------------
# Building blocks


def _pts(*xy: tuple[float, float]) -> np.ndarray:
    return np.asarray(xy, dtype=np.float64)


def _jitter(points: np.ndarray, rng: Generator, sd: float) -> np.ndarray:
    return points + rng.normal(0.0, sd, points.shape)


def _ellipse(
    rng: Generator,
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    *,
    closure: tuple[float, float] = (-0.35, 0.6),
    points_per_turn: int = 24,
) -> np.ndarray:
    """A closed loop starting anywhere; people rarely close it exactly, so it
    stops short of or runs past its start by ``closure`` radians."""
    start = rng.uniform(0.0, TAU)
    sweep = TAU + rng.uniform(*closure)
    n = max(4, round(points_per_turn * sweep / TAU))
    a = start + np.linspace(0.0, sweep, n + 1) * rng.choice((-1.0, 1.0))
    return np.column_stack((cx + rx * np.cos(a), cy + ry * np.sin(a)))


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int) -> np.ndarray:
    a = np.linspace(a0, a1, n)
    return np.column_stack((cx + rx * np.cos(a), cy + ry * np.sin(a)))


def _loop(vertices: np.ndarray, rng: Generator) -> np.ndarray:
    """A closed polygon drawn in one stroke, starting at a random corner."""
    k = int(rng.integers(len(vertices)))
    ring = np.roll(vertices, -k, axis=0)
    return np.vstack((ring, ring[:1]))


def _overshoot_corners(stroke: np.ndarray, rng: Generator, p: float = 0.3, reach: float = 0.1) -> np.ndarray:
    """Run the pen a little past some corners before turning, as fast drawing does."""
    out = [stroke[0]]
    for i in range(1, len(stroke) - 1):
        out.append(stroke[i])
        if rng.random() < p:
            d = stroke[i] - stroke[i - 1]
            norm = math.hypot(d[0], d[1])
            if norm > 0:
                out.append(stroke[i] + d / norm * rng.uniform(0.03, reach))
    out.append(stroke[-1])
    return np.asarray(out)


def _polyline_strokes(vertices: np.ndarray, rng: Generator, cuts: int) -> list[np.ndarray]:
    """A closed polygon drawn as ``cuts`` strokes (1 = one continuous stroke)."""
    ring = _loop(vertices, rng)
    if cuts <= 1:
        return [_overshoot_corners(ring, rng)]
    n = len(vertices)
    bounds = np.linspace(0, n, cuts + 1).round().astype(int)
    return [_overshoot_corners(ring[a : b + 1], rng) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


# ---------------------------------------------------------------------------
# One generator per class: strokes in the unit frame, before hand-drawn variation


def _circle(rng: Generator) -> list[np.ndarray]:
    strokes = [_ellipse(rng, 0.0, 0.0, 1.0, rng.uniform(0.85, 1.0), points_per_turn=int(rng.integers(16, 30)))]
    if rng.random() < 0.12:
        # Going round a second time, slightly off the first.
        strokes.append(_ellipse(rng, rng.normal(0, 0.05), rng.normal(0, 0.05), rng.uniform(0.9, 1.05), 1.0))
    return strokes


def _triangle(rng: Generator) -> list[np.ndarray]:
    v = _jitter(_pts((rng.uniform(-0.3, 0.3), -1.0), (1.0, 0.8), (-1.0, 0.8)), rng, 0.07)
    return _polyline_strokes(v, rng, int(rng.choice((1, 2, 3), p=(0.65, 0.15, 0.2))))


def _square(rng: Generator) -> list[np.ndarray]:
    v = _jitter(_pts((-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)), rng, 0.06)
    return _polyline_strokes(v, rng, int(rng.choice((1, 2, 4), p=(0.6, 0.2, 0.2))))


def _star(rng: Generator) -> list[np.ndarray]:
    a0 = -math.pi / 2
    if rng.random() < 0.5:
        # The pentagram, in one stroke: every second tip.
        a = a0 + np.arange(5) * (2 * TAU / 5) + rng.normal(0, 0.06, 5)
        tips = np.column_stack((np.cos(a), np.sin(a)))
        return [_overshoot_corners(_loop(tips, rng), rng, p=0.2)]
    # The outline: tips and inner corners alternating.
    a = a0 + np.arange(10) * (TAU / 10) + rng.normal(0, 0.05, 10)
    r = np.where(np.arange(10) % 2 == 0, 1.0, rng.uniform(0.35, 0.55)) * rng.uniform(0.92, 1.0, 10)
    return _polyline_strokes(
        np.column_stack((r * np.cos(a), r * np.sin(a))), rng, int(rng.choice((1, 2), p=(0.85, 0.15)))
    )


def _spiral(rng: Generator) -> list[np.ndarray]:
    turns = rng.uniform(2.0, 3.5)
    theta = np.linspace(0.0, turns * TAU, max(24, int(turns * 18)))
    r = (0.08 + theta / (turns * TAU)) * rng.uniform(0.95, 1.05, len(theta))
    a = theta * rng.choice((-1.0, 1.0)) + rng.uniform(0.0, TAU)
    return [np.column_stack((r * np.cos(a), r * np.sin(a)))]


def _zigzag(rng: Generator) -> list[np.ndarray]:
    n = int(rng.integers(5, 10))
    x = np.linspace(-1.0, 1.0, n) + rng.normal(0, 0.03, n)
    h = rng.uniform(0.2, 0.5)
    y = np.where(np.arange(n) % 2 == 0, -h, h) + rng.normal(0, 0.05, n)
    return [np.column_stack((x, y))]


def _wave(rng: Generator) -> list[np.ndarray]:
    periods = rng.uniform(1.3, 3.0)
    amp = rng.uniform(0.15, 0.35)
    phase = rng.uniform(0.0, TAU)
    x = np.linspace(-1.0, 1.0, int(periods * 14))
    strokes = [np.column_stack((x, amp * np.sin(phase + periods * math.pi * (x + 1.0))))]
    if rng.random() < 0.25:
        # Water drawn as two parallel waves.
        gap = rng.uniform(0.45, 0.7)
        strokes.append(strokes[0] + (rng.normal(0, 0.08), gap))
    return strokes


def _house(rng: Generator) -> list[np.ndarray]:
    top = rng.uniform(-0.15, 0.1)
    apex = (rng.uniform(-0.15, 0.15), -1.0)
    eave = rng.uniform(0.0, 0.15)  # how far the roof reaches past the walls
    style = rng.choice(3, p=(0.45, 0.3, 0.25))
    if style == 0:  # walls as a cup, roof as a caret
        strokes = [
            _overshoot_corners(_pts((-0.8, top), (-0.8, 1.0), (0.8, 1.0), (0.8, top)), rng),
            _pts((-0.8 - eave, top), apex, (0.8 + eave, top)),
        ]
    elif style == 1:  # a closed box under a separate roof
        strokes = _polyline_strokes(_pts((-0.8, top), (0.8, top), (0.8, 1.0), (-0.8, 1.0)), rng, 1)
        strokes.append(_pts((-0.8 - eave, top), apex, (0.8 + eave, top)))
    else:  # the outline in one go
        strokes = _polyline_strokes(_pts((-0.8, 1.0), (-0.8, top), apex, (0.8, top), (0.8, 1.0)), rng, 1)
    if rng.random() < 0.85:
        cx, w, h = rng.uniform(-0.35, 0.35), rng.uniform(0.12, 0.2), rng.uniform(0.35, 0.55)
        strokes.append(_pts((cx - w, 1.0), (cx - w, 1.0 - h), (cx + w, 1.0 - h), (cx + w, 1.0)))
    if rng.random() < 0.5:
        side = rng.choice((-1.0, 1.0))
        wx, wy, s = side * rng.uniform(0.45, 0.55), rng.uniform(0.2, 0.4), rng.uniform(0.1, 0.16)
        strokes += _polyline_strokes(
            _pts((wx - s, wy - s), (wx + s, wy - s), (wx + s, wy + s), (wx - s, wy + s)), rng, 1
        )
    if rng.random() < 0.2:
        # A chimney on the roof's right slope.
        slope = (top - apex[1]) / (0.8 + eave - apex[0])
        x = apex[0] + rng.uniform(0.3, 0.5)
        y, w = apex[1] + slope * (x - apex[0]), rng.uniform(0.12, 0.2)
        strokes.append(_pts((x, y), (x, y - 0.3), (x + w, y - 0.3), (x + w, y + slope * w)))
    return strokes


def _smiley(rng: Generator) -> list[np.ndarray]:
    strokes = [_ellipse(rng, 0.0, 0.0, 1.0, rng.uniform(0.9, 1.0))]
    ex, ey = rng.uniform(0.28, 0.42), rng.uniform(-0.45, -0.2)
    eye_style = rng.choice(3, p=(0.45, 0.3, 0.25))
    eyes = []
    for side in (-1.0, 1.0):
        x = side * ex + rng.normal(0, 0.03)
        if eye_style == 0:  # dots
            eyes.append(_pts((x, ey)))
        elif eye_style == 1:  # short strokes
            eyes.append(_pts((x, ey - 0.1), (x, ey + 0.1)))
        else:  # small circles
            r = rng.uniform(0.08, 0.14)
            eyes.append(_ellipse(rng, x, ey, r, r, points_per_turn=10))
    if rng.random() < 0.06:
        eyes.pop(int(rng.integers(2)))
    strokes += eyes
    spread = rng.uniform(0.45, 0.95)  # half-angle of the mouth
    r = rng.uniform(0.45, 0.65)
    cy = rng.uniform(-0.05, 0.15)
    strokes.append(_arc(0.0, cy, r, r * rng.uniform(0.6, 1.0), math.pi / 2 - spread, math.pi / 2 + spread, 9))
    if rng.random() < 0.2:
        strokes.append(_pts((0.0, rng.uniform(-0.1, 0.05))))  # a nose
    return strokes


def _arrow(rng: Generator) -> list[np.ndarray]:
    h, w = rng.uniform(0.3, 0.5), rng.uniform(0.2, 0.38)
    style = rng.choice(3, p=(0.55, 0.25, 0.2))
    if style == 0:  # shaft, then the head as one caret
        strokes = [_pts((-1.0, 0.0), (1.0, 0.0)), _pts((1.0 - h, -w), (1.0, 0.0), (1.0 - h, w))]
    elif style == 1:  # shaft and two barbs
        strokes = [_pts((-1.0, 0.0), (1.0, 0.0)), _pts((1.0, 0.0), (1.0 - h, -w)), _pts((1.0, 0.0), (1.0 - h, w))]
    else:  # a block arrow outline
        t = rng.uniform(0.08, 0.15)
        outline = _pts(
            (-1.0, -t), (1.0 - h, -t), (1.0 - h, -w - 0.05), (1.0, 0.0), (1.0 - h, w + 0.05), (1.0 - h, t), (-1.0, t)
        )
        strokes = _polyline_strokes(outline, rng, 1)
    # Arrows point anywhere; right is the most common.
    turn = rng.choice(4, p=(0.4, 0.2, 0.2, 0.2)) * (math.pi / 2)
    c, s = math.cos(turn), math.sin(turn)
    return [st @ np.array([[c, s], [-s, c]]) for st in strokes]


def _cross(rng: Generator) -> list[np.ndarray]:
    if rng.random() < 0.8:
        ox, oy = rng.normal(0, 0.12, 2)
        return [_pts((-1.0, oy), (1.0, oy)), _pts((ox, -1.0), (ox, 1.0))]
    t = rng.uniform(0.2, 0.35)
    outline = _pts(
        (t, -1.0), (t, -t), (1.0, -t), (1.0, t), (t, t), (t, 1.0),
        (-t, 1.0), (-t, t), (-1.0, t), (-1.0, -t), (-t, -t), (-t, -1.0),
    )  # fmt: skip
    return _polyline_strokes(outline, rng, 1)


def _heart(rng: Generator) -> list[np.ndarray]:
    t = np.linspace(0.0, TAU, 29)
    x = np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)) / 16.0
    lobes = rng.uniform(0.8, 1.2)  # fuller or flatter lobes
    curve = np.column_stack((x, np.where(y < 0, y * lobes, y)))
    if rng.random() < 0.35:
        # Two halves, each from the dip at the top down to the point.
        return [curve[:15], curve[14:][::-1]]
    return [curve]


def _lightning(rng: Generator) -> list[np.ndarray]:
    if rng.random() < 0.5:
        j = rng.uniform(0.1, 0.25)
        bolt = _pts((0.35, -1.0), (-0.3, j / 2), (0.3, -j / 2), (-0.35, 1.0))
        return [_overshoot_corners(_jitter(bolt, rng, 0.05), rng)]
    outline = _pts((0.05, -1.0), (-0.45, 0.15), (-0.02, 0.15), (-0.3, 1.0), (0.45, -0.2), (0.05, -0.2), (0.4, -1.0))
    return _polyline_strokes(_jitter(outline, rng, 0.04), rng, int(rng.choice((1, 2), p=(0.8, 0.2))))


def _moon(rng: Generator) -> list[np.ndarray]:
    # Outer arc of the unit circle, then back along a circle through the two
    # horns whose leftmost point lies at x = depth, which sets the thickness.
    horn = rng.uniform(0.35, 0.9)  # angle of the horns from the opening's axis
    hx, hy = math.cos(horn), math.sin(horn)
    depth = rng.uniform(-0.35, min(0.4, hx - 0.2))
    c = (1.0 - depth * depth) / (2.0 * (hx - depth))
    r = c - depth
    b = math.atan2(hy, hx - c)
    n = 20
    outer = _arc(0.0, 0.0, 1.0, 1.0, horn, TAU - horn, n)
    inner = _arc(c, 0.0, r, r, TAU - b, b, n)
    return [np.vstack((outer, inner[1:])) * (rng.choice((-1.0, 1.0)), 1.0)]


def _sun(rng: Generator) -> list[np.ndarray]:
    r = rng.uniform(0.45, 0.6)
    strokes = [_ellipse(rng, 0.0, 0.0, r, r)]
    n = int(rng.integers(6, 12))
    a = rng.uniform(0.0, TAU) + np.arange(n) * (TAU / n) + rng.normal(0, 0.08, n)
    inner = r + rng.uniform(0.1, 0.2)
    outer = rng.uniform(0.85, 1.0, n)
    for ai, ro in zip(a, outer):
        c, s = math.cos(ai), math.sin(ai)
        strokes.append(_pts((inner * c, inner * s), (ro * c, ro * s)))
    return strokes


def _envelope(rng: Generator) -> list[np.ndarray]:
    h = rng.uniform(0.55, 0.75)
    box = _pts((-1.0, -h), (1.0, -h), (1.0, h), (-1.0, h))
    strokes = _polyline_strokes(box, rng, int(rng.choice((1, 2), p=(0.75, 0.25))))
    v = rng.uniform(0.0, 0.4) * h
    strokes.append(_pts((-1.0, -h), (rng.normal(0, 0.05), v), (1.0, -h)))
    return strokes


_GENERATORS: dict[str, Callable[[Generator], list[np.ndarray]]] = {
    "circle": _circle,
    "triangle": _triangle,
    "square": _square,
    "star": _star,
    "spiral": _spiral,
    "zigzag": _zigzag,
    "wave": _wave,
    "house": _house,
    "smiley": _smiley,
    "arrow": _arrow,
    "cross": _cross,
    "heart": _heart,
    "lightning": _lightning,
    "moon": _moon,
    "sun": _sun,
    "envelope": _envelope,
}

#: The classes of the synthetic set, in label order.
SYNTHETIC_CLASSES: tuple[str, ...] = tuple(_GENERATORS)


# ---------------------------------------------------------------------------
# Hand-drawn variation shared by all classes


def _stray(rng: Generator) -> np.ndarray:
    """A short accidental mark somewhere in the frame."""
    p = rng.uniform(-1.0, 1.0, 2)
    if rng.random() < 0.4:
        return p[None, :]
    a = rng.uniform(0.0, TAU)
    return np.vstack((p, p + rng.uniform(0.1, 0.3) * np.array((math.cos(a), math.sin(a)))))


class _Plan(NamedTuple):
    """One drawing's strokes, in drawing order and direction, with the random
    choices for its variation, drawn before any geometry is computed so that
    the geometry of a whole class can then be done in one vectorised pass."""

    strokes: list[np.ndarray]
    uniform: np.ndarray  # (strokes, 8) in [0, 1): end changes, wobble frequencies and phases
    normal: np.ndarray  # (strokes, 6) standard normal: displacement, wobble amplitudes
    affine: np.ndarray  # (2, 2) acting on column vectors


def _plan(strokes: list[np.ndarray], rng: Generator) -> _Plan:
    if rng.random() < _P_STRAY:
        strokes = [*strokes, _stray(rng)]
    if rng.random() < _P_SHUFFLE:
        strokes = [strokes[i] for i in rng.permutation(len(strokes))]
    flips = rng.random(len(strokes)) < _P_REVERSE
    strokes = [st[::-1] if flip else st for st, flip in zip(strokes, flips)]
    uniform = rng.random((len(strokes), 8))
    normal = rng.standard_normal((len(strokes), 6))
    return _Plan(strokes, uniform, normal, _affine(rng))


def _affine(rng: Generator) -> np.ndarray:
    angle_z, log_sx, log_sy, shear_u = rng.standard_normal(3).tolist() + [rng.random()]
    angle = min(max(angle_z * _ROTATION_SD, -_ROTATION_MAX), _ROTATION_MAX)
    c, s = math.cos(angle), math.sin(angle)
    shear = (2.0 * shear_u - 1.0) * _SHEAR_MAX
    sx, sy = math.exp(log_sx * _SCALE_SD), math.exp(log_sy * _SCALE_SD)
    # rotation @ shear @ scale
    return np.array([[c * sx, (c * shear - s) * sy], [s * sx, (s * shear + c) * sy]])


def _realise(plans: Sequence[_Plan], tremor_rng: Generator) -> list[Drawing]:
    """Apply the planned variation to every stroke of every drawing at once.

    Points of all drawings are concatenated; ``sid`` maps a point to its
    stroke, ``did`` a stroke to its drawing. Tremor has its own stream,
    consumed in drawing order, so that a drawing's tremor does not depend on
    how many drawings follow it.
    """
    if not plans:
        return []
    strokes = [st for p in plans for st in p.strokes]
    n_strokes = len(strokes)
    per_drawing = np.array([len(p.strokes) for p in plans])
    did = np.repeat(np.arange(len(plans)), per_drawing)
    uniform = np.concatenate([p.uniform for p in plans])
    normal = np.concatenate([p.normal for p in plans])
    lens = np.array([len(st) for st in strokes])
    pts = np.concatenate(strokes)
    first = np.cumsum(lens) - lens
    last = first + lens - 1

    # Overshoot or stop short at both ends, along the stroke, never pulling an
    # end back past half of its segment.
    long = lens >= 2
    for end, inner, u in (
        (first[long], first[long] + 1, uniform[long, 0]),
        (last[long], last[long] - 1, uniform[long, 1]),
    ):
        d = pts[end] - pts[inner]
        norm = np.hypot(d[:, 0], d[:, 1])
        change = np.maximum(-0.04 + 0.13 * u, -0.5 * norm) / np.where(norm > 0, norm, 1.0)
        pts[end] += d * change[:, None]

    # Densify: each point but a stroke's last spawns ceil(segment / _SPACING)
    # points towards the next one, so long straight edges can wobble too.
    sid = np.repeat(np.arange(n_strokes), lens)
    seg = np.zeros_like(pts)
    seg[:-1] = pts[1:] - pts[:-1]
    seg[last] = 0.0
    k = np.maximum(1, np.ceil(np.hypot(seg[:, 0], seg[:, 1]) / _SPACING)).astype(np.int64)
    k[last] = 1
    src = np.repeat(np.arange(len(pts)), k)
    step = np.arange(len(src)) - np.repeat(np.cumsum(k) - k, k)
    pts = pts[src] + seg[src] * (step / k[src])[:, None]
    sid = sid[src]
    lens = np.bincount(sid, minlength=n_strokes)
    first = np.cumsum(lens) - lens

    # Wobble: slow sideways drift, two sinusoids of arc length per axis, zero
    # where the pen went down; plus tremor. A hand neither follows a ruler nor
    # shakes like white noise.
    step_len = np.zeros(len(pts))
    step_len[1:] = np.hypot(*(pts[1:] - pts[:-1]).T)
    step_len[first] = 0.0
    arc = np.cumsum(step_len)
    arc -= arc[first][sid]
    freq = 0.25 + 0.75 * uniform[:, 2:4]  # cycles per unit length, per sinusoid
    phase = TAU * uniform[:, 4:8].reshape(-1, 2, 2)  # per sinusoid and axis
    amp = _WOBBLE * normal[:, 2:6].reshape(-1, 2, 2)
    wave = amp[sid] * np.sin(TAU * freq[sid][:, :, None] * arc[:, None, None] + phase[sid])
    drift = wave.sum(axis=1)
    drift -= drift[first][sid]
    pts = pts + drift + _STROKE_SHIFT * normal[sid, 0:2] + tremor_rng.normal(0.0, _TREMOR, pts.shape)

    affine = np.stack([p.affine for p in plans])
    pts = np.einsum("nij,nj->ni", affine[did[sid]], pts)

    # The "simplified" convention as align_and_scale computes it, integer
    # coordinates included.
    start = np.cumsum(np.bincount(did[sid], minlength=len(plans)))
    start = np.concatenate(([0], start[:-1]))
    lo = np.minimum.reduceat(pts, start, axis=0)
    extent = (np.maximum.reduceat(pts, start, axis=0) - lo).max(axis=1)
    scale = np.where(extent > 0, SPAN / np.where(extent > 0, extent, 1.0), 1.0)
    pdid = did[sid]
    pts = np.round((pts - lo[pdid]) * scale[pdid][:, None])

    pieces = np.split(pts, np.cumsum(lens)[:-1])
    bounds = np.concatenate(([0], np.cumsum(per_drawing)))
    return [pieces[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


# ---------------------------------------------------------------------------
# Public API


def _class_rngs(cls: str, seed: int) -> tuple[Generator, Generator]:
    """The class's streams for shapes and choices, and for tremor."""
    # crc32, unlike hash(), is the same in every process and Python version.
    key = zlib.crc32(cls.encode("utf-8"))
    return np.random.default_rng([seed, key, 0]), np.random.default_rng([seed, key, 1])


def _generator(cls: str) -> Callable[[Generator], list[np.ndarray]]:
    try:
        return _GENERATORS[cls]
    except KeyError:
        known = ", ".join(SYNTHETIC_CLASSES)
        raise ValueError(f"unknown synthetic class {cls!r}; the synthetic classes are: {known}") from None


def generate_drawings(cls: str, count: int, seed: int) -> list[Drawing]:
    """``count`` synthetic drawings of class ``cls``, in simplified coordinates.

    Deterministic in ``(cls, seed)``; a larger ``count`` extends the list
    without changing its first drawings.
    """
    generator = _generator(cls)
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    rng, tremor_rng = _class_rngs(cls, seed)
    return _realise([_plan(generator(rng), rng) for _ in range(count)], tremor_rng)


def generate(
    count_per_class: int = 600,
    seed: int = 0,
    classes: Sequence[str] | None = None,
    size: int = 28,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The synthetic set rendered to ``size`` x ``size`` images.

    Returns ``(images, labels, class_names)``: images ``(N, size, size)``
    uint8, white on black like the official bitmaps; labels int64 indices
    into ``class_names`` (which follows ``classes``, default all of
    :data:`SYNTHETIC_CLASSES`). Rows are grouped by class in that order,
    ``count_per_class`` each, not shuffled.
    """
    names = list(SYNTHETIC_CLASSES if classes is None else classes)
    if not names:
        raise ValueError("no synthetic classes asked for")
    if len(set(names)) != len(names):
        raise ValueError(f"synthetic classes repeated: {names}")
    for name in names:
        _generator(name)  # fail before spending time on the classes that precede it
    drawings = [d for name in names for d in generate_drawings(name, count_per_class, seed)]
    images = rasterize(drawings, size)
    labels = np.repeat(np.arange(len(names), dtype=np.int64), count_per_class)
    return images, labels, names
