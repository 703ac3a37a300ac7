"""Read the arrays of a sketch-rnn ``.npz`` without letting its pickles run code.

sketch-rnn files store each split as a pickled object array of int16 (n, 3)
arrays, written by Python 2 (so they need ``encoding="latin1"``).
``np.load(allow_pickle=True)`` would unpickle whatever a file holds, and a
pickle can call any importable function: scanning a folder with a crafted
``.npz`` in it would run its code. Here each member is read with an unpickler
that resolves only what numpy arrays are made of (numpy's array
reconstruction, ``ndarray`` and ``dtype``) and refuses every other global, so
nothing else is callable. Members that are not object arrays are read without
pickle at all.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .npy_header import read_header

#: The globals a pickled numpy array needs, under numpy 1.x and 2.x names.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class RefusedPickle(Exception):
    """A pickle that asks for something other than numpy arrays."""


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise RefusedPickle(f"{module}.{name}")


def load_arrays(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The members ``names`` that ``path`` holds, as arrays.

    Raises ``RefusedPickle`` naming the global a pickle asked for, and the
    errors of ``zipfile``, ``pickle`` and numpy for a corrupt file.
    """
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive:
        members = {Path(m).stem: m for m in archive.namelist() if m.endswith(".npy")}
        for name in names:
            if name in members:
                out[name] = _read_member(archive.read(members[name]))
    return out


def _read_member(data: bytes) -> np.ndarray:
    fp = io.BytesIO(data)
    header = read_header(fp)
    if header.dtype.hasobject:
        array = _ArraysOnly(fp, encoding="latin1").load()
        if not isinstance(array, np.ndarray):
            raise ValueError(f"a pickle of {type(array).__name__}, not of an array")
        return array
    fp.seek(0)
    return np.lib.format.read_array(fp, allow_pickle=False)
