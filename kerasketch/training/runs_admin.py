"""Managing run folders: list them with filters, tag them, note them, archive or delete them.

Tags and a note live in the run folder's ``annotations.json`` (written
atomically; a run never writes it, so annotating a running run is safe). An
archived run moves into the runs folder's hidden ``.archive/``, out of the
dashboard's and ``compare``'s sight, and back with ``--undo``. Nothing here
moves or deletes a run whose process still runs.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from ..errors import RunError
from ..runs import folders
from ..runs.events import Status
from ..runs.jsonfile import read_json, write_json_atomically
from . import datakey

ANNOTATIONS = "annotations.json"
ARCHIVE = ".archive"
MAX_TAG = 40


class Annotations(TypedDict, total=False):
    tags: list[str]
    note: str


def read_annotations(path: Path) -> Annotations:
    """A run folder's tags and note (none where it has no ``annotations.json``; RunError if malformed)."""
    found = read_json(Path(path) / ANNOTATIONS, Annotations)
    return found or Annotations()


def _write_annotations(path: Path, annotations: Annotations) -> None:
    write_json_atomically(Path(path) / ANNOTATIONS, annotations)


@dataclass
class Listed:
    """One row of ``kerasketch runs list``."""

    run: folders.RunInfo
    data: datakey.DataKey
    annotations: Annotations
    archived: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run.name,
            "path": str(self.run.path),
            "recipe": self.run.recipe,
            "status": str(self.run.status),
            "best_val_accuracy": self.run.best_val_accuracy,
            "test_accuracy": self.run.test_accuracy,
            "epochs": self.run.epochs_done,
            "started": self.run.started,
            "data_key": self.data.key or None,
            "data": self.data.label,
            "tags": list(self.annotations.get("tags", [])),
            "note": self.annotations.get("note", ""),
            "archived": self.archived,
        }


def list_runs(
    runs_dir: Path,
    *,
    recipe: str | None = None,
    data: str | None = None,
    status: str | None = None,
    tag: str | None = None,
    archived: bool = False,
) -> list[Listed]:
    """The runs of ``runs_dir`` (its archive with ``archived``), newest first, kept by every filter given:
    ``recipe`` and ``status`` exactly, ``data`` a data key's start, ``tag`` one of the run's tags."""
    from .compare import require_runs_dir

    where = require_runs_dir(runs_dir) / ARCHIVE if archived else require_runs_dir(runs_dir)
    out = []
    for run in folders.list_runs(where):
        try:
            notes = read_annotations(run.path)
        except RunError:
            notes = Annotations()
        key = datakey.of_config(run.config)
        if recipe is not None and run.recipe != recipe:
            continue
        if status is not None and str(run.status) != status:
            continue
        if data is not None and not (key.key and key.key.startswith(data)):
            continue
        if tag is not None and tag not in notes.get("tags", []):
            continue
        out.append(Listed(run, key, notes, archived))
    return out


def _run(path: Path) -> folders.RunInfo:
    return folders.load(folders.require_run_dir(path))


def check_tags(tags: list[str]) -> None:
    """RunError naming the first of ``tags`` that is not a tag."""
    for t in tags:
        if not t or len(t) > MAX_TAG or any(c.isspace() or c == "," for c in t):
            raise RunError(
                f"tag {t!r} is not a tag",
                f"a tag is one word of at most {MAX_TAG} characters, without spaces or commas",
            )


def tag(path: Path, tags: list[str], *, remove: bool = False) -> list[str]:
    """Add (or remove) ``tags`` on a run; its tags after."""
    info = _run(path)
    check_tags(tags)
    notes = read_annotations(info.path)
    current = list(notes.get("tags", []))
    if remove:
        current = [t for t in current if t not in tags]
    else:
        current += [t for t in tags if t not in current]
    notes["tags"] = current
    _write_annotations(info.path, notes)
    return current


def set_tags(path: Path, tags: list[str]) -> list[str]:
    """Give a run exactly ``tags`` (in that order, repeats dropped; none clears them); its tags after."""
    info = _run(path)
    check_tags(tags)
    notes = read_annotations(info.path)
    notes["tags"] = list(dict.fromkeys(tags))
    _write_annotations(info.path, notes)
    return notes["tags"]


def note(path: Path, text: str) -> str:
    """Set a run's note (an empty text clears it)."""
    info = _run(path)
    notes = read_annotations(info.path)
    notes["note"] = text.strip()
    _write_annotations(info.path, notes)
    return notes["note"]


def _refuse_running(info: folders.RunInfo, what: str) -> None:
    if info.status in (Status.RUNNING, Status.STARTING, Status.PREPARING, Status.STOPPING):
        raise RunError(
            f"{info.name} is still running (pid {info.summary.pid}): it cannot be {what}",
            "stop it first (the dashboard's x, or Ctrl-C where it runs), then try again",
        )


def is_archived(path: Path) -> bool:
    """Whether a run folder is in its runs folder's ``.archive/``."""
    return Path(path).resolve().parent.name == ARCHIVE


def archive(path: Path, *, undo: bool = False) -> Path:
    """Move a run into its runs folder's ``.archive/`` (or, with ``undo``, back out); where it is now."""
    info = _run(path)
    folder = info.path.resolve()
    if undo:
        if not is_archived(folder):
            raise RunError(f"{info.name} is not archived", f"archived runs are in {ARCHIVE}/ inside the runs folder")
        target = folder.parent.parent / folder.name
    else:
        _refuse_running(info, "archived")
        if is_archived(folder):
            raise RunError(f"{info.name} is archived already", "--undo brings it back")
        target = folder.parent / ARCHIVE / folder.name
    if target.exists():
        raise RunError(f"{target} exists already", "move or delete one of the two first")
    target.parent.mkdir(exist_ok=True)
    folder.rename(target)
    return target


def delete(path: Path) -> None:
    """Delete a run folder for good (never one that still runs)."""
    info = _run(path)
    _refuse_running(info, "deleted")
    shutil.rmtree(info.path)
