"""A run's options: the run options the run takes (:class:`kerasketch.options.TrainOptions`), the data's
settings, and what a caller in code adds. Apart from :mod:`.run` so that its steps can name it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data.assembly import DataConfig
from ..options import TrainOptions


@dataclass(frozen=True, kw_only=True)
class RunOptions(TrainOptions):
    """How to run a recipe, beside the recipe itself: the run options (:class:`kerasketch.options.TrainOptions`,
    where each is defined), the data's settings, and what a caller in code adds."""

    data: DataConfig
    # A sweep's trial: part of the fingerprint, so that a trial resumes only its own folder
    # even where another trial drew the same parameters. None for every other run.
    tag: str | None = None
    # Called with every event the run emits (a sweep reports its epochs to Ray Tune).
    listeners: tuple[Callable[[dict[str, Any]], None], ...] = ()
    evaluate: bool = True  # evaluate the best model on the test split at the end
    # Made with the run folder into Keras callbacks that run after the run's own, on every rank
    # (Ray Train's per-epoch report: training/ray_train.py). Not recorded, not part of the fingerprint.
    epoch_callbacks: tuple[Callable[[Path], Any], ...] = ()

    @property
    def training_seed(self) -> int:
        """What seeds the initialisation, augmentation, order and mixing: ``--init-seed``, else the data's seed."""
        return self.data.seed if self.init_seed is None else self.init_seed
