"""``kerasketch data ...`` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from kerasketch.cli import main


def test_info_json_reports_the_real_sample(quickdraw_sample, capsys):
    for sub, (classes, total) in quickdraw_sample.counts.items():
        assert main(["data", "info", "--data", str(quickdraw_sample.root / sub), "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert (len(report["classes"]), report["total"]) == (classes, total)
        assert report["formats"] == {"bitmap" if sub == "bitmap" else "ndjson": classes}


def test_info_table(quickdraw_sample, capsys):
    assert main(["data", "info", "--data", str(quickdraw_sample.root / "bitmap")]) == 0
    out = capsys.readouterr().out
    classes, total = quickdraw_sample.counts["bitmap"]
    assert f"{classes} classes, {total:,} drawings" in out and "The Mona Lisa" in out and "imbalance" in out


def test_rasterize_reproduces_the_official_rows(quickdraw_sample, tmp_path, capsys):
    quickdraw = quickdraw_sample.root
    maes = []
    for cls in quickdraw_sample.paired_classes:
        out = tmp_path / f"{cls}.npy"
        assert (
            main(
                [
                    "data",
                    "rasterize",
                    str(quickdraw / "simplified" / f"{cls}.ndjson"),
                    "--size",
                    "28",
                    "-o",
                    str(out),
                    "--quiet",
                ]
            )
            == 0
        )
        mine = np.load(out)
        assert mine.shape == (25, 784) and mine.dtype == np.uint8
        official = np.load(quickdraw / "bitmap" / f"{cls}.npy", mmap_mode="r")[:25]
        maes.append(np.abs(mine.astype(float) - official).mean())
    assert np.mean(maes) <= 2.0
    assert (
        main(
            [
                "data",
                "rasterize",
                str(quickdraw / "raw" / "cat.ndjson"),
                "--size",
                "64",
                "-o",
                str(tmp_path / "big.npy"),
                "--quiet",
            ]
        )
        == 0
    )
    assert np.load(tmp_path / "big.npy").shape[1] == 64 * 64


def test_prepare_then_reopen(quickdraw, tmp_path, capsys):
    args = [
        "data",
        "prepare",
        "--data",
        str(quickdraw / "bitmap"),
        "--classes",
        "cat,dog",
        "--max-per-class",
        "200",
        "--cache-dir",
        str(tmp_path),
        "--json",
        "--quiet",
    ]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out)
    assert not first["from_cache"] and second["from_cache"]
    assert first["splits"] == second["splits"] == {"train": 320, "val": 40, "test": 40}


def test_bad_input_is_one_message_and_a_nonzero_exit(tmp_path):
    (tmp_path / "cat.npy").write_bytes(b"\x93NUMPY truncated")
    cases = [
        (["data", "info", "--data", str(tmp_path / "missing")], "does not exist"),
        (["data", "info", "--data", str(tmp_path)], "cat.npy: not a readable .npy bitmap file"),
        (["data", "rasterize", str(tmp_path / "none.ndjson"), "-o", str(tmp_path / "o.npy")], "does not exist"),
    ]
    for argv, message in cases:
        proc = subprocess.run([sys.executable, "-m", "kerasketch", *argv], capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and "Traceback" not in proc.stderr
        assert proc.stderr.startswith("error: ")
    assert not (tmp_path / "o.npy").exists()
