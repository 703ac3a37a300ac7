"""A run's confusion matrix: ``confusion.csv`` written, read back, and its worst cells.

Plain Python and the csv module, so that the dashboard can use it without
NumPy or Keras.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import RunError


def write(path: Path, class_names: Sequence[str], matrix: Sequence[Sequence[int]]) -> None:
    """Rows true, columns predicted, headed by class names; written beside and renamed."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["true \\ predicted", *class_names])
        for name, row in zip(class_names, matrix):
            writer.writerow([name, *(int(v) for v in row)])
    os.replace(tmp, path)


def read(path: Path) -> tuple[list[str], list[list[int]]] | None:
    """(class names, rows of counts); None where there is no file; RunError where it is malformed."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        names = rows[0][1:]
        matrix = [[int(v) for v in row[1:]] for row in rows[1:]]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, IndexError) as err:
        raise RunError(
            f"{path} is unreadable ({type(err).__name__}: {err})", "the run's evaluation wrote it; run it again"
        ) from None
    if len(matrix) != len(names) or any(len(r) != len(names) for r in matrix):
        raise RunError(f"{path} is malformed: {len(names)} class names but a {len(matrix)}-row matrix", "run it again")
    return names, matrix


def most_confused(
    class_names: Sequence[str], matrix: Sequence[Sequence[int]], n: int = 10
) -> list[tuple[str, str, int, float]]:
    """The largest off-diagonal cells: (true, predicted, count, share of the true class)."""
    cells = []
    for i, row in enumerate(matrix):
        total = sum(row)
        for j, count in enumerate(row):
            if i != j and count:
                cells.append((-int(count), i, j, count / max(total, 1)))
    cells.sort()
    return [(class_names[i], class_names[j], -c, share) for c, i, j, share in cells[:n]]
