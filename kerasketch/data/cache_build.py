"""Writing a dataset cache in bounded memory, on every core, resumably.

The whole of Quick, Draw! is about 50 million drawings, 39 GB as 28x28
bitmaps: more than this machine's memory. So the cache is never assembled in
memory. The :class:`~kerasketch.data.assembly.Plan` decides, before anything
is read, which drawings the dataset holds and where each goes; the drawings
are then read in *units* (a slice of one class's sample) by worker processes
(``concurrent.futures.ProcessPoolExecutor``: reading, decoding, rendering or
resizing are numpy and Python work, which threads would serialise), and the
parent writes each unit's images straight into its place in the cache's
train, validation and test arrays, in unit order. Memory is the units in
flight, sized from a fixed budget (``--build-memory``: :data:`kerasketch.options.DEFAULT_BUILD_MEMORY`) whatever the
dataset's size, plus a few bytes per drawing of index (labels, split).

The file is written as ``.<name>.partial`` and renamed to its final name only
once complete, so no incomplete cache ever carries the final name. Its image
arrays are contiguous and allocated when created, so writing pixels never
changes the file's metadata; after each checkpoint (the file flushed, then
``.<name>.partial.json`` written atomically with the number of units done) a
build killed at any point, even by SIGKILL, resumes at the last checkpoint
when the same build runs again; a partial file that cannot be opened, or
that belongs to other settings, is removed and the build starts afresh. A
lock file keeps two processes from building the same cache at once: the
second waits, then reopens what the first built.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..errors import DataError
from ..options import DEFAULT_BUILD_MEMORY
from .assembly import SPLITS, DataConfig, Plan, Progress, plan
from .digest import content_digest
from .fs_errors import remove_quietly
from .sources import Catalog, NdjsonSource

#: The most drawings one unit reads: beyond this, a unit gains nothing and the progress is coarser.
MAX_UNIT_ROWS = 65_536
#: Seconds between checkpoints: each costs a flush and a small JSON file.
CHECKPOINT_SECONDS = 2.0


@dataclass(frozen=True)
class Unit:
    """One task: drawings ``lo:hi`` of class ``label``'s sample."""

    label: int
    lo: int
    hi: int


def bytes_per_drawing(size: int, strokes: bool) -> int:
    """What one drawing in flight costs, rounded up: the row read and the image made from it
    (the result, its pickled copy and the parent's copy), float32 temporaries where it is
    resized; strokes cost their parsed points and the rasterizer's windows besides."""
    pixels = 784 + size * size
    return 3 * pixels + (8 * pixels if size != 28 else 0) + (32_768 if strokes else 0)


def unit_rows(budget: int, workers: int, size: int, strokes: bool) -> int:
    """Drawings per unit so that every unit in flight (``workers + 1``) fits in ``budget``."""
    rows = budget // ((workers + 1) * bytes_per_drawing(size, strokes))
    return int(max(1, min(MAX_UNIT_ROWS, rows)))


def make_units(the_plan: Plan, rows: int) -> list[Unit]:
    return [
        Unit(label, lo, min(lo + rows, len(chosen)))
        for label, chosen in enumerate(the_plan.chosen)
        for lo in range(0, len(chosen), rows)
    ]


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# --- worker side -------------------------------------------------------------------------------

_CATALOG: Catalog | None = None


def _init_worker(catalog: Catalog, die_with_parent: bool = False) -> None:
    global _CATALOG
    _CATALOG = catalog
    if die_with_parent:
        _die_with_parent()


def _die_with_parent() -> None:
    """Ask Linux to end this worker when the builder dies (a SIGKILL leaves no pool behind it)."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the builder died before the request took effect
            os._exit(1)


def _counters(catalog: Catalog) -> dict[int, tuple[dict[int, str], int, int]]:
    return {i: src.counters() for i, src in enumerate(catalog.sources) if isinstance(src, NdjsonSource)}


def _read_unit(name: str, indices: np.ndarray, size: int) -> tuple[Any, ...]:
    """(images, kept mask, what reading found per ndjson source) or ("error", message, hint)."""
    catalog = _CATALOG
    assert catalog is not None, "the worker was not initialised"
    before = _counters(catalog)
    try:
        images, kept = catalog.images_kept(name, indices, size)
    except DataError as err:
        # Errors cross the process boundary as text: an exception's hint would not survive pickling.
        return ("error", err.message, err.hint)
    found = {}
    for i, (bad, costly, outside) in _counters(catalog).items():
        was_bad, was_costly, was_outside = before[i]
        new_bad = {ln: why for ln, why in bad.items() if ln not in was_bad}
        if new_bad or costly != was_costly or outside != was_outside:
            found[i] = (new_bad, costly - was_costly, outside - was_outside)
    return (images, kept, found)


# --- parent side -------------------------------------------------------------------------------


def partial_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


def state_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial.json")


@contextlib.contextmanager
def build_lock(path: Path) -> Iterator[None]:
    """Held while ``path`` is built; a second builder of the same cache waits here.

    A POSIX record lock (``lockf``), not ``flock``: it belongs to this process alone, so
    worker processes forked while it is held do not hold it too, and it goes with the
    process however that ends.
    """
    lock = path.with_name(f".{path.name}.lock")
    with open(lock, "a+b") as f:
        fcntl.lockf(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            # Removed while held: a builder waiting on it finds the cache built when it gets
            # the lock, and a later one finds the cache before it looks for a lock.
            if path.exists():
                remove_quietly(lock)
            fcntl.lockf(f.fileno(), fcntl.LOCK_UN)


def build(
    config: DataConfig,
    catalog: Catalog,
    path: Path,
    attrs: dict[str, Any],
    *,
    budget: int = DEFAULT_BUILD_MEMORY,
    workers: int | None = None,
    progress: Progress | None = None,
) -> None:
    """Write the cache of ``config`` at ``path`` (the caller holds :func:`build_lock`)."""
    workers = workers or default_workers()
    the_plan = plan(config, catalog)
    size = config.image_size
    strokes = any(src.format != "bitmap" for src in catalog.sources)
    partial, state_file = partial_path(path), state_path(path)
    # What makes a partial file this build's (the time it started aside).
    identity = {
        "plan": _plan_digest(the_plan),
        "size": size,
        "attrs": {k: v for k, v in attrs.items() if k != "created"},
    }
    state = _resumable_state(partial, state_file, identity)
    resumed = state is not None
    if state is None:
        remove_quietly(partial)
        remove_quietly(state_file)
        rows = unit_rows(budget, workers, size, strokes)
        state = {"identity": identity, "rows": rows, "done": 0, "offsets": [0, 0, 0], "dropped": [], "found": {}}
    units = make_units(the_plan, int(state["rows"]))
    # What earlier sessions of this build found in the ndjson files counts too.
    for i, (bad, costly, outside) in state["found"].items():
        _apply_found(catalog, int(i), {int(k): v for k, v in bad.items()}, costly, outside)

    assignment = the_plan.assignment()
    offsets = the_plan.offsets()
    # HDF5's own file lock is off for the partial file: build_lock already keeps other
    # builders out, and HDF5's lock, inherited by the forked workers, would outlive a killed
    # builder in its workers for a moment and keep the next build from resuming.
    with _executor(workers, catalog) as pool, h5py.File(partial, "r+" if resumed else "w", locking=False) as f:
        if "x_train" not in f:
            _create_arrays(f, the_plan, size)
            _checkpoint(f, state_file, state)
        done = int(state["done"])
        pending: deque[tuple[Unit, Future | tuple]] = deque()
        last = time.monotonic()
        submitted = done
        while done < len(units):
            while submitted < len(units) and len(pending) < workers + 1:
                unit = units[submitted]
                indices = the_plan.chosen[unit.label][unit.lo : unit.hi]
                name = the_plan.classes[unit.label]
                job = pool.submit(_read_unit, name, indices, size) if pool else _inline(catalog, name, indices, size)
                pending.append((unit, job))
                submitted += 1
            unit, job = pending.popleft()
            result = job.result() if isinstance(job, Future) else job
            if isinstance(result[0], str):  # ("error", message, hint)
                raise DataError(result[1], result[2])
            images, kept, found = result
            for i, (bad, costly, outside) in found.items():
                if pool is not None:  # read inline, the parent's sources counted it already
                    _apply_found(catalog, i, bad, costly, outside)
                _merge_found(state["found"], i, bad, costly, outside)
            start = int(offsets[unit.label]) + unit.lo
            positions = np.arange(start, start + (unit.hi - unit.lo))
            codes = assignment[positions][kept]
            for code, split in enumerate(SPLITS):
                rows = images[codes == code]
                at = state["offsets"][code]
                f[f"x_{split}"][at : at + len(rows)] = rows
                state["offsets"][code] = at + len(rows)
            state["dropped"].extend(positions[~kept].tolist())
            done += 1
            state["done"] = done
            if progress:
                progress("reading drawings", done, len(units))
            if time.monotonic() - last >= CHECKPOINT_SECONDS or done == len(units):
                _checkpoint(f, state_file, state)
                last = time.monotonic()
        _finish(f, the_plan, state, attrs, catalog, progress)
    os.replace(partial, path)
    remove_quietly(state_file)


def _executor(workers: int, catalog: Catalog) -> contextlib.AbstractContextManager[ProcessPoolExecutor | None]:
    if workers <= 1:
        return contextlib.nullcontext(None)
    # fork: the workers inherit the opened catalog (ndjson line indexes included) without a copy.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(catalog, True))


def _inline(catalog: Catalog, name: str, indices: np.ndarray, size: int) -> tuple[Any, ...]:
    _init_worker(catalog)
    return _read_unit(name, indices, size)


def _apply_found(catalog: Catalog, i: int, bad: dict[int, str], costly: int, outside: int) -> None:
    src = catalog.sources[i]
    assert isinstance(src, NdjsonSource)
    src.add_counters(bad, costly, outside)


def _merge_found(found: dict, i: int, bad: dict[int, str], costly: int, outside: int) -> None:
    old_bad, old_costly, old_outside = found.get(str(i), ({}, 0, 0))
    found[str(i)] = ({**old_bad, **{str(k): v for k, v in bad.items()}}, old_costly + costly, old_outside + outside)


def _plan_digest(the_plan: Plan) -> str:
    import hashlib

    h = hashlib.sha256(json.dumps(the_plan.classes).encode())
    for part in (*the_plan.chosen, *the_plan.splits):
        h.update(np.ascontiguousarray(part, dtype=np.int64).tobytes())
    return h.hexdigest()


def _resumable_state(partial: Path, state_file: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint of an interrupted build of the same cache, if it and its file can be trusted."""
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        if state.get("identity") != identity or not partial.is_file():
            return None
        with h5py.File(partial, "r", locking=False) as f:
            for code, split in enumerate(SPLITS):
                if state["offsets"][code] > len(f[f"x_{split}"]):
                    return None
        return state
    except Exception:  # no checkpoint, a torn one, or a file h5py cannot open: start afresh
        return None


def _create_arrays(f: h5py.File, the_plan: Plan, size: int) -> None:
    for split, positions in zip(SPLITS, the_plan.splits):
        # Contiguous and allocated now (never filled: every row is written), so that writing
        # pixels changes no metadata and a checkpointed file survives a kill after it.
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
        f.create_dataset(f"x_{split}", shape=(len(positions), size, size), dtype=np.uint8, dcpl=dcpl)


def _checkpoint(f: h5py.File, state_file: Path, state: dict[str, Any]) -> None:
    f.flush()
    tmp = state_file.with_name(state_file.name + ".tmp")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, state_file)


def _finish(
    f: h5py.File,
    the_plan: Plan,
    state: dict[str, Any],
    attrs: dict[str, Any],
    catalog: Catalog,
    progress: Progress | None,
) -> None:
    """Labels, counts and the summary's attributes, once every image is in place."""
    dropped = np.asarray(state["dropped"], dtype=np.int64)
    for code, (split, positions) in enumerate(zip(SPLITS, the_plan.splits)):
        kept = positions[~np.isin(positions, dropped)] if len(dropped) else positions
        assert len(kept) == state["offsets"][code], "the images written and the labels disagree"
        if f"y_{split}" in f:  # a build killed while finishing: written again
            del f[f"y_{split}"]
        f.create_dataset(f"y_{split}", data=the_plan.labels[kept].astype(np.int32))
    for key, value in {
        **attrs,
        "class_names": json.dumps(the_plan.classes),
        "skipped": catalog.skipped,
        "too_costly": catalog.too_costly,
        "notes": json.dumps(catalog.notes()),
        # Read back once, in slices: the build wrote the images from several processes, out of order.
        "digest": content_digest(the_plan.classes, [(f[f"x_{split}"], f[f"y_{split}"]) for split in SPLITS], progress),
    }.items():
        f.attrs[key] = value
