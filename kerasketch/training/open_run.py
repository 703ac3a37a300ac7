"""A run whose folder is open: what the fit, the record and their failure handling all work from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..data.assembly import Dataset
from ..recipes.base import Recipe
from ..runs.eventlog import EventSink
from . import distributed
from .narration import Narration

if TYPE_CHECKING:
    from .run_options import RunOptions


@dataclass(frozen=True)
class OpenRun:
    """The recipe and options of a run, its data, its folder and config, and where it reports."""

    recipe: Recipe
    options: RunOptions
    dataset: Dataset
    run_dir: Path
    config: dict[str, Any]
    resuming: bool  # the folder is an unfinished run's, to train on from its backup
    out: Narration
    sink: EventSink
    started: float  # time.perf_counter() when the run began
    world: distributed.World = distributed.SINGLE

    @property
    def name(self) -> str:
        return self.run_dir.name
