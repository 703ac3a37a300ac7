"""The ``.npy`` header of a numpy bitmap file: read (format 1.0, 2.0 and 3.0), checked, written.

One definition for the file readers (``sources.py``) and the downloader, which
must agree on what a bitmap file is. The header is parsed here rather than
with ``np.lib.format.read_array_header_*``: numpy has no public reader for
3.0 (whose header is UTF-8, where 1.0 and 2.0 are latin-1), and its readers
raise several exception types for one problem. The header dictionary itself is
a Python literal read with ``ast.literal_eval``, as numpy does: no code runs.
"""

from __future__ import annotations

import ast
import io
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

BITMAP_SIDE = 28
BITMAP_WIDTH = BITMAP_SIDE * BITMAP_SIDE
MAGIC = b"\x93NUMPY"
#: numpy itself refuses longer headers unless told otherwise.
MAX_HEADER_BYTES = 10_000
#: Bytes before the header dictionary: magic, version, length field.
_PREAMBLE = {1: 10, 2: 12, 3: 12}


@dataclass(frozen=True)
class NpyHeader:
    version: tuple[int, int]
    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype
    #: Where the array's bytes start: the header's total length.
    offset: int

    def bitmap_problem(self) -> str | None:
        """Why this is not an (N, 784) uint8 bitmap array, or None when it is one."""
        if self.dtype != np.uint8 or len(self.shape) != 2 or self.shape[1] != BITMAP_WIDTH:
            return f"expected a (N, {BITMAP_WIDTH}) uint8 array of 28x28 bitmaps, found {self.shape} {self.dtype}"
        return None

    def data_bytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def header_length(prefix: bytes) -> int:
    """The total header length from a file's first 12 bytes; ValueError if they are no .npy start."""
    if len(prefix) < 10 or prefix[: len(MAGIC)] != MAGIC:
        raise ValueError("no numpy magic string at its start")
    major = prefix[6]
    if major not in _PREAMBLE:
        raise ValueError(f"unsupported .npy format version {major}.{prefix[7]}")
    size = _PREAMBLE[major]
    if len(prefix) < size:
        raise ValueError("it ends inside the .npy preamble")
    length = size + int.from_bytes(prefix[8:size], "little")
    if length > MAX_HEADER_BYTES:
        raise ValueError(f"an implausible {length}-byte .npy header")
    return length


def read_header(fp: BinaryIO) -> NpyHeader:
    """The header at the start of ``fp``, which is left at the array's first byte.

    Raises ``ValueError`` (and only that) saying what is wrong.
    """
    prefix = fp.read(12)
    length = header_length(prefix)
    major = prefix[6]
    size = _PREAMBLE[major]
    text_bytes = prefix[size:] + fp.read(length - len(prefix))
    if len(text_bytes) != length - size:
        raise ValueError(f"it ends inside its {length}-byte header")
    fp.seek(length)
    try:
        text = text_bytes.decode("utf-8" if major == 3 else "latin-1")
        fields = ast.literal_eval(text)
    except (UnicodeDecodeError, ValueError, SyntaxError, MemoryError, RecursionError, TypeError) as err:
        raise ValueError(f"its header is not a Python literal ({type(err).__name__})") from None
    if not isinstance(fields, dict) or set(fields) != {"descr", "fortran_order", "shape"}:
        raise ValueError("its header lacks the keys descr, fortran_order and shape")
    shape, fortran = fields["shape"], fields["fortran_order"]
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueError(f"its header's shape {shape!r} is not a tuple of sizes")
    if not isinstance(fortran, bool):
        raise ValueError(f"its header's fortran_order {fortran!r} is not True or False")
    try:
        dtype = np.lib.format.descr_to_dtype(fields["descr"])
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(f"its header's dtype {fields['descr']!r} is unknown ({err})") from None
    return NpyHeader((major, prefix[7]), shape, fortran, dtype, length)


def bitmap_header(rows: int) -> bytes:
    """A version 1.0 header for ``rows`` C-ordered uint8 bitmaps."""
    buffer = io.BytesIO()
    descr = np.lib.format.dtype_to_descr(np.dtype(np.uint8))
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": (rows, BITMAP_WIDTH)}
    )
    return buffer.getvalue()
