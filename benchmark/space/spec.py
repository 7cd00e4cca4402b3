"""``ModelSpec``: a cell as an adjacency matrix plus operations, pruned exactly as the original."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import OutOfDomainError
from .constants import INPUT, MAX_EDGES, MAX_VERTICES, OP_LABELS, OPS, OUTPUT
from .hashing import hash_graph


def _as_matrix(matrix: Any) -> np.ndarray:
    """Validate a 0/1 strictly upper-triangular square matrix and return it as int8."""
    try:
        arr = np.asarray(matrix)
    except Exception as exc:  # ragged nested lists
        raise ValueError(f"matrix is not a rectangular array: {exc}") from None
    if arr.dtype == object:
        raise ValueError("matrix is not a rectangular array of numbers")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"matrix must be square, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.number) and arr.dtype != np.bool_:
        raise ValueError(f"matrix entries must be 0 or 1, got dtype {arr.dtype}")
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        r, c = map(int, np.argwhere(bad)[0])
        raise ValueError(f"matrix entries must be 0 or 1, got {arr[r, c]!r} at ({r}, {c})")
    out = arr.astype(np.int8)
    lower = np.tril(out)
    if lower.any():
        r, c = map(int, np.argwhere(lower)[0])
        raise ValueError(f"matrix must be strictly upper triangular, got an edge at ({r}, {c})")
    return out


def _check_ops(ops: Any, n: int) -> list[str]:
    if isinstance(ops, str) or not isinstance(ops, Sequence):
        raise ValueError(f"ops must be a list of operation names, got {ops!r}")
    ops = list(ops)
    if len(ops) != n:
        raise ValueError(f"length of ops ({len(ops)}) must match matrix dimensions ({n})")
    if n < 2:
        raise ValueError("a cell needs at least the input and output vertices")
    if ops[0] != INPUT:
        raise OutOfDomainError(f"ops[0] must be {INPUT!r}, got {ops[0]!r}")
    if ops[-1] != OUTPUT:
        raise OutOfDomainError(f"ops[-1] must be {OUTPUT!r}, got {ops[-1]!r}")
    for i, op in enumerate(ops[1:-1], start=1):
        if op not in OPS:
            raise OutOfDomainError(f"unknown op {op!r} at vertex {i} (available: {', '.join(OPS)})")
    return ops


def prune(matrix: np.ndarray, ops: list[str]) -> tuple[np.ndarray, list[str]] | None:
    """Remove vertices not on an input-to-output path; ``None`` if input cannot reach output.

    Mirrors ``ModelSpec._prune`` of the original, including its rule that a graph keeping fewer
    than two vertices is disconnected.
    """
    n = matrix.shape[0]
    from_input = {0}
    frontier = [0]
    while frontier:
        top = frontier.pop()
        for v in range(top + 1, n):
            if matrix[top, v] and v not in from_input:
                from_input.add(v)
                frontier.append(v)
    to_output = {n - 1}
    frontier = [n - 1]
    while frontier:
        top = frontier.pop()
        for v in range(0, top):
            if matrix[v, top] and v not in to_output:
                to_output.add(v)
                frontier.append(v)
    extraneous = set(range(n)) - (from_input & to_output)
    if len(extraneous) > n - 2:
        return None
    keep = [v for v in range(n) if v not in extraneous]
    return matrix[np.ix_(keep, keep)], [ops[v] for v in keep]


class ModelSpec:
    """A NAS-Bench-101 cell: ``matrix[i, j] == 1`` is an edge from vertex i to vertex j.

    ``matrix``/``ops`` are the pruned form (``None`` when input does not reach output);
    ``original_matrix``/``original_ops`` are what was given.  Bad input raises ``ValueError``.
    """

    __slots__ = ("original_matrix", "original_ops", "matrix", "ops", "valid_spec", "_hash")

    def __init__(self, matrix: Any, ops: Sequence[str]):
        self.original_matrix = _as_matrix(matrix)
        self.original_ops = _check_ops(ops, self.original_matrix.shape[0])
        pruned = prune(self.original_matrix, self.original_ops)
        self.valid_spec = pruned is not None
        self.matrix, self.ops = pruned if pruned is not None else (None, None)
        self._hash: str | None = None

    @property
    def num_vertices(self) -> int:
        """Vertices after pruning (0 for a disconnected spec)."""
        return 0 if self.ops is None else len(self.ops)

    @property
    def num_edges(self) -> int:
        """Edges after pruning (0 for a disconnected spec)."""
        return 0 if self.matrix is None else int(self.matrix.sum())

    @property
    def is_valid(self) -> bool:
        """Connected, at most 7 vertices and 9 edges after pruning."""
        return (self.valid_spec and self.num_vertices <= MAX_VERTICES
                and self.num_edges <= MAX_EDGES)

    def labels(self) -> list[int]:
        """Hash labels of the pruned ops (input -1, output -2, interior ops 0/1/2)."""
        if self.ops is None:
            raise ValueError("spec is disconnected: input does not reach output")
        return [OP_LABELS[op] for op in self.ops]

    def hash(self) -> str:
        """Official 32-hex module hash of the pruned spec (``graph_util.hash_module``)."""
        if self._hash is None:
            self._hash = hash_graph(self.matrix.tolist() if self.matrix is not None else [],
                                    self.labels())
        return self._hash

    def __repr__(self) -> str:
        return (f"ModelSpec(matrix={self.original_matrix.tolist()}, ops={self.original_ops})")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ModelSpec)
                and np.array_equal(self.original_matrix, other.original_matrix)
                and self.original_ops == other.original_ops)

    def __hash__(self) -> int:
        return hash((self.original_matrix.tobytes(), tuple(self.original_ops)))
