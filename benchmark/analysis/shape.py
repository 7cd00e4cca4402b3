"""Depth and width of cells (paper Section 3.2, Fig. 5), vectorised over stored matrices."""
from __future__ import annotations

import itertools

import numpy as np


def depth(matrices: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
    """Edges on the longest input-output path of each cell (input -> output alone: 1)."""
    matrices = np.asarray(matrices).astype(bool)
    num_vertices = np.asarray(num_vertices, np.int64)
    cells, size = matrices.shape[0], matrices.shape[1]
    longest = np.full((cells, size), -1, np.int64)   # -1: not reached from the input
    longest[:, 0] = 0
    for v in range(1, size):
        via = np.where(matrices[:, :v, v] & (longest[:, :v] >= 0), longest[:, :v] + 1, -1)
        longest[:, v] = via.max(axis=1)
    return longest[np.arange(cells), num_vertices - 1]


def width(matrices: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
    """Maximum directed cut of each cell: over splits of the vertices into an input side and an
    output side with no edge running back (the input side closed under predecessors), the most
    edges crossing forward.  A chain has width 1; the input fanning out to 5 vertices, 5."""
    matrices = np.asarray(matrices)
    num_vertices = np.asarray(num_vertices, np.int64)
    out = np.zeros(matrices.shape[0], np.int64)
    for n in np.unique(num_vertices).tolist():
        sel = np.flatnonzero(num_vertices == n)
        edges = matrices[sel][:, :n, :n].reshape(sel.size, n * n).astype(np.float32)
        sides = np.array([(1, *interior, 0) for interior in
                          itertools.product((0, 1), repeat=n - 2)], np.float32)  # 1: input side
        # edge (i, j) runs forward in split s if i is on its input side and j is not
        forward = (sides[:, :, None] * (1 - sides[:, None, :])).reshape(len(sides), n * n)
        back = ((1 - sides[:, :, None]) * sides[:, None, :]).reshape(len(sides), n * n)
        cut = np.where(edges @ back.T == 0, edges @ forward.T, 0)
        out[sel] = cut.max(axis=1).astype(np.int64)
    return out


def group_means(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
    """Distinct keys, the number of finite values and their mean for each key."""
    keys, values = np.asarray(keys), np.asarray(values, np.float64)
    ok = np.isfinite(values)
    uniq, inverse = np.unique(keys[ok], return_inverse=True)
    counts = np.bincount(inverse, minlength=uniq.size)
    sums = np.bincount(inverse, weights=values[ok], minlength=uniq.size)
    return uniq, counts, sums / np.maximum(counts, 1)
