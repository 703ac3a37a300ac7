"""``events.jsonl`` and the ``--events`` stream: event lines read back and written as they happen."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..errors import RunError
from .events import Event, EventError, decode, encode, parse


def read(path: Path) -> list[dict[str, Any]]:
    """Every event object of a run's ``events.jsonl``, as written (a torn last line is
    ignored; nothing is interpreted). A file that cannot be read is a RunError."""
    return [obj for _, obj in _lines(Path(path))]


@dataclass
class Loaded:
    """A file's events, and the lines that were skipped (``line N: why``)."""

    events: list[Event]
    problems: list[str]


def load(path: Path) -> Loaded:
    """The typed events of an ``events.jsonl``; malformed events are skipped and named in ``problems``."""
    out = Loaded([], [])
    for number, obj in _lines(Path(path), out.problems):
        try:
            event = parse(obj)
        except EventError as err:
            out.problems.append(f"line {number}: {err.message}")
            continue
        if event is not None:
            out.events.append(event)
    return out


def _lines(path: Path, problems: list[str] | None = None) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as err:
        raise RunError(f"{path} cannot be read ({err.strerror or err})", "is the run folder intact?") from None
    lines = text.splitlines()
    out = []
    for number, line in enumerate(lines, start=1):
        obj = decode(line)
        if obj is not None:
            out.append((number, obj))
        elif problems is not None and line.strip() and number < len(lines):
            # Only a run's own sink writes this file: anything but an event, bar a
            # last line torn by a kill mid-write, is damage.
            problems.append(f"line {number}: not an event")
    return out


class EventSink:
    """Writes events to any streams (``--events``) and, once the run folder
    exists, to its ``events.jsonl``.

    Each line is flushed as it is written, so a reader (the dashboard, ``tail
    -f``) sees an event the moment it happens and a killed run loses nothing
    it had reported.
    """

    def __init__(self, streams: Iterable[TextIO] = (), listeners: Iterable[Callable[[dict], None]] = ()):
        self._streams = list(streams)
        self._file: TextIO | None = None
        self._listeners = list(listeners)
        # Reentrant: an interrupt landing inside emit must not deadlock the
        # emit of the run's "cancelled" end event that follows it.
        self._lock = threading.RLock()

    def open_file(self, path: Path) -> None:
        self._file = open(path, "a", encoding="utf-8")
        self._streams.insert(0, self._file)

    def emit(self, event: dict[str, Any]) -> None:
        line = encode(event) + "\n"
        with self._lock:
            for stream in list(self._streams):
                try:
                    stream.write(line)
                    stream.flush()
                except (BrokenPipeError, ValueError):
                    # A reader that went away (closed pipe) must not stop training.
                    if stream is not self._file:
                        self._streams.remove(stream)
        for listener in self._listeners:
            listener(event)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def open_stream(target: str | None) -> TextIO | None:
    """``--events``: ``-`` for stdout, a path to append to, or nothing."""
    if target is None:
        return None
    if target == "-":
        return sys.stdout
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "a", encoding="utf-8")


def close_stream(stream: TextIO | None) -> None:
    """Close what :func:`open_stream` opened (stdout stays open)."""
    if stream is not None and stream is not sys.stdout:
        stream.close()
