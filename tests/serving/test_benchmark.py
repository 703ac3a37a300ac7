"""``kerasketch benchmark``: every format measured and compared with Keras, as a table, CSV and JSON."""

from __future__ import annotations

import csv
import json

from kerasketch.cli import main
from kerasketch.inference.benchmark import COLUMNS


def test_benchmark_measures_each_format_against_keras(shapes_run, tmp_path, capsys):
    out = tmp_path / "bench"
    argv = ["benchmark", str(shapes_run), "-o", str(out), "--seconds", "0.05", "--drawings", "40"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    for fmt in ("keras", "onnx", "openvino", "pt2"):
        assert any(line.startswith(fmt) for line in printed.splitlines()), printed
    rows = list(csv.DictReader((out / "benchmark.csv").open()))
    assert [r["format"] for r in rows] == ["keras", "onnx", "openvino", "pt2"]
    assert list(rows[0]) == list(COLUMNS)
    report = json.loads((out / "benchmark.json").read_text())
    assert "test split" in report["drawings"] and report["machine"]["cores"] >= 1
    for row in report["rows"]:
        assert row["size_mb"] > 0 and row["load_s"] > 0
        assert 0 < row["latency_p50_ms"] <= row["latency_p99_ms"] and row["throughput_per_s"] > 0
        assert row["top1_agreement"] == 1.0 and row["max_probability_difference"] < 1e-4
        assert row["accuracy"] is not None
    assert report["rows"][0]["max_probability_difference"] == 0.0  # Keras against itself
    assert (out / "model-openvino.bin").is_file() and (out / "model-pt2.pt2").is_file()


def test_benchmark_refuses_an_unknown_format(shapes_run, capsys):
    assert main(["benchmark", str(shapes_run), "--formats", "keras,tensorrt"]) == 2
    assert "tensorrt" in capsys.readouterr().err
