"""How a run looks on a terminal: the presenter the command line (and a sweep's trial) subscribes to a run.

Training prints nothing: it says what happens as lines (:class:`kerasketch.training.narration.Note`),
which it keeps in the run folder's ``run.log``, and reports the data's preparation as ``(what,
done, total)`` calls. A presenter decides what of that a person sees. :class:`Terminal` is the
command line's: the lines on stdout (on stderr when ``--events -`` takes stdout), a progress bar
on stderr while the data is prepared, and with ``--quiet`` only the lines that say how the run
ended. The dashboard presents a run from its events (``events.jsonl``, or a child's stdout).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from .console import progress_bar

if TYPE_CHECKING:
    from .training.narration import Note


class Terminal:
    """A run's lines and its data progress on the terminal; ``quiet``: the essential lines only.

    The stream is looked up at each line, so that whoever replaced ``sys.stdout`` since (a test's
    capture) gets it. A reader that went away (a closed pipe) ends the non-essential lines; the run
    and its ``run.log`` go on.
    """

    def __init__(self, *, quiet: bool = False, to_stderr: bool = False):
        self.quiet = quiet
        self.to_stderr = to_stderr

    @classmethod
    def for_command(cls, *, quiet: bool, events: str | None) -> Terminal:
        """The command line's: human lines go to stderr when the events go to stdout (``--events -``)."""
        return cls(quiet=quiet, to_stderr=events == "-")

    @property
    def stream(self) -> TextIO:
        return sys.stderr if self.to_stderr else sys.stdout

    def note(self, note: Note) -> None:
        if note.essential or not self.quiet:
            try:
                print(note.text, file=self.stream, flush=True)
            except (BrokenPipeError, ValueError):
                self.quiet = True

    @contextmanager
    def data_progress(self) -> Iterator[Callable[[str, int, int], None]]:
        """A progress bar on stderr while the data is read, cached or built (none when quiet)."""
        with progress_bar(not self.quiet) as bar:
            yield bar
