"""How closely another runtime reproduces a run's Keras model, on drawings the model was tested on.

The drawings are the run's own test split, reassembled from its config
(reopened from the data cache where the run left one): real Quick, Draw!
drawings for a run on real data, never seen in training. Where the run's data
cannot be read on this machine, synthetic sketches stand in and the report
says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import KerasketchError
from ..runs import folders
from .model import TrainedModel


def check_images(size: int, n: int = 16) -> np.ndarray:
    """Drawings to compare an export with its model: synthetic sketches at the model's size, plus a blank."""
    from ..data.rasterize import rasterize
    from ..data.synthetic import SYNTHETIC_CLASSES, generate_drawings

    drawings = [d for cls in sorted(SYNTHETIC_CLASSES)[: n - 1] for d in generate_drawings(cls, 1, seed=0)]
    return np.concatenate([rasterize(drawings, size), np.zeros((1, size, size), np.uint8)])


def held_out_drawings(trained: TrainedModel, limit: int) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Up to ``limit`` drawings of the run's test split (k, S, S) uint8, their labels (model class indices), and what they are."""
    from ..data.assembly import DataConfig
    from ..data.cache import load_or_build

    try:
        data = dict(folders.read_config(trained.run_dir).get("data") or {})
        if not data:
            raise KerasketchError("its config.json does not say what it trained on")
        data["image_size"] = trained.image_size
        if isinstance(data.get("classes"), list):
            data["classes"] = tuple(data["classes"])
        data["split"] = tuple(data.get("split", (0.8, 0.1, 0.1)))
        dataset = load_or_build(DataConfig(**data), stream="auto")
    except (KerasketchError, TypeError, ValueError, OSError) as err:
        why = err.message if isinstance(err, KerasketchError) else f"{type(err).__name__}: {err}"
        images = check_images(trained.image_size)
        return (
            images,
            None,
            f"{len(images)} synthetic check drawings (the run's test split is not readable here: {why})",
        )
    n = len(dataset.y_test)
    picked = np.unique(np.linspace(0, n - 1, min(limit, n)).astype(np.int64)) if n else np.zeros(0, np.int64)
    images = np.asarray(dataset.x_test[picked])
    index = {name: i for i, name in enumerate(trained.classes)}
    labels = np.array([index.get(dataset.class_names[y], -1) for y in dataset.y_test[picked]], dtype=np.int64)
    return images, labels, f"{len(picked):,} drawings of the run's test split ({dataset.source})"


def agreement(reference: np.ndarray, other: np.ndarray) -> dict[str, Any]:
    """Top-1 agreement and the largest difference in any class probability between two (k, classes) arrays."""
    return {
        "drawings": len(reference),
        "top1_agreement": float((reference.argmax(axis=1) == other.argmax(axis=1)).mean()) if len(reference) else None,
        "max_probability_difference": float(np.abs(reference - other).max()) if len(reference) else None,
    }
