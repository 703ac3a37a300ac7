"""``kerasketch predict`` on drawing files, images and folders, as a user runs it."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from kerasketch.cli import main
from kerasketch.data.rasterize import rasterize
from kerasketch.data.sources import NdjsonSource

from .conftest import CLASSES

pytestmark = pytest.mark.slow


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_strokes_bitmaps_and_pngs_with_sources_and_accuracy(trained_run, quickdraw, tmp_path, capsys):
    simplified = quickdraw / "simplified"
    # Strokes of two known classes and one the model does not know, and the last bitmap rows of one.
    inputs = tmp_path / "in"
    inputs.mkdir()
    for cls in ("cat", "fish", "zebra"):
        shutil.copy(simplified / f"{cls}.ndjson", inputs)
    np.save(inputs / "rainbow.npy", np.load(quickdraw / "bitmap" / "rainbow.npy", mmap_mode="r")[-40:])
    assert main(["predict", str(trained_run), str(inputs), "--json", "--top", "2"]) == 0
    rows = json_lines(capsys.readouterr().out)
    summary = rows.pop()["summary"]
    assert len(rows) == 25 * 3 + 40
    assert rows[0]["source"] == f"{inputs / 'cat.ndjson'}, line 1" and rows[0]["class"] == "cat"
    assert rows[89]["source"] == f"{inputs / 'rainbow.npy'}, row 39"  # files in name order
    assert rows[-1]["source"] == f"{inputs / 'zebra.ndjson'}, line 25" and rows[-1]["class"] == "zebra"
    assert all(len(r["top"]) == 2 and r["top"][0]["probability"] >= r["top"][1]["probability"] for r in rows)
    assert {t["class"] for r in rows for t in r["top"]} <= set(CLASSES)
    known = [r for r in rows if r["class"] in CLASSES]
    assert summary["scored"] == len(known) == 90
    assert summary["accuracy"] == pytest.approx(np.mean([r["top"][0]["class"] == r["class"] for r in known]))
    assert summary["accuracy"] > 0.5  # three classes: chance is a third
    assert summary["unknown_classes"] == {"zebra": 25}

    # PNGs of the cat strokes, named by class, predict as the strokes do.
    cats = NdjsonSource(simplified / "cat.ndjson").drawings("cat", np.arange(25))
    pngs = tmp_path / "png"
    pngs.mkdir()
    for i, img in enumerate(rasterize(cats, 256)):
        Image.fromarray(255 - img).save(pngs / f"Cat_{i:02d}.png")
    (pngs / "IMG_0001.png").write_bytes((pngs / "Cat_00.png").read_bytes())
    assert main(["predict", str(trained_run), str(pngs), "--json"]) == 0
    from_png = json_lines(capsys.readouterr().out)
    png_summary = from_png.pop()["summary"]
    assert png_summary["scored"] == 25 and from_png.pop()["class"] is None  # IMG_0001 names no class
    by_stroke = {r["source"].rsplit("line ", 1)[1]: r["top"][0]["class"] for r in rows[:25]}
    agree = [by_stroke[str(i + 1)] == r["top"][0]["class"] for i, r in enumerate(from_png)]
    assert np.mean(agree) >= 0.9

    assert main(["predict", str(trained_run), str(inputs / "cat.ndjson")]) == 0
    text = capsys.readouterr().out.splitlines()
    assert (
        text[0].startswith(f"{inputs / 'cat.ndjson'}, line 1: ") and len(re.findall(r"\w+ [01]\.\d{3}", text[0])) == 3
    )
    assert (
        text[-1].startswith("accuracy ")
        and "over the 25 drawings whose file names one of the model's 3 classes" in text[-1]
    )


def test_bad_inputs_are_one_message_and_exit_2(trained_run, tmp_path, capsys):
    (tmp_path / "scan.png").write_text("not an image")
    (tmp_path / "blank.png").write_bytes(b"")
    Image.new("RGB", (64, 64), "white").save(tmp_path / "white.jpg")
    (tmp_path / "empty.ndjson").write_text('{"word": "cat", "drawing": []}\n')
    (tmp_path / "notes.txt").write_text("hello")
    cases = {
        "scan.png": "scan.png: not a readable image",
        "blank.png": "blank.png: not a readable image",
        "white.jpg": "white.jpg: no drawing found",
        "empty.ndjson": "empty.ndjson, line 1: not a JSON object with strokes",
        "notes.txt": "notes.txt: not a drawing or image file",
        "missing.png": "missing.png does not exist",
    }
    for name, message in cases.items():
        assert main(["predict", str(trained_run), str(tmp_path / name)]) == 2, name
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (name, err)

    no_model = tmp_path / "unfinished"
    shutil.copytree(trained_run, no_model, ignore=shutil.ignore_patterns("best.keras"))
    assert main(["predict", str(no_model), str(tmp_path / "white.jpg")]) == 2
    assert "has no best.keras" in capsys.readouterr().err
    assert main(["predict", str(trained_run), str(tmp_path), "--top", "0"]) == 2
    assert "--top must be at least 1" in capsys.readouterr().err
    assert main(["predict", str(trained_run)]) == 2
    assert "give at least one INPUT" in capsys.readouterr().err


def test_a_pretrained_run_whose_weights_file_is_gone(tmp_path, capsys):
    import torch
    import torchvision

    from kerasketch.models import build_model

    weights = tmp_path / "resnet50.pt"
    torch.save(torchvision.models.resnet50().state_dict(), weights)
    run = tmp_path / "resnet50-run"
    run.mkdir()
    build_model("resnet50", 2, weights=weights).save(run / "best.keras")  # refers to the file, as a run's does
    recipe = {"name": "resnet50", "model": "resnet50", "image_size": 32}
    (run / "config.json").write_text(json.dumps({"recipe": recipe, "class_names": ["cat", "dog"]}))
    Image.new("L", (64, 64), 255).save(tmp_path / "x.png")
    weights.unlink()
    assert main(["predict", str(run), str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert f"the weights file {weights} for resnet50 is missing" in err and "put that file back" in err
