"""What the dashboard knows about one run: the events' summary, plus its process.

The fold is :class:`kerasketch.runs.state.RunSummary`'s, the same for a live run
(events read from the child's stdout) and a past one (its folder read by
:func:`kerasketch.runs.folders.load`), so a replayed run looks exactly
like it looked live. What only the dashboard knows is added here: the child
process, how it ended, its stderr.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field, fields

from kerasketch.runs.events import Status
from kerasketch.runs.state import RunSummary

from . import fmt


@dataclass
class RunState(RunSummary):
    key: str = ""  # the store's key: the folder path, or "live-N" for a child of this dashboard
    returncode: int | None = None
    output_tail: list[str] = field(default_factory=list)  # the child's stderr, last lines
    live: bool = False  # a child of this dashboard
    problems: list[str] = field(default_factory=list)  # lines of its folder that could not be read
    sweep: bool = False  # a sweep's folder (sweep.json): its row opens the trials table
    tags: list[str] = field(default_factory=list)  # the folder's annotations.json (kerasketch runs tag)
    note: str = ""  # ... and its note
    archived: bool = False  # in the runs folder's .archive/ (shown only when asked for)

    @classmethod
    def of(cls, key: str, summary: RunSummary, **extra) -> RunState:
        """A summary (e.g. a folder's) as the dashboard's state."""
        return cls(key=key, **{f.name: getattr(summary, f.name) for f in fields(RunSummary)}, **extra)

    def exited(self, returncode: int | None, output_tail: list[str], error: str | None = None) -> None:
        """The child process ended. Without an end event, say how it ended."""
        self.returncode = returncode
        self.output_tail = output_tail
        if not self.active:
            return  # it wrote its end event: that is the truth
        self.batch = None
        self.message = ""
        if error is not None:
            self.status, self.error = Status.FAILED, error
        elif returncode is not None and returncode < 0:
            sig = _signal_name(-returncode)
            stopped = self.status == Status.STOPPING and -returncode == signal.SIGTERM
            self.status = Status.CANCELLED if stopped else Status.KILLED
            self.error = f"the run was killed by {sig} before it could record an end"
        else:
            self.status = Status.FAILED
            said = _last_error(output_tail)
            self.error = f"the run exited with status {returncode} without reporting an end" + (
                f": {said}" if said else ""
            )

    @property
    def status_label(self) -> str:
        return fmt.status_label(self.status)


def _last_error(lines: list[str]) -> str:
    """What a child's stderr says went wrong: its ``error:`` line (the command line's
    format, with the ``hint:`` line after it kept as a hint), else its last line."""
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("error: "):
            hint = next((h for h in lines[i + 1 :] if h.startswith("hint: ")), None)
            return lines[i].removeprefix("error: ") + (f"\n  hint: {hint.removeprefix('hint: ')}" if hint else "")
    return next((line.strip() for line in reversed(lines) if line.strip() and not line.startswith("hint: ")), "")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
