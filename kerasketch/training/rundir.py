"""Run folders: ``runs/<name>-<UTC timestamp>/`` and what they hold.

``config.json``    the resolved configuration (recipe, data, options)
``events.jsonl``   the run's events (:mod:`kerasketch.events`)
``run.log``        what the run printed, and a traceback if it failed
``history.csv``    Keras' CSVLogger, one row per finished epoch
``best.keras``     the best model by validation accuracy (ModelCheckpoint)
``backup/``        BackupAndRestore's state while the run is unfinished
``eval.json``      the evaluation on the test split
``confusion.csv``  the test confusion matrix, rows true and columns predicted,
                   headed by class names

A run's status is read from these files, so it is right whoever asks: the
run itself, the command line, or the dashboard.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import events
from ..errors import RunError

CONFIG = "config.json"
EVENTS = "events.jsonl"
LOG = "run.log"
HISTORY = "history.csv"
BEST = "best.keras"
BACKUP = "backup"
EVAL = "eval.json"
CONFUSION = "confusion.csv"

#: Statuses a run can have; "interrupted" is a run whose process died without an end event.
STATUSES = ("running", "finished", "early_stopped", "cancelled", "failed", "interrupted")


def new_run_dir(runs_dir: Path, name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    base = runs_dir / f"{name}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    return path


def write_json_atomically(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a full disk must not keep a half-written copy


def require_run_dir(path: str | Path) -> Path:
    """``path`` if it is a run folder, else a clear error."""
    path = Path(path)
    if not path.exists():
        raise RunError(f"run folder {path} does not exist", "`kerasketch compare` lists the runs in runs/")
    if not (path / CONFIG).is_file():
        raise RunError(
            f"{path} is not a kerasketch run folder (it has no {CONFIG})",
            "give a folder made by a run, like runs/like_vgg_adamw-20261128-120000",
        )
    return path


def pid_alive(pid: int | None) -> bool:
    """Whether the run's process still runs.

    On Linux a dead but unreaped process (a zombie) or a reused pid that is no
    longer kerasketch's does not count.
    """
    if not pid:
        return False
    proc = Path(f"/proc/{pid}")
    if Path("/proc/self").exists():
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (proc / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, IndexError, PermissionError):
            return False
        return state != "Z" and b"kerasketch" in cmdline
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class RunInfo:
    """A run as its folder describes it."""

    path: Path
    config: dict[str, Any]
    status: str
    epochs_done: int = 0
    best_epoch: int | None = None
    best_val_accuracy: float | None = None
    test_accuracy: float | None = None
    seconds: float | None = None
    error: str | None = None
    started: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def recipe(self) -> str:
        return self.config.get("recipe", {}).get("name", "?")

    @property
    def synthetic(self) -> bool:
        return bool(self.config.get("dataset", {}).get("synthetic"))

    def epochs(self) -> list[dict[str, Any]]:
        """The ``epoch`` events, the last one per epoch number (a resumed run repeats none)."""
        by_epoch: dict[int, dict[str, Any]] = {}
        for e in self.events:
            if e.get("event") == "epoch" and _epoch_number(e) is not None:
                by_epoch[_epoch_number(e)] = e
        return [by_epoch[k] for k in sorted(by_epoch)]

    def evaluation(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.path / EVAL).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None

    def confusion(self) -> tuple[list[str], list[list[int]]] | None:
        """The test confusion matrix, None before the evaluation; RunError if malformed."""
        from . import confusion

        return confusion.read(self.path / CONFUSION)

    def log_tail(self, lines: int = 20) -> list[str]:
        try:
            text = (self.path / LOG).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        return text.splitlines()[-lines:]


def _epoch_number(event: dict[str, Any]) -> int | None:
    """An epoch event's number; None for a malformed one, which readers skip."""
    value = event.get("epoch")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def load(path: str | Path) -> RunInfo:
    """Read a run folder (``require_run_dir`` first where the path comes from a user)."""
    path = Path(path)
    try:
        config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError) as err:
        raise RunError(f"{path}: unreadable {CONFIG} ({err})", "is this a run folder?") from None
    if not isinstance(config, dict):
        raise RunError(f"{path}: {CONFIG} is not a JSON object", "is this a run folder?")
    evs = events.read(path / EVENTS)
    info = RunInfo(path=path, config=config, status="interrupted", events=evs)
    pid = None
    for e in evs:
        kind = e.get("event")
        if "pid" in e:
            pid = e["pid"]
        if kind == "start":
            info.started = info.started or e.get("time")
        elif kind == "epoch" and _epoch_number(e) is not None:
            info.epochs_done = max(info.epochs_done, _epoch_number(e))
            if e.get("best_val_accuracy") is not None:
                info.best_val_accuracy = e["best_val_accuracy"]
                info.best_epoch = e.get("best_epoch")
    end = next((e for e in reversed(evs) if e.get("event") == "end"), None)
    last = evs[-1] if evs else None
    if end is not None and last is end:
        info.status = end.get("reason", "failed")
        info.error = end.get("error")
        info.seconds = end.get("seconds")
        info.test_accuracy = end.get("test_accuracy")
        if end.get("best_val_accuracy") is not None:
            info.best_val_accuracy = end["best_val_accuracy"]
            info.best_epoch = end.get("best_epoch")
    elif pid_alive(pid):
        info.status = "running"
    return info


def list_runs(runs_dir: str | Path) -> list[RunInfo]:
    """Every run folder directly under ``runs_dir``, newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    runs = []
    for path in runs_dir.iterdir():
        if (path / CONFIG).is_file():
            try:
                runs.append(load(path))
            except RunError:
                continue
    runs.sort(key=lambda r: r.started or r.path.name, reverse=True)
    return runs


def find_resumable(runs_dir: Path, fingerprint: str) -> RunInfo | None:
    """The newest unfinished run with this fingerprint that left a backup to resume from."""
    for run in list_runs(runs_dir):
        if (
            run.config.get("fingerprint") == fingerprint
            and run.status in ("interrupted", "cancelled")
            and (run.path / BACKUP).is_dir()
        ):
            return run
    return None
