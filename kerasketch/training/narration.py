"""What a run says in words: a few lines at the start, one per epoch, a summary at the end.

Training prints nothing. It says each line here, and the line goes two ways: into the run
folder's ``run.log`` (so that the dashboard can show the last lines of a failed run), and to the
presenter the caller subscribed (:class:`Presenter`), which shows it or not: the command line's
(:mod:`kerasketch.presenter`), its quiet form, or :class:`Silent`. The data's preparation is
reported to the presenter the same way, as ``(what, done, total)`` calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

#: ``(what, done, total)``: how far a step of the data's preparation has come.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Note:
    """One line a run says."""

    text: str
    #: How the run ended, or why it failed: shown even where the presenter is quiet.
    essential: bool = False


class Presenter(Protocol):
    """Whoever shows a run's words: gets every line, and the data's progress while it is prepared."""

    def note(self, note: Note) -> None: ...

    def data_progress(self) -> AbstractContextManager[Progress]: ...


class Silent:
    """Shows nothing: the run's words are in its ``run.log`` only (a rank after rank 0, a caller in code)."""

    def note(self, note: Note) -> None:
        pass

    @contextmanager
    def data_progress(self) -> Iterator[Progress]:
        yield lambda what, done, total: None


class Narration:
    """A run's lines: each to ``run.log`` (kept until the folder exists) and to the presenter."""

    def __init__(self, presenter: Presenter | None = None):
        self.presenter: Presenter = presenter if presenter is not None else Silent()
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
        """Each line of ``text`` to the presenter and to the log (``essential``: see :class:`Note`)."""
        for line in text.splitlines() or [""]:
            self.presenter.note(Note(line, essential))
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
