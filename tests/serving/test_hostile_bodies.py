"""Hostile bodies against the real service: each gets a 4xx JSON error naming the problem, and it keeps answering."""

from __future__ import annotations

import io
import json
import struct
import zlib

import httpx
import pytest
from PIL import Image

from kerasketch.data.rasterize import rasterize
from kerasketch.data.strokes import from_xy_lists
from kerasketch.inference.model import load_trained, top_k
from kerasketch.serving.limits import Limits

LIMITS = Limits()
SQUARE = [[[0, 255, 255, 0, 0], [0, 0, 255, 255, 0]]]
JSON = "application/json"


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and header promising ``width`` x ``height`` pixels, and a tiny compressed body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


def blank_png() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buf, format="PNG")
    return buf.getvalue()


def j(obj) -> bytes:
    return json.dumps(obj).encode()


#: (what, body, content type, status, error code)
HOSTILE = [
    ("empty body", b"", JSON, 400, "malformed_json"),
    ("malformed JSON", b'{"drawing": [[[1, 2], [3', JSON, 400, "malformed_json"),
    ("not UTF-8", b'{"drawing": "\xff\xfe\xfd"}', JSON, 400, "not_utf8"),
    ("UTF-16 with a BOM", '{"drawing": []}'.encode("utf-16"), JSON, 400, "not_utf8"),
    ("NaN", b'{"drawing": [[[1, NaN], [2, 3]]]}', JSON, 400, "not_a_number"),
    ("Infinity", b'{"drawing": [[[1, -Infinity], [2, 3]]]}', JSON, 400, "not_a_number"),
    ("a float that overflows to infinity", b'{"drawing": [[[1, 1e999], [2, 3]]]}', JSON, 422, "not_finite"),
    ("an integer of 5000 digits", b'{"drawing": [[[1, ' + b"9" * 5000 + b"], [2, 3]]]}", JSON, 400, "malformed_json"),
    ("a huge coordinate", j({"drawing": [[[1, 1e12], [2, 3]]], "format": "raw"}), JSON, 422, "coordinate_too_large"),
    ("nesting 100,000 deep", b"[" * 100_000 + b"]" * 100_000, JSON, 400, "too_deep"),
    ("a JSON list, not an object", j([SQUARE]), JSON, 422, "not_an_object"),
    ("no drawing", j({"strokes": SQUARE}), JSON, 422, "no_drawing"),
    ("both drawing and drawings", j({"drawing": SQUARE, "drawings": [SQUARE]}), JSON, 422, "no_drawing"),
    ("an empty list of drawings", j({"drawings": []}), JSON, 422, "no_drawing"),
    ("a drawing that is a string", j({"drawing": "cat"}), JSON, 422, "bad_drawing"),
    ("an empty drawing", j({"drawing": []}), JSON, 422, "bad_drawing"),
    ("a stroke without y", j({"drawing": [[[1, 2, 3]]]}), JSON, 422, "bad_stroke"),
    ("strings for coordinates", j({"drawing": [[["1", "2"], ["3", "4"]]]}), JSON, 422, "not_a_number"),
    ("booleans for coordinates", j({"drawing": [[[True, False], [1, 2]]]}), JSON, 422, "not_a_number"),
    ("nested lists for coordinates", j({"drawing": [[[[1]], [[2]]]]}), JSON, 422, "not_a_number"),
    ("x and y of different lengths", j({"drawing": [[[1, 2, 3], [1, 2]]]}), JSON, 422, "bad_drawing"),
    ("strokes with no points", j({"drawing": [[[], []]]}), JSON, 422, "bad_drawing"),
    ("an unknown format", j({"drawing": SQUARE, "format": "svg"}), JSON, 422, "unknown_format"),
    ("top 0", j({"drawing": SQUARE, "top": 0}), JSON, 422, "bad_top"),
    ("top past the limit", j({"drawing": SQUARE, "top": 10_000}), JSON, 422, "bad_top"),
    ("top a string", j({"drawing": SQUARE, "top": "five"}), JSON, 422, "bad_top"),
    ("too many strokes", j({"drawing": [[[1, 2], [1, 2]]] * (LIMITS.max_strokes + 1)}), JSON, 413, "too_many_strokes"),
    (
        "too many points",
        j({"drawing": [[list(range(LIMITS.max_points + 1)), [0] * (LIMITS.max_points + 1)]]}),
        JSON,
        413,
        "too_many_points",
    ),
    (
        "too many stroke-3 rows",
        j({"drawing": [[1, 1, 0]] * (LIMITS.max_points + 1), "format": "stroke3"}),
        JSON,
        413,
        "too_many_points",
    ),
    ("stroke-3 rows of two numbers", j({"drawing": [[1, 1], [2, 2]], "format": "stroke3"}), JSON, 422, "bad_stroke"),
    (
        "stroke-3 offsets that sum past the limit",
        j({"drawing": [[9e5, 0, 0]] * 3, "format": "stroke3"}),
        JSON,
        422,
        "coordinate_too_large",
    ),
    ("too many drawings", j({"drawings": [SQUARE] * (LIMITS.max_drawings + 1)}), JSON, 413, "too_many_drawings"),
    ("a body over the size limit", b" " * (LIMITS.max_body_bytes + 1), JSON, 413, "body_too_large"),
    ("plain text", b"a cat", "text/plain", 415, "unsupported_media_type"),
    ("an image that is not one", b"GIF89a but not really", "image/png", 422, "bad_image"),
    ("a truncated PNG", blank_png()[:60], "image/png", 422, "bad_image"),
    ("a blank image", blank_png(), "image/png", 422, "bad_image"),
    (
        "a decompression bomb under Pillow's own limit",
        png_header_only(5_000, 5_000),
        "image/png",
        413,
        "image_too_large",
    ),
    (
        "a decompression bomb past Pillow's own limit",
        png_header_only(100_000, 100_000),
        "image/png",
        413,
        "image_too_large",
    ),
    (
        "a multipart form with no image",
        b'--x\r\nContent-Disposition: form-data; name="top"\r\n\r\n3\r\n--x--\r\n',
        "multipart/form-data; boundary=x",
        422,
        "no_image",
    ),
    (
        "a multipart form with a text 'image'",
        b'--x\r\nContent-Disposition: form-data; name="image"\r\n\r\ncat\r\n--x--\r\n',
        "multipart/form-data; boundary=x",
        422,
        "no_image",
    ),
    (
        "a multipart form cut short",
        b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n\x89PNG',
        "multipart/form-data; boundary=x",
        None,  # how far a parser reads a broken form is its own business: any 4xx
        None,
    ),
    ("a multipart form with no boundary", b"--x--", "multipart/form-data", 400, None),
]


@pytest.fixture(scope="module")
def client(service):
    with httpx.Client(base_url=service.url, timeout=60) as c:
        yield c


@pytest.mark.parametrize(("what", "body", "kind", "status", "code"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_body_gets_a_4xx_naming_the_problem(client, what, body, kind, status, code):
    answer = client.post("/v1/predict", content=body, headers={"content-type": kind})
    if status is None:
        assert 400 <= answer.status_code < 500, f"{what}: {answer.status_code} {answer.text[:300]}"
    else:
        assert answer.status_code == status, f"{what}: {answer.status_code} {answer.text[:300]}"
    error = answer.json()["error"]
    assert error["message"] and len(error["message"]) < 400
    if code is not None:
        assert error["code"] == code, error


def test_a_body_streamed_past_the_limit_without_a_length_is_cut_off(client):
    def chunks():
        for _ in range(LIMITS.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    answer = client.post("/v1/predict", content=chunks(), headers={"content-type": JSON})
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "body_too_large"


def test_other_routes_and_methods_are_4xx_json(service):
    with httpx.Client(base_url=service.url, timeout=30) as c:
        for answer in (c.get("/v1/predict"), c.get("/nothing-here"), c.delete("/v1/model")):
            assert 400 <= answer.status_code < 500 and "error" in answer.json()


def test_it_still_answers_after_every_hostile_body(service, shapes_run):
    """Run after the hostile bodies (pytest keeps file order): the same process, healthy and correct."""
    with httpx.Client(base_url=service.url, timeout=60) as c:
        before = c.post("/v1/predict", json={"drawing": SQUARE}).json()
        for _, body, kind, _, _ in HOSTILE:
            c.post("/v1/predict", content=body, headers={"content-type": kind})
        answer = c.post("/v1/predict", json={"drawing": SQUARE})
        assert answer.status_code == 200 and answer.json() == before
        trained = load_trained(shapes_run)
        want = top_k(trained.probabilities(rasterize([from_xy_lists(SQUARE)], 28)), trained.classes, 5)[0]
        assert [t["class"] for t in answer.json()["predictions"][0]["top"]] == [t["class"] for t in want]
        assert c.get("/healthz").status_code == 200
    assert service.alive()
    assert "Traceback" not in service.log.read_text()
