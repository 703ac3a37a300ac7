"""A run folder as every tracker is sent it: parameters, metric series, status, files.

Read afresh from the folder each time (live, after each epoch; after the
fact, once), so that what a tracker holds is always a copy of the folder and
a later export can complete what a live one missed.
"""

from __future__ import annotations

import calendar
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..runs import eventlog, events, folders
from ..runs.events import Status

#: Config entries that are not parameters: the class list (the dataset's ``num_classes``
#: and ``splits`` say what matters), its per-class counts, and when the folder was made.
SKIPPED = ("class_names", "dataset.classes", "created")
#: Longest parameter value sent (MLflow refuses more than 6,000 characters).
MAX_VALUE = 6000
#: The prefixes the metric names carry: what kind of series each is.
BATCH_LOSS = "batch/loss"
SYSTEM = "system/"
TEST = "test/"


@dataclass(frozen=True)
class Point:
    step: int
    value: float
    timestamp_ms: int


@dataclass
class RunRecord:
    path: Path
    run_id: str  # the run folder's name: how a tracker's copy is found again
    status: Status
    params: dict[str, str]
    #: metric name -> its points by step: epochs for the epoch series, global batch steps for batch/loss.
    metrics: dict[str, list[Point]] = field(default_factory=dict)
    steps: int | None = None  # batches per epoch
    started_ms: int | None = None
    ended_ms: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    #: The final values: best val_accuracy and its epoch, the test scores.
    summary: dict[str, float] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.status not in events.ACTIVE

    def files(self) -> list[tuple[Path, str]]:
        """The run folder's files a tracker keeps, as (path, folder in the tracker's store)."""
        out = []
        for name in (folders.BEST, folders.EVAL, folders.CONFIG, folders.CONFUSION, folders.HISTORY, folders.EVENTS):
            path = self.path / name
            if path.is_file():
                out.append((path, ""))
        return out


def epoch_metric_names(epoch: events.Epoch) -> dict[str, float]:
    """One epoch event's values under the names trackers get: Keras' metrics as logged
    (loss, accuracy, val_loss, val_accuracy), ``lr``, ``epoch_seconds`` and ``system/...``."""
    out = {k: v for k, v in epoch.metrics.items() if v is not None}
    if epoch.lr is not None:
        out["lr"] = epoch.lr
    if epoch.seconds is not None:
        out["epoch_seconds"] = epoch.seconds
    if epoch.best_val_accuracy is not None:
        out["best_val_accuracy"] = epoch.best_val_accuracy
    for k, v in (epoch.system or {}).items():
        if v is not None:
            out[SYSTEM + k] = v
    return out


def read_record(path: Path) -> RunRecord:
    """The run folder at ``path`` (RunError if it is not one)."""
    info = folders.load(folders.require_run_dir(path))
    loaded = eventlog.load(info.path / folders.EVENTS)
    record = RunRecord(
        path=info.path,
        run_id=info.name,
        status=info.status,
        params=flatten(dict(info.config)),
        steps=info.summary.steps,
        started_ms=_ms(info.summary.started),
        tags={
            "kerasketch.run_id": info.name,
            "kerasketch.recipe": info.recipe,
            "kerasketch.status": str(info.status),
            "kerasketch.fingerprint": str(info.config.get("fingerprint", "")),
            "kerasketch.synthetic": "true" if info.synthetic else "false",
        },
    )
    for epoch in info.epochs():
        stamp = _ms(epoch.time) or 0
        for name, value in epoch_metric_names(epoch).items():
            record.metrics.setdefault(name, []).append(Point(epoch.epoch, float(value), stamp))
    batches = _batch_losses(loaded.events, info.summary.steps)
    if batches:
        record.metrics[BATCH_LOSS] = batches
    if record.ended:
        # A folder whose process died without an end event ended with its last event.
        last = next((e for e in reversed(loaded.events) if e.time), None)
        record.ended_ms = _ms(last.time) if last is not None else None
    if info.best_val_accuracy is not None:
        record.summary["best_val_accuracy"] = info.best_val_accuracy
    if info.best_epoch is not None:
        record.summary["best_epoch"] = float(info.best_epoch)
    evaluation = info.evaluation()
    if evaluation is not None:
        test = evaluation.get("test", {})
        for key in ("accuracy", "top3_accuracy", "macro_f1"):
            score: Any = test.get(key)
            if isinstance(score, (int, float)):
                record.summary[TEST + key] = float(score)
                # At the last epoch: the test split scores the model the epochs chose.
                record.metrics[TEST + key] = [Point(info.epochs_done, float(score), record.ended_ms or 0)]
    return record


def _batch_losses(loaded: list[events.Event], steps: int | None) -> list[Point]:
    """The batch events' loss at its global step; a resumed run's repeated epoch counts once, its last time."""
    by_step: dict[tuple[int, int], Point] = {}
    for event in loaded:
        if isinstance(event, events.Start):
            steps = event.steps or steps
            by_step = {k: v for k, v in by_step.items() if k[0] <= event.initial_epoch}
        elif isinstance(event, events.Batch):
            loss = event.metrics.get("loss")
            per_epoch = event.steps or steps
            if loss is None or not per_epoch:
                continue
            by_step[(event.epoch, event.step)] = Point(
                (event.epoch - 1) * per_epoch + event.step, float(loss), _ms(event.time) or 0
            )
    return sorted(by_step.values(), key=lambda p: p.step)


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """The config as ``a.b.c`` -> text: strings as they are, everything else as JSON, so that
    the names and values stay the same from one export of a run to the next."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if name in SKIPPED:
            continue
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            out[name] = text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."
    return out


def _ms(stamp: str | None) -> int | None:
    """An event's UTC time (ISO 8601, to the second) as milliseconds since the epoch."""
    if not stamp:
        return None
    try:
        return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")) * 1000
    except ValueError:
        return None
