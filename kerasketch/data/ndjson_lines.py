"""Writing drawings as lines of the *simplified* ndjson format, the one :class:`~kerasketch.data.sources.NdjsonSource` reads.

A line holds the fields of the published files, in their order:
``{"word", "countrycode", "timestamp", "recognized", "key_id", "drawing"}``,
the drawing as ``[[x0, x1, ...], [y0, y1, ...]]`` per stroke in integer
coordinates 0-255, aligned to the top-left (see :mod:`kerasketch.data.strokes`).
A file of such lines can be trained or evaluated on like any downloaded class.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError

if TYPE_CHECKING:  # the dashboard imports this module; numpy only comes with a drawing to write
    from .strokes import Drawing

#: The longest word a line may carry (the longest of the 345 classes has 26 characters).
MAX_WORD = 100
#: ISO 3166's code for "unknown or unspecified country".
UNKNOWN_COUNTRY = "ZZ"


def check_word(word: str) -> str:
    """The word without surrounding blanks, or a :class:`DataError` saying what is wrong with it."""
    word = word.strip()
    if not word:
        raise DataError("the word is empty", "type the class the drawing shows, e.g. circle")
    if len(word) > MAX_WORD or any(not ch.isprintable() for ch in word):
        raise DataError(
            f"the word {word[:40]!r} is not a class name (at most {MAX_WORD} printable characters)",
            "type the class the drawing shows, e.g. circle",
        )
    return word


def simplified_line(word: str, drawing: Drawing, *, recognized: bool = False, when: float | None = None) -> str:
    """One ndjson line (no newline) for a drawing already in simplified coordinates.

    ``recognized`` says whether a model named the drawing's word first, as the
    game's own field does; ``when`` (seconds since the epoch, default now) is
    the line's timestamp. The key is random, like the dataset's keys.
    """
    strokes = [[[round(float(x)) for x in s[:, 0]], [round(float(y)) for y in s[:, 1]]] for s in drawing if len(s)]
    if not strokes:
        raise DataError("the drawing has no strokes", "draw something first")
    if any(not 0 <= v <= 255 for s in strokes for axis in s for v in axis):
        raise ValueError("a simplified drawing's coordinates lie in 0-255 (normalise it with simplify_raw first)")
    when = time.time() if when is None else when
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(when)) + f".{int(when % 1 * 100000):05d} UTC"
    record = {
        "word": check_word(word),
        "countrycode": UNKNOWN_COUNTRY,
        "timestamp": stamp,
        "recognized": bool(recognized),
        "key_id": f"{uuid.uuid4().int % 10**16:016d}",
        "drawing": strokes,
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def append_line(path: Path, line: str) -> None:
    """Add ``line`` at the end of ``path`` (made if missing), whole or not at all.

    The file is never rewritten: the line is appended with one write, and a
    write that fails half-way (a full disk) is cut off again, so the file
    holds the same lines as before.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise DataError(f"{path} is a folder", "give a file name, e.g. my-drawings.ndjson")
    if not path.parent.is_dir():
        raise DataError(f"{path.parent} does not exist", "give a file in an existing folder")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as err:
        raise DataError(
            f"{path}: cannot be written ({err.strerror or err})", "check the folder's permissions"
        ) from None
    try:
        size = os.fstat(fd).st_size
        data = (line.rstrip("\n") + "\n").encode("utf-8")
        if size and not _ends_with_newline(path, size):
            data = b"\n" + data  # the last line of someone's file lacked its newline
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(28, f"only {written} of {len(data)} bytes written")
        except OSError as err:
            os.ftruncate(fd, size)
            raise DataError(
                f"{path}: the drawing could not be added ({err.strerror or err})", "free some disk space"
            ) from None
    finally:
        os.close(fd)


def _ends_with_newline(path: Path, size: int) -> bool:
    with open(path, "rb") as f:
        f.seek(size - 1)
        return f.read(1) == b"\n"
