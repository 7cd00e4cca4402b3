"""Features of a cell that do not depend on how its vertices are numbered.

The surrogate learns from these, so isomorphic cells get the same prediction.  The main block is
the *path encoding* (White et al., BANANAS 2021): for every sequence of up to five interior ops,
how many input-to-output paths pass through exactly those ops in that order (3^0 + ... + 3^5 =
364 counts).  Beside it: log parameters, vertex and edge counts, op counts, the degrees of the
input and output, which ops feed the output and are fed by the input, the longest and shortest
path, and the number of paths of each length.

Input is the enumeration's padded form (``benchmark.space.enumeration.CellTable``): upper
triangular 7x7 matrices, labels 0/1/2 for the interior ops, the output at ``num_vertices - 1``.
"""
from __future__ import annotations

import numpy as np

from ..space.constants import MAX_VERTICES, NUM_OP_CHOICES

MAX_PATH_OPS = MAX_VERTICES - 2
#: Start of the block of paths with L interior ops, L = 0..5; the last entry is the block's size.
_OFFSETS = np.cumsum([0] + [NUM_OP_CHOICES ** k for k in range(MAX_PATH_OPS + 1)])
NUM_PATHS = int(_OFFSETS[-1])
_LENGTHS = np.concatenate([np.full(NUM_OP_CHOICES ** k, k) for k in range(MAX_PATH_OPS + 1)])
# Extending a path (index of L ops, L < 5) by op o gives index OFF[L+1] + 3 * code + o.
_SOURCE = np.concatenate([np.arange(_OFFSETS[k], _OFFSETS[k + 1]) for k in range(MAX_PATH_OPS)])
_TARGET = [np.concatenate([_OFFSETS[k + 1] + NUM_OP_CHOICES * np.arange(NUM_OP_CHOICES ** k) + op
                           for k in range(MAX_PATH_OPS)]) for op in range(NUM_OP_CHOICES)]
_CHUNK = 20_000


def path_counts(matrices: np.ndarray, labels: np.ndarray, num_vertices: np.ndarray) -> np.ndarray:
    """(N, 364) float32: input-to-output paths per op sequence (vertex order does not matter)."""
    n = len(matrices)
    reach = np.zeros((n, MAX_VERTICES, NUM_PATHS), np.float32)   # paths from the input to v
    reach[:, 0, 0] = 1
    result = np.zeros((n, NUM_PATHS), np.float32)
    for v in range(1, MAX_VERTICES):
        into = np.einsum("nu,nup->np", matrices[:, :v, v].astype(np.float32), reach[:, :v])
        for op in range(NUM_OP_CHOICES):
            rows = labels[:, v] == op
            extended = np.zeros((int(rows.sum()), NUM_PATHS), np.float32)
            extended[:, _TARGET[op]] = into[rows][:, _SOURCE]
            reach[rows, v] = extended
        is_output = num_vertices - 1 == v
        result[is_output] = into[is_output]
    return result


def _structure(matrices: np.ndarray, labels: np.ndarray, num_vertices: np.ndarray,
               params: np.ndarray, paths: np.ndarray) -> list[np.ndarray]:
    n = len(matrices)
    into_output = matrices[np.arange(n), :, num_vertices - 1]
    from_input = matrices[:, 0, :]
    present = paths > 0
    cols = [np.log(params.astype(np.float64)), num_vertices, matrices.sum((1, 2)),
            into_output.sum(1), from_input.sum(1), into_output[:, 0],
            np.where(present, _LENGTHS, -1).max(1), np.where(present, _LENGTHS, 99).min(1),
            paths.sum(1)]
    for op in range(NUM_OP_CHOICES):
        is_op = labels == op
        cols += [is_op.sum(1), (is_op & (into_output == 1)).sum(1),
                 (is_op & (from_input == 1)).sum(1)]
    cols += [paths[:, _LENGTHS == k].sum(1) for k in range(MAX_PATH_OPS + 1)]
    return cols


def cell_features(matrices: np.ndarray, labels: np.ndarray, num_vertices: np.ndarray,
                  params: np.ndarray) -> np.ndarray:
    """(N, NUM_FEATURES) float32 features of N cells, computed in chunks to bound memory."""
    parts = []
    for lo in range(0, len(matrices), _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        m = matrices[sl].astype(np.int64)
        nv = num_vertices[sl].astype(np.int64)
        paths = path_counts(m, labels[sl], nv)
        extra = np.stack(_structure(m, labels[sl], nv, params[sl], paths), axis=1)
        parts.append(np.hstack([paths, extra.astype(np.float32)]))
    return np.vstack(parts) if parts else np.zeros((0, NUM_FEATURES), np.float32)


NUM_FEATURES = NUM_PATHS + 9 + 3 * NUM_OP_CHOICES + MAX_PATH_OPS + 1
