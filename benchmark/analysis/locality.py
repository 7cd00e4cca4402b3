"""Locality in encoding A (paper Section 3.3): every point of the encoded space, exactly.

A point of encoding A over n-vertex raw cells is an upper-triangular edge mask (m = n(n-1)/2
bits, bit ``x + y(y-1)/2`` is edge (x, y)) and one op per interior vertex (k = n - 2 labels,
``itertools.product`` order, the first vertex most significant): 2^21 x 3^5 ~ 510 M points for
n = 7, the paper's space; smaller n give sub-spaces small enough to check by brute force.
The edit distance (one edge flip or one op change) is an L1 distance over the edge bits and a
Hamming distance over the ops, so the distance of every point to a set of points is an exact
separable distance transform: one in-place min pass per edge bit and per op vertex over a
(3^k, 2^m) uint8 array (510 MB for n = 7).  A point's cell comes from the pruning of its mask
(:func:`benchmark.objectives.lookup.mask_arrays`) and the table's labelled-graph look-up.
"""
from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from ..objectives.lookup import cached_mask_arrays, mask_arrays
from ..space.constants import MAX_VERTICES, NUM_OP_CHOICES, slot_bit

LOW_BITS = 5             # edge bits the transform runs on transposed chunks
UNREACHED = 254          # distance of points with no target (the uint8 transform's infinity)
#: Per op label, the two other labels in ascending order (a walk's op moves).
OTHER_OPS = tuple(tuple(o for o in range(NUM_OP_CHOICES) if o != op)
                  for op in range(NUM_OP_CHOICES))


@dataclass(frozen=True)
class EncodedSpace:
    """Encoding A over ``n``-vertex raw cells, mapped onto one table's rows."""

    n: int
    graph: np.ndarray        # (2^m,) pruned graph number per mask, -1 invalid
    keep: np.ndarray         # (2^m,) surviving-vertex pattern per mask
    codes: np.ndarray        # (2^n, 3^k) label code of each labelling per pattern
    cell_of: np.ndarray      # (graphs, 243) table row of a labelled graph, -1 absent

    @property
    def bits(self) -> int:
        return self.n * (self.n - 1) // 2

    @property
    def op_vertices(self) -> int:
        return self.n - 2

    @property
    def num_masks(self) -> int:
        return 1 << self.bits

    @property
    def num_labellings(self) -> int:
        return NUM_OP_CHOICES ** self.op_vertices

    @property
    def size(self) -> int:
        """Points of the space: 2^m x 3^k."""
        return self.num_masks * self.num_labellings

    @cached_property
    def _valid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Valid masks, their flat offset into ``cell_of`` (graph x 243), their pattern, and
        the label codes per labelling (contiguous rows): what :meth:`valid_rows` reads."""
        masks = np.flatnonzero(self.graph >= 0)
        base = self.graph[masks].astype(np.int64) * self.cell_of.shape[1]
        return masks, base, self.keep[masks], np.ascontiguousarray(self.codes.T)

    def valid_masks(self) -> np.ndarray:
        """Masks whose pruned graph is a cell of the space (any labelling is then valid)."""
        return self._valid[0]

    def valid_rows(self, labelling: int) -> np.ndarray:
        """Table rows of the points (:meth:`valid_masks`, ``labelling``); -1 where absent."""
        _, base, keep, codes = self._valid
        return np.take(self.cell_of.reshape(-1), base + codes[labelling][keep])

    def rows(self, labelling: int, masks: np.ndarray) -> np.ndarray:
        """Table rows of the points (``masks``, ``labelling``); -1 where invalid or absent."""
        g = self.graph[masks]
        ok = g >= 0
        out = np.full(masks.shape, -1, np.int64)
        out[ok] = self.cell_of[g[ok], self.codes[self.keep[masks[ok]], labelling]]
        return out

    def row_of(self, mask: int, ops: tuple[int, ...]) -> int:
        """Row of one point (ops: hash labels 0/1/2 of vertices 1..n-2); -1 invalid/absent."""
        return int(self.rows(labelling_index(ops), np.array([mask]))[0])


def labelling_index(ops) -> int:
    """Index of an interior-op tuple in ``itertools.product`` order."""
    index = 0
    for op in ops:
        index = index * NUM_OP_CHOICES + int(op)
    return index


def labelling_ops(index: int, k: int) -> tuple[int, ...]:
    """Inverse of :func:`labelling_index` for k interior vertices."""
    ops = []
    for _ in range(k):
        index, op = divmod(index, NUM_OP_CHOICES)
        ops.append(op)
    return tuple(reversed(ops))


def encoded_space(graph_offset: np.ndarray, graph_id: np.ndarray, cell_of: np.ndarray,
                  n: int = MAX_VERTICES) -> EncodedSpace:
    """The space over n-vertex raw cells against a table's look-up (the n = 7 pruning arrays
    are cached per machine, as for the objectives)."""
    if n == MAX_VERTICES:
        key = "analysis:" + hashlib.sha256(np.ascontiguousarray(graph_offset).tobytes()
                                           + np.ascontiguousarray(graph_id).tobytes()).hexdigest()
        arrays = cached_mask_arrays(graph_offset, graph_id, key)
    else:
        arrays = mask_arrays(graph_offset, graph_id, n)
    k = n - 2
    ops = np.array(list(itertools.product(range(NUM_OP_CHOICES), repeat=k)),
                   np.int64).reshape(-1, k)
    codes = (arrays["weights"][: 1 << n] @ ops.T).astype(np.int64)
    return EncodedSpace(n, arrays["graph"], arrays["keep"].astype(np.int64), codes,
                        np.asarray(cell_of))


def point_of(space: EncodedSpace, matrix: np.ndarray, labels) -> tuple[int, tuple[int, ...]]:
    """The encoded point of a stored cell (hash labels): an n-vertex cell keeps its vertices,
    its output moves to the last vertex and the vertices between stay unconnected (conv3x3)."""
    n = len(labels)
    if n > space.n:
        raise ValueError(f"a {n}-vertex cell is no point of the {space.n}-vertex space")
    place = list(range(n - 1)) + [space.n - 1]
    mask = 0
    for y in range(n):
        for x in range(y):
            if matrix[x][y]:
                mask |= 1 << slot_bit(place[x], place[y])
    ops = [int(v) for v in labels[1:-1]] + [0] * (space.n - n)
    return mask, tuple(ops)


def neighbours(space: EncodedSpace, mask: int, ops: tuple[int, ...]) -> np.ndarray:
    """Rows of the distinct cells one edit (an edge flip or an op change) from a point, the
    point's own cell excluded."""
    own = space.row_of(mask, ops)
    found = {space.row_of(mask ^ (1 << b), ops) for b in range(space.bits)}
    for v, op in enumerate(ops):
        found |= {space.row_of(mask, ops[:v] + (o,) + ops[v + 1:]) for o in OTHER_OPS[op]}
    return np.array(sorted(found - {-1, own}), np.int64)


# ---- points of cells -------------------------------------------------------------------------

def points_per_row(space: EncodedSpace, num_rows: int) -> np.ndarray:
    """Number of encoded points of every table row (a cell's isomorphic and unpruned forms)."""
    counts = np.zeros(num_rows, np.int64)
    for lab in range(space.num_labellings):
        rows = space.valid_rows(lab)
        counts += np.bincount(rows[rows >= 0], minlength=num_rows)
    return counts


# ---- distances -------------------------------------------------------------------------------

def distance_to(space: EncodedSpace, targets: ArrayLike, progress=None) -> np.ndarray:
    """Edit distance of every point to the closest point of any target row: (3^k, 2^m) uint8,
    :data:`UNREACHED` everywhere if no point belongs to a target."""
    dist = np.full((space.num_labellings, space.num_masks), UNREACHED, np.uint8)
    masks = space.valid_masks()
    targets = np.asarray(targets, np.int64)
    is_target = np.zeros(max(int(space.cell_of.max(initial=-1)), int(targets.max(initial=-1)))
                         + 2, bool)
    is_target[targets] = True                    # row -1 reads the last entry: False
    for lab in range(space.num_labellings):
        dist[lab, masks[is_target[space.valid_rows(lab)]]] = 0
    transform(dist, space.bits, space.op_vertices, progress)
    return dist


def transform(dist: np.ndarray, bits: int, op_vertices: int, progress=None) -> None:
    """In place: the exact L1 distance transform over edge bits (last axis, 2^bits) and the
    Hamming one over op vertices (first axis, 3^op_vertices): per coordinate, a point's
    distance becomes the least of its own and its neighbours' along it, plus one."""
    labs, masks = dist.shape
    low = min(LOW_BITS, bits)
    # The low bits' pairs lie a few bytes apart: run them on a transposed copy of each chunk,
    # where every pair is two long contiguous rows.
    step = max(1, (1 << 22) // masks)            # about 4 M entries per chunk
    for lo in range(0, labs, step):
        chunk = dist[lo:lo + step].reshape(-1, 1 << low)
        flipped = np.ascontiguousarray(chunk.T)
        for i in range(low):
            _pass(flipped.reshape((1 << low) >> (i + 1), 2, 1 << i, -1)[:, 0],
                  flipped.reshape((1 << low) >> (i + 1), 2, 1 << i, -1)[:, 1])
        chunk[...] = flipped.T
    if progress:
        progress()
    for i in range(low, bits):
        for lo in range(0, labs, step):
            view: np.ndarray = dist[lo:lo + step].reshape(-1, masks >> (i + 1), 2, 1 << i)
            _pass(view[:, :, 0], view[:, :, 1])
        if progress:
            progress()
    for j in range(op_vertices):
        inner = NUM_OP_CHOICES ** (op_vertices - 1 - j)
        view = dist.reshape(NUM_OP_CHOICES ** j, NUM_OP_CHOICES, inner * masks)
        for outer in range(view.shape[0]):
            for lo in range(0, view.shape[2], 1 << 22):
                block = view[outer, :, lo:lo + (1 << 22)]
                # the closest of the other labels is at most the closest of all
                np.minimum(block, block.min(axis=0) + 1, out=block)
        if progress:
            progress()


def _pass(a: np.ndarray, b: np.ndarray) -> None:
    """One binary coordinate: a = min(a, b + 1), then b = min(b, a + 1) (with the new a this
    is min(b, old a + 1), as min(b, b + 2) = b)."""
    np.minimum(a, b + 1, out=a)
    np.minimum(b, a + 1, out=b)


def distance_histogram(dist: np.ndarray, masks: np.ndarray | None = None) -> np.ndarray:
    """Points at each distance 0..UNREACHED (only ``masks``' columns if given)."""
    counts = np.zeros(UNREACHED + 1, np.int64)
    for row in dist:
        counts += np.bincount(row if masks is None else row[masks], minlength=UNREACHED + 1)
    return counts


def fitness_by_distance(space: EncodedSpace, dist: np.ndarray, fitness: np.ndarray
                        ) -> dict[str, np.ndarray]:
    """Over the valid points with a finite fitness: per distance their count, fitness sum and
    sum of squares (the exact ingredients of the fitness-distance correlation)."""
    masks = space.valid_masks()
    size = UNREACHED + 1
    out = {k: np.zeros(size) for k in ("count", "sum", "sumsq")}
    fit = np.append(np.asarray(fitness, np.float64), np.nan)   # row -1 -> NaN
    for lab in range(space.num_labellings):
        f = fit[space.valid_rows(lab)]
        ok = np.isfinite(f)
        d = dist[lab, masks[ok]]
        out["count"] += np.bincount(d, minlength=size)
        out["sum"] += np.bincount(d, weights=f[ok], minlength=size)
        out["sumsq"] += np.bincount(d, weights=f[ok] ** 2, minlength=size)
    return out


def fdc(by_distance: dict[str, np.ndarray]) -> float:
    """Fitness-distance correlation (Pearson r between a point's distance to the global best
    and its fitness, over all valid points) from :func:`fitness_by_distance`'s sums."""
    d = np.arange(by_distance["count"].size, dtype=np.float64)
    n = by_distance["count"].sum()
    sd, sdd = (d * by_distance["count"]).sum(), (d * d * by_distance["count"]).sum()
    sf, sff = by_distance["sum"].sum(), by_distance["sumsq"].sum()
    sdf = (d * by_distance["sum"]).sum()
    cov = sdf / n - (sd / n) * (sf / n)
    var_d, var_f = sdd / n - (sd / n) ** 2, sff / n - (sf / n) ** 2
    return float(cov / np.sqrt(var_d * var_f)) if var_d > 0 and var_f > 0 else float("nan")


# ---- random walk -----------------------------------------------------------------------------

def random_walk(space: EncodedSpace, steps: int, rng: np.random.Generator) -> np.ndarray:
    """Table rows along a random walk over valid points: the start is uniform over valid
    points, each step a uniformly chosen valid 1-edit neighbour (both by rejection: draws of
    ``rng.integers(2^m)`` then ``rng.integers(3^k)`` for a start, ``rng.integers(m + 2k)`` for a
    neighbour: edge bits in order, then per op vertex its two other ops, ascending).
    Raises ``ValueError`` if the walk meets a valid cell the table lacks."""
    m, k = space.bits, space.op_vertices
    graph, keep = space.graph.tolist(), space.keep.tolist()
    codes, cell_of = space.codes.tolist(), space.cell_of
    weights = [NUM_OP_CHOICES ** (k - 1 - i) for i in range(k)]

    def row(mask: int, lab: int) -> int:
        g = graph[mask]
        if g < 0:
            return -1
        r = int(cell_of[g, codes[keep[mask]][lab]])
        if r < 0:
            raise ValueError("the walk met a valid cell the table lacks")
        return r

    while True:
        mask, lab = int(rng.integers(1 << m)), int(rng.integers(NUM_OP_CHOICES ** k))
        current = row(mask, lab)
        if current >= 0:
            break
    ops = list(labelling_ops(lab, k))
    out = np.empty(steps + 1, np.int64)
    out[0] = current
    moves = m + 2 * k
    for t in range(1, steps + 1):
        while True:
            j = int(rng.integers(moves))
            if j < m:
                new_mask, new_lab, vertex, new_op = mask ^ (1 << j), lab, -1, 0
            else:
                vertex, alt = divmod(j - m, 2)
                new_op = OTHER_OPS[ops[vertex]][alt]
                new_mask = mask
                new_lab = lab + (new_op - ops[vertex]) * weights[vertex]
            r = row(new_mask, new_lab)
            if r >= 0:
                break
        mask, lab, current = new_mask, new_lab, r
        if vertex >= 0:
            ops[vertex] = new_op
        out[t] = r
    return out


def autocorrelation(values: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``values[t]`` and ``values[t + s]`` for each shift s."""
    values = np.asarray(values, np.float64)
    return np.array([np.corrcoef(values[:-s], values[s:])[0, 1] for s in shifts])


def noise_distance(shifts: np.ndarray, rwa: np.ndarray, length: int) -> float:
    """sqrt of the first shift whose autocorrelation lies within the 95 % band of zero
    correlation for a walk of ``length`` values (1.96 / sqrt(length)); NaN if none does."""
    bound = 1.96 / np.sqrt(length)
    below = np.flatnonzero(np.abs(rwa) < bound)
    return float(np.sqrt(shifts[below[0]])) if below.size else float("nan")
