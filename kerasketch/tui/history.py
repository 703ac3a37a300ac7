"""The runs folder as the dashboard sees it: every run folder, readable or not.

:func:`kerasketch.runs.folders.list_runs` skips folders it cannot read; the
dashboard must show them (as *unreadable*, with the reason), so it walks the
folder itself and reads each run with :func:`folders.load`. A scan only re-reads folders whose
files changed, and runs that are still going, so a periodic scan is cheap.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from kerasketch.errors import KerasketchError
from kerasketch.runs import folders, sweepfile
from kerasketch.runs.events import Status
from kerasketch.runs.processes import pid_alive
from kerasketch.training import datakey, runs_admin

from .runstate import RunState

#: The files whose size and time say whether a folder changed.
_WATCHED = (folders.CONFIG, folders.EVENTS, folders.EVAL, sweepfile.SWEEP, runs_admin.ANNOTATIONS)

Stamp = tuple[tuple[int, int], ...]


def is_run_folder(path: Path) -> bool:
    """A folder that is, or was meant to be, a run's (junk beside them is not listed)."""
    try:
        return (
            path.is_dir()
            and not path.name.startswith(".")
            and (
                (path / folders.CONFIG).exists()
                or (path / folders.EVENTS).exists()
                or (path / sweepfile.SWEEP).exists()
            )
        )
    except OSError:
        return False


def stamp(path: Path) -> Stamp:
    out = []
    for name in _WATCHED:
        try:
            st = (path / name).stat()
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((0, -1))
    return tuple(out)


def load_state(path: Path) -> RunState:
    """One run folder as a :class:`RunState`; never raises (a bad folder is *unreadable*, with the reason)."""
    state = _read_state(path)
    state.archived = runs_admin.is_archived(path)
    return state


def _read_state(path: Path) -> RunState:
    if sweepfile.is_sweep_folder(path):
        return sweep_state(path)
    try:
        info = folders.load(path)
    except KerasketchError as err:
        return unreadable(path, err.message)
    except Exception as err:  # a reader's defect must still not take the dashboard down
        return unreadable(path, f"{type(err).__name__}: {err}")
    problems = list(info.problems)
    try:
        notes = runs_admin.read_annotations(path)
    except KerasketchError as err:  # the run itself is fine: say so beside it
        notes = runs_admin.Annotations()
        problems.append(err.message)
    return RunState.of(
        str(path), info.summary, problems=problems, tags=list(notes.get("tags", [])), note=notes.get("note", "")
    )


_SWEEP_STATUS = {"running": Status.RUNNING, "finished": Status.FINISHED, "interrupted": Status.INTERRUPTED}


def sweep_state(path: Path) -> RunState:
    """A sweep folder as one history row: how many trials ended, the best trial's scores."""
    try:
        doc = sweepfile.read(path)
    except KerasketchError as err:
        return unreadable(path, err.message)
    trials = doc.get("trials", [])
    ranked = sweepfile.ranked(trials)
    best = doc.get("best") or {}
    return RunState(
        key=str(path),
        name=path.name,
        recipe=f"{doc.get('recipe', '?')} sweep",
        status=_SWEEP_STATUS.get(doc.get("status", ""), Status.INTERRUPTED),
        run_dir=path,
        message=f"{sum(t.get('status') in (sweepfile.FINISHED, sweepfile.STOPPED) for t in trials)} of "
        f"{doc.get('search', {}).get('trials', '?')} trials ended",
        best_val_accuracy=ranked[0].get("best_val_accuracy") if ranked else None,
        test_accuracy=best.get("test_accuracy"),
        started=doc.get("created"),
        sweep=True,
    )


def unreadable(path: Path, why: str) -> RunState:
    return RunState(key=str(path), name=path.name, status=Status.UNREADABLE, run_dir=path, error=why)


def folders_in(where: Path) -> list[Path]:
    """The run folders directly under ``where`` (none where it cannot be read)."""
    try:
        return [p for p in where.iterdir() if is_run_folder(p)]
    except OSError:
        return []


class RunsFolder:
    """The run folders under one directory, re-read only where they changed.

    A running run's ``events.jsonl`` grows all the time; re-reading it whole
    at every scan would cost the training machine CPU, so it is re-read at
    most every ``running_interval`` seconds (a forced scan reads it anyway),
    and not at all when this dashboard's own child already reports it.
    """

    def __init__(self, runs_dir: Path, running_interval: float = 30.0):
        self.runs_dir = Path(runs_dir)
        self.running_interval = running_interval
        self.archived = False  # read the archive (runs_dir/.archive/) too
        self._known: dict[str, tuple[Stamp, float, RunState]] = {}  # key -> (stamp, when read, state)

    def scan(self, *, skip: frozenset[str] = frozenset(), force: bool = False) -> tuple[dict[str, RunState], bool]:
        """(every run by key, whether anything changed since the last scan).

        ``skip``: folders whose state comes from elsewhere (a live child); kept as last read.
        """
        changed = False
        now = time.monotonic()
        seen: dict[str, tuple[Stamp, float, RunState]] = {}
        paths = folders_in(self.runs_dir)
        if self.archived:
            paths += folders_in(self.runs_dir / runs_admin.ARCHIVE)
        for path in paths:
            key = str(path)
            old = self._known.get(key)
            if old is not None and key in skip:
                seen[key] = old
                continue
            st = stamp(path)
            if old is not None and not force and self._still_good(old, st, now):
                seen[key] = old
                continue
            state = load_state(path)
            changed = changed or old is None or old[2] != state
            seen[key] = (st, now, state)
        changed = changed or set(seen) != set(self._known)
        self._known = seen
        return {k: v[2] for k, v in seen.items()}, changed

    def _still_good(self, old: tuple[Stamp, float, RunState], st: Stamp, now: float) -> bool:
        old_stamp, read_at, state = old
        if state.status == Status.RUNNING:
            if not pid_alive(state.pid, state.pid_started):
                return False  # it died (or ended): read its verdict
            return old_stamp == st or now - read_at < self.running_interval
        return old_stamp == st


def data_groups(runs: Iterable[RunState]) -> list[tuple[datakey.DataKey, list[RunState]]]:
    """The runs whose scores compare (:func:`kerasketch.training.datakey.comparable`), by data:
    real data before synthetic, then the data of the newest run first."""
    groups: dict[datakey.DataKey, list[RunState]] = {}
    for run in runs:
        if datakey.comparable(run):
            groups.setdefault(datakey.of_config(run.config), []).append(run)
    by_newest = sorted(groups.items(), key=lambda kv: max(r.when or "" for r in kv[1]), reverse=True)
    return sorted(by_newest, key=lambda kv: (kv[0].synthetic, not kv[0].known))  # stable: newest first within


def best_by_recipe(
    runs: Iterable[RunState], data_key: str | None = None
) -> tuple[datakey.DataKey | None, dict[str, RunState]]:
    """(the data, its best finished run per recipe), as :func:`kerasketch.training.compare.best_by_data`
    chooses them: only runs on one data compare. ``data_key`` picks the data; by default (or where no
    run has that data any more) the first of :func:`data_groups`, so real data before synthetic."""
    groups = data_groups(runs)
    if not groups:
        return None, {}
    key, group = next(((k, g) for k, g in groups if k.key == data_key), groups[0])
    best: dict[str, RunState] = {}
    for run in group:
        current = best.get(run.recipe)
        if current is None or (run.best_val_accuracy or 0.0) > (current.best_val_accuracy or 0.0):
            best[run.recipe] = run
    return key, best


def sort_runs(runs: Iterable[RunState], by: str) -> list[RunState]:
    """``started`` (newest first) or ``best`` (best validation accuracy first, runs without one last)."""
    runs = list(runs)
    newest = sorted(runs, key=lambda r: (r.when or "", r.name), reverse=True)
    # Children not heard from yet are the newest of all; unreadable folders come last.
    newest.sort(key=lambda r: 2 if r.status == Status.UNREADABLE else 0 if r.when is None else 1)
    if by == "best":
        return sorted(newest, key=lambda r: (r.best_val_accuracy is None, -(r.best_val_accuracy or 0.0)))
    return newest
