"""The training orders a run can ask for, and the ``chunks`` order's sizes (:mod:`.inputs` explains them).

Apart from :mod:`.inputs` because the command line's help states these numbers, and must not import
Keras to do so.
"""

from __future__ import annotations

# How an epoch draws its drawings (validation.SAMPLERS, where the options' limits live), beside the orders.
from ..validation import SAMPLERS

__all__ = ["BUFFER_CHUNKS", "CHUNK_ROWS", "SAMPLERS", "SHUFFLES"]

SHUFFLES = ("exact", "chunks")

#: Rows per chunk and chunks per window of the ``chunks`` shuffle (see :mod:`.inputs` for why so many small ones).
CHUNK_ROWS = 64
BUFFER_CHUNKS = 512
