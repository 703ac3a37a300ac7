"""The run protocol: JSON-lines events a run writes and the dashboard reads.

Defined once, here, for both sides: the kinds and their fields as types, the
statuses a run can have, and the one fold (:meth:`RunSummary.apply`) that
turns events into what is known about a run, for a run folder read by the
command line and for a run the dashboard watches live alike.

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
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, TextIO, TypedDict

from . import schema
from .errors import RunError


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


# -- what a run's config says (config.json, and the start event's ``config``) ------


class OriginalResult(TypedDict, total=False):
    number: int
    title: str
    loss: str
    optimizer: str
    val_acc: float
    best_epoch: int


class RecipeConfig(TypedDict, total=False):
    name: str
    model: str
    loss: str
    optimizer: str
    image_size: int
    original: OriginalResult | None  # None: a recipe of ours
    optimizer_settings: dict[str, Any]
    l2: float
    batch_size: int
    epochs: int
    patience: int
    weights: str | None
    model_options: dict[str, Any]
    label_smoothing: float  # this and the three below: absent at their defaults (recipes.base.LATER_FIELDS)
    schedule: str
    warmup_epochs: int
    augmentation: dict[str, float]


class DatasetSummary(TypedDict, total=False):
    source: str
    synthetic: bool
    image_size: int
    num_classes: int
    classes: dict[str, int]
    splits: dict[str, int]
    total: int
    imbalance: float | None
    skipped_bad_lines: Any
    cache: str | None


class Params(TypedDict, total=False):
    trainable: int
    total: int


class RunConfig(TypedDict, total=False):
    """The resolved configuration a run records; every key may be missing from an old or damaged file."""

    # The run-folder format that wrote the folder (training.rundir.FORMAT_VERSION); absent: format 0.
    format_version: int
    recipe: RecipeConfig
    data: dict[str, Any]
    dataset: DatasetSummary
    class_names: list[str]
    params: Params
    fingerprint: str
    options: dict[str, Any]
    created: str
    versions: dict[str, str]
    device: str
    # How the steps ran (training/execution.py): mode, precision and why, threads, memory format, update.
    execution: dict[str, Any]
    # How many processes trained it, how (training/distributed.py's record); absent: one process.
    distributed: dict[str, Any]


def distributed_record(config: Mapping[str, Any]) -> dict[str, Any]:
    """config.json's ``distributed`` as readers need it: ``world_size`` always a whole number of at
    least 1 (1 for a folder from before data parallelism, or a damaged record), the other keys as
    written where they have their types, else None."""
    given = config.get("distributed") if isinstance(config, Mapping) else None
    record = given if isinstance(given, dict) else {}
    size = record.get("world_size")
    out: dict[str, Any] = {
        "world_size": size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else 1
    }
    for key in ("global_batch", "per_rank_batch", "local_ranks", "threads_per_rank"):
        value = record.get(key)
        out[key] = value if isinstance(value, int) and not isinstance(value, bool) else None
    backend = record.get("backend")
    out["backend"] = backend if isinstance(backend, str) else None
    return out


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
    pid_started: int | None = None  # with pid, names the process for good (rundir.process_started)


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


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


# -- the fold -------------------------------------------------------------------


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


# -- writing ---------------------------------------------------------------------


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
