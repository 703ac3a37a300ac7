"""The one fold: events turned into what is known about a run (:class:`RunSummary`).

The same for a run folder read by the command line and for a run the
dashboard watches live.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .documents import DatasetSummary, RunConfig, distributed_record
from .events import ACTIVE, Batch, End, Epoch, Event, Phase, Start, Status


@dataclass
class RunSummary:
    """What the events say about one run: its status, progress, best result."""

    name: str  # the run folder's name once known, else the recipe's
    recipe: str = "?"
    status: Status = Status.STARTING
    run_dir: Path | None = None
    message: str = ""  # the last status message ("preparing data", "evaluating ...")
    config: RunConfig = field(default_factory=lambda: RunConfig())
    dataset: DatasetSummary = field(default_factory=lambda: DatasetSummary())
    epochs_planned: int | None = None
    steps: int | None = None
    initial_epoch: int = 0
    epochs: dict[int, Epoch] = field(default_factory=dict)  # epoch number -> its event (a resume repeats none)
    batch: Batch | None = None  # the last batch event of the current epoch
    #: (epoch, step, loss) of every batch event: Keras' running mean of the epoch so far at that step.
    batch_losses: list[tuple[int, int, float]] = field(default_factory=list)
    best_epoch: int | None = None
    best_val_accuracy: float | None = None
    patience_left: int | None = None
    test_accuracy: float | None = None
    seconds: float | None = None
    error: str | None = None
    started: str | None = None  # the first start event's time
    first_seen: str | None = None  # the first event's time: a run that never started has one too
    pid: int | None = None
    pid_started: int | None = None

    def _note_process(self, event: Phase | Start) -> None:
        if event.pid:
            self.pid, self.pid_started = event.pid, event.pid_started

    def apply(self, event: Event) -> str:
        """Fold one event in; returns its kind."""
        self.first_seen = self.first_seen or event.time
        if isinstance(event, Phase):
            self._note_process(event)
            self.message = event.message
            if self.status == Status.STARTING:
                self.status = Status.PREPARING
        elif isinstance(event, Start):
            self._note_process(event)
            self.name = event.run or self.name
            self.run_dir = Path(event.run_dir) if event.run_dir else self.run_dir
            self.recipe = event.recipe or self.recipe
            self.config = event.config or self.config
            self.dataset = event.dataset or self.dataset
            self.epochs_planned = event.epochs if event.epochs is not None else self.epochs_planned
            self.steps = event.steps if event.steps is not None else self.steps
            self.initial_epoch = event.initial_epoch
            # A resumed run redoes the epoch it was killed in: its batches come again.
            self.batch_losses = [b for b in self.batch_losses if b[0] <= event.initial_epoch]
            self.started = self.started or event.time
            if self.status != Status.STOPPING:
                self.status = Status.RUNNING
            self.message = "training"
        elif isinstance(event, Batch):
            self.batch = event
            loss = event.metrics.get("loss")
            if loss is not None:
                self.batch_losses.append((event.epoch, event.step, loss))
            if self.status in (Status.STARTING, Status.PREPARING):
                self.status = Status.RUNNING
        elif isinstance(event, Epoch):
            self.epochs[event.epoch] = event
            if event.best_val_accuracy is not None:
                self.best_val_accuracy = event.best_val_accuracy
                self.best_epoch = event.best_epoch
            self.patience_left = event.patience_left if event.patience_left is not None else self.patience_left
            self.message = "training"
        elif isinstance(event, End):
            self.status = Status(event.reason)
            self.error = event.error or self.error
            self.seconds = event.seconds if event.seconds is not None else self.seconds
            self.test_accuracy = event.test_accuracy if event.test_accuracy is not None else self.test_accuracy
            if event.best_val_accuracy is not None:
                self.best_val_accuracy = event.best_val_accuracy
                self.best_epoch = event.best_epoch if event.best_epoch is not None else self.best_epoch
            self.batch = None
            self.message = ""
        return event.kind

    # -- reading it --------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def epoch_list(self) -> list[Epoch]:
        return [self.epochs[k] for k in sorted(self.epochs)]

    @property
    def epochs_done(self) -> int:
        return max(self.epochs, default=0)

    @property
    def when(self) -> str | None:
        """When the run began, as far as anyone knows."""
        return self.started or self.first_seen

    @property
    def patience(self) -> int | None:
        return self.config.get("recipe", {}).get("patience")

    @property
    def synthetic(self) -> bool:
        return bool((self.dataset or self.config.get("dataset") or {}).get("synthetic"))

    @property
    def backend(self) -> str | None:
        """The Keras backend the run trained with (config.json records it)."""
        return self.config.get("versions", {}).get("backend")

    @property
    def world_size(self) -> int:
        """How many processes trained the run (1 for a folder from before ``--nproc``)."""
        return distributed_record(self.config)["world_size"]

    @property
    def progress(self) -> float | None:
        """Share of the planned epochs done, counting the current epoch's steps."""
        if not self.epochs_planned or self.epochs_planned < 1:
            return None
        done = float(self.epochs_done)
        batch = self.batch
        if batch is not None and batch.steps and batch.epoch > self.epochs_done:
            done = batch.epoch - 1 + batch.step / batch.steps
        return min(max(done / self.epochs_planned, 0.0), 1.0)

    def series(self, metric: str) -> list[float | None]:
        return [e.metrics.get(metric) for e in self.epoch_list]


def fold(events: Iterable[Event], into: RunSummary) -> RunSummary:
    """Every event folded into ``into``, in order; the same fold a live run goes through."""
    for event in events:
        into.apply(event)
    return into
