"""Raw 7-vertex graph -> store row in a few table look-ups, pruning included.

The encodings produce raw 7x7 cells that may hold vertices off every input-output path.  For
all 2**21 raw edge masks (bit ``x + y(y-1)/2`` is edge (x, y), as ``gen_is_edge_fn``) we
precompute, with numpy, which vertices survive pruning and the pruned graph's number in the
store's look-up; then a configuration costs a mask, two array reads and a label code.
"""
from __future__ import annotations

import operator

import numpy as np

from ..space.constants import MAX_EDGES, MAX_VERTICES, NUM_OP_CHOICES
from ..space.enumeration import upper_slots

N = MAX_VERTICES
SLOTS = upper_slots(N)                       # bit k -> (x, y)
BIT_OF = {xy: k for k, xy in enumerate(SLOTS)}


class RawCellIndex:
    """Pruning and graph numbers for every raw 7-vertex mask, against one store's look-up."""

    def __init__(self, graph_offset: np.ndarray, graph_id: np.ndarray, cell_of: np.ndarray):
        self._cell_of = cell_of
        masks = np.arange(1 << len(SLOTS), dtype=np.int64)
        edge = {xy: (masks >> k) & 1 for k, xy in enumerate(SLOTS)}
        fwd = [np.ones_like(masks)] + [None] * (N - 1)
        for v in range(1, N):
            fwd[v] = np.zeros_like(masks)
            for u in range(v):
                fwd[v] |= fwd[u] & edge[(u, v)]
        bwd = [None] * (N - 1) + [np.ones_like(masks)]
        for u in range(N - 2, -1, -1):
            bwd[u] = np.zeros_like(masks)
            for v in range(u + 1, N):
                bwd[u] |= bwd[v] & edge[(u, v)]
        keep = sum((fwd[v] & bwd[v]) << v for v in range(N))
        graph = np.full(masks.size, -1, np.int32)
        self._weights = np.zeros((1 << N, N - 2), np.int64)
        for pattern in np.unique(keep):
            if not (pattern & 1 and pattern >> (N - 1) & 1):
                continue  # input does not reach output
            kept = [v for v in range(N) if pattern >> v & 1]
            n = len(kept)
            rank = {v: i for i, v in enumerate(kept)}
            sel = np.flatnonzero(keep == pattern)
            pruned = np.zeros(sel.size, np.int64)
            for (x, y), k in BIT_OF.items():
                if x in rank and y in rank:
                    nx, ny = rank[x], rank[y]
                    pruned |= ((masks[sel] >> k) & 1) << (nx + ny * (ny - 1) // 2)
            ok = np.array([bin(p).count("1") <= MAX_EDGES for p in pruned.tolist()])
            ids = np.where(ok, graph_id[graph_offset[n] + np.where(ok, pruned, 0)], -1)
            graph[sel] = ids
            for i, v in enumerate(kept[1:-1]):
                self._weights[pattern, v - 1] = NUM_OP_CHOICES ** (n - 3 - i)
        self._keep = keep.astype(np.uint8)
        self._graph = graph
        self._weight_lists = [w.tolist() for w in self._weights]

    def row(self, mask: int, interior_labels: list[int]) -> int:
        """Store row of a raw cell (interior hash labels of vertices 1..5); -1 if invalid."""
        graph = int(self._graph[mask])
        if graph < 0:
            return -1
        code = sum(map(operator.mul, interior_labels, self._weight_lists[self._keep[mask]]))
        return int(self._cell_of[graph, code])
