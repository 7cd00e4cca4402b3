"""Enumeration of every unique NAS-Bench-101 cell, as the official dataset stores it.

The original ``generate_graphs.py`` walks vertex counts 2..7, edge bitmasks in ascending order
(bit ``x + y(y-1)/2`` is edge (x, y)), keeps graphs whose every vertex lies on an input-output
path with at most 9 edges, and tries op labelings in ``itertools.product`` order; the first
labelled graph met for each hash is the stored one.  Hashing all 1.29 M labelled graphs in Python
takes minutes, so we find the isomorphism classes first (a canonical form over permutations of
the interior vertices, vectorised with numpy), keep each class's first member, and compute the
official MD5 hash only for those 423,624 representatives, on all cores.

The result is cached in the user cache directory, keyed by :data:`CACHE_VERSION`.
"""
from __future__ import annotations

import hashlib
import itertools
import logging
import multiprocessing
import os
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from .constants import MAX_EDGES, MAX_VERTICES, NUM_OP_CHOICES
from .hashing import hash_from_neighbours
from .params import parameter_coefficients

log = logging.getLogger(__name__)

CACHE_VERSION = 2
NUM_CELLS = 423_624
_md5 = hashlib.md5


def upper_slots(n: int) -> list[tuple[int, int]]:
    """Edge slots of an n-vertex DAG in bitmask order: bit k is (x, y) with k = slot_bit(x, y)."""
    return [(x, y) for y in range(n) for x in range(y)]


def full_dag_bitmasks(n: int) -> np.ndarray:
    """Ascending bitmasks of n-vertex graphs, every vertex on an input-output path, <= 9 edges."""
    m = n * (n - 1) // 2
    masks = np.arange(2 ** m, dtype=np.int64)
    bits = ((masks[:, None] >> np.arange(m)) & 1).astype(np.int8)
    out_deg = np.zeros((masks.size, n), np.int8)
    in_deg = np.zeros((masks.size, n), np.int8)
    for k, (x, y) in enumerate(upper_slots(n)):
        out_deg[:, x] += bits[:, k]
        in_deg[:, y] += bits[:, k]
    keep = (out_deg[:, :-1] > 0).all(1) & (in_deg[:, 1:] > 0).all(1) & (bits.sum(1) <= MAX_EDGES)
    return masks[keep]


def bitmask_matrix(mask: int, n: int) -> np.ndarray:
    """Adjacency matrix of a bitmask (the original ``gen_is_edge_fn``)."""
    matrix = np.zeros((n, n), np.int8)
    for k, (x, y) in enumerate(upper_slots(n)):
        matrix[x, y] = (mask >> k) & 1
    return matrix


def labelings(n: int) -> np.ndarray:
    """All interior op labelings of an n-vertex cell in ``itertools.product`` order."""
    combos = list(itertools.product(range(NUM_OP_CHOICES), repeat=n - 2))
    return np.array(combos, dtype=np.int8).reshape(len(combos), n - 2)


def _class_keys(masks: np.ndarray, n: int) -> np.ndarray:
    """Isomorphism-class key of every (graph, labeling), shape (graphs, 3**(n-2)).

    The key is the smallest (adjacency code, label code) over permutations of the interior
    vertices: first the smallest adjacency code, then the smallest label code among the
    permutations reaching it (the graph's automorphisms composed with one canonical order).
    """
    slots = upper_slots(n)
    perms = [(0, *p, n - 1) for p in itertools.permutations(range(1, n - 1))]
    # Edge (a, b) moves to (inv[a], inv[b]) under the relabelling new_i = old_perm[i].
    pos = np.empty((len(perms), len(slots)), np.int64)
    for i, perm in enumerate(perms):
        inv = np.argsort(perm)
        pos[i] = [inv[a] * n + inv[b] for a, b in slots]
    codes = np.zeros((masks.size, len(perms)), np.int64)
    for k in range(len(slots)):
        codes += ((masks[:, None] >> k) & 1) << pos[None, :, k]
    best = codes.min(axis=1)
    labs = labelings(n).astype(np.int64)
    weights = NUM_OP_CHOICES ** np.arange(n - 3, -1, -1, dtype=np.int64)
    perm_interior = np.array([p[1:-1] for p in perms], np.int64).reshape(len(perms), n - 2) - 1
    keys = np.empty((masks.size, labs.shape[0]), np.int64)
    for g in range(masks.size):
        autos = perm_interior[codes[g] == best[g]]
        label_codes = (labs[:, autos] * weights[None, None, :]).sum(-1)  # (labelings, autos)
        keys[g] = best[g] * labs.shape[0] + label_codes.min(axis=1)
    return keys


@cache
def _compiled_refinement(mask: int, n: int):
    """Straight-line Python for the hash rounds of one graph (the hot loop of enumeration)."""
    matrix = bitmask_matrix(mask, n)
    ins = [[w for w in range(n) if matrix[w, v]] for v in range(n)]
    outs = [[w for w in range(n) if matrix[v, w]] for v in range(n)]

    def joined(vertices: list[int]) -> str:
        if not vertices:
            return "''"
        if len(vertices) == 1:
            return f"h[{vertices[0]}]"
        return "''.join(sorted((" + ",".join(f"h[{w}]" for w in vertices) + ",)))"

    row = ",".join(f"md5(({joined(ins[v])}+'|'+{joined(outs[v])}+'|'+h[{v}]).encode()).hexdigest()"
                   for v in range(n))
    src = "def refine(h):\n" + f"    h = [{row}]\n" * n + "    return h\n"
    namespace = {"md5": _md5}
    exec(compile(src, f"<refine {n}:{mask}>", "exec"), namespace)  # noqa: S102 - generated above
    degrees = [(len(outs[v]), len(ins[v])) for v in range(n)]
    return namespace["refine"], degrees


def _hash_task(task: tuple[int, int, np.ndarray]) -> list[str]:
    """Official hashes of several labelings of one graph (runs in worker processes)."""
    mask, n, labels = task
    refine, degrees = _compiled_refinement(mask, n)
    out = []
    for interior in labels.tolist():
        full = [-1, *interior, -2]
        h = [_md5(str((o, i, lab)).encode()).hexdigest() for (o, i), lab in zip(degrees, full)]
        out.append(_md5(str(sorted(refine(h))).encode()).hexdigest())
    return out


_SLOTS = {n: upper_slots(n) for n in range(2, MAX_VERTICES + 1)}


def lookup_cell(graph_offset, graph_id, cell_of, matrix, labels) -> int:
    """Row that the look-up arrays give a pruned labelled graph (hash labels); -1 if none."""
    n = len(labels)
    if not 2 <= n <= MAX_VERTICES:
        return -1
    rows = matrix.tolist() if isinstance(matrix, np.ndarray) else matrix
    mask = 0
    for k, (x, y) in enumerate(_SLOTS[n]):
        if rows[x][y]:
            mask |= 1 << k
    return lookup_mask(graph_offset, graph_id, cell_of, mask, labels)


def lookup_mask(graph_offset, graph_id, cell_of, mask: int, labels) -> int:
    """:func:`lookup_cell` for a graph given as its :func:`upper_slots` bitmask."""
    n = len(labels)
    if not 2 <= n <= MAX_VERTICES:
        return -1
    graph = int(graph_id[graph_offset[n] + mask])
    if graph < 0:
        return -1
    code = 0
    for lab in labels[1:-1]:
        code = code * NUM_OP_CHOICES + lab
    return int(cell_of[graph, code])


@dataclass(frozen=True)
class CellTable:
    """All unique cells, sorted by hash, plus a look-up for any labelled graph of the space.

    ``matrices``/``labels`` hold the stored (first-met) form, padded to 7 vertices
    (labels: -1 input, 0/1/2 ops, -2 output, -3 padding).  ``graph_id[offset[n] + mask]`` is the
    graph number of an n-vertex bitmask (-1 if not a full DAG within limits) and
    ``cell_of[graph, labeling]`` the cell of that labelled graph.
    """

    hashes: np.ndarray               # (N,) S32 ASCII hex, ascending
    matrices: np.ndarray             # (N, 7, 7) int8
    labels: np.ndarray               # (N, 7) int8
    num_vertices: np.ndarray         # (N,) int8
    num_edges: np.ndarray            # (N,) int8
    trainable_parameters: np.ndarray  # (N,) int64
    graph_offset: np.ndarray         # (8,) int64, by vertex count
    graph_id: np.ndarray             # (sum 2**m,) int32
    cell_of: np.ndarray              # (graphs, 243) int32

    def __len__(self) -> int:
        return int(self.hashes.shape[0])

    def hex_hashes(self) -> list[str]:
        """Hashes as 32-character hex strings."""
        return self.hashes.astype(str).tolist()

    def index_of(self, module_hash: str) -> int:
        """Row of a cell by its hash, -1 if no cell has it."""
        key = module_hash.encode()
        i = int(np.searchsorted(self.hashes, key))
        return i if i < len(self) and self.hashes[i] == key else -1

    def cell_index(self, matrix: np.ndarray, labels: list[int]) -> int:
        """Cell of a pruned, valid graph (upper triangular, every vertex on a path); -1 if none."""
        return lookup_cell(self.graph_offset, self.graph_id, self.cell_of, matrix, labels)

    def arrays(self) -> dict[str, np.ndarray]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def build_cell_table(processes: int | None = None, progress: bool = True) -> CellTable:
    """Enumerate the space from scratch (about 10-20 s on two cores)."""
    from tqdm import tqdm

    graph_offset = np.zeros(MAX_VERTICES + 1, np.int64)
    graph_id_parts, reps, all_keys = [], [], []
    num_graphs = 0
    size = 0
    for n in range(2, MAX_VERTICES + 1):
        masks = full_dag_bitmasks(n)
        graph_offset[n] = size
        ids = np.full(2 ** (n * (n - 1) // 2), -1, np.int32)
        ids[masks] = np.arange(num_graphs, num_graphs + masks.size)
        graph_id_parts.append(ids)
        size += ids.size
        keys = _class_keys(masks, n)
        _, first, inverse = np.unique(keys.ravel(), return_index=True, return_inverse=True)
        order = np.argsort(first)  # classes in order of first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        first = first[order]
        num_labs = keys.shape[1]
        reps.append((n, masks[first // num_labs], first % num_labs))
        all_keys.append((num_graphs, keys.shape, rank[inverse.ravel()]))
        num_graphs += masks.size
    total = sum(r[1].size for r in reps)
    if total != NUM_CELLS:
        raise RuntimeError(f"enumeration found {total} cells, expected {NUM_CELLS}")

    # One task per graph: its representative labelings and their class numbers.
    tasks, task_classes = [], []
    class_base = 0
    for n, masks, labs in reps:
        table = labelings(n)
        classes = np.arange(class_base, class_base + masks.size)
        class_base += masks.size
        for mask in np.unique(masks):
            sel = masks == mask
            tasks.append((int(mask), n, table[labs[sel]]))
            task_classes.append(classes[sel])
    processes = processes or min(os.cpu_count() or 1, 8)
    hashes: list[str] = []
    with tqdm(total=total, desc="hashing cells", unit="cell", disable=not progress) as bar:
        if processes > 1:
            with multiprocessing.get_context("fork").Pool(processes) as pool:
                for chunk in pool.imap(_hash_task, tasks, chunksize=16):
                    hashes.extend(chunk)
                    bar.update(len(chunk))
        else:
            for task in tasks:
                hashes.extend(_hash_task(task))
                bar.update(len(task[2]))

    matrices = np.zeros((total, MAX_VERTICES, MAX_VERTICES), np.int8)
    labels = np.full((total, MAX_VERTICES), -3, np.int8)
    num_vertices = np.zeros(total, np.int8)
    params = np.zeros(total, np.int64)
    i = 0
    for mask, n, labs_sel in tasks:
        matrix = bitmask_matrix(mask, n)
        base, per_op = parameter_coefficients(matrix)
        rows = slice(i, i + len(labs_sel))
        matrices[rows, :n, :n] = matrix
        labels[rows, 0], labels[rows, n - 1] = -1, -2
        labels[rows, 1:n - 1] = labs_sel
        num_vertices[rows] = n
        params[rows] = base + per_op[np.arange(1, n - 1), labs_sel.astype(np.int64)].sum(axis=1)
        i += len(labs_sel)
    class_of_row = np.concatenate(task_classes)
    raw = np.array(hashes, dtype="S32")
    if np.unique(raw).size != total:
        raise RuntimeError("hash collision between non-isomorphic cells")
    order = np.argsort(raw, kind="stable")
    cell_of_class = np.empty(total, np.int32)
    cell_of_class[class_of_row[order]] = np.arange(total, dtype=np.int32)

    cell_of = np.full((num_graphs, NUM_OP_CHOICES ** (MAX_VERTICES - 2)), -1, np.int32)
    class_base = 0
    for start, shape, ranks in all_keys:
        num_classes = int(ranks.max()) + 1
        cell_of[start:start + shape[0], :shape[1]] = \
            cell_of_class[class_base + ranks].reshape(shape)
        class_base += num_classes
    return CellTable(
        hashes=raw[order], matrices=matrices[order], labels=labels[order],
        num_vertices=num_vertices[order],
        num_edges=matrices[order].sum(axis=(1, 2), dtype=np.int64).astype(np.int8),
        trainable_parameters=params[order], graph_offset=graph_offset,
        graph_id=np.concatenate(graph_id_parts), cell_of=cell_of)


def cache_path() -> Path:
    """Where the enumeration is cached (``$NASBENCH_CACHE_DIR`` or the user cache dir)."""
    from ..fileutil import cache_dir

    return cache_dir() / f"cells-v{CACHE_VERSION}.npz"


_TABLE: CellTable | None = None


def enumerate_cells(progress: bool = True) -> CellTable:
    """Every unique cell of the space (423,624), built once and then loaded from the cache."""
    global _TABLE  # process-wide memo of an immutable table, not mutable state
    if _TABLE is not None:
        return _TABLE
    path = cache_path()
    if path.exists():
        try:
            with np.load(path) as data:
                _TABLE = CellTable(**{k: data[k] for k in CellTable.__dataclass_fields__})
            return _TABLE
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            # every member is read whole, so its CRC-32 is checked: a changed byte lands here
            log.warning("rebuilding the cell cache %s: %s", path, exc)
    log.info("enumerating the NAS-Bench-101 space once (cached in %s)", path)
    table = build_cell_table(progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
    np.savez(tmp, **table.arrays())  # type: ignore[arg-type]  # numpy's stub: **kwds vs allow_pickle
    os.replace(tmp, path)
    _TABLE = table
    return table


__all__ = ["CellTable", "NUM_CELLS", "build_cell_table", "cache_path", "enumerate_cells",
           "hash_from_neighbours"]
