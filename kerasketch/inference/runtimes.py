"""One way to run a model whatever its file: a run's ``best.keras`` or one of its exports.

Each runtime takes bitmaps as the data holds them, (k, S, S) uint8 with
strokes bright on black, and gives class probabilities, (k, classes) float,
the softmax over every logit cut to the classes (as :class:`TrainedModel` does).
An export is recognised by its suffix and carries its classes and input size in
the ``<name>.labels.json`` that ``kerasketch export`` writes beside it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError
from ..runs import folders
from .model import load_trained, softmax_classes

#: Export suffix -> format name; a folder is a run (its best.keras).
SUFFIXES = {".onnx": "onnx", ".xml": "openvino", ".pt2": "pt2", ".keras": "keras"}


@dataclass
class Runtime:
    """A loaded model: ``probabilities(bitmaps)`` and what describes it."""

    format: str
    path: Path  # the file that holds the weights
    classes: list[str]
    image_size: int
    logits: Callable[[np.ndarray], np.ndarray]  # float32 (k, 1, S, S) in [0, 1] -> logits
    info: dict[str, Any] = field(default_factory=dict)  # run, recipe, model, test accuracy where known

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return softmax_classes(self.logits(model_input(images)), len(self.classes))

    def weights_sha256(self) -> str:
        digest = hashlib.sha256()
        files = [self.path] + ([self.path.with_suffix(".bin")] if self.format == "openvino" else [])
        for f in files:
            with open(f, "rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
        return digest.hexdigest()


def model_input(images: np.ndarray) -> np.ndarray:
    """uint8 bitmaps (k, S, S) to the models' input: float32 (k, 1, S, S) in [0, 1], as training feeds them."""
    x = images.astype(np.float32)
    x *= np.float32(1.0 / 255.0)
    return x[:, None, :, :]


def open_runtime(source: str | Path) -> Runtime:
    """A run folder (its best.keras) or an exported file, ready to predict; one clear message if it cannot be."""
    path = Path(source).expanduser()
    if path.is_dir():
        return keras_runtime(path)
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None or fmt == "keras":
        raise ConfigError(
            f"{path}: not a run folder or an export kerasketch can serve",
            f"give a run folder, or a file ending in {', '.join(s for s, f in SUFFIXES.items() if f != 'keras')}",
        )
    if not path.is_file():
        raise DataError(f"{path} does not exist", "export it first: kerasketch export RUN --format " + fmt)
    labels = path.with_name(f"{path.stem}.labels.json")
    try:
        meta = json.loads(labels.read_text())
        classes = list(meta["classes"])
        size = int(meta["input"]["shape"][-1])
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        raise DataError(
            f"{labels}: missing or not the labels file kerasketch export writes beside {path.name}",
            "export the run again with kerasketch export",
        ) from None
    info = {k: meta.get(k) for k in ("run", "recipe", "model", "test_accuracy")}
    return Runtime(fmt, path, classes, size, logits_of(fmt, path), info)


def logits_of(fmt: str, path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The function from model input to logits of an exported file of format ``fmt``."""
    return {"onnx": _onnx_logits, "openvino": _openvino_logits, "pt2": _pt2_logits}[fmt](path)


def keras_runtime(run: str | Path) -> Runtime:
    trained = load_trained(run)
    evaluation = folders.read_evaluation(trained.run_dir)
    test = (evaluation or {}).get("test") or {}
    info = {
        "run": trained.run_dir.name,
        "recipe": trained.recipe.get("name"),
        "model": trained.architecture,
        "test_accuracy": test.get("accuracy"),
    }
    model = trained.model
    # By its name: a bare array for a named input makes Keras warn on every call (in a server, every request).
    name = model.inputs[0].name if len(model.inputs) == 1 else None

    def logits(x: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict_on_batch({name: x} if name else x), dtype=np.float32)

    return Runtime("keras", trained.run_dir / folders.BEST, trained.classes, trained.image_size, logits, info)


def _onnx_logits(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    try:
        import onnxruntime
    except ImportError:
        raise ConfigError("serving an ONNX file needs onnxruntime", "pip install 'kerasketch[export]'") from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: np.asarray(session.run(None, {name: x})[0], dtype=np.float32)


def _openvino_logits(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    try:
        import openvino
    except ImportError:
        raise ConfigError("an OpenVINO model needs the openvino package", "pip install 'kerasketch[serve]'") from None
    # OpenVINO's CPU plugin computes in bfloat16 by default where the CPU has AVX-512 BF16 or AMX, which
    # moves logits by several hundredths: the export is checked against Keras, and served, in float32.
    f32 = {openvino.properties.hint.inference_precision: openvino.Type.f32}
    compiled = openvino.Core().compile_model(str(path), "CPU", f32)
    output = compiled.output(0)
    return lambda x: np.asarray(compiled(x)[output], dtype=np.float32)


def _pt2_logits(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    import torch

    program = torch.export.load(str(path)).module()

    def logits(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return program(torch.from_numpy(x)).detach().cpu().numpy().astype(np.float32)

    return logits
