"""``kerasketch serve``: the real service over real HTTP answers like ``kerasketch predict`` and batches requests."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from kerasketch.cli import main
from kerasketch.data.rasterize import rasterize
from kerasketch.data.synthetic import generate_drawings
from kerasketch.inference.model import load_trained, top_k
from kerasketch.inference.predict import predictions

from .conftest import SHAPES


def simplified(cls: str, seed: int = 7) -> list[list[list[int]]]:
    """A synthetic drawing of ``cls`` as an ndjson line's ``drawing`` field."""
    drawing = generate_drawings(cls, 1, seed=seed)[0]
    return [[s[:, 0].astype(int).tolist(), s[:, 1].astype(int).tolist()] for s in drawing]


def as_raw(strokes: list[list[list[int]]]) -> list[list[list[float]]]:
    """The same drawing in screen pixels (three times larger, moved), with timestamps, as a raw file holds it."""
    t = 0
    raw = []
    for xs, ys in strokes:
        ts = list(range(t, t + 10 * len(xs), 10))
        t = ts[-1] + 100
        raw.append([[3.0 * x + 41 for x in xs], [3.0 * y + 17 for y in ys], ts])
    return raw


def as_stroke3(strokes: list[list[list[int]]]) -> list[list[int]]:
    points, pen = [], []
    for xs, ys in strokes:
        points += list(zip(xs, ys))
        pen += [0] * (len(xs) - 1) + [1]
    pts = np.asarray(points)
    deltas = np.diff(pts, axis=0, prepend=np.zeros((1, 2), int))
    return np.column_stack((deltas, pen)).astype(int).tolist()


def png_of(strokes: list[list[list[int]]]) -> bytes:
    """The drawing in black on white, as a screenshot of it would be."""
    from PIL import ImageDraw

    img = Image.new("L", (300, 300), 255)
    draw = ImageDraw.Draw(img)
    for xs, ys in strokes:
        draw.line([(x + 20, y + 20) for x, y in zip(xs, ys)], fill=0, width=4)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def classes_of(answer: dict) -> list[list[str]]:
    return [[t["class"] for t in p["top"]] for p in answer["predictions"]]


def test_the_three_input_kinds_get_the_classes_kerasketch_predict_gives(service, shapes_run, tmp_path):
    drawings = {cls: simplified(cls) for cls in SHAPES}
    lines = [json.dumps({"word": cls, "drawing": d}) for cls, d in drawings.items()]
    (tmp_path / "shapes.ndjson").write_text("\n".join(lines) + "\n")
    (tmp_path / "raw.ndjson").write_text(
        "\n".join(json.dumps({"word": c, "drawing": as_raw(d)}) for c, d in drawings.items()) + "\n"
    )
    for cls, d in drawings.items():
        (tmp_path / f"{cls}.png").write_bytes(png_of(d))
    trained = load_trained(shapes_run)
    by_predict = {
        row["source"]: row["top"]
        for row in predictions(trained, [tmp_path / "shapes.ndjson", tmp_path / "raw.ndjson"], k=4)
    }
    image_rows = {
        Path(row["source"]).stem: row["top"]
        for row in predictions(trained, [tmp_path / f"{c}.png" for c in SHAPES], k=4)
    }

    with httpx.Client(base_url=service.url, timeout=60) as client:
        one = client.post("/v1/predict", json={"drawing": drawings["circle"], "top": 4})
        assert one.status_code == 200, one.text
        listed = client.post("/v1/predict", json={"drawings": list(drawings.values()), "top": 4}).json()
        raw = client.post(
            "/v1/predict", json={"drawings": [as_raw(d) for d in drawings.values()], "format": "raw", "top": 4}
        )
        stroke3 = client.post(
            "/v1/predict", json={"drawings": [as_stroke3(d) for d in drawings.values()], "format": "stroke3", "top": 4}
        )
        files = [("image", (f"{c}.png", png_of(d), "image/png")) for c, d in drawings.items()]
        form = client.post("/v1/predict", files=files, data={"top": "4"})
        body = client.post(
            "/v1/predict", content=png_of(drawings["triangle"]), headers={"content-type": "image/png"}
        ).json()

    def close(a: list[dict], b: list[dict]) -> None:
        assert [t["class"] for t in a] == [t["class"] for t in b]
        assert np.allclose([t["probability"] for t in a], [t["probability"] for t in b], atol=1e-4)

    assert one.json()["run"] == shapes_run.name and one.json()["format"] == "keras"
    close(one.json()["predictions"][0]["top"], by_predict[f"{tmp_path / 'shapes.ndjson'}, line 1"])
    for i, cls in enumerate(SHAPES):
        close(listed["predictions"][i]["top"], by_predict[f"{tmp_path / 'shapes.ndjson'}, line {i + 1}"])
        close(raw.json()["predictions"][i]["top"], by_predict[f"{tmp_path / 'raw.ndjson'}, line {i + 1}"])
        close(form.json()["predictions"][i]["top"], image_rows[cls])
        assert form.json()["predictions"][i]["name"] == f"{cls}.png"
    # sketch-rnn's offsets of the same points are the same drawing
    assert classes_of(stroke3.json()) == classes_of(listed)
    close(body["predictions"][0]["top"], image_rows["triangle"])


def test_model_health_readiness_and_docs(service, shapes_run):
    with httpx.Client(base_url=service.url, timeout=30) as client:
        model = client.get("/v1/model").json()
        assert model["classes"] == sorted(SHAPES) and model["image_size"] == 28
        assert model["run"] == shapes_run.name and model["recipe"] == "like_vgg_adamw"
        import hashlib

        assert model["weights_sha256"] == hashlib.sha256((shapes_run / "best.keras").read_bytes()).hexdigest()
        assert model["test_accuracy"] == json.loads((shapes_run / "eval.json").read_text())["test"]["accuracy"]
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready"}
        assert "/v1/predict" in client.get("/openapi.json").json()["paths"]
        assert client.get("/docs").status_code == 200
        page = client.get("/").text
        assert "<canvas" in page and "CC BY 4.0" in page and "Quick, Draw!" in page


def test_concurrent_requests_share_model_calls(service, shapes_run):
    """16 requests at once make fewer than 16 model calls, and each still gets its own drawing's answer."""
    shapes = [SHAPES[i % len(SHAPES)] for i in range(16)]
    drawings = [generate_drawings(cls, 1, seed=100 + i)[0] for i, cls in enumerate(shapes)]
    bodies = [{"drawing": [[s[:, 0].tolist(), s[:, 1].tolist()] for s in d], "top": 1} for d in drawings]
    trained = load_trained(shapes_run)
    expected = [t[0]["class"] for t in top_k(trained.probabilities(rasterize(drawings, 28)), trained.classes, 1)]
    assert len(set(expected)) == len(SHAPES)  # answers that differ, so that a mixed-up batch would show

    async def all_at_once() -> tuple[dict, list[httpx.Response], dict]:
        async with httpx.AsyncClient(base_url=service.url, timeout=60) as client:
            before = (await client.get("/v1/stats")).json()
            answers = await asyncio.gather(*(client.post("/v1/predict", json=b) for b in bodies))
            after = (await client.get("/v1/stats")).json()
        return before, list(answers), after

    before, answers, after = asyncio.run(all_at_once())
    assert all(a.status_code == 200 for a in answers)
    assert [a.json()["predictions"][0]["top"][0]["class"] for a in answers] == expected
    assert after["requests"] - before["requests"] == 16
    assert after["drawings"] - before["drawings"] == 16
    calls = after["model_calls"] - before["model_calls"]
    assert 1 <= calls < 16, f"{calls} model calls for 16 concurrent requests: nothing was batched"


def test_serve_refuses_what_it_cannot_serve_in_one_line(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "model.onnx").write_bytes(b"not a model")
    assert main(["serve", str(tmp_path / "model.onnx")]) == 2
    assert "labels" in capsys.readouterr().err
    assert main(["serve", str(tmp_path), "--max-points", "0"]) == 2
    assert "--max-points must be a positive number" in capsys.readouterr().err
