"""Exports beside ONNX (OpenVINO IR, torch.export .pt2), each checked when written, and an export served over HTTP."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from kerasketch.cli import main
from kerasketch.inference.agreement import check_images
from kerasketch.inference.runtimes import keras_runtime, open_runtime

from .conftest import start_service, stop_service


@pytest.fixture(scope="module")
def exports(shapes_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports")
    files = {}
    for fmt, name in (("onnx", "shapes.onnx"), ("openvino", "shapes-ov.xml"), ("pt2", "shapes.pt2")):
        files[fmt] = folder / name
        assert main(["export", str(shapes_run), "--format", fmt, "-o", str(files[fmt]), "--json"]) == 0
    return files


@pytest.mark.parametrize("fmt", ["onnx", "openvino", "pt2"])
def test_each_export_is_checked_when_written_and_runs_like_keras(exports, shapes_run, fmt):
    out = exports[fmt]
    check = json.loads(out.with_name(f"{out.stem}.labels.json").read_text())["check"]
    assert check["top1_agreement"] == 1.0 and check["max_probability_difference"] < 1e-4
    assert "test split" in check["on"] and check["drawings"] > 0
    if fmt == "openvino":
        assert out.with_suffix(".bin").is_file()
    assert not [p for p in out.parent.iterdir() if ".tmp" in p.name]  # nothing half-written left behind

    images = check_images(28)
    runtime = open_runtime(out)
    assert runtime.format == fmt and runtime.classes == keras_runtime(shapes_run).classes
    want = keras_runtime(shapes_run).probabilities(images)
    for batch in (images[:1], images):  # a dynamic batch size
        got = runtime.probabilities(batch)
        assert np.abs(got - want[: len(batch)]).max() < 1e-4


def test_litert_is_refused_with_the_reason(shapes_run, tmp_path, capsys):
    assert main(["export", str(shapes_run), "--format", "litert", "-o", str(tmp_path / "m.tflite")]) == 2
    assert "litert" in capsys.readouterr().err.lower()
    assert not list(tmp_path.iterdir())


def test_an_onnx_export_served_by_two_workers_answers_like_the_run(exports, service, tmp_path):
    served = start_service(exports["onnx"], tmp_path / "onnx.log", "--workers", "2", "--log-level", "warning")
    try:
        drawing = {"drawing": [[[0, 128, 255, 0], [255, 0, 255, 255]]], "top": 4}
        with httpx.Client(timeout=60) as client:
            model = client.get(f"{served.url}/v1/model").json()
            assert model["format"] == "onnx" and model["file"] == "shapes.onnx"
            from_onnx = client.post(f"{served.url}/v1/predict", json=drawing).json()["predictions"][0]["top"]
            from_keras = client.post(f"{service.url}/v1/predict", json=drawing).json()["predictions"][0]["top"]
        assert [t["class"] for t in from_onnx] == [t["class"] for t in from_keras]
        assert np.allclose([t["probability"] for t in from_onnx], [t["probability"] for t in from_keras], atol=1e-4)
    finally:
        stop_service(served)
