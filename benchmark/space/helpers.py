"""Helpers for optimizers and users: isomorphism, uniform cells, stored representatives."""
from __future__ import annotations

import itertools

import numpy as np

from .constants import ops_of_labels
from .enumeration import enumerate_cells
from .errors import InputError
from .spec import ModelSpec


def is_isomorphic(a: ModelSpec, b: ModelSpec) -> bool:
    """Whether two specs are the same cell after pruning (exact: tries every vertex order)."""
    if not (a.valid_spec and b.valid_spec) or a.num_vertices != b.num_vertices:
        return a.valid_spec == b.valid_spec == False  # noqa: E712 - both disconnected
    if sorted(a.labels()) != sorted(b.labels()) or a.num_edges != b.num_edges:
        return False
    n = a.num_vertices
    la, lb = a.labels(), b.labels()
    assert a.matrix is not None and b.matrix is not None   # both valid: both pruned
    for perm in itertools.permutations(range(1, n - 1)):
        order = [0, *perm, n - 1]
        if [lb[i] for i in order] == la and np.array_equal(b.matrix[np.ix_(order, order)],
                                                            a.matrix):
            return True
    return False


def representative(spec: ModelSpec) -> ModelSpec:
    """The form the dataset stores for ``spec``'s cell (``ValueError`` if it is not valid)."""
    if not spec.is_valid:
        raise InputError("only valid specs have a stored representative")
    table = enumerate_cells(progress=False)
    assert spec.matrix is not None   # valid: pruned
    return cell_spec(table.cell_index(spec.matrix, spec.labels()))


def cell_spec(row: int) -> ModelSpec:
    """The stored spec of enumeration row ``row`` (rows are sorted by hash)."""
    table = enumerate_cells(progress=False)
    n = int(table.num_vertices[row])
    return ModelSpec(table.matrices[row, :n, :n],
                     ops_of_labels(table.labels[row, :n].tolist()))


def sample_cell(rng: np.random.Generator) -> ModelSpec:
    """A valid unique cell drawn uniformly from the 423,624."""
    return cell_spec(int(rng.integers(len(enumerate_cells(progress=False)))))
