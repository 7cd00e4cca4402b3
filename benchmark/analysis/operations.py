"""Operation replacement (paper Section 3.2): for each ordered pair of ops (a, b), the mean
change of accuracy (absolute) and training time (relative) over all pairs of cells that differ
by a at one vertex becoming b.  Pairs are found through the labelled-graph look-up, which maps
every isomorphic form to the cell's row (the official hash's classes), and counted once."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..space.constants import NUM_OP_CHOICES, slot_bit


@dataclass(frozen=True)
class Replacement:
    """The effect of turning op ``a`` into op ``b`` at one vertex."""

    a: int
    b: int
    pairs: int
    accuracy_change: float       # mean of acc(b-cell) - acc(a-cell)
    time_change: float           # mean of time(b-cell) / time(a-cell) - 1


def replacement_pairs(matrices: np.ndarray, labels: np.ndarray, num_vertices: np.ndarray,
                      graph_offset: np.ndarray, graph_id: np.ndarray, cell_of: np.ndarray
                      ) -> dict[tuple[int, int], np.ndarray]:
    """Per ordered op pair (a, b): the distinct (row of the a-cell, row of the b-cell) pairs,
    as a (pairs, 2) array, over the rows given (a table's stored cells)."""
    matrices, labels = np.asarray(matrices), np.asarray(labels, np.int64)
    num_vertices = np.asarray(num_vertices, np.int64)
    found: dict[tuple[int, int], list[np.ndarray]] = {}
    for n in np.unique(num_vertices).tolist():
        rows = np.flatnonzero(num_vertices == n)
        mask = np.zeros(rows.size, np.int64)
        for y in range(n):
            for x in range(y):
                mask |= matrices[rows, x, y].astype(np.int64) << slot_bit(x, y)
        graph = np.asarray(graph_id)[int(graph_offset[n]) + mask]
        ops = labels[rows, 1:n - 1]
        weights = NUM_OP_CHOICES ** np.arange(n - 3, -1, -1, dtype=np.int64)
        code = ops @ weights if n > 2 else np.zeros(rows.size, np.int64)
        flat = np.asarray(cell_of).reshape(-1)
        base = graph.astype(np.int64) * np.asarray(cell_of).shape[1] + code
        for v in range(n - 2):
            for b in range(NUM_OP_CHOICES):
                sel = np.flatnonzero(ops[:, v] != b)
                a = ops[sel, v]
                other = flat[base[sel] + (b - a) * weights[v]]
                for op_a in range(NUM_OP_CHOICES):
                    pick = (a == op_a) & (other >= 0)
                    if pick.any():
                        found.setdefault((op_a, b), []).append(
                            np.stack([rows[sel[pick]], other[pick]], axis=1))
    size = int(num_vertices.size)
    out = {}
    for pair, parts in found.items():
        keys = np.sort(np.concatenate([p[:, 0] * size + p[:, 1] for p in parts]))
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]]   # distinct (np.unique hashes: slow)
        out[pair] = np.stack([keys // size, keys % size], axis=1)
    return out


def replacement_effects(pairs: dict[tuple[int, int], np.ndarray], accuracy: np.ndarray,
                        time: np.ndarray) -> list[Replacement]:
    """Mean changes per ordered op pair over the pairs where both cells have finite values."""
    accuracy, time = np.asarray(accuracy, np.float64), np.asarray(time, np.float64)
    out = []
    for a in range(NUM_OP_CHOICES):
        for b in range(NUM_OP_CHOICES):
            if a == b:
                continue
            p = pairs.get((a, b), np.zeros((0, 2), np.int64))
            acc = accuracy[p[:, 1]] - accuracy[p[:, 0]]
            rel = time[p[:, 1]] / time[p[:, 0]] - 1
            ok = np.isfinite(acc) & np.isfinite(rel)
            out.append(Replacement(a, b, int(ok.sum()),
                                   float(acc[ok].mean()) if ok.any() else float("nan"),
                                   float(rel[ok].mean()) if ok.any() else float("nan")))
    return out
