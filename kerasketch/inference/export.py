"""``kerasketch export``: a run's model as ONNX or as a plain ``.keras`` file.

* ONNX goes through Keras' own ``model.export(format="onnx")`` (on the torch
  backend Keras hands it to torch's exporter), with a dynamic batch size. The
  graph's input is ``image`` and its output is renamed ``logits``; the class
  names and the expected input travel in the file's metadata
  (``kerasketch.classes``, ``kerasketch.input``, ``kerasketch.output``, JSON
  strings) and in a ``<name>.labels.json`` beside it, for runtimes that do not
  read metadata (browsers). Before the file gets its name, onnxruntime runs it
  on real-looking drawings and its logits are compared with the Keras model's.
* ``keras`` writes the model rebuilt from stock Keras layers
  (:mod:`.stock`), which ``keras.saving.load_model`` reads without kerasketch.

Every file is written under a temporary name and renamed when whole.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, RunError
from .model import INPUT_LAYOUT, OUTPUT_LAYOUT, TrainedModel, load_trained

FORMATS = ("onnx", "keras")
#: onnxruntime's logits may differ from the Keras model's by this much (float32 kernels differ).
ONNX_TOLERANCE = 1e-4
INSTALL_HINT = "install the export extra: pip install 'kerasketch[export]' (onnx, onnxruntime, onnxscript)"


def labels_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.labels.json")


def describe(trained: TrainedModel) -> dict[str, Any]:
    """What a user of the exported file needs: classes, input, output, provenance."""
    size = trained.image_size
    return {
        "classes": trained.classes,
        "input": {**INPUT_LAYOUT, "shape": ["batch", 1, size, size]},
        "output": OUTPUT_LAYOUT,
        "run": trained.run_dir.name,
        "recipe": trained.recipe.get("name"),
        "model": trained.architecture,
    }


def check_images(size: int, n: int = 16) -> np.ndarray:
    """Drawings to compare an export with its model: synthetic sketches at the model's size, plus a blank."""
    from ..data.rasterize import rasterize
    from ..data.synthetic import SYNTHETIC_CLASSES, generate_drawings

    drawings = [d for cls in sorted(SYNTHETIC_CLASSES)[: n - 1] for d in generate_drawings(cls, 1, seed=0)]
    return np.concatenate([rasterize(drawings, size), np.zeros((1, size, size), np.uint8)])


def export_run(run: str | Path, fmt: str, output: str | Path | None = None) -> dict[str, Any]:
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "onnx":
        _require_onnx()
    trained = load_trained(run)
    out = Path(output) if output is not None else Path(f"{trained.run_dir.name}.{fmt}")
    if out.suffix != f".{fmt}":
        raise ConfigError(f"-o {out}: a {fmt} export's name must end in .{fmt}", f"for example -o model.{fmt}")
    if out.is_dir():
        raise ConfigError(f"-o {out} is a folder", f"give a file name, like {out / ('model.' + fmt)}")
    if not out.parent.is_dir():
        raise ConfigError(f"-o {out}: the folder {out.parent} does not exist", "create it first")
    x = check_images(trained.image_size).astype(np.float32)[:, None] / np.float32(255.0)
    meta = describe(trained)
    with warnings.catch_warnings():
        # The tracer's warnings about Python constants, and Keras' about a bare
        # array for a named input, say nothing here: the export is checked against
        # the model's logits before it gets its name.
        warnings.simplefilter("ignore")
        if fmt == "keras":
            worst = _write_keras(trained, x, out)
        else:
            worst = _write_onnx(trained, x, out, meta)
    _write_atomically(labels_path(out), (json.dumps(meta, indent=2) + "\n").encode())
    return {**meta, "file": str(out), "labels": str(labels_path(out)), "format": fmt, "max_logit_difference": worst}


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        raise ConfigError(f"ONNX export needs the {err.name} package, which is not installed", INSTALL_HINT) from None


def _write_keras(trained: TrainedModel, x: np.ndarray, out: Path) -> float:
    from ..models.stock import stock_model

    if trained.pretrained:
        raise ConfigError(
            f"{trained.run_dir.name} is a {trained.architecture} run: its frozen torchvision backbone is a torch "
            "module, which no stock Keras layer holds, so plain Keras cannot load it",
            "export it with --format onnx, or load its best.keras where kerasketch is installed",
        )
    copy = stock_model(trained.model, x)
    tmp = out.with_name(f".{out.stem}.tmp.keras")  # Keras insists on the .keras suffix
    try:
        copy.save(tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return float(np.abs(np.asarray(copy.predict_on_batch(x)) - np.asarray(trained.model.predict_on_batch(x))).max())


def _write_onnx(trained: TrainedModel, x: np.ndarray, out: Path, meta: dict[str, Any]) -> float:
    import onnx
    import onnxruntime

    model = trained.model
    if not trained.pretrained:
        from ..models.stock import stock_model

        model = stock_model(model, x)  # the graph of Keras' own layers, not of our torch shortcuts
    want = np.asarray(model.predict_on_batch(x))  # also marks the model as called, which export requires
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        model.export(str(tmp), format="onnx", verbose=False)
        proto = onnx.load(str(tmp))
        _rename_output(proto, "logits")
        for key, value in (("classes", meta["classes"]), ("input", meta["input"]), ("output", meta["output"])):
            entry = proto.metadata_props.add()
            entry.key, entry.value = f"kerasketch.{key}", json.dumps(value)
        proto.producer_name = "kerasketch"
        onnx.save(proto, str(tmp))
        session = onnxruntime.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        got = session.run(["logits"], {session.get_inputs()[0].name: x})[0]
        worst = float(np.abs(got - want).max())
        if worst > ONNX_TOLERANCE:
            raise RunError(
                f"the ONNX export of {trained.run_dir.name} differs from the Keras model by {worst:.3g} in its logits",
                "this is a bug in the exporter; export --format keras instead and report it",
            )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return worst


def _rename_output(proto, name: str) -> None:
    old = proto.graph.output[0].name
    for node in proto.graph.node:
        node.output[:] = [name if o == old else o for o in node.output]
    proto.graph.output[0].name = name


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
