"""Raw strokes of every size and shape through the simplification and the rasterizer.

Long, degenerate (one point, repeated points, zero length) and back-and-forth
strokes: the simplification equals the brute-force RDP (every point of every
chord), or refuses the drawing as too costly, and whatever it returns renders;
``data rasterize`` of a file whose hostile line is dropped still writes its file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdp_reference import brute_rdp, brute_simplify

from kerasketch.data import strokes
from kerasketch.data.rasterize import rasterize

PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


def _back_and_forth(points: int, amplitude: float = 255.0, drift: float = 0.0) -> np.ndarray:
    """A stroke going back and forth between x=0 and x=amplitude, moving ``drift`` in y each turn."""
    i = np.arange(points, dtype=float)
    return np.column_stack((np.where(i % 2 == 0, 0.0, amplitude), i * drift))


def _strokes_of_many_shapes() -> st.SearchStrategy[np.ndarray]:
    size = st.integers(1, 400)
    coordinate = st.integers(-1000, 1000).map(float) | st.floats(-1e4, 1e4, allow_nan=False, width=32)
    free = size.flatmap(lambda n: st.lists(st.tuples(coordinate, coordinate), min_size=n, max_size=n)).map(
        lambda pts: np.asarray(pts, dtype=float).reshape(-1, 2)
    )
    repeated = st.tuples(st.integers(1, 400), coordinate, coordinate).map(
        lambda t: np.tile([t[1], t[2]], (t[0], 1)).astype(float)
    )
    back_and_forth = st.tuples(st.integers(2, 600), st.floats(0.5, 300.0), st.sampled_from([0.0, 0.01, 0.5, 3.0])).map(
        lambda t: _back_and_forth(*t)
    )
    return free | repeated | back_and_forth


def _check_simplified(drawing: list[np.ndarray]) -> list[np.ndarray] | None:
    try:
        out = strokes.simplify_raw(drawing)
    except strokes.TooCostly:
        return None
    assert len(out) == len(drawing)
    for s in out:
        assert s.ndim == 2 and s.shape[1] == 2 and len(s) >= 1
        assert np.isfinite(s).all() and s.min() >= 0 and s.max() <= strokes.SPAN
    image = rasterize([out], 28)
    assert image.shape == (1, 28, 28) and image.max() > 0
    return out


@PROPERTY
@given(st.lists(_strokes_of_many_shapes(), min_size=1, max_size=3))
def test_any_stroke_simplifies_as_the_brute_force_rdp_and_renders(drawing):
    out = _check_simplified(drawing)
    if out is None:
        return
    reference = brute_simplify(drawing)
    assert all(np.array_equal(a, b) for a, b in zip(out, reference))


@pytest.mark.parametrize("points", [2, 3, 10, 255, 1_000, 9_999, 10_000, 12_000, 19_000])
def test_a_stroke_back_and_forth_along_one_line_simplifies_to_its_ends_and_turn(points):
    # Every resampled run lies on the chord: this once looked at every point (2.5 million at
    # 10,000 turns) and refused the drawing as too costly.
    stroke = _back_and_forth(points)
    start = time.perf_counter()
    [out] = _check_simplified([stroke]) or pytest.fail("refused as too costly")
    assert time.perf_counter() - start < 20
    assert len(out) <= 3  # its ends, and the far turn where the ends coincide
    assert np.array_equal(out, np.round(brute_rdp(strokes.resample(strokes.align_and_scale([stroke])[0]), 2.0)))


@pytest.mark.parametrize("points", [1, 2, 5, 10_000])
def test_a_stroke_of_one_repeated_point_is_a_dot(points):
    [out] = _check_simplified([np.full((points, 2), 7.0)]) or pytest.fail("refused")
    assert np.array_equal(out, [[0.0, 0.0]])


@pytest.mark.parametrize("points", [10_000, 10_001, 15_000])
def test_a_back_and_forth_zigzag_is_simplified_or_refused_quickly(points):
    # Corners that stay where the turns are wide enough: each split peels off one, so past the
    # work bound the drawing is refused, in a bounded time.
    stroke = _back_and_forth(points, drift=3.0)
    start = time.perf_counter()
    out = _check_simplified([stroke])
    assert time.perf_counter() - start < 20
    if out is not None:
        assert np.array_equal(out[0], np.round(brute_rdp(strokes.resample(strokes.align_and_scale([stroke])[0]), 2.0)))


def _line(xs: list[float], ys: list[float], word: str = "cat") -> bytes:
    return json.dumps({"word": word, "drawing": [[xs, ys, list(range(len(xs)))]]}).encode() + b"\n"


@pytest.mark.parametrize("hostile_first", [True, False])
def test_rasterize_writes_the_file_when_a_hostile_back_and_forth_line_is_dropped(tmp_path, hostile_first):
    zig = _back_and_forth(12_000, drift=0.01)
    with pytest.raises(strokes.TooCostly):
        strokes.simplify_raw([zig])
    hostile = _line(zig[:, 0].tolist(), zig[:, 1].tolist())
    ordinary = _line([0, 100, 255], [0, 200, 30])
    path = tmp_path / "cat.ndjson"
    # Alone (the whole file, then its only chunk, is dropped) or among ordinary lines.
    path.write_bytes(hostile if hostile_first else ordinary * 3 + hostile + ordinary)
    out = tmp_path / "cat.npy"
    proc = subprocess.run(
        [sys.executable, "-m", "kerasketch", "data", "rasterize", str(path), "-o", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    rows = np.load(out)
    assert rows.shape == ((0, 784) if hostile_first else (4, 784))
    assert "too costly" in proc.stdout


def test_rasterize_simplifies_a_long_stroke_back_and_forth_along_a_line(tmp_path):
    stroke = _back_and_forth(10_000)
    path = tmp_path / "cat.ndjson"
    path.write_bytes(_line(stroke[:, 0].tolist(), stroke[:, 1].tolist()))
    out = tmp_path / "cat.npy"
    proc = subprocess.run(
        [sys.executable, "-m", "kerasketch", "data", "rasterize", str(path), "-o", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert np.load(out).shape == (1, 784) and "too costly" not in proc.stdout


def test_rasterize_of_no_drawings_is_empty():
    assert rasterize([], 28).shape == (0, 28, 28)
