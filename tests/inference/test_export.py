"""``kerasketch export``: ONNX that onnxruntime runs like the Keras model, and .keras files plain Keras loads."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest

from kerasketch.cli import main
from kerasketch.data.sources import resize
from kerasketch.training.evaluate import predict_logits

from .conftest import fake_run

FROM_SCRATCH = ("baseline", "ts_cnn", "like_vgg", "ai_inno_cnn")


def real_drawings(quickdraw: Path, size: int) -> np.ndarray:
    rows = [np.load(quickdraw / "bitmap" / f"{c}.npy", mmap_mode="r")[:8] for c in ("cat", "house", "bicycle")]
    return resize(np.concatenate(rows).reshape(-1, 28, 28), size)


@pytest.mark.parametrize("architecture", FROM_SCRATCH)
def test_onnx_reproduces_the_keras_logits(architecture, quickdraw, tmp_path, capsys):
    classes = ["cat", "house", "bicycle", "tree", "fish"]
    run, model = fake_run(tmp_path, architecture, classes)
    out = tmp_path / "model.onnx"
    assert main(["export", str(run), "--format", "onnx", "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out

    size = model.inputs[0].shape[-1]
    images = real_drawings(quickdraw, size)
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"] and session.get_outputs()[0].name == "logits"
    got = session.run(["logits"], {"image": images[:, None].astype(np.float32) / 255})[0]
    want = predict_logits(model, images)
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)

    meta = {p.key: json.loads(p.value) for p in onnx.load(str(out)).metadata_props}
    assert meta["kerasketch.classes"] == classes
    assert meta["kerasketch.input"]["shape"] == ["batch", 1, size, size]
    assert meta["kerasketch.input"]["range"] == [0.0, 1.0]
    assert json.loads((tmp_path / "model.labels.json").read_text())["classes"] == classes
    assert not list(tmp_path.glob(".*"))  # no temporary file left


BLOCK_KERASKETCH = textwrap.dedent(
    """
    import sys

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name == "kerasketch" or name.startswith("kerasketch."):
                raise ImportError(f"{name} is blocked: this process has no kerasketch")

    sys.meta_path.insert(0, Blocker())
    """
)


def test_keras_export_loads_and_predicts_without_kerasketch(quickdraw, tmp_path, capsys):
    run, model = fake_run(tmp_path, "like_vgg", ["cat", "house", "bicycle"])
    out = tmp_path / "plain.keras"
    assert main(["export", str(run), "--format", "keras", "-o", str(out)]) == 0
    images = real_drawings(quickdraw, 28)
    np.save(tmp_path / "x.npy", images[:, None].astype(np.float32) / 255)
    (tmp_path / "blocker").mkdir()
    (tmp_path / "blocker" / "sitecustomize.py").write_text(BLOCK_KERASKETCH)
    script = textwrap.dedent(
        f"""
        import numpy as np, keras
        try:
            import kerasketch
        except ImportError:
            pass
        else:
            raise SystemExit("kerasketch was importable")
        model = keras.saving.load_model({str(out)!r})
        np.save({str(tmp_path / "y.npy")!r}, np.asarray(model.predict(np.load({str(tmp_path / "x.npy")!r}), verbose=0)))
        """
    )
    env = {"PYTHONPATH": str(tmp_path / "blocker"), "KERAS_BACKEND": "torch", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    np.testing.assert_allclose(
        np.load(tmp_path / "y.npy"), predict_logits(model, images), atol=1e-5, rtol=0
    )  # stock.TOLERANCE
    # The run's own file does need kerasketch: that is why the export exists.
    proc = subprocess.run(
        [sys.executable, "-c", script.replace(str(out), str(run / "best.keras"))],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "kerasketch" in proc.stderr


def test_bad_exports_say_what_to_do(tmp_path, capsys, monkeypatch):
    run, _ = fake_run(tmp_path, "baseline", ["cat", "dog"])
    assert main(["export", str(run), "--format", "onnx", "-o", str(tmp_path / "model.keras")]) == 2
    assert "must end in .onnx" in capsys.readouterr().err
    assert main(["export", str(run), "--format", "keras", "-o", str(tmp_path / "nowhere" / "m.keras")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (run / "best.keras").write_bytes(b"PK\x03\x04 cut short")
    assert main(["export", str(run), "--format", "keras", "-o", str(tmp_path / "m.keras")]) == 2
    assert "not a readable Keras model" in capsys.readouterr().err
    assert not (tmp_path / "m.keras").exists()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if the export extra were not installed
    assert main(["export", str(run), "--format", "onnx", "-o", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert "needs the onnxruntime package" in err and "pip install 'kerasketch[export]'" in err


def test_an_export_without_o_goes_beside_the_run_with_a_batch_dimension(tmp_path, capsys, monkeypatch):
    run, _ = fake_run(tmp_path, "baseline", ["cat", "house", "bicycle"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["export", str(run), "--format", "onnx"]) == 0
    out = run / "export" / f"{run.name}.onnx"
    assert f"wrote {out}" in capsys.readouterr().out
    assert out.is_file() and (run / "export" / f"{run.name}.labels.json").is_file()
    assert not any(elsewhere.iterdir())  # nothing in the folder the command was typed in
    graph = onnx.load(str(out)).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert not [d.dim_param for v in graph.value_info for d in v.type.tensor_type.shape.dim if "_dim_" in d.dim_param]
    assert (
        onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"]).get_inputs()[0].shape[0] == "batch"
    )
