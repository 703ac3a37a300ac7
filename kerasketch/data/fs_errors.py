"""One message for a file that could not be written: what the file system said, and what to do."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from ..errors import DataError

_WHY = {
    errno.ENOSPC: ("the disk is full", "free some space on that disk, or write somewhere else"),
    errno.EDQUOT: ("the disk quota is used up", "free some space, or write somewhere else"),
    errno.EROFS: ("the file system is read-only", "write somewhere writable"),
    errno.EACCES: ("permission denied", "check the folder's permissions, or write somewhere else"),
    errno.EPERM: ("permission denied", "check the folder's permissions, or write somewhere else"),
    errno.ENOTDIR: ("a part of its path is a file, not a folder", "move that file away, or write somewhere else"),
    errno.EEXIST: ("a part of its path is a file, not a folder", "move that file away, or write somewhere else"),
    errno.EISDIR: ("it is a folder", "give the name of a file, not of a folder"),
}


def output_error(err: OSError, path: Path, what: str = "") -> DataError:
    """A ``DataError`` for ``err``, raised while writing ``path`` (``what`` says what it is)."""
    code = err.errno
    # numpy and h5py report a short write without an errno; a full disk is the usual cause.
    if code is None and _nearly_full(path):
        code = errno.ENOSPC
    why, hint = _WHY.get(code or 0, (err.strerror or str(err), "check the disk and the folder's permissions"))
    return DataError(f"could not write {what + ' ' if what else ''}{path}: {why}", hint)


def _nearly_full(path: Path) -> bool:
    for folder in (path, *path.parents):
        with contextlib.suppress(OSError):
            st = os.statvfs(folder)
            return st.f_bavail * st.f_frsize < 1 << 20
    return False


def remove_quietly(path: Path) -> None:
    """Remove a temporary file if it is there; a path that cannot hold it is no error."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
