"""What ``kerasketch predict`` reads: drawing files, image files, or folders of them.

This module is the one place inference calls the data readers
(:mod:`kerasketch.data.sources`): a drawing file is opened with
:func:`~kerasketch.data.sources.scan` and rendered by its own source at the
model's size, exactly as training renders it. Every drawing comes back with
where it came from (file and line, row or drawing number) and the class its
file names, if any.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.sources import READERS, class_from_filename, scan
from ..errors import DataError
from .images import IMAGE_SUFFIXES, image_file_to_bitmap

#: Drawings rendered per call to a reader, so a large file never sits in memory whole.
CHUNK = 2048

_TRAILING_NUMBER = re.compile(r"[-_ .]*\(?\d+\)?$")


@dataclass
class Drawings:
    """Bitmaps (k, S, S) uint8 with, for each, its source and the class its file names (or None)."""

    images: np.ndarray
    sources: list[str]
    named: list[str | None]


def input_files(paths: Sequence[str | Path]) -> list[Path]:
    """The drawing and image files named by ``paths`` (folders searched recursively), or a clear error."""
    supported = tuple(READERS) + IMAGE_SUFFIXES
    files: list[Path] = []
    for given in paths:
        path = Path(given).expanduser()
        if not path.exists():
            raise DataError(f"{path} does not exist", "give drawing files, image files or folders of them")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in supported)
            if not found:
                raise DataError(
                    f"{path}: no drawing or image files in this folder",
                    f"kerasketch predict reads {', '.join(supported)} files",
                )
            files.extend(found)
        elif path.suffix.lower() not in supported:
            raise DataError(
                f"{path}: not a drawing or image file (unknown suffix '{path.suffix}')",
                f"kerasketch predict reads {', '.join(supported)} files",
            )
        else:
            files.append(path)
    return files


def read_drawings(
    files: Sequence[Path], size: int, classes: Sequence[str], *, chunk: int = CHUNK
) -> Iterator[Drawings]:
    """The drawings of ``files`` as (size x size) bitmaps, a chunk at a time, in file order.

    A drawing file's class (its lines' ``word`` or its name) is its class
    whether or not the model knows it; an image's name counts only where it
    names one of ``classes`` (``IMG_2034.png`` names nothing).
    """
    by_lower = {c.lower(): c for c in classes}
    images: list[np.ndarray] = []
    sources: list[str] = []
    named: list[str | None] = []

    def flush() -> Drawings:
        out = Drawings(np.stack(images) if images else np.zeros((0, size, size), np.uint8), sources[:], named[:])
        images.clear()
        sources.clear()
        named.clear()
        return out

    for path in files:
        if path.suffix.lower() in IMAGE_SUFFIXES:
            images.append(image_file_to_bitmap(path, size))
            sources.append(str(path))
            named.append(_class_of_image(path, by_lower))
            if len(images) >= chunk:
                yield flush()
            continue
        if images:
            yield flush()
        yield from _drawing_file(path, size, chunk)
    if images:
        yield flush()


def _drawing_file(path: Path, size: int, chunk: int) -> Iterator[Drawings]:
    for source in scan(path).sources:
        for cls, count in source.counts.items():
            places = _places(source, cls, count)
            for start in range(0, count, chunk):
                indices = np.arange(start, min(start + chunk, count))
                imgs = source.images(cls, indices, size)
                where = [places[i] for i in indices.tolist()]
                if len(imgs) != len(indices):  # unreadable lines were skipped: find which, one at a time
                    kept = [i for i in indices.tolist() if len(source.images(cls, np.array([i]), size))]
                    where = [places[i] for i in kept]
                yield Drawings(imgs, [f"{path}, {w}" for w in where], [cls] * len(imgs))


def _places(source, cls: str, count: int) -> list[str]:
    if source.format == "ndjson":
        return [f"line {n + 1}" for n in source.line_numbers(cls).tolist()]
    if source.format == "bitmap":
        return [f"row {i}" for i in range(count)]
    return [f"drawing {i}" for i in range(count)]


def _class_of_image(path: Path, by_lower: dict[str, str]) -> str | None:
    """The class an image's name gives, case aside: ``cat.png``, ``Cat_03.png``, or a folder ``cat/``."""
    stem = class_from_filename(path)
    for name in (stem, _TRAILING_NUMBER.sub("", stem), path.parent.name):
        if name.lower() in by_lower:
            return by_lower[name.lower()]
    return None
