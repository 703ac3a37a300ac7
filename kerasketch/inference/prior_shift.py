"""``--prior-shift TAU``: the post-hoc logit adjustment of Menon et al. (2021), at prediction time.

A model trained with the plain cross-entropy on imbalanced classes learns their prior: its logits are those of
``p(class | drawing)``, which favours the large classes. Subtracting ``TAU * log(prior)`` from the logits moves
the decision toward the balanced error (at ``TAU = 1``, the Bayes rule for it), with no second model: the
same trade as training with ``--logit-adjust TAU``, taken when predicting. A negative ``TAU`` adds the prior
back (to a model trained with ``--logit-adjust``). docs/results/imbalance.md measures it.

The prior is the share of each class in the run's dataset (``config.json``'s ``dataset.classes``, the
drawings of each class it was built from; the splits are stratified, so the training split's shares are the
same to within one drawing a class). An ensemble's prior is the mean of its members'. Logits beyond the
classes (TS_CNN's original head) are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..runs.documents import RunConfig
from .model import softmax_classes


def class_prior(config: RunConfig, classes: list[str], run: Path) -> np.ndarray:
    """The share of each of ``classes`` in the dataset a run's ``config`` records."""
    from ..training.external import class_sizes

    sizes = class_sizes(config, classes)
    if sizes is None or (sizes <= 0).any():
        raise ConfigError(
            f"{run}: its config.json does not record how many drawings of each class it trained on "
            "(dataset.classes), which --prior-shift needs",
            "leave out --prior-shift for this run",
        )
    return sizes / sizes.sum()


def members_prior(run_dirs: list[Path], classes: list[str]) -> np.ndarray:
    """The mean of the runs' class priors (one run: its own)."""
    from ..runs import folders

    return np.mean([class_prior(folders.read_config(d), classes, d) for d in run_dirs], axis=0)


@dataclass
class PriorShifted:
    """``inner``'s logits minus ``tau * log(prior)`` on its classes; stands wherever ``inner`` does."""

    inner: Any  # a TrainedModel or an Averaged
    tau: float
    prior: np.ndarray
    classes: list[str] = field(init=False)
    image_size: int = field(init=False)

    def __post_init__(self) -> None:
        self.classes = list(self.inner.classes)
        self.image_size = self.inner.image_size

    @property
    def run_dir(self) -> Path:
        return Path(self.inner.run_dir)

    def logits(self, images: np.ndarray) -> np.ndarray:
        logits = np.array(self.inner.logits(images), dtype=np.float32)
        n = len(self.classes)
        logits[:, :n] -= np.float32(self.tau) * np.log(self.prior).astype(np.float32)
        return logits

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return softmax_classes(self.logits(images), len(self.classes))


def shifted(inner: Any, tau: float, run_dirs: list[Path]) -> Any:
    """``inner`` under ``--prior-shift tau`` with the runs' prior; ``inner`` itself where tau is 0."""
    if not tau:
        return inner
    return PriorShifted(inner, tau, members_prior(run_dirs, list(inner.classes)))
