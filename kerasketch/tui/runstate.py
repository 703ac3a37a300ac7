"""What the dashboard knows about one run, folded from its events.

The same fold serves a live run (events read from the child's stdout) and a
past one (events replayed from ``events.jsonl``), so a replayed run looks
exactly like it looked live.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Statuses beyond :data:`kerasketch.training.rundir.STATUSES` that only the dashboard knows:
#: a child not yet heard from, one preparing its data, one asked to stop, one whose
#: process ended without an end event, and a folder that cannot be read.
LIVE_STATUSES = ("starting", "preparing", "stopping", "killed", "unreadable")

ACTIVE = ("starting", "preparing", "running", "stopping")

#: Status -> (symbol, words). The words are always shown: colour is never the only signal.
STATUS_LABELS = {
    "starting": ("…", "starting"),
    "preparing": ("…", "preparing"),
    "running": ("●", "running"),
    "stopping": ("◌", "stopping"),
    "finished": ("✓", "finished"),
    "early_stopped": ("✓", "early stop"),
    "cancelled": ("■", "cancelled"),
    "failed": ("✗", "FAILED"),
    "killed": ("✗", "killed"),
    "interrupted": ("!", "interrupted"),
    "unreadable": ("?", "unreadable"),
}


@dataclass
class RunState:
    key: str  # the store's key: the folder path, or "live-N" for a child of this dashboard
    name: str  # the run folder's name once known, else the recipe's
    recipe: str = "?"
    status: str = "starting"
    run_dir: Path | None = None
    message: str = ""  # the last status message ("preparing data", "evaluating ...")
    config: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    epochs_planned: int | None = None
    steps: int | None = None
    initial_epoch: int = 0
    epochs: dict[int, dict[str, Any]] = field(default_factory=dict)  # epoch number -> epoch event
    batch: dict[str, Any] | None = None  # the last batch event of the current epoch
    best_epoch: int | None = None
    best_val_accuracy: float | None = None
    patience_left: int | None = None
    test_accuracy: float | None = None
    seconds: float | None = None
    error: str | None = None
    started: str | None = None  # the start event's time
    first_seen: str | None = None  # the first event's time: a run that never started has one too
    pid: int | None = None
    returncode: int | None = None
    output_tail: list[str] = field(default_factory=list)  # the child's stderr, last lines
    live: bool = False  # a child of this dashboard

    # -- folding events -------------------------------------------------

    def apply(self, event: dict[str, Any]) -> str | None:
        """Fold one event in; returns its kind, or None if it was ignored.

        Readers must ignore what they do not know, and a malformed event must
        not break the dashboard, so anything unexpected is skipped.
        """
        try:
            return self._apply(event)
        except (KeyError, TypeError, ValueError):
            return None

    def _apply(self, e: dict[str, Any]) -> str | None:
        kind = e.get("event")
        self.first_seen = self.first_seen or e.get("time")
        if e.get("pid"):
            self.pid = int(e["pid"])
        if kind == "status":
            self.message = str(e.get("message", ""))
            if self.status == "starting":
                self.status = "preparing"
        elif kind == "start":
            self.name = str(e.get("run") or self.name)
            if e.get("run_dir"):
                self.run_dir = Path(e["run_dir"])
            self.recipe = str(e.get("recipe") or self.recipe)
            self.config = e.get("config") or self.config
            self.dataset = e.get("dataset") or self.dataset
            self.epochs_planned = e.get("epochs", self.epochs_planned)
            self.steps = e.get("steps", self.steps)
            self.initial_epoch = int(e.get("initial_epoch") or 0)
            self.started = self.started or e.get("time")
            if self.status not in ("stopping",):
                self.status = "running"
            self.message = "training"
        elif kind == "batch":
            self.batch = {
                "epoch": int(e["epoch"]),
                "step": int(e["step"]),
                "steps": int(e.get("steps") or self.steps or 0),
                "metrics": e.get("metrics") or {},
            }
            if self.status in ("starting", "preparing"):
                self.status = "running"
        elif kind == "epoch":
            n = int(e["epoch"])
            self.epochs[n] = e
            if e.get("best_val_accuracy") is not None:
                self.best_val_accuracy = float(e["best_val_accuracy"])
                self.best_epoch = e.get("best_epoch")
            self.patience_left = e.get("patience_left", self.patience_left)
            self.message = "training"
        elif kind == "end":
            reason = e.get("reason", "failed")
            self.status = reason if reason in STATUS_LABELS else "failed"
            self.error = e.get("error") or self.error
            self.seconds = e.get("seconds", self.seconds)
            self.test_accuracy = e.get("test_accuracy", self.test_accuracy)
            if e.get("best_val_accuracy") is not None:
                self.best_val_accuracy = float(e["best_val_accuracy"])
                self.best_epoch = e.get("best_epoch", self.best_epoch)
            self.batch = None
            self.message = ""
        else:
            return None
        return kind

    def exited(self, returncode: int | None, output_tail: list[str], error: str | None = None) -> None:
        """The child process ended. Without an end event, say how it ended."""
        self.returncode = returncode
        self.output_tail = output_tail
        if self.status not in ACTIVE:
            return  # it wrote its end event: that is the truth
        self.batch = None
        self.message = ""
        if error is not None:
            self.status, self.error = "failed", error
        elif returncode is not None and returncode < 0:
            sig = _signal_name(-returncode)
            self.status = "cancelled" if self.status == "stopping" and -returncode == signal.SIGTERM else "killed"
            self.error = f"the run was killed by {sig} before it could record an end"
        else:
            self.status = "failed"
            last = next((line for line in reversed(output_tail) if line.strip()), "")
            self.error = f"the run exited with status {returncode} without reporting an end" + (
                f": {last}" if last else ""
            )

    @classmethod
    def replay(cls, key: str, name: str, events: list[dict[str, Any]]) -> RunState:
        state = cls(key=key, name=name)
        for e in events:
            state.apply(e)
        return state

    # -- reading it ------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def epoch_list(self) -> list[dict[str, Any]]:
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
        return (self.config.get("recipe") or {}).get("patience")

    @property
    def synthetic(self) -> bool:
        return bool((self.dataset or self.config.get("dataset") or {}).get("synthetic"))

    @property
    def status_label(self) -> str:
        symbol, words = STATUS_LABELS.get(self.status, ("?", self.status))
        return f"{symbol} {words}"

    @property
    def progress(self) -> float | None:
        """Share of the planned epochs done, counting the current epoch's steps."""
        if not self.epochs_planned:
            return None
        done = float(self.epochs_done)
        if self.batch and self.batch["steps"] and self.batch["epoch"] > self.epochs_done:
            done = self.batch["epoch"] - 1 + self.batch["step"] / self.batch["steps"]
        return min(done / self.epochs_planned, 1.0)

    def series(self, metric: str) -> list[float | None]:
        return [(e.get("metrics") or {}).get(metric) for e in self.epoch_list]


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
