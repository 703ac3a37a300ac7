"""The messages between the app and its screens and workers.

Screens never import the app or each other: they read the run store they
were given and post one of the requests below, which bubble up to the app.
"""

from __future__ import annotations

from textual.message import Message

from kerasketch.runs.events import Event

from .runstate import RunState


class RunEvent(Message):
    """One event from a child's stdout."""

    def __init__(self, key: str, event: Event) -> None:
        super().__init__()
        self.key = key
        self.event = event


class RunExited(Message):
    """A child ended (or could not start: ``error`` says why)."""

    def __init__(self, key: str, returncode: int | None, output_tail: list[str], error: str | None = None) -> None:
        super().__init__()
        self.key = key
        self.returncode = returncode
        self.output_tail = output_tail
        self.error = error


class RunsScanned(Message):
    def __init__(self, runs: dict[str, RunState], changed: bool) -> None:
        super().__init__()
        self.runs = runs
        self.changed = changed


class OpenLaunch(Message):
    """Open the launch form for a recipe (None: the default one)."""

    def __init__(self, recipe: str | None) -> None:
        super().__init__()
        self.recipe = recipe


class OpenRun(Message):
    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class OpenConfusion(Message):
    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class OpenPad(Message):
    """Open the sketch pad on a finished run's model."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class StopRun(Message):
    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class SortRuns(Message):
    """Sort the history by ``started`` or ``best``."""

    def __init__(self, by: str) -> None:
        super().__init__()
        self.by = by


class Rescan(Message):
    """Read the runs folder again now."""


class OpenCompare(Message):
    """Open the compare screen for these runs (the app checks there are 2 to 10)."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__()
        self.keys = keys


class WriteReport(Message):
    """Write ``kerasketch report`` for these runs (a child process; the app says where)."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__()
        self.keys = keys


class TagRun(Message):
    """Ask for a run's tags and write them (``kerasketch runs tag``)."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class NoteRun(Message):
    """Ask for a run's note and write it (``kerasketch runs note``)."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class ArchiveRun(Message):
    """Move a run into the runs folder's .archive/, or an archived one back (``kerasketch runs archive``)."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class DeleteRun(Message):
    """Delete a run's folder after a confirmation (``kerasketch runs delete``); never one that still runs."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class FilterRuns(Message):
    """Ask for the tag whose runs alone the runs table lists (``kerasketch runs list --tag``)."""


class ShowArchived(Message):
    """List the archived runs too, or hide them again."""

    def __init__(self, show: bool) -> None:
        super().__init__()
        self.show = show
