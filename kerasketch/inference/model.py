"""A run's trained model, loaded once, with what it needs to be used: classes and input size."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..runs import folders
from ..training.evaluate import predict_logits
from ..training.external import _load_model, trained_run

#: What the models take, for anyone running an exported file without kerasketch.
INPUT_LAYOUT = {
    "shape": ["batch", 1, "size", "size"],
    "dtype": "float32",
    "range": [0.0, 1.0],
    "layout": "NCHW (channels first), one grey channel",
    "polarity": "strokes bright (1.0) on a black (0.0) background, like the official Quick, Draw! bitmaps",
    "framing": "the drawing cropped, centred and scaled so its longer side spans 255/304 of the image, "
    "lines 16/304 of the image wide (kerasketch.data.rasterize)",
}
OUTPUT_LAYOUT = (
    "logits (batch, n): softmax gives probabilities; logit i < len(classes) is classes[i]; "
    "TS_CNN's original head has 4 x classes logits, of which the others name no class"
)


@dataclass
class TrainedModel:
    """``best.keras`` of a run with its class names and image size."""

    run_dir: Path
    model: Any  # keras.Model
    classes: list[str]
    image_size: int
    recipe: dict[str, Any]
    batch_size: int = 256  # images per prediction batch where a caller names none

    @property
    def architecture(self) -> str:
        return str(self.recipe.get("model", "?"))

    @property
    def pretrained(self) -> bool:
        """Whether the model wraps a torchvision backbone (which no stock Keras layer holds)."""
        from ..models import MODELS

        spec = MODELS.get(self.architecture)
        return spec is not None and spec.pretrained

    def logits(self, images: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Logits of (k, S, S) uint8 bitmaps, as the evaluation computes them."""
        return predict_logits(self.model, images, batch_size or self.batch_size)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return softmax_classes(self.logits(images), len(self.classes))


def softmax_classes(logits: np.ndarray, n_classes: int) -> np.ndarray:
    """Softmax over every logit (as training scored them), columns cut to the classes."""
    logits = np.asarray(logits, dtype=np.float64)
    logits = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    return p[:, :n_classes]


def load_trained(run: str | Path) -> TrainedModel:
    """The run's best model, or one message saying why it cannot be used."""
    run_dir, config, classes, size = trained_run(
        run, "use a run that trained at least one epoch (`kerasketch compare` lists them)"
    )
    recipe: dict[str, Any] = dict(config["recipe"])  # a dict: trained_run read its image size
    return TrainedModel(run_dir, _load_model(run_dir / folders.BEST), classes, size, recipe)


def top_k(probabilities: np.ndarray, classes: list[str], k: int) -> list[list[dict[str, Any]]]:
    """The ``k`` likeliest classes of each row, likeliest first."""
    k = min(k, probabilities.shape[1])
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return [
        [{"class": classes[j], "probability": round(float(row[j]), 6)} for j in idx.tolist()]
        for row, idx in zip(probabilities, order)
    ]
