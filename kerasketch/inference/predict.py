"""``kerasketch predict``: a run's top-K classes for each drawing, and the accuracy where files name a class."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .inputs import input_files, read_drawings
from .model import load_trained, top_k


class Classifier(Protocol):
    """What predicting needs of a model: a run's (:class:`~kerasketch.inference.model.TrainedModel`),
    or several averaged, or one under TTA (:class:`~kerasketch.inference.ensemble.Averaged`)."""

    classes: list[str]
    image_size: int

    def probabilities(self, images: np.ndarray) -> np.ndarray: ...


@dataclass
class Tally:
    """Accuracy over the drawings whose file names a class the model knows."""

    k: int
    scored: int = 0
    correct: int = 0
    in_top_k: int = 0
    unknown: dict[str, int] = field(default_factory=dict)  # named classes the model does not know

    def add(self, named: str | None, top: list[dict[str, Any]], known: set[str]) -> None:
        if named is None:
            return
        if named not in known:
            self.unknown[named] = self.unknown.get(named, 0) + 1
            return
        self.scored += 1
        self.correct += top[0]["class"] == named
        self.in_top_k += any(t["class"] == named for t in top)

    def summary(self) -> dict[str, Any]:
        return {
            "scored": self.scored,
            "accuracy": self.correct / self.scored if self.scored else None,
            f"top{self.k}_accuracy": self.in_top_k / self.scored if self.scored else None,
            "unknown_classes": dict(sorted(self.unknown.items())),
        }


def predictions(
    trained: Classifier, paths: Sequence[str | Path], k: int, tally: Tally | None = None
) -> Iterator[dict[str, Any]]:
    """One ``{"source", "class", "top"}`` per drawing of ``paths``, in file order (``class``: what its file names)."""
    known = set(trained.classes)
    for chunk in read_drawings(input_files(paths), trained.image_size, trained.classes):
        if not len(chunk.images):
            continue
        for source, named, top in zip(
            chunk.sources, chunk.named, top_k(trained.probabilities(chunk.images), trained.classes, k)
        ):
            if tally is not None:
                tally.add(named, top, known)
            yield {"source": source, "class": named, "top": top}


def predict(run: str | Path, paths: Sequence[str | Path], k: int = 3) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every prediction and the accuracy summary, for callers that want them whole."""
    trained = load_trained(run)
    tally = Tally(k)
    rows = list(predictions(trained, paths, k, tally))
    return rows, tally.summary()
