"""The official NAS-Bench-101 module hash (``graph_util.hash_module``), bit for bit.

The original hashes ``str((out_degree, in_degree, label))`` of each vertex with MD5, then refines
it for ``num_vertices`` rounds with the sorted hashes of in- and out-neighbours (a Weisfeiler-Lehman
style iteration), and finally hashes the sorted list of vertex hashes.  The original formats the
degrees with ``str`` of numpy scalars converted by ``tolist``, so a float matrix would change the
hash; here degrees are always Python ints, so bool/int/float 0-1 matrices hash alike.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

_md5 = hashlib.md5


def hash_graph(adjacency: Sequence[Sequence[int]], labels: Sequence[int]) -> str:
    """Hash of a labelled DAG given as a square 0/1 adjacency (rows = sources) and int labels."""
    n = len(labels)
    ins: list[list[int]] = [[] for _ in range(n)]
    outs: list[list[int]] = [[] for _ in range(n)]
    for src in range(n):
        row = adjacency[src]
        for dst in range(n):
            if row[dst]:
                outs[src].append(dst)
                ins[dst].append(src)
    return hash_from_neighbours(ins, outs, labels)


def hash_from_neighbours(ins: Sequence[Sequence[int]], outs: Sequence[Sequence[int]],
                         labels: Sequence[int]) -> str:
    """Core of :func:`hash_graph` for callers that already hold neighbour lists."""
    n = len(labels)
    hashes = [_md5(str((len(outs[v]), len(ins[v]), int(labels[v]))).encode()).hexdigest()
              for v in range(n)]
    for _ in range(n):
        hashes = [
            _md5(("".join(sorted([hashes[w] for w in ins[v]])) + "|"
                  + "".join(sorted([hashes[w] for w in outs[v]])) + "|"
                  + hashes[v]).encode()).hexdigest()
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)).encode()).hexdigest()
