"""What a headless run prints: a few lines at the start, one per epoch, a summary at the end.

Everything printed also goes to the run folder's ``run.log``, so the
dashboard can show the last lines of a failed run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO


class Reporter:
    def __init__(self, stream: TextIO, quiet: bool = False):
        self.stream = stream
        self.quiet = quiet
        self._log: TextIO | None = None
        self._pending: list[str] = []  # lines said before the run folder existed
        self.epochs = 0  # the planned number, for "epoch 3/100"

    def open_log(self, path: Path) -> None:
        self._log = open(path, "a", encoding="utf-8")
        for line in self._pending:
            self._log.write(line + "\n")
        self._pending.clear()
        self._log.flush()

    def say(self, text: str, *, essential: bool = False) -> None:
        """Print unless quiet (essential lines always print); always log."""
        for line in text.splitlines() or [""]:
            if essential or not self.quiet:
                try:
                    print(line, file=self.stream, flush=True)
                except (BrokenPipeError, ValueError):
                    # Whoever read our output went away; the run and its log go on.
                    self.quiet = True
            if self._log is not None:
                self._log.write(line + "\n")
                self._log.flush()
            else:
                self._pending.append(line)

    def log_only(self, text: str) -> None:
        if self._log is not None:
            self._log.write(text if text.endswith("\n") else text + "\n")
            self._log.flush()

    def on_event(self, event: dict[str, Any]) -> None:
        if event.get("event") == "epoch":
            self.say(epoch_line(event, self.epochs))

    def close(self) -> None:
        if self._log is not None:
            self._log.close()


def epoch_line(event: dict[str, Any], epochs: int) -> str:
    m = event.get("metrics", {})
    best = event.get("best_epoch") == event.get("epoch")

    def fmt(key: str, label: str) -> str:
        v = m.get(key)
        return f"{label} {v:.4f}" if isinstance(v, (int, float)) else f"{label} -"

    parts = [
        f"epoch {event['epoch']:>3}/{epochs}",
        fmt("loss", "loss"),
        fmt("accuracy", "acc"),
        fmt("val_loss", "val_loss"),
        fmt("val_accuracy", "val_acc") + (" *" if best else "  "),
        f"lr {event['lr']:.1e}" if isinstance(event.get("lr"), (int, float)) else "lr -",
        f"{event.get('seconds', 0):.1f} s",
    ]
    return "  ".join(parts)


def human_stream(events_target: str | None) -> TextIO:
    """Human output goes to stderr when the events go to stdout."""
    return sys.stderr if events_target == "-" else sys.stdout
