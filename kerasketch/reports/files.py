"""Writing a report's files: into a checked folder, each under a temporary name first."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError


def prepare_folder(path: Path, what: str = "the report folder") -> Path:
    """``path`` as an existing folder (made if absent); ConfigError if it cannot be one."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {path} is a file, not a folder", "give -o a folder (it is made if absent)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"cannot make {what} {path} ({err.strerror or err})", "give -o a folder you can write"
        ) from None
    return path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary name beside ``path``; rename it to ``path`` only if the block succeeds.

    A failure or a kill mid-write leaves the previous file (or none) under the
    final name, never a half-written one.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
