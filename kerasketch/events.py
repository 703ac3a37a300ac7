"""The run protocol: JSON-lines events a run writes and the dashboard reads.

Defined once, here, for both sides. Every event is one JSON object on one
line with ``event`` (its kind), ``time`` (UTC, ISO 8601) and ``run`` (the run
folder's name). The kinds, in the order a run writes them:

``start``   ``run_dir``, ``recipe``, ``config`` (the resolved config),
            ``dataset`` (the summary), ``epochs``, ``steps`` (per epoch),
            ``initial_epoch`` (> 0 when resuming), ``pid``.
``status``  ``message``: a phase ("preparing data", "evaluating", ...).
``batch``   ``epoch`` (1-based), ``step``, ``steps``, ``metrics``; at most a
            few per second.
``epoch``   ``epoch`` (1-based), ``metrics`` (loss, accuracy, val_loss,
            val_accuracy, ...), ``lr``, ``seconds``, ``best_epoch``,
            ``best_val_accuracy``, ``patience_left``.
``end``     ``reason``: one of :data:`END_REASONS`; ``error`` (a message when
            failed), ``best_epoch``, ``best_val_accuracy``, ``test_accuracy``,
            ``seconds``.

Readers must ignore kinds and fields they do not know.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

VERSION = 1
END_REASONS = ("finished", "early_stopped", "cancelled", "failed")


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def make(kind: str, run: str, **fields: Any) -> dict[str, Any]:
    return {"event": kind, "time": utc_now(), "run": run, **fields}


def encode(event: dict[str, Any]) -> str:
    # NaN is not JSON; a diverged loss is reported as null.
    return json.dumps(_finite(event), separators=(",", ":"))


def decode(line: str) -> dict[str, Any] | None:
    """One event from a line, or None for a line that is not an event (e.g. a stray print)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) and "event" in obj else None


def read(path: Path) -> list[dict[str, Any]]:
    """Every event of a run's ``events.jsonl`` (a torn last line is ignored)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return [e for e in map(decode, text.splitlines()) if e is not None]


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


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
