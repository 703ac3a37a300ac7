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
  (:mod:`kerasketch.models.stock`), which ``keras.saving.load_model`` reads without kerasketch.
* ``openvino`` writes OpenVINO IR (``.xml`` and its ``.bin``) through Keras'
  ``model.export(format="openvino")``, which traces the model through torch.
* ``pt2`` writes a ``torch.export`` program (Keras has no such format): the
  model, a torch module on this backend, exported with a dynamic batch size;
  ``torch.export.load(path).module()`` runs it without Keras.
* ``litert`` is refused with a message: its converter (litert-torch) is not
  part of kerasketch's extras.

Each export is compared with the model's logits on sketches as it is written,
then its top-1 agreement with the Keras model and the largest difference in a
class probability, on up to 256 drawings of the run's test split, are recorded
in the labels file (``check``).

Every file is written under a temporary name and renamed when whole.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, RunError
from .agreement import agreement, check_images, held_out_drawings
from .model import INPUT_LAYOUT, OUTPUT_LAYOUT, TrainedModel, load_trained

FORMATS = ("onnx", "keras", "openvino", "pt2", "litert")
#: The file each format writes (OpenVINO's weights go beside its .xml, in a .bin of the same name).
#: Where ``kerasketch export`` writes without -o: a folder inside the run's.
EXPORT_DIR = "export"
#: The name of an ONNX export's free first dimension.
BATCH_DIMENSION = "batch"
SUFFIX = {"onnx": ".onnx", "keras": ".keras", "openvino": ".xml", "pt2": ".pt2", "litert": ".tflite"}
#: Drawings of the run's test split each export is checked on (agreement.py).
CHECK_DRAWINGS = 256
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


def export_run(run: str | Path, fmt: str, output: str | Path | None = None) -> dict[str, Any]:
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "onnx":
        _require_onnx()
    if fmt == "openvino":
        _require("openvino", "OpenVINO export", "pip install 'kerasketch[serve]' (openvino)")
    if fmt == "litert":
        _require_litert()
    suffix = SUFFIX[fmt]
    trained = load_trained(run)
    if output is None:
        # Beside the run it came from, not wherever the command happened to be typed.
        out = trained.run_dir / EXPORT_DIR / f"{trained.run_dir.name}{suffix}"
        out.parent.mkdir(exist_ok=True)
    else:
        out = Path(output)
    if out.suffix != suffix:
        raise ConfigError(f"-o {out}: a {fmt} export's name must end in {suffix}", f"for example -o model{suffix}")
    if out.is_dir():
        raise ConfigError(f"-o {out} is a folder", f"give a file name, like {out / ('model' + suffix)}")
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
        elif fmt == "onnx":
            worst = _write_onnx(trained, x, out, meta)
        else:
            worst = _write_traced(trained, x, out, fmt)
        meta["check"] = _check(trained, out, fmt)
    _write_atomically(labels_path(out), (json.dumps(meta, indent=2) + "\n").encode())
    return {**meta, "file": str(out), "labels": str(labels_path(out)), "format": fmt, "max_logit_difference": worst}


def _check(trained: TrainedModel, out: Path, fmt: str) -> dict[str, Any]:
    """The written file against the Keras model on the run's held-out drawings (recorded in its labels file)."""
    from .model import softmax_classes
    from .runtimes import logits_of, model_input

    images, _, what = held_out_drawings(trained, CHECK_DRAWINGS)
    logits: Callable[[np.ndarray], np.ndarray]
    if fmt == "keras":
        import keras

        plain = keras.saving.load_model(out, compile=False)

        def run_plain(x: np.ndarray) -> np.ndarray:
            return np.asarray(plain.predict(x, batch_size=256, verbose=0))

        logits = run_plain
    else:
        logits = logits_of(fmt, out)
    x = model_input(images)
    got = np.concatenate([logits(x[i : i + 256]) for i in range(0, len(x), 256)])
    return {"on": what, **agreement(trained.probabilities(images), softmax_classes(got, len(trained.classes)))}


def _require(module: str, what: str, hint: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"{what} needs the {module} package, which is not installed", hint)


def _require_litert() -> None:
    # Keras' LiteRT export on torch goes through litert-torch, which installs beside torch 2.14 only by
    # replacing pydantic (which FastAPI uses) and bringing transformers: the project leaves it out.
    _require("litert_torch", "LiteRT export", "pip install litert-torch, in an environment of its own")
    raise ConfigError(
        "LiteRT export is not supported by this kerasketch: its converter (litert-torch) is not part of any "
        "kerasketch extra, and its output is not checked",
        "export --format onnx (onnxruntime runs on phones) or --format pt2",
    )


def _torch_module(model):
    """A Keras model (a torch module on this backend) behind a forward of one input, ``image``, for torch.export."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, image):
            return self.model(image, training=False)

    return Logits()


def _write_traced(trained: TrainedModel, x: np.ndarray, out: Path, fmt: str) -> float:
    """OpenVINO IR (Keras' own export, traced through torch) or a torch.export program (.pt2), checked like ONNX."""
    from .runtimes import logits_of

    model = trained.model
    if not trained.pretrained:
        from ..models.stock import stock_model

        model = stock_model(model, x)
    want = np.asarray(model.predict_on_batch(x))
    tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
    written = [tmp, tmp.with_suffix(".bin")] if fmt == "openvino" else [tmp]
    try:
        if fmt == "openvino":
            model.export(str(tmp), format="openvino", verbose=False)
        else:
            import torch

            batch = torch.export.Dim("batch", min=1, max=65536)
            program = torch.export.export(_torch_module(model), (torch.from_numpy(x),), dynamic_shapes=({0: batch},))
            torch.export.save(program, str(tmp))
        got = logits_of(fmt, tmp)(x)
        worst = float(np.abs(got - want).max())
        if got.shape != want.shape or worst > ONNX_TOLERANCE:
            raise RunError(
                f"the {fmt} export of {trained.run_dir.name} differs from the Keras model by {worst:.3g} in its logits",
                "this is a bug in the exporter; export --format onnx instead and report it",
            )
        if fmt == "openvino":
            os.replace(tmp.with_suffix(".bin"), out.with_suffix(".bin"))
        os.replace(tmp, out)
    finally:
        for f in written:
            f.unlink(missing_ok=True)
    return worst


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
        _name_batch_dimension(proto, BATCH_DIMENSION)
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


def _name_batch_dimension(proto, name: str) -> None:
    """Call the inputs' and outputs' free first dimension ``name`` everywhere the graph names it (torch's
    exporter names the logits' after the node it came from, ``Add335_dim_0``): a reader sees one batch."""
    ends = [*proto.graph.input, *proto.graph.output]
    old = {v.type.tensor_type.shape.dim[0].dim_param for v in ends if v.type.tensor_type.shape.dim} - {""}
    for value in (*ends, *proto.graph.value_info):
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param in old:
                dim.dim_param = name


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
