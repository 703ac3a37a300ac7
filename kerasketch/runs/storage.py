"""File-system faults under the runs folder: one message that says what happened and what to do.

A full or read-only disk, or a file where a folder is expected, is the
user's to fix, not a bug: it becomes a :class:`RunError` (exit 2). After a
full disk the files it cut short are removed, so that they do not keep the
disk full and nothing half-written stays under a final name.
"""

from __future__ import annotations

import errno
import zipfile
from pathlib import Path

from ..errors import RunError
from .folders import BEST

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def storage_fault(err: BaseException) -> OSError | None:
    """The OSError behind ``err`` (itself, or what it was raised from), if any."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def as_run_error(fault: OSError, fallback: Path) -> RunError:
    where = fault.filename or fallback
    resume = "then run the same command again: it resumes from the last finished epoch"
    if fault.errno in _FULL:
        return RunError(
            f"no space left on the device holding {where}", f"free some space or give another --runs-dir, {resume}"
        )
    if fault.errno == errno.EROFS:
        return RunError(f"{where} is on a read-only file system", "give a writable --runs-dir")
    if isinstance(fault, NotADirectoryError | FileExistsError):
        return RunError(
            f"{where}: a file is where a folder is expected", "give a folder as --runs-dir, or move that file away"
        )
    if isinstance(fault, PermissionError):
        return RunError(f"{where}: permission denied", "give a --runs-dir you may write to")
    return RunError(f"cannot write {where}: {fault.strerror or fault}", f"check that disk, {resume}")


def remove_partial_files(run_dir: Path) -> list[str]:
    """Delete what a write cut short: a best model that is not a whole archive, and the hidden
    files written before a rename (``.best.partial.keras``, ``.config.json.tmp``)."""
    removed = []
    best = run_dir / BEST
    if best.is_file() and not zipfile.is_zipfile(best):
        best.unlink()
        removed.append(best.name)
    for pattern in (".*.partial.*", ".*.tmp"):
        for tmp in run_dir.glob(pattern):
            tmp.unlink()
            removed.append(tmp.name)
    return removed
