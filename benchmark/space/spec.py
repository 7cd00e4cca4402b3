"""``ModelSpec``: a cell as an adjacency matrix plus operations, pruned exactly as the original."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .constants import INPUT, MAX_EDGES, MAX_VERTICES, OP_LABELS, OPS, OUTPUT, slot_bit
from .errors import InputError, OutOfDomainError
from .hashing import hash_graph

_TRIANGLE = [slot_bit(0, y) for y in range(64)]   # first slot bit of column y
_NUMERIC_KINDS = frozenset("biufc")   # bool, integers, floats, complex (as np.isin accepts)


def _as_matrix(matrix: Any) -> tuple[np.ndarray, list[int]]:
    """Validate a 0/1 strictly upper-triangular square matrix; return it as int8 and the
    successor bitmask of each vertex.  The common case is one pass over Python lists; anything
    irregular goes through :func:`_checked_matrix`, which names the first bad entry."""
    arr = matrix if isinstance(matrix, np.ndarray) else None
    if arr is None:
        try:
            arr = np.asarray(matrix)
        except Exception as exc:  # noqa: BLE001 - numpy's error for ragged or odd nested lists
            raise InputError(f"matrix is not a rectangular array: {exc}") from None
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.dtype.kind not in _NUMERIC_KINDS:
        _checked_matrix(arr)
    rows = arr.tolist()
    known = _ROW_MASKS if len(rows) <= MAX_VERTICES else {}
    succ = []
    for i, row in enumerate(rows):
        key = (i, *row)
        mask = known.get(key)
        if mask is None:
            mask = _row_mask(i, row)
            if mask is None:
                _checked_matrix(arr)
                raise AssertionError(f"row {i}: _checked_matrix names what _row_mask refuses")
            known[key] = mask
        succ.append(mask)
    return arr.astype(np.int8), succ


#: (row index, *row) -> successor bitmask of every valid row met so far with at most
#: MAX_VERTICES entries (a few hundred at most); equal keys are equal rows (1 == 1.0 == True).
_ROW_MASKS: dict[tuple, int] = {}


def _row_mask(i: int, row: list) -> int | None:
    """Successor bitmask of row ``i``; None if an entry is not 0/1 or lies on or below the
    diagonal."""
    mask = 0
    for j, x in enumerate(row):
        if x:
            if x != 1 or j <= i:
                return None
            mask |= 1 << j
    return mask


def _checked_matrix(arr: np.ndarray) -> None:
    """Raise the ``ValueError`` that names what is wrong with ``arr`` (the slow, exact path)."""
    if arr.dtype == object:
        raise InputError("matrix is not a rectangular array of numbers")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise InputError(f"matrix must be square, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.number) and arr.dtype != np.bool_:
        raise InputError(f"matrix entries must be 0 or 1, got dtype {arr.dtype}")
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        r, c = map(int, np.argwhere(bad)[0])
        raise InputError(f"matrix entries must be 0 or 1, got {arr[r, c]!r} at ({r}, {c})")
    lower = np.tril(arr.astype(np.int8))
    if lower.any():
        r, c = map(int, np.argwhere(lower)[0])
        raise InputError(f"matrix must be strictly upper triangular, got an edge at ({r}, {c})")


_INTERIOR_OPS = frozenset(OPS)


def _check_ops(ops: Any, n: int) -> list[str]:
    if type(ops) is not list and (isinstance(ops, str) or not isinstance(ops, Sequence)):
        raise InputError(f"ops must be a list of operation names, got {ops!r}")
    ops = list(ops)
    if len(ops) != n:
        raise InputError(f"length of ops ({len(ops)}) must match matrix dimensions ({n})")
    if n < 2:
        raise InputError("a cell needs at least the input and output vertices")
    if ops[0] != INPUT:
        raise OutOfDomainError(f"ops[0] must be {INPUT!r}, got {ops[0]!r}")
    if ops[-1] != OUTPUT:
        raise OutOfDomainError(f"ops[-1] must be {OUTPUT!r}, got {ops[-1]!r}")
    for i in range(1, n - 1):
        try:
            known = ops[i] in _INTERIOR_OPS
        except TypeError:  # unhashable: not an op name
            known = False
        if not known:
            raise OutOfDomainError(f"unknown op {ops[i]!r} at vertex {i} "
                                   f"(available: {', '.join(OPS)})")
    return ops


def prune(matrix: np.ndarray, ops: list[str]) -> tuple[np.ndarray, list[str]] | None:
    """Remove vertices not on an input-to-output path; ``None`` if input cannot reach output.

    Mirrors ``ModelSpec._prune`` of the original, including its rule that a graph keeping fewer
    than two vertices is disconnected.
    """
    kept = _kept(_successors(matrix))
    if kept is None:
        return None
    return matrix[np.ix_(kept, kept)], [ops[v] for v in kept]


def _successors(matrix: np.ndarray) -> list[int]:
    return [sum(1 << j for j, x in enumerate(row) if x) for row in matrix.tolist()]


def _kept(succ: list[int]) -> list[int] | None:
    """Vertices on an input-output path (edges go from lower to higher vertices, so one pass
    each way finds what the original's two searches find); ``None`` below two vertices."""
    n = len(succ)
    forward = 1
    for v in range(n):
        if forward >> v & 1:
            forward |= succ[v]
    backward = 1 << (n - 1)
    for v in range(n - 2, -1, -1):
        if succ[v] & backward:
            backward |= 1 << v
    both = forward & backward
    if both.bit_count() < 2:
        return None
    return [v for v in range(n) if both >> v & 1]


class ModelSpec:
    """A NAS-Bench-101 cell: ``matrix[i, j] == 1`` is an edge from vertex i to vertex j.

    ``matrix``/``ops`` are the pruned form (``None`` when input does not reach output);
    ``original_matrix``/``original_ops`` are what was given.  Bad input raises ``ValueError``.
    """

    __slots__ = ("original_matrix", "original_ops", "ops", "valid_spec", "num_edges", "_succ",
                 "_kept", "_matrix", "_hash")
    _matrix: np.ndarray | None
    _hash: str | None

    def __init__(self, matrix: Any, ops: Sequence[str]):
        original, succ = _as_matrix(matrix)
        self._prune(original, succ, _check_ops(ops, len(succ)))

    def _prune(self, original: np.ndarray, succ: list[int], ops: list[str]) -> None:
        """Set every attribute from the validated matrix, its successor masks and the ops."""
        self.original_matrix, self.original_ops = original, ops
        kept = _kept(succ)
        self.valid_spec = kept is not None
        self._succ, self._kept = succ, kept
        self._matrix = self._hash = None
        if kept is None:
            self.ops, self.num_edges = None, 0
            return
        ops = self.original_ops
        self.ops = [ops[v] for v in kept]
        on_paths = edges = 0
        for v in kept:
            on_paths |= 1 << v
        for v in kept:
            edges += (succ[v] & on_paths).bit_count()
        #: edges after pruning (0 for a disconnected spec)
        self.num_edges = edges

    @property
    def rows(self) -> list[list[int]] | None:
        """The pruned adjacency as nested lists (``None`` for a disconnected spec)."""
        if self._kept is None:
            return None
        kept, succ = self._kept, self._succ
        return [[succ[i] >> j & 1 for j in kept] for i in kept]

    @property
    def matrix(self) -> np.ndarray | None:
        """The pruned adjacency (``None`` for a disconnected spec), built on first use."""
        if self._matrix is None and self._kept is not None:
            self._matrix = np.array(self.rows, dtype=np.int8)
        return self._matrix

    def slot_mask(self) -> int:
        """The pruned adjacency as a bitmask: bit ``x + y(y-1)/2`` is the edge x -> y (the
        enumeration's order, which the store's graph look-up is indexed by)."""
        kept, succ = self._kept, self._succ
        if kept is None:
            raise ValueError("spec is disconnected: input does not reach output")
        position = {v: i for i, v in enumerate(kept)}
        on_paths = 0
        for v in kept:
            on_paths |= 1 << v
        mask = 0
        for x, v in enumerate(kept):
            targets = succ[v] & on_paths
            while targets:
                low = targets & -targets
                y = position[low.bit_length() - 1]
                mask |= 1 << (x + _TRIANGLE[y])
                targets ^= low
        return mask

    @property
    def num_vertices(self) -> int:
        """Vertices after pruning (0 for a disconnected spec)."""
        return 0 if self.ops is None else len(self.ops)

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
            self._hash = hash_graph(self.rows or [], self.labels())
        return self._hash

    def __repr__(self) -> str:
        return (f"ModelSpec(matrix={self.original_matrix.tolist()}, ops={self.original_ops})")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ModelSpec)
                and np.array_equal(self.original_matrix, other.original_matrix)
                and self.original_ops == other.original_ops)

    def __hash__(self) -> int:
        return hash((self.original_matrix.tobytes(), tuple(self.original_ops)))
