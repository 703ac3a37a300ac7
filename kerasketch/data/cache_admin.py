"""``kerasketch data cache list | prune``: the dataset caches on disk, what they hold, when last used.

A cache's last use is its file's modification time, which :func:`kerasketch.data.cache.load_or_build`
renews whenever it reopens one. Pruning removes caches unused for a while (or all of them) and the
leftovers of builds that stopped; never a cache that a build holds the lock of.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

from .fs_errors import remove_quietly

PATTERN = "dataset-*.h5"


@dataclass
class CacheEntry:
    path: Path
    bytes: int  # with its partial build's files, for an unfinished one
    last_use: float  # seconds since the epoch
    finished: bool  # False: a build that stopped (resumable) or is going on
    source: str = "?"
    classes: int | None = None
    drawings: int | None = None
    image_size: int | None = None
    synthetic: bool = False
    selection: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "bytes": self.bytes,
            "last_use": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last_use)),
            "finished": self.finished,
            "source": self.source,
            "classes": self.classes,
            "drawings": self.drawings,
            "image_size": self.image_size,
            "synthetic": self.synthetic,
            "selection": self.selection,
        }


def _companions(path: Path) -> list[Path]:
    """A cache's build files: its partial file, the partial's progress and its lock."""
    return [path.with_name(f".{path.name}{suffix}") for suffix in (".partial", ".partial.json", ".lock")]


def entries(cache_dir: Path) -> list[CacheEntry]:
    """Every cache in ``cache_dir``, finished or not, most recently used first."""
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        return []
    names = {p.name for p in cache_dir.glob(PATTERN)}
    names |= {p.name[1:].removesuffix(".partial") for p in cache_dir.glob(f".{PATTERN}.partial")}
    out = []
    for name in sorted(names):
        path = cache_dir / name
        files = [f for f in (path, *_companions(path)) if f.exists()]
        if not files:
            continue
        entry = CacheEntry(
            path=path,
            bytes=sum(f.stat().st_size for f in files),
            last_use=max(f.stat().st_mtime for f in files),
            finished=path.exists(),
        )
        _describe(entry, path if path.exists() else _companions(path)[0])
        out.append(entry)
    return sorted(out, key=lambda e: e.last_use, reverse=True)


def _describe(entry: CacheEntry, file: Path) -> None:
    """What the cache holds, from the attributes its writer left (nothing where it cannot be read)."""
    try:
        with h5py.File(file, "r", locking=False) as f:
            attrs = dict(f.attrs)
            drawings = sum(int(f[f"y_{split}"].shape[0]) for split in ("train", "val", "test") if f"y_{split}" in f)
    except Exception:  # a damaged or half-written file: listed, undescribed
        return
    with contextlib.suppress(ValueError, TypeError, KeyError):
        config = json.loads(attrs.get("config", "{}"))
        entry.image_size = config.get("image_size")
        parts = [f"seed {config.get('seed')}"]
        if config.get("max_per_class"):
            parts.insert(0, f"at most {config['max_per_class']:,} per class")
        elif config.get("fraction"):
            parts.insert(0, f"{config['fraction']:g} of each class")
        entry.selection = ", ".join(parts)
    with contextlib.suppress(ValueError, TypeError):
        entry.classes = len(json.loads(attrs.get("class_names", "[]"))) or None
    entry.source = str(attrs.get("source", "?"))
    entry.synthetic = bool(attrs.get("synthetic", False))
    entry.drawings = drawings or None


def _locked(path: Path) -> bool:
    """Whether a build holds this cache's lock now."""
    lock = _companions(path)[2]
    if not lock.exists():
        return False
    try:
        with open(lock, "a+b") as f:
            fcntl.lockf(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(f.fileno(), fcntl.LOCK_UN)
    except OSError:
        return True
    return False


def prune(cache_dir: Path, *, unused_days: float | None, dry_run: bool = False) -> list[CacheEntry]:
    """Remove the caches unused for ``unused_days`` days (every one with None), with their build files;
    a cache whose build is going on stays. The removed (or, with ``dry_run``, those that would be)."""
    cutoff = None if unused_days is None else time.time() - unused_days * 86400
    removed = []
    for entry in entries(cache_dir):
        if (cutoff is not None and entry.last_use > cutoff) or _locked(entry.path):
            continue
        if not dry_run:
            for f in (entry.path, *_companions(entry.path)):
                remove_quietly(f)
        removed.append(entry)
    return removed
