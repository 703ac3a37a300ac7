"""``runs/<sweep>/sweep.json``: what a sweep searched and how each trial did.

Written atomically by the sweep's driver (:mod:`kerasketch.sweep.tune`) at
every trial's start, epoch and end; read by the dashboard, which must not
import Ray, so the format and its reader live here beside :mod:`.folders`.
The trials themselves are ordinary run folders beside this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

from ..errors import RunError
from .jsonfile import read_json, write_json_atomically
from .processes import pid_alive

SWEEP = "sweep.json"

#: A trial's status as sweep.json records it.
PENDING, RUNNING, FINISHED, STOPPED, FAILED = "pending", "running", "finished", "stopped early", "failed"
#: A trial the sweep's stop cut short (Ctrl-C): the same command resumes it.
INTERRUPTED = "interrupted"
#: The statuses of a trial that has not ended.
UNENDED = (PENDING, RUNNING, INTERRUPTED)


class Trial(TypedDict, total=False):
    id: str
    params: dict[str, Any]
    status: str
    node_id: str | None
    node_ip: str | None
    best_val_accuracy: float | None
    epochs: int
    run_dir: str | None  # relative to the sweep folder
    error: str | None
    world_size: int  # its run's processes (--nproc); absent before sweeps had several: 1


class Best(TypedDict, total=False):
    trial: str
    params: dict[str, Any]
    best_val_accuracy: float
    test_accuracy: float | None
    run_dir: str
    command: str


class Sweep(TypedDict, total=False):
    name: str
    recipe: str
    status: str  # running, finished, interrupted
    driver_pid: int
    driver_started: int | None  # the driver's start time (processes.process_started)
    created: str
    updated: str
    space: dict[str, str]
    search: dict[str, Any]  # algorithm, scheduler, seed, trials, max_concurrent, address
    defaults: dict[str, Any]  # the recipe's values of the searched parameters
    trials: list[Trial]
    best: Best | None
    fingerprint: str  # of the settings: the same command resumes, other settings are refused
    seconds: float  # the last session's wall time
    folder: str  # where it is (what run_sweep returns; not written)


def is_sweep_folder(path: Path) -> bool:
    try:
        return (Path(path) / SWEEP).is_file()
    except OSError:
        return False


def read(path: str | Path) -> Sweep:
    """A sweep folder's ``sweep.json``, checked; RunError if missing or malformed."""
    doc = read_json(Path(path) / SWEEP, Sweep)
    if doc is None:
        raise RunError(f"{path}: no {SWEEP}", "is this a sweep folder? `kerasketch sweep` makes them")
    if doc.get("status") == "running" and not pid_alive(doc.get("driver_pid"), doc.get("driver_started")):
        doc["status"] = "interrupted"  # the driver died without saying so
    return doc


def write(path: str | Path, doc: Sweep) -> None:
    write_json_atomically(Path(path) / SWEEP, doc)


def ranked(trials: list[Trial]) -> list[Trial]:
    """Best validation accuracy first; trials without one last, in their order."""
    return sorted(trials, key=lambda t: (t.get("best_val_accuracy") is None, -(t.get("best_val_accuracy") or 0.0)))
