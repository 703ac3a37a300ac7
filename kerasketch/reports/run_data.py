"""What a report shows of one run, read through :mod:`kerasketch.runs.folders`.

The only module of the package that reads run folders, so that a change in
the readers is met here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RunError
from ..runs import events, folders
from ..training import mistakes

#: The metrics of an epoch event that the curves and epochs.csv show, in this order.
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass(frozen=True)
class RunData:
    name: str
    path: Path
    status: str
    config: dict[str, Any]
    #: One row per finished epoch: ``epoch``, the :data:`METRICS`, ``lr`` and ``seconds`` (None where absent).
    epochs: list[dict[str, Any]]
    best_epoch: int | None
    #: ``eval.json``; None before the run's evaluation.
    evaluation: dict[str, Any] | None
    #: (class names, rows true / columns predicted); None before the evaluation.
    confusion: tuple[list[str], list[list[int]]] | None
    #: ``mistakes.npz`` (:mod:`kerasketch.training.mistakes`); None where the evaluation recorded none.
    mistakes: dict[str, Any] | None = None

    @property
    def recipe(self) -> str:
        return str(self.config.get("recipe", {}).get("name", "?"))

    @property
    def synthetic(self) -> bool:
        return bool(self.config.get("dataset", {}).get("synthetic"))


def read_run(path: str | Path) -> RunData:
    """A run folder's data for a report; RunError for anything a report cannot be made from."""
    run = folders.load(folders.require_run_dir(path))
    epochs = [_epoch_row(e) for e in run.epochs()]
    if not epochs:
        raise RunError(
            f"{run.path} has no finished epoch (its {folders.EVENTS} records none)",
            "make the report once the run has finished at least one epoch",
        )
    try:
        evaluation = folders.read_evaluation(run.path)
    except RunError as err:
        raise RunError(
            f"{run.path / folders.EVAL} is unreadable ({err.message})",
            "move it away to report the training curves alone, or evaluate the run again",
        ) from None
    best = run.best_epoch if isinstance(run.best_epoch, int) else _best_by_val_accuracy(epochs)
    return RunData(
        name=run.name,
        path=run.path,
        status=str(run.status),
        config=dict(run.config),
        epochs=epochs,
        best_epoch=best,
        evaluation=dict(evaluation) if evaluation is not None else None,
        confusion=run.confusion(),
        mistakes=mistakes.read(run.path) if evaluation is not None else None,
    )


def _epoch_row(event: events.Epoch) -> dict[str, Any]:
    row: dict[str, Any] = {"epoch": event.epoch}
    row.update({m: _number(event.metrics.get(m)) for m in METRICS})
    row["lr"] = _number(event.lr)
    row["seconds"] = _number(event.seconds)
    return row


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _best_by_val_accuracy(epochs: list[dict[str, Any]]) -> int | None:
    scored = [e for e in epochs if e["val_accuracy"] is not None]
    return max(scored, key=lambda e: e["val_accuracy"])["epoch"] if scored else None
