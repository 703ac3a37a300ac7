"""Random bytes and random JSON into every data reader: nothing but ``DataError`` may come out."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerasketch.data import cache
from kerasketch.data.sources import scan
from kerasketch.errors import DataError

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["word", "drawing", "x"]), inner),
    max_leaves=30,
)
_stroke_value = st.one_of(st.integers(-300, 600), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=2))
_strokes = st.lists(
    st.lists(st.lists(_stroke_value, max_size=6), min_size=0, max_size=4),  # [xs, ys, (ts)]
    max_size=4,
)
_record = st.fixed_dictionaries(
    {"drawing": _strokes | _json}, optional={"word": st.text(max_size=6) | _json, "extra": _json}
)


def _read_everything(path: Path) -> None:
    """Open ``path`` as a user's data would be, and render every drawing it holds."""
    with contextlib.suppress(DataError):
        catalog = scan(path)
        for cls, n in catalog.counts.items():
            catalog.images(cls, np.arange(n), 16)


def _in_a_file(name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        _read_everything(path)


@FUZZ
@given(st.binary(max_size=400), st.sampled_from(["cat.npy", "cat.npz", "cat.ndjson"]))
def test_random_bytes(data, name):
    _in_a_file(name, data)


@FUZZ
@given(st.binary(max_size=200), st.sampled_from([1, 2, 3]))
def test_random_npy_after_a_real_magic_string(tail, major):
    _in_a_file("cat.npy", b"\x93NUMPY" + bytes([major, 0]) + tail)


@FUZZ
@given(st.binary(max_size=300), st.booleans())
def test_random_npz_members(member, as_npy_header):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        body = member
        if as_npy_header:
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": (2,)})
            body = header.getvalue() + member
        archive.writestr("train.npy", body)
    _in_a_file("cat.npz", buffer.getvalue())


@FUZZ
@given(st.lists(_record | _json, min_size=1, max_size=6), st.booleans())
def test_random_json_lines(records, bom):
    text = "\n".join(json.dumps(r, allow_nan=True) for r in records).encode("utf-8", "surrogatepass")
    _in_a_file("cat.ndjson", (b"\xef\xbb\xbf" if bom else b"") + text)


@FUZZ
@given(st.lists(_strokes, min_size=1, max_size=4))
def test_random_raw_and_simplified_strokes(drawings):
    lines = [json.dumps({"word": "cat", "drawing": d}, allow_nan=True) for d in drawings]
    _in_a_file("cat.ndjson", "\n".join(lines).encode())


@FUZZ
@given(st.binary(max_size=600))
def test_random_cache_files(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "dataset-x.h5"
        path.write_bytes(b"\x89HDF\r\n\x1a\n" + data if data[:1] == b"\x00" else data)
        with contextlib.suppress(DataError):
            cache.read(path)


@FUZZ
@given(st.lists(st.binary(max_size=12), min_size=1, max_size=5))
def test_random_bytes_in_the_word_field(words):
    lines = [
        b'{"word": "' + w.replace(b'"', b"").replace(b"\n", b"") + b'", "drawing": [[[1, 9], [2, 8]]]}' for w in words
    ]
    _in_a_file("cat.ndjson", b"\n".join(lines))
