"""A run folder into Weights & Biases, with wandb's own library.

The W&B run's id is the run folder's name, so a second export resumes the
same run (``resume="allow"``) and sends only the epochs and batch steps past
what its summary says it has. Configured as W&B always is: ``WANDB_PROJECT``
(else ``kerasketch``), ``WANDB_ENTITY``, ``WANDB_MODE=offline`` to keep the
run on disk for ``wandb sync``; its local files go under ``TRACK_DIR/wandb``.
Offline, W&B cannot tell what an earlier export sent, so the export replaces
the earlier offline copies of the same run instead.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from ..runs.events import SUCCEEDED
from .record import BATCH_LOSS, RunRecord
from .report import FOLDER
from .target import Target

DEFAULT_PROJECT = "kerasketch"
EPOCH, BATCH_STEP = "epoch", "batch/step"


def wandb_id(run_id: str) -> str:
    """W&B's run id for a run folder's name (W&B refuses some characters in ids)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", run_id)[:64]


class WandbExporter:
    kind = "wandb"

    def __init__(self, target: Target):
        self.target = target
        self.run: Any = None
        self._epochs_sent = 0
        self._batch_sent = 0
        self._summary_keys: set[str] = set()

    def open(self, record: RunRecord) -> None:
        import wandb

        folder = Path(self.target.track_dir)
        folder.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT,
            dir=str(folder),
            id=wandb_id(record.run_id),
            name=record.run_id,
            group=self.target.group,
            job_type="trial" if self.target.group else "train",
            tags=[record.tags.get("kerasketch.recipe", "")],
            config=record.params,
            resume="allow",
            reinit="create_new",
            settings=wandb.Settings(console="off", silent=True, x_disable_stats=True),
        )
        self.run.define_metric(EPOCH)
        self.run.define_metric(BATCH_STEP)
        self.run.define_metric(BATCH_LOSS, step_metric=BATCH_STEP)
        for key in record.metrics:
            if key != BATCH_LOSS:
                self.run.define_metric(key, step_metric=EPOCH)
        # A resumed W&B run (online) says how far it got; offline it knows nothing, and starts afresh.
        self._epochs_sent = int(self.run.summary.get(EPOCH, 0) or 0)
        self._batch_sent = int(self.run.summary.get(BATCH_STEP, 0) or 0)

    def send(self, record: RunRecord) -> None:
        rows: dict[int, dict[str, float]] = {}
        for key, points in record.metrics.items():
            if key == BATCH_LOSS or key.startswith("test/"):
                continue
            for p in points:
                if p.step > self._epochs_sent:
                    rows.setdefault(p.step, {})[key] = p.value
        batches = [p for p in record.metrics.get(BATCH_LOSS, []) if p.step > self._batch_sent]
        # W&B's own step only grows: each epoch's batches first, then the epoch's row.
        for epoch in sorted(rows):
            for p in batches:
                if self._batch_sent < p.step and _epoch_of(p.step, record) <= epoch:
                    self.run.log({BATCH_STEP: p.step, BATCH_LOSS: p.value})
                    self._batch_sent = p.step
            self.run.log({EPOCH: epoch, **rows[epoch]})
            self._epochs_sent = epoch
        for p in batches:
            if p.step > self._batch_sent:
                self.run.log({BATCH_STEP: p.step, BATCH_LOSS: p.value})
                self._batch_sent = p.step

    def finish(self, record: RunRecord, report: Path | None) -> None:
        import wandb

        self.run.summary.update({**record.summary, "kerasketch_status": str(record.status)})
        artifact = wandb.Artifact(f"{wandb_id(record.run_id)}-files", type="run-folder")
        for path, folder in record.files():
            artifact.add_file(str(path), name=f"{folder}/{path.name}" if folder else path.name)
        if report is not None and report.is_dir():
            artifact.add_dir(str(report), name=FOLDER)
        self.run.log_artifact(artifact)
        offline = self.run.settings.mode in ("offline", "dryrun")
        mine = Path(self.run.dir).parent  # .../wandb/offline-run-TIME-ID/files -> offline-run-TIME-ID
        self.run.finish(exit_code=0 if record.status in SUCCEEDED or not record.ended else 1)
        if offline:
            for older in mine.parent.glob(f"offline-run-*-{wandb_id(record.run_id)}"):
                if older != mine:
                    shutil.rmtree(older, ignore_errors=True)

    def where(self) -> str:
        if self.run is None:
            return "W&B"
        return f"W&B run {self.run.id} in project {self.run.project} ({self.run.settings.mode})"


def _epoch_of(batch_step: int, record: RunRecord) -> int:
    """The epoch a global batch step belongs to."""
    return (batch_step - 1) // record.steps + 1 if record.steps else 0
