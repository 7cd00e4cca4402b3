"""Raw 7-vertex graph -> store row in a few table look-ups, pruning included.

The encodings produce raw 7x7 cells that may hold vertices off every input-output path.  For
all 2**21 raw edge masks (bit ``x + y(y-1)/2`` is edge (x, y), as ``gen_is_edge_fn``) we
precompute, with numpy, which vertices survive pruning and the pruned graph's number in the
store's look-up; then a configuration costs a mask, two array reads and a label code.
Those per-mask arrays depend only on the space's graph numbering (the same in every store), so
they are computed once per machine (~2 s) and then loaded from the cache beside the enumeration.
"""
from __future__ import annotations

import hashlib
import itertools
import logging
import operator
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..space.constants import MAX_EDGES, MAX_VERTICES, NUM_OP_CHOICES, OP_LABELS, OPS
from ..space.enumeration import upper_slots

N = MAX_VERTICES
SLOTS = upper_slots(N)                       # bit k -> (x, y)
BIT_OF = {xy: k for k, xy in enumerate(SLOTS)}
_LABEL = dict(OP_LABELS)                     # op name -> hash label
log = logging.getLogger(__name__)
_CACHE_VERSION = 1
INVALID, ABSENT = -1, -2   # what RawCellIndex.row returns besides a store row


def mask_arrays(graph_offset: np.ndarray, graph_id: np.ndarray, n_raw: int = N
                ) -> dict[str, np.ndarray]:
    """For every raw mask: the graph number after pruning (-1: invalid), the surviving-vertex
    pattern, and per pattern the weights that turn interior op labels into a label code.
    ``n_raw``: the raw cells' vertex count (7 in encoding A; smaller for sub-spaces)."""
    N = n_raw  # noqa: N806 - the module's vertex count, for this call
    slots = upper_slots(N)
    masks = np.arange(1 << len(slots), dtype=np.int64)
    edge = {xy: (masks >> k) & 1 for k, xy in enumerate(slots)}
    fwd = [np.ones_like(masks)] + [np.zeros_like(masks) for _ in range(1, N)]
    for v in range(1, N):
        for u in range(v):
            fwd[v] |= fwd[u] & edge[(u, v)]
    bwd = [np.zeros_like(masks) for _ in range(N - 1)] + [np.ones_like(masks)]
    for u in range(N - 2, -1, -1):
        for v in range(u + 1, N):
            bwd[u] |= bwd[v] & edge[(u, v)]
    keep = sum(((fwd[v] & bwd[v]) << v for v in range(N)), np.zeros_like(masks))
    graph = np.full(masks.size, -1, np.int32)
    weights = np.zeros((1 << N, N - 2), np.int64)
    for pattern in np.unique(keep):
        if not (pattern & 1 and pattern >> (N - 1) & 1):
            continue  # input does not reach output
        kept = [v for v in range(N) if pattern >> v & 1]
        n = len(kept)
        rank = {v: i for i, v in enumerate(kept)}
        sel = np.flatnonzero(keep == pattern)
        pruned = np.zeros(sel.size, np.int64)
        for k, (x, y) in enumerate(slots):
            if x in rank and y in rank:
                nx, ny = rank[x], rank[y]
                pruned |= ((masks[sel] >> k) & 1) << (nx + ny * (ny - 1) // 2)
        ok = np.array([bin(p).count("1") <= MAX_EDGES for p in pruned.tolist()])
        ids = np.where(ok, graph_id[graph_offset[n] + np.where(ok, pruned, 0)], -1)
        graph[sel] = ids
        for i, v in enumerate(kept[1:-1]):
            weights[pattern, v - 1] = NUM_OP_CHOICES ** (n - 3 - i)
    return {"graph": graph, "keep": keep.astype(np.uint8), "weights": weights}


def cached_mask_arrays(graph_offset: np.ndarray, graph_id: np.ndarray,
                       key: str | None) -> dict[str, np.ndarray]:
    """:func:`mask_arrays`, cached under ``key`` (the numbering's checksums; None: no cache)."""
    if key is None:
        return mask_arrays(graph_offset, graph_id)
    from ..space.enumeration import cache_path

    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = cache_path().parent / f"raw-index-v{_CACHE_VERSION}-{digest}.npz"
    try:
        with np.load(path) as data:
            return {k: data[k] for k in ("graph", "keep", "weights")}
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring unreadable look-up cache %s: %s", path, exc)
    arrays = mask_arrays(graph_offset, graph_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez(tmp, **arrays)  # type: ignore[arg-type]  # numpy's stub: **kwds vs allow_pickle
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot cache the look-up in %s: %s", path, exc)
    return arrays


class PicklesViews:
    """Pickling for a class that holds numpy arrays as memoryviews (which do not pickle): the
    attributes named in ``_views`` travel as arrays and come back as memoryviews."""

    _views: tuple[str, ...] = ()

    def __getstate__(self) -> dict[str, Any]:
        return {k: np.asarray(v) if k in self._views else v for k, v in self.__dict__.items()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({k: memoryview(v) if k in self._views else v
                              for k, v in state.items()})


class RawCellIndex(PicklesViews):
    """Pruning and graph numbers for every raw 7-vertex mask, against one store's look-up.

    Read per evaluation, so the arrays are held as memoryviews (an item reads as a Python int,
    no numpy scalar is made) and the label code of every interior-op tuple is
    precomputed for each pattern of surviving vertices."""

    _views = ("_cell_of", "_graph", "_keep")

    def __init__(self, graph_offset: np.ndarray, graph_id: np.ndarray, cell_of: np.ndarray,
                 cache_key: str | None = None):
        arrays = cached_mask_arrays(graph_offset, graph_id, cache_key)
        self._cell_of = np.ascontiguousarray(cell_of, np.int32).data
        self._graph = np.ascontiguousarray(arrays["graph"], np.int32).data
        self._keep = np.ascontiguousarray(arrays["keep"], np.uint8).data
        self._codes = label_codes(arrays["weights"])

    def row(self, mask: int, interior_ops: Sequence[str]) -> int:
        """Store row of a raw cell (the ops of vertices 1..5); INVALID (-1) if the cell is
        invalid, ABSENT (-2) if it is valid but this (partial) store does not hold it."""
        graph = self._graph[mask]
        if graph < 0:
            return INVALID
        codes = self._codes[self._keep[mask]]  # not None: a valid graph's input reaches output
        row = self._cell_of[graph, codes[tuple(interior_ops)]]  # type: ignore[index]
        return row if row >= 0 else ABSENT


def label_codes(weights: np.ndarray) -> list[dict[tuple[str, ...], int] | None]:
    """Per surviving-vertex pattern, interior ops (5 names) -> the label code of the pruned
    cell's ops (a column of the store's ``cell_of``); None for patterns where input does not
    reach output (their masks are invalid)."""
    tuples = list(itertools.product(OPS, repeat=N - 2))
    labels = [[_LABEL[op] for op in t] for t in tuples]
    codes: list[dict[tuple[str, ...], int] | None] = []
    for pattern, w in enumerate(weights.tolist()):
        if not (pattern & 1 and pattern >> (N - 1) & 1):
            codes.append(None)
            continue
        codes.append({t: sum(map(operator.mul, lab, w)) for t, lab in zip(tuples, labels)})
    return codes
