"""Each drawing's class probabilities from an evaluation, kept in a file (``--save-probabilities``).

For work that needs more than the scores: averaging runs whose folders are no longer on one machine,
calibration, error analysis. The file is NumPy's ``.npz`` with three arrays in the evaluation's order:
``probabilities`` (drawings x classes, float32, each row what was scored: the model's, its test-time
augmentation's or an ensemble's probabilities, as predict gives them), ``labels`` (each drawing's true class index) and
``class_names``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from ..errors import DataError, RunError
from .model import softmax_classes

KEYS = ("probabilities", "labels", "class_names")


class Recorder:
    """Called with each block an evaluation scores (its logits and true labels); writes them all to ``path`` at
    the end, a column for each of ``class_names`` (the model's, in its order). Its folder is made at once, so
    that a path that cannot be written fails before the evaluation."""

    def __init__(self, path: Path, class_names: list[str]) -> None:
        self.path = path
        self.class_names = class_names
        self.blocks: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise cannot_write(path, err) from None
        if path.is_dir():
            raise RunError(f"cannot write {path}: it is a folder", "give --save-probabilities a file name")

    def __call__(self, logits: np.ndarray, labels: np.ndarray) -> None:
        # As predict scores them: a softmax over every logit, cut to the classes (TS_CNN has 4 x as many).
        self.blocks.append(softmax_classes(logits, len(self.class_names)).astype(np.float32))
        self.labels.append(np.asarray(labels, dtype=np.int32))

    def write(self) -> int:
        """The file, whole or not at all (written beside it, then renamed); the drawings it holds."""
        path, class_names = self.path, self.class_names
        width = len(class_names)
        probabilities = np.concatenate(self.blocks) if self.blocks else np.zeros((0, width), np.float32)
        labels = np.concatenate(self.labels) if self.labels else np.zeros(0, np.int32)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            with open(tmp, "wb") as f:  # a file object: savez would add ".npz" to a name without it
                np.savez_compressed(
                    f, probabilities=probabilities, labels=labels, class_names=np.array(class_names, dtype=str)
                )
            os.replace(tmp, path)
        except OSError as err:
            raise cannot_write(path, err) from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)  # a full disk must not leave half a file
        return len(labels)


def cannot_write(path: Path, err: OSError) -> RunError:
    return RunError(
        f"cannot write {path} ({err.strerror or err})",
        "free some space or give --save-probabilities a path in a writable folder",
    )


def read(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(probabilities, labels, class names) of a file :class:`Recorder` wrote, or one message naming it."""
    try:
        with np.load(path, allow_pickle=False) as f:
            probabilities, labels, names = (f[k] for k in KEYS)
    except FileNotFoundError:
        raise DataError(
            f"{path} does not exist", "write it with kerasketch evaluate RUN --save-probabilities"
        ) from None
    except (OSError, ValueError, KeyError) as err:
        raise DataError(
            f"{path} is not a probabilities file ({type(err).__name__}: {err})",
            "write it again with kerasketch evaluate RUN --save-probabilities",
        ) from None
    if probabilities.ndim != 2 or probabilities.shape != (len(labels), len(names)):
        raise DataError(
            f"{path}: its arrays disagree (probabilities {probabilities.shape}, {len(labels)} labels, "
            f"{len(names)} classes)",
            "write it again with kerasketch evaluate RUN --save-probabilities",
        )
    return probabilities, labels, [str(n) for n in names]
