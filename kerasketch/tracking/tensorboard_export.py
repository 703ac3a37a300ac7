"""A run folder as TensorBoard event files, written with tensorboardX (no TensorFlow).

Each run is a folder ``TRACK_DIR/tensorboard/[SWEEP/]RUN`` (``tensorboard
--logdir TRACK_DIR/tensorboard``): every metric as a scalar series at its
step, the parameters as a text table and as TensorBoard's hyperparameters,
and at the end the report's figures as images; the report folder and
``eval.json`` are copied beside the event file (TensorBoard keeps no files).

Event files are append-only, so a copy is updated by writing a new file
with everything in it and then removing the run's older ones: an export
never duplicates a point. While a run trains, the points after that are
appended to the one file. Writes are synchronous (tensorboardX's
``EventsWriter``, not its writer thread), so that a full disk is an error
here, which the live tracker reports once, and not a traceback from a
thread of tensorboardX's.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from ..runs import folders
from .record import RunRecord
from .report import FOLDER
from .target import Target

SUBFOLDER = "tensorboard"
#: The report's figures shown as images.
FIGURES = ("curves", "confusion", "class_accuracy")
#: Parameters shown in TensorBoard's hyperparameter table (all of them are in the text table).
HPARAM_PREFIXES = ("recipe.", "data.", "options.precision", "dataset.num_classes")


def run_folder(target: Target, run_id: str) -> Path:
    base = Path(target.track_dir) / SUBFOLDER
    return (base / target.group / run_id) if target.group else base / run_id


class TensorBoardExporter:
    kind = "tensorboard"

    def __init__(self, target: Target):
        self.target = target
        self.folder: Path | None = None
        self._writer: Any = None
        self._sent: dict[str, set[int]] = {}
        self._params_sent = False

    def open(self, record: RunRecord) -> None:
        self.folder = run_folder(self.target, record.run_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        older = _event_files(self.folder)
        self._new_writer()
        if older:
            # Everything again into the new file, then the old ones go: never a point twice.
            self.send(record)
            for path in older:
                path.unlink(missing_ok=True)

    def _new_writer(self) -> None:
        from tensorboardX.event_file_writer import EventsWriter

        assert self.folder is not None
        self._writer = EventsWriter(str(self.folder / "events"), f".{uuid.uuid4().hex[:8]}")
        self._sent = {}
        self._params_sent = False

    def _write(self, summary: Any, step: int = 0, wall_time: float | None = None) -> None:
        from tensorboardX.proto import event_pb2

        self._writer.write_event(event_pb2.Event(wall_time=wall_time or time.time(), step=step, summary=summary))

    def send(self, record: RunRecord) -> None:
        from tensorboardX import summary

        if not self._params_sent:
            rows = "\n".join(f"| {k} | {_cell(v)} |" for k, v in sorted(record.params.items()))
            self._write(summary.text("config", "| parameter | value |\n| --- | --- |\n" + rows))
            self._params_sent = True
        for key, points in record.metrics.items():
            sent = self._sent.setdefault(key, set())
            for p in points:
                if p.step not in sent:
                    self._write(summary.scalar(key, p.value), p.step, p.timestamp_ms / 1000 or None)
                    sent.add(p.step)
        self._writer.flush()

    def finish(self, record: RunRecord, report: Path | None) -> None:
        from tensorboardX import summary

        assert self.folder is not None
        hparams = {k: v for k, v in record.params.items() if k.startswith(HPARAM_PREFIXES)}
        for part in summary.hparams(hparams, dict(record.summary)):
            self._write(part)
        if report is not None and report.is_dir():
            step = max((p.step for p in record.metrics.get("loss", [])), default=0)
            for stem in FIGURES:
                png = report / f"{stem}.png"
                if png.is_file():
                    self._write(summary.image(stem, _pixels(png), dataformats="HWC"), step)
            copy = self.folder / FOLDER
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(report, copy)
        evaluation = record.path / folders.EVAL
        if evaluation.is_file():
            # Not config.json: a folder holding one reads as a run folder (its text table has the config).
            shutil.copy2(evaluation, self.folder / folders.EVAL)
        self._writer.flush()
        self._writer.close()

    def where(self) -> str:
        return f"TensorBoard folder {self.folder}"


def _event_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("events.out.tfevents.*"))


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _pixels(png: Path) -> Any:
    import numpy as np
    from PIL import Image

    with Image.open(png) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
