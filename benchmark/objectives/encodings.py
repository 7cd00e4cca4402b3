"""The encodings of the NAS-Bench-101 optimizer comparison (automl/nas_benchmarks
``NASCifar10A/B/C``).

Each encoding turns a configuration (any mapping of hyperparameter name to value, such as a
ConfigSpace ``Configuration`` or a plain dict) into a raw 7-vertex cell, and a spec back into a
configuration where the encoding can represent it.
"""
from __future__ import annotations

import heapq
import operator
from collections.abc import Mapping
from itertools import compress
from typing import Any

import ConfigSpace as CS
import numpy as np

from ..space.constants import (
    CONV1X1,
    CONV3X3,
    INPUT,
    MAX_EDGES,
    MAX_VERTICES,
    MAXPOOL3X3,
    OUTPUT,
    slot_bit,
)
from ..space.enumeration import bitmask_matrix
from ..space.errors import InputError
from ..space.spec import ModelSpec

#: Op choices in the order of the original encodings (not the hash-label order).
OP_CHOICES = (CONV1X1, CONV3X3, MAXPOOL3X3)
NUM_SLOTS = MAX_VERTICES * (MAX_VERTICES - 1) // 2          # 21
ROW_MAJOR = list(zip(*np.triu_indices(MAX_VERTICES, k=1)))   # A and C: edge i -> (row, col)
OP_NAMES = [f"op_node_{i}" for i in range(MAX_VERTICES - 2)]


def _b_slot(bit: int) -> tuple[int, int]:
    """(x, y) of bit ``bit`` in ``gen_is_edge_fn``: bit x + y(y-1)/2."""
    for y in range(MAX_VERTICES):
        for x in range(y):
            if slot_bit(x, y) == bit:
                return x, y
    raise ValueError(bit)


#: B: slot s sets list position s, folded most significant first, so it is bit 20 - s.
B_SLOTS = [_b_slot(NUM_SLOTS - 1 - s) for s in range(NUM_SLOTS)]


class ConfigError(InputError):
    """A configuration that does not fit its encoding (names the hyperparameter and value)."""


_OP_SET = frozenset(OP_CHOICES)
_INT = frozenset({int})
_FLOAT = frozenset({float})


class Encoding:
    """Base class: the ConfigSpace space, config -> raw cell, spec -> config."""

    name: str = ""
    hyperparameters: tuple[str, ...] = ()
    op_names: list[str] = OP_NAMES
    #: Values an edge hyperparameter takes, for :meth:`_fast_mask` (None: no fast path).
    _edge_values: frozenset | None = None
    #: More raw edges than this make a cell invalid before pruning (A and C, as the original).
    max_raw_edges: int = MAX_EDGES

    def __init__(self) -> None:
        self._size = len(self.hyperparameters)
        self._ops_of = operator.itemgetter(*OP_NAMES)
        self.edge_names = list(self.hyperparameters[len(OP_NAMES):])
        self._edges_of_config = operator.itemgetter(*self.edge_names)

    def fast_raw(self, config: Mapping[str, Any]) -> tuple[int, tuple[str, ...]] | None:
        """``(raw_mask, interior ops)`` of a plain, well-formed configuration (exactly the
        hyperparameters, ops as strings, edge values as :meth:`_fast_mask` takes them), else
        ``None``: the caller then runs :meth:`check` (which names the problem) and
        :meth:`raw_mask`.  A few C-level set operations instead of a Python loop per
        hyperparameter: this is the per-evaluation path of the simulator."""
        if len(config) != self._size:
            return None
        try:
            ops, edges = self._ops_of(config), self._edges_of_config(config)
            mask = self._fast_mask(edges) if _OP_SET.issuperset(ops) else None
        except (KeyError, TypeError):  # a missing name, a non-mapping, unhashable values
            return None
        return None if mask is None else (mask, ops)

    def _fast_mask(self, edges: tuple) -> int | None:
        """The raw mask of the edge hyperparameters' values (in ``hyperparameters`` order) if
        they are Python ints of :attr:`_edge_values`, else None."""
        edge_values = self._edge_values
        if (edge_values is None or not edge_values.issuperset(edges)
                or not _INT.issuperset(map(type, edges))):
            return None
        return self._mask_of_edges(edges)

    def _mask_of_edges(self, edges: tuple) -> int:
        """The raw mask of valid edge hyperparameter values (in :attr:`edge_names` order): the
        one route from a configuration to its edges (:meth:`raw_mask`, :meth:`_matrix` and
        the fast path all go through it)."""
        raise NotImplementedError

    def config_space(self, seed: int | None = None) -> CS.ConfigurationSpace:
        cs = CS.ConfigurationSpace(seed=seed)
        cs.add([CS.CategoricalHyperparameter(n, list(OP_CHOICES)) for n in OP_NAMES])
        cs.add(self._edge_hyperparameters())
        return cs

    def _edge_hyperparameters(self) -> list:
        raise NotImplementedError

    def raw_cell(self, config: Mapping[str, Any]) -> tuple[np.ndarray, list[str]]:
        """Validated config -> (7x7 raw matrix, 7 ops)."""
        self.check(config)
        ops = [INPUT, *(config[n] for n in OP_NAMES), OUTPUT]
        return self._matrix(config), ops

    def raw_mask(self, config: Mapping[str, Any]) -> int:
        """The raw cell's edges as a ``gen_is_edge_fn`` bitmask (bit x + y(y-1)/2 is (x, y))."""
        return self._mask_of_edges(tuple(config[n] for n in self.edge_names))

    def interior_ops(self, config: Mapping[str, Any]) -> tuple[str, ...]:
        """The ops of the raw cell's vertices 1..5 (what the table's look-up takes)."""
        return tuple(config[n] for n in OP_NAMES)

    def to_spec(self, config: Mapping[str, Any]) -> ModelSpec:
        return ModelSpec(*self.raw_cell(config))

    def cell(self, config: Mapping[str, Any]) -> ModelSpec | None:
        """The pruned cell a configuration encodes, or None where the table scores it invalid:
        more raw edges than :attr:`max_raw_edges` (A and C: 9 before pruning, as the original
        code), no path from input to output, or more than 9 edges after pruning.  A bad value
        raises :class:`ConfigError` naming it."""
        matrix, ops = self.raw_cell(config)
        if int(matrix.sum()) > self.max_raw_edges:
            return None
        spec = ModelSpec(matrix, ops)
        return spec if spec.valid_spec and spec.num_edges <= MAX_EDGES else None

    def from_spec(self, spec: ModelSpec) -> dict[str, Any]:
        """A configuration whose cell is ``spec`` (up to isomorphism and pruning)."""
        if not spec.is_valid:
            raise ConfigError(f"{self.name}: cannot encode an invalid spec")
        matrix, ops = _embed(spec)
        config: dict[str, Any] = {n: op for n, op in zip(OP_NAMES, ops[1:-1])}
        config.update(self._edges_of(matrix))
        return config

    def _matrix(self, config: Mapping[str, Any]) -> np.ndarray:
        """The raw 7x7 adjacency matrix (of :meth:`raw_mask`)."""
        return bitmask_matrix(self.raw_mask(config), MAX_VERTICES)

    def _edges_of(self, matrix: np.ndarray) -> dict[str, Any]:
        raise NotImplementedError

    def check(self, config: Mapping[str, Any]) -> None:
        """Unknown or missing names, wrong types or values: one ``ConfigError`` naming them."""
        unknown = set(config) - set(self.hyperparameters)
        if unknown:
            raise ConfigError(f"{self.name}: unknown hyperparameter {sorted(unknown)[0]!r}")
        for n in self.hyperparameters:
            if n not in config:
                raise ConfigError(f"{self.name}: missing hyperparameter {n!r}")
        for n in self.op_names:
            if config[n] not in OP_CHOICES:
                raise ConfigError(f"{self.name}: {n} = {config[n]!r} is not one of {OP_CHOICES}")
        self._check_edges(config)

    def _check_edges(self, config: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _embed(spec: ModelSpec) -> tuple[np.ndarray, list[str]]:
    """A 7x7 form of a valid spec: the original when it is 7x7, else the pruned cell with
    unused interior vertices (no edges, pruned again on the way back)."""
    if spec.original_matrix.shape == (MAX_VERTICES, MAX_VERTICES):
        return spec.original_matrix, list(spec.original_ops)
    n = spec.num_vertices
    assert spec.matrix is not None and spec.ops is not None   # valid: pruned
    matrix = np.zeros((MAX_VERTICES, MAX_VERTICES), np.int8)
    keep = list(range(n - 1)) + [MAX_VERTICES - 1]
    matrix[np.ix_(keep, keep)] = spec.matrix
    ops = list(spec.ops[:-1]) + [OP_CHOICES[0]] * (MAX_VERTICES - n) + [OUTPUT]
    return matrix, ops


class NASCifar10A(Encoding):
    """5 ops + 21 binary edges (row-major upper triangle)."""

    name = "A"
    hyperparameters = (*OP_NAMES, *(f"edge_{i}" for i in range(NUM_SLOTS)))

    def _edge_hyperparameters(self):
        return [CS.CategoricalHyperparameter(f"edge_{i}", [0, 1]) for i in range(NUM_SLOTS)]

    def _check_edges(self, config):
        for i in range(NUM_SLOTS):
            v = config[f"edge_{i}"]
            if not _is_int(v) or v not in (0, 1):
                raise ConfigError(f"A: edge_{i} = {v!r} is not 0 or 1")

    def _edges_of(self, matrix):
        return {f"edge_{i}": int(matrix[r, c]) for i, (r, c) in enumerate(ROW_MAJOR)}

    _edge_values = frozenset({0, 1})
    _bits = tuple(1 << slot_bit(int(r), int(c)) for r, c in ROW_MAJOR)

    def _mask_of_edges(self, edges):
        return sum(compress(self._bits, edges))


class NASCifar10B(Encoding):
    """5 ops + 9 edge choices, each one of 21 slots (duplicates mean fewer edges)."""

    name = "B"
    hyperparameters = (*OP_NAMES, *(f"edge_{i}" for i in range(MAX_EDGES)))

    def _edge_hyperparameters(self):
        return [CS.CategoricalHyperparameter(f"edge_{i}", list(range(NUM_SLOTS)))
                for i in range(MAX_EDGES)]

    def _check_edges(self, config):
        for i in range(MAX_EDGES):
            v = config[f"edge_{i}"]
            if not _is_int(v) or not 0 <= v < NUM_SLOTS:
                raise ConfigError(f"B: edge_{i} = {v!r} is not an integer in 0..{NUM_SLOTS - 1}")

    max_raw_edges = NUM_SLOTS  # 9 edge choices never make more than 9 edges

    _edge_values = frozenset(range(NUM_SLOTS))

    def _mask_of_edges(self, edges):
        mask = 0
        for slot in edges:
            mask |= 1 << (NUM_SLOTS - 1 - slot)
        return mask

    def _edges_of(self, matrix):
        slots = [s for s, xy in enumerate(B_SLOTS) if matrix[xy]]
        if len(slots) > MAX_EDGES:
            raise ConfigError(f"B: {len(slots)} edges do not fit {MAX_EDGES} edge choices")
        slots += [slots[0]] * (MAX_EDGES - len(slots))
        return {f"edge_{i}": s for i, s in enumerate(slots)}


class NASCifar10C(Encoding):
    """5 ops + the number of edges + 21 edge weights; the largest weights become edges."""

    name = "C"
    hyperparameters = (*OP_NAMES, "num_edges", *(f"edge_{i}" for i in range(NUM_SLOTS)))

    def _edge_hyperparameters(self):
        return [CS.UniformIntegerHyperparameter("num_edges", 0, MAX_EDGES),
                *(CS.UniformFloatHyperparameter(f"edge_{i}", 0.0, 1.0) for i in range(NUM_SLOTS))]

    def _check_edges(self, config):
        k = config["num_edges"]
        if not _is_int(k) or not 0 <= k <= MAX_EDGES:
            raise ConfigError(f"C: num_edges = {k!r} is not an integer in 0..{MAX_EDGES}")
        for i in range(NUM_SLOTS):
            v = config[f"edge_{i}"]
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)) \
                    or not 0.0 <= v <= 1.0:
                raise ConfigError(f"C: edge_{i} = {v!r} is not a number in [0, 1]")

    _bits = NASCifar10A._bits   # weight i -> the bit of row-major slot i, as in A

    def _fast_mask(self, edges):
        """For C: ``num_edges`` a Python int in range and the weights Python floats in [0, 1],
        all different (with a tie, which edges win is numpy's argsort's choice: the checked
        path makes it)."""
        k, *weights = edges
        if not (type(k) is int and 0 <= k <= MAX_EDGES and _FLOAT.issuperset(map(type, weights))):
            return None
        total = sum(weights)  # NaN if any is NaN
        if not (total == total and min(weights) >= 0.0 and max(weights) <= 1.0
                and len(set(weights)) == NUM_SLOTS):
            return None
        top = heapq.nlargest(k, range(NUM_SLOTS), key=weights.__getitem__)
        return sum(map(self._bits.__getitem__, top))

    def _mask_of_edges(self, edges):
        """The ``num_edges`` largest weights' slots (ties: numpy's argsort's choice)."""
        k, *weights = edges
        return sum(self._bits[i] for i in np.argsort(weights)[::-1][:k])

    def _edges_of(self, matrix):
        on = [i for i, rc in enumerate(ROW_MAJOR) if matrix[rc]]
        config: dict[str, Any] = {"num_edges": len(on)}
        for i in range(NUM_SLOTS):
            config[f"edge_{i}"] = (0.5 + i / 100) if i in on else i / 100
        return config


class SmallNASCifar10A(NASCifar10A):
    """Encoding A over ``vertices`` < 7 vertices: ``vertices - 2`` ops and the row-major upper
    triangle of a ``vertices`` x ``vertices`` matrix; 6 vertices is the paper's NAS-Bench-Mini
    (Figure 8: its 64,542 cells of at most 6 vertices, about 64.5k).

    The cell is the 7-vertex raw cell with vertices ``vertices - 1`` .. 5 unused (so pruned
    away, whatever their op): the table's look-up, hash and validity rules (at most 9 raw
    edges, an input-output path, at most 9 edges after pruning) are the full space's."""

    def __init__(self, vertices: int) -> None:
        if not 2 <= vertices < MAX_VERTICES:
            raise InputError(f"a small encoding A has 2 to {MAX_VERTICES - 1} vertices, "
                             f"got {vertices!r}")
        self.vertices = vertices
        self.op_names = OP_NAMES[:vertices - 2]
        self.slots = [(int(r), int(c)) for r, c in zip(*np.triu_indices(vertices, k=1))]
        self.edge_names = [f"edge_{i}" for i in range(len(self.slots))]
        self.hyperparameters = (*self.op_names, *self.edge_names)
        self._size = len(self.hyperparameters)
        # the output (vertex vertices - 1) is vertex 6 of the raw 7-vertex cell
        self._cells = [(r, c if c < vertices - 1 else MAX_VERTICES - 1) for r, c in self.slots]
        self._bits = tuple(1 << slot_bit(r, c) for r, c in self._cells)
        self._pad = (OP_CHOICES[0],) * (MAX_VERTICES - vertices)

    def fast_raw(self, config):
        if len(config) != self._size:
            return None
        try:
            ops = tuple(config[n] for n in self.op_names)
            edges = tuple(config[n] for n in self.edge_names)
            mask = self._fast_mask(edges) if _OP_SET.issuperset(ops) else None
        except (KeyError, TypeError):
            return None
        return None if mask is None else (mask, ops + self._pad)

    def interior_ops(self, config):
        return tuple(config[n] for n in self.op_names) + self._pad

    def config_space(self, seed=None):
        cs = CS.ConfigurationSpace(seed=seed)
        cs.add([CS.CategoricalHyperparameter(n, list(OP_CHOICES)) for n in self.op_names])
        cs.add([CS.CategoricalHyperparameter(n, [0, 1]) for n in self.edge_names])
        return cs

    def raw_cell(self, config):
        self.check(config)
        return self._matrix(config), [INPUT, *self.interior_ops(config), OUTPUT]

    def _check_edges(self, config):
        for n in self.edge_names:
            if not _is_int(config[n]) or config[n] not in (0, 1):
                raise ConfigError(f"{self.name}: {n} = {config[n]!r} is not 0 or 1")

    def from_spec(self, spec):
        """A configuration of the pruned cell of ``spec``; a ``ConfigError`` if it has more
        vertices than this encoding."""
        if not spec.is_valid:
            raise ConfigError(f"{self.name}: cannot encode an invalid spec")
        k = spec.num_vertices
        if k > self.vertices:
            raise ConfigError(f"{self.name}: a cell of {k} vertices does not fit "
                              f"{self.vertices} vertices")
        ops = list(spec.ops[1:-1]) + [OP_CHOICES[0]] * (self.vertices - k)
        place = {v: v for v in range(k - 1)} | {k - 1: self.vertices - 1}
        edges = {(place[int(r)], place[int(c)]) for r, c in zip(*np.nonzero(spec.matrix))}
        return {**dict(zip(self.op_names, ops)),
                **{n: int(rc in edges) for n, rc in zip(self.edge_names, self.slots)}}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vertices})"


ENCODINGS: dict[str, type[Encoding]] = {"A": NASCifar10A, "B": NASCifar10B, "C": NASCifar10C}


def get_encoding(name: str, max_vertices: int = MAX_VERTICES) -> Encoding:
    """An encoding by name; ``max_vertices`` < 7 restricts encoding A to cells of at most that
    many vertices (6: NAS-Bench-Mini)."""
    try:
        encoding = ENCODINGS[name.upper()]
    except (KeyError, AttributeError):
        raise InputError(f"unknown encoding {name!r}; one of A, B, C") from None
    if max_vertices == MAX_VERTICES:
        return encoding()
    if encoding is not NASCifar10A:
        raise InputError(f"max_vertices {max_vertices!r} restricts encoding A only, not {name}")
    return SmallNASCifar10A(max_vertices)
