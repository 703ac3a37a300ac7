"""What a dataset holds, as one hash: the identity that finds an interrupted run again to resume it.

The cache's name goes by the source files' paths, sizes and modification times, which is right for a
cache (a file that may have changed is read again) but not for a run: the same drawings copied again or
restored from a backup have new times, and a run keyed on them could not be resumed. The digest hashes
the drawings and labels themselves, split by split, so it is the same for the same data however it was
read (from a cache or in memory) and changes whenever one drawing or label does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: Drawings hashed at a time: a streamed cache's images are read from disk in slices of this many rows.
DIGEST_ROWS = 65_536


def content_digest(
    class_names: list[str],
    splits: Sequence[tuple[Any, Any]],
    progress: Callable[[str, int, int], None] | None = None,
) -> str:
    """The hash of the class names and of each ``(images, labels)`` split, in order.

    ``images`` is any array-like that slices to uint8 rows (a numpy array or an h5py dataset, which may hold
    unused rows after the labelled ones); labels are hashed as the cache stores them, int32. ``progress``
    hears ("hashing drawings", rows done, rows in all) after each slice: a whole-dataset cache takes minutes.
    """
    h = hashlib.sha256(json.dumps(class_names).encode())
    total, done = sum(len(labels) for _, labels in splits), 0
    for images, labels in splits:
        y = np.ascontiguousarray(labels, dtype=np.int32)
        h.update(len(y).to_bytes(8, "little"))
        h.update(y.tobytes())
        for start in range(0, len(y), DIGEST_ROWS):
            rows = np.ascontiguousarray(images[start : min(start + DIGEST_ROWS, len(y))], dtype=np.uint8)
            h.update(rows.tobytes())
            done += len(rows)
            if progress is not None:
                progress("hashing drawings", done, total)
    return h.hexdigest()[:20]
