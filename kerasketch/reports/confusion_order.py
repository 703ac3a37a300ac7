"""An order of classes that puts the ones confused with each other side by side."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_order(matrix: Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    """Indices of the classes in the leaf order of a hierarchical clustering of their confusion.

    Two classes are close when either is often taken for the other (shares of
    the true class, symmetrised); SciPy's average linkage with optimal leaf
    ordering then lays the clusters out along the diagonal, which is what keeps
    a 200-class matrix readable.
    """
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    counts = np.asarray(matrix, dtype=float)
    n = len(counts)
    if n < 3:
        return np.arange(n)
    shares = row_shares(counts)
    closeness = (shares + shares.T) / 2
    np.fill_diagonal(closeness, 0.0)
    top = closeness.max()
    distance = 1.0 - closeness / top if top > 0 else np.ones_like(closeness)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average", optimal_ordering=True)
    return np.asarray(leaves_list(tree))


def row_shares(counts: np.ndarray) -> np.ndarray:
    """Each row as shares of its total (a class with no test drawings stays zero)."""
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts, dtype=float), where=totals > 0)
