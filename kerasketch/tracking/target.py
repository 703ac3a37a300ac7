"""Where trackers send to, and the one interface each tracker's module implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .record import RunRecord


@dataclass(frozen=True)
class Target:
    """Where the trackers are: each also reads its own environment variables (MLFLOW_TRACKING_URI,
    MLFLOW_EXPERIMENT_NAME, WANDB_PROJECT, WANDB_MODE, ...), which these settings override."""

    #: TensorBoard's log folder (a sub-folder per run) and where W&B keeps its local files.
    track_dir: Path = Path("runs/tracking")
    #: MLflow's tracking URI; None: MLFLOW_TRACKING_URI, else MLflow's own default.
    uri: str | None = None
    #: A sweep's name: its trials are the children of one parent run (W&B: one group).
    group: str | None = None
    #: tracker -> the parent run's id in it (MLflow's run id), for a sweep's trials.
    parents: dict[str, str] = field(default_factory=dict)
    #: Sent while a run trains: the tracker's client gives up fast (see :mod:`.live`).
    live: bool = False


class Exporter(Protocol):
    kind: str

    def open(self, record: RunRecord) -> None:
        """Find the tracker's copy of this run by its id, or make it."""

    def send(self, record: RunRecord) -> None:
        """Send what the tracker's copy does not have yet: parameters, metric points, tags."""

    def finish(self, record: RunRecord, report: Path | None) -> None:
        """Send the files (and the report folder, where made) and the run's final status."""

    def where(self) -> str:
        """Where the copy is, in words, for the user."""
