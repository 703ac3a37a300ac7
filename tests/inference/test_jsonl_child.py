"""``kerasketch predict RUN --serve``: the JSON-lines classifier, driven through a real child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from kerasketch.data.rasterize import rasterize
from kerasketch.data.strokes import from_xy_lists
from kerasketch.inference.model import load_trained

from .conftest import fake_run

ROOT = Path(__file__).resolve().parents[2]
CAT = [[[10, 60, 120, 200, 250], [40, 10, 0, 30, 90]], [[30, 100, 180], [200, 255, 210]], [[120], [120]]]


def start(run: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "kerasketch", "predict", str(run), "--serve", "--top", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def ask(child: subprocess.Popen, request: object) -> dict:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write((request if isinstance(request, str) else json.dumps(request)) + "\n")
    child.stdin.flush()
    return json.loads(child.stdout.readline())  # blocks until the answer; the test's timeout is the ceiling


def test_serves_predictions_and_the_model_input(tmp_path):
    run, _ = fake_run(tmp_path, "baseline", ["cat", "dog", "fish"])
    child = start(run)
    try:
        assert child.stdout is not None
        ready = json.loads(child.stdout.readline())
        assert ready == {
            "event": "ready",
            "run": run.name,
            "classes": ["cat", "dog", "fish"],
            "image_size": 28,
            "top": 2,
        }

        reply = ask(child, {"id": 7, "strokes": CAT})
        assert reply["id"] == 7 and [t["class"] for t in reply["top"]] != [] and len(reply["top"]) == 2
        image = np.array(reply["image"], dtype=np.uint8)
        np.testing.assert_array_equal(image, rasterize([from_xy_lists(CAT)], 28)[0])
        trained = load_trained(run)
        want = trained.probabilities(image[None])[0]
        assert reply["top"][0]["class"] == trained.classes[int(want.argmax())]
        assert abs(reply["top"][0]["probability"] - float(want.max())) < 1e-5

        assert len(ask(child, {"id": "a", "strokes": CAT, "top": 3})["top"]) == 3
        raw = ask(child, {"strokes": [[[1000, 1400, 1800], [500, 900, 500]]], "raw": True})
        assert np.array(raw["image"]).max() > 200  # screen coordinates scaled into the square

        # Bad requests get an error line, and the child goes on.
        assert ask(child, "not json")["error"].startswith("not a JSON line")
        assert "no strokes" in ask(child, {"id": 8, "strokes": []})["error"]
        assert "'top'" in ask(child, {"id": 9, "strokes": CAT, "top": 0})["error"]
        assert ask(child, {"id": 10, "strokes": CAT})["id"] == 10
        assert child.stdin is not None
        child.stdin.close()
        assert child.wait(timeout=120) == 0
    finally:
        child.kill()
        child.wait()


def test_a_run_that_cannot_serve_says_why_and_exits_2(tmp_path):
    run, _ = fake_run(tmp_path, "baseline", ["cat", "dog"])
    (run / "best.keras").unlink()
    child = start(run)
    out, _ = child.communicate(timeout=300)
    assert child.returncode == 2
    message = json.loads(out.splitlines()[0])
    assert message["event"] == "error" and "has no best.keras" in message["error"]
