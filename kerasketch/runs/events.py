"""The run protocol's events: the JSON-lines records a run writes and the dashboard reads.

Defined once, here, for both sides: the kinds and their fields as types, the
statuses a run can have, and one event's JSON line made, encoded and parsed.
Files of them are :mod:`.eventlog`'s; the one fold of events into what is
known about a run is :mod:`.state`'s.

Every event is one JSON object on one line with ``event`` (its kind),
``time`` (UTC, ISO 8601) and ``run`` (the run folder's name). The kinds, in
the order a run writes them, are :class:`Phase` (``status``), :class:`Start`,
:class:`Batch` (at most a few per second), :class:`Epoch` and :class:`End`.

Readers ignore kinds and fields they do not know; a known kind whose fields
have the wrong type is an :class:`EventError`, naming the field.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from ..errors import RunError
from . import schema
from .documents import DatasetSummary, RunConfig


class Status(StrEnum):
    """Every status a run can have. The first four exist only while a process
    is watched (a child not yet heard from, one preparing its data, training,
    asked to stop); the end reasons come from the run's ``end`` event; the
    rest are verdicts on a run that ended without one, or on a folder."""

    STARTING = "starting"
    PREPARING = "preparing"
    RUNNING = "running"
    STOPPING = "stopping"
    FINISHED = "finished"
    EARLY_STOPPED = "early_stopped"
    CANCELLED = "cancelled"
    FAILED = "failed"
    KILLED = "killed"  # the process died of a signal without an end event (seen by its parent)
    INTERRUPTED = "interrupted"  # a folder whose process died without an end event
    UNREADABLE = "unreadable"  # a folder whose files cannot be read


#: What an ``end`` event's ``reason`` may say.
END_REASONS = (Status.FINISHED, Status.EARLY_STOPPED, Status.CANCELLED, Status.FAILED)
#: A run still going (or believed to be).
ACTIVE = frozenset({Status.STARTING, Status.PREPARING, Status.RUNNING, Status.STOPPING})
#: Ended with results worth comparing.
SUCCEEDED = frozenset({Status.FINISHED, Status.EARLY_STOPPED})


class EventError(RunError):
    """An event that names a known kind but whose fields are malformed."""


# -- the kinds ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[str]
    run: str = ""
    time: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The event as its JSON object; fields left unset (None) are left out."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {"event": self.kind, **{k: v for k, v in fields.items() if v is not None}}


@dataclass(frozen=True, kw_only=True)
class Phase(Event):
    """``status``: what the run is doing before and around training ("preparing data", "evaluating")."""

    kind: ClassVar[str] = "status"
    message: str = ""
    pid: int | None = None
    pid_started: int | None = None  # with pid, names the process for good (processes.process_started)


@dataclass(frozen=True, kw_only=True)
class Start(Event):
    """Training begins (again, when ``initial_epoch`` > 0: a resumed run)."""

    kind: ClassVar[str] = "start"
    run_dir: str | None = None
    recipe: str | None = None
    config: RunConfig = field(default_factory=lambda: RunConfig())
    dataset: DatasetSummary = field(default_factory=lambda: DatasetSummary())
    epochs: int | None = None
    steps: int | None = None
    initial_epoch: int = 0
    pid: int | None = None
    pid_started: int | None = None


@dataclass(frozen=True, kw_only=True)
class Batch(Event):
    kind: ClassVar[str] = "batch"
    epoch: int  # 1-based
    step: int
    steps: int | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Epoch(Event):
    kind: ClassVar[str] = "epoch"
    epoch: int  # 1-based
    metrics: dict[str, float | None] = field(default_factory=dict)  # loss, accuracy, val_loss, val_accuracy, ...
    lr: float | None = None
    seconds: float | None = None
    best_epoch: int | None = None
    best_val_accuracy: float | None = None
    patience_left: int | None = None
    #: What the epoch cost the machine (``SYSTEM_KEYS``); absent in runs written before it was recorded.
    system: dict[str, float] | None = None


#: An epoch event's ``system`` figures, each present only where it could be measured.
SYSTEM_KEYS = ("images_per_second", "cpu_percent", "rss_bytes", "gpu_percent", "gpu_memory_bytes")


@dataclass(frozen=True, kw_only=True)
class End(Event):
    kind: ClassVar[str] = "end"
    reason: str  # one of END_REASONS
    error: str | None = None  # the message, when failed
    best_epoch: int | None = None
    best_val_accuracy: float | None = None
    test_accuracy: float | None = None
    seconds: float | None = None


KINDS: dict[str, type[Event]] = {k.kind: k for k in (Phase, Start, Batch, Epoch, End)}
_HINTS = {kind: schema.hints_of(cls) for kind, cls in KINDS.items()}


def parse(obj: Any) -> Event | None:
    """The typed event of a decoded JSON object; None for an object that is not an
    event or is of a kind this version does not know; EventError if malformed."""
    if not isinstance(obj, dict) or not isinstance(obj.get("event"), str):
        return None
    kind = obj["event"]
    cls = KINDS.get(kind)
    if cls is None:
        return None
    hints = _HINTS[kind]
    known = {k: v for k, v in obj.items() if k in hints and k != "kind"}
    try:
        for name, value in known.items():
            schema.check(value, hints[name], name)
    except schema.SchemaError as err:
        raise EventError(f"{kind} event: {err}") from None
    if kind == "end" and known.get("reason") not in END_REASONS:
        raise EventError(f"end event: reason should be one of {', '.join(END_REASONS)}, not {known.get('reason')!r}")
    try:
        return cls(**known)
    except TypeError:  # a required field is missing
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in known and _required(f)]
        raise EventError(f"{kind} event without {', '.join(missing)}") from None


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def make(kind: str, run: str, **fields: Any) -> dict[str, Any]:
    """A new event as its JSON object, checked against its kind's type, so that a
    writer cannot emit what readers would reject."""
    obj = {"event": kind, "time": utc_now(), "run": run, **fields}
    cls = KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown event kind {kind!r}")
    unknown = set(fields) - set(_HINTS[kind])
    if unknown:
        raise TypeError(f"{kind} events have no field {', '.join(sorted(unknown))}")
    parse(_finite(obj))
    return obj


def encode(event: dict[str, Any] | Event) -> str:
    # NaN is not JSON; a diverged loss is reported as null.
    obj = event.to_json() if isinstance(event, Event) else event
    return json.dumps(_finite(obj), separators=(",", ":"))


def decode(line: str) -> dict[str, Any] | None:
    """One event's JSON object from a line, or None for a line that is not one (e.g. a stray print)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) and "event" in obj else None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
