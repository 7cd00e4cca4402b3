"""Enumeration and hashing against plain pure-Python versions of the original algorithms."""
from __future__ import annotations

import hashlib
import itertools

import numpy as np

from benchmark.space import ModelSpec
from benchmark.space.enumeration import build_cell_table

from .common import QUICK, per_call, row, timed


def original_hash_module(matrix: np.ndarray, labeling: list[int]) -> str:
    """``graph_util.hash_module`` of the original code, as published."""
    vertices = np.shape(matrix)[0]
    in_edges = np.sum(matrix, axis=0).tolist()
    out_edges = np.sum(matrix, axis=1).tolist()
    hashes = list(zip(out_edges, in_edges, labeling))
    hashes = [hashlib.md5(str(h).encode("utf-8")).hexdigest() for h in hashes]
    for _ in range(vertices):
        new_hashes = []
        for v in range(vertices):
            in_neighbors = [hashes[w] for w in range(vertices) if matrix[w, v]]
            out_neighbors = [hashes[w] for w in range(vertices) if matrix[v, w]]
            new_hashes.append(hashlib.md5(
                ("".join(sorted(in_neighbors)) + "|" + "".join(sorted(out_neighbors)) + "|"
                 + hashes[v]).encode("utf-8")).hexdigest())
        hashes = new_hashes
    return hashlib.md5(str(sorted(hashes)).encode("utf-8")).hexdigest()


def original_enumeration(max_vertices: int = 7, max_edges: int = 9,
                         vertex_counts=None) -> int:
    """``generate_graphs.py`` in plain Python (lists instead of np.vectorize): unique cells."""
    buckets = set()
    for n in vertex_counts or range(2, max_vertices + 1):
        slots = [(x, y) for y in range(n) for x in range(y)]
        for bits in range(2 ** len(slots)):
            m = [[0] * n for _ in range(n)]
            for k, (x, y) in enumerate(slots):
                if bits >> k & 1:
                    m[x][y] = 1
            if sum(map(sum, m)) > max_edges:
                continue
            if any(not any(m[v]) for v in range(n - 1)) or \
                    any(not any(m[u][v] for u in range(n)) for v in range(1, n)):
                continue
            matrix = np.array(m)
            for labeling in itertools.product(range(3), repeat=n - 2):
                buckets.add(original_hash_module(matrix, [-1, *labeling, -2]))
    return len(buckets)


def main() -> None:
    print("enumeration of all cells (2 cores)")
    ours, table = timed(build_cell_table, progress=False)
    row("ours: enumerate_cells() from scratch", f"{ours:.1f} s", "target <= 20 s", ours <= 20)
    if QUICK:
        base5, n5 = timed(original_enumeration, vertex_counts=range(2, 6))
        row("original algorithm, vertices 2..5 only (PERF_QUICK)", f"{base5:.1f} s")
    else:
        base, count = timed(original_enumeration)
        assert count == len(table) == 423_624, count
        row("original algorithm, pure Python, same machine", f"{base:.1f} s")
        row("speed-up", f"{base / ours:.1f}x")

    rng = np.random.default_rng(0)
    picks = rng.choice(len(table), 2000, replace=False)
    specs = []
    for i in picks:
        n = int(table.num_vertices[i])
        ops = ["input"] + [("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")[x]
                           for x in table.labels[i, 1:n - 1]] + ["output"]
        specs.append(ModelSpec(table.matrices[i, :n, :n], ops))
    print("single-spec hash")
    ours = per_call(lambda s: (setattr(s, "_hash", None), s.hash()), specs)
    base = per_call(lambda s: original_hash_module(s.matrix, s.labels()), specs)
    row("ours: ModelSpec.hash() (median)", f"{ours * 1e6:.1f} us", f"{1 / ours:,.0f}/s")
    row("original hash_module (median)", f"{base * 1e6:.1f} us", f"{1 / base:,.0f}/s")
    row("ratio original/ours", f"{base / ours:.2f}x")
