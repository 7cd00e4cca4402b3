"""``ModelSpec(...)`` + ``NASBench.query`` against the original API's path for the same work.

The original path is re-implemented here from google-research/nasbench as published: its
``ModelSpec.__init__`` (``np.array``, the ``is_upper_triangular`` loop, four deep copies,
``_prune`` with ``np.delete``), ``query`` (``_check_spec``, ``hash_spec`` -> ``hash_module``,
``get_metrics_from_hash``'s deep copies of the fixed and computed statistics, ``random.randint``)
over dicts holding the same cells.  Both sides get fresh specs in the form an optimizer makes:
7x7, unpruned (a vertex off every input-output path where the cell has fewer than 7) and with
the interior vertices in a random topological order.
"""
from __future__ import annotations

import copy
import random

import numpy as np

from benchmark import ModelSpec, NASBench
from benchmark.space.constants import OPS

from .bench_space import original_hash_module
from .common import QUICK, per_call, row


class OriginalModelSpec:
    """``nasbench/lib/model_spec.py`` ``ModelSpec`` (without graphviz)."""

    def __init__(self, matrix, ops, data_format="channels_last"):
        if not isinstance(matrix, np.ndarray):
            matrix = np.array(matrix)
        shape = np.shape(matrix)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError("matrix must be square")
        if shape[0] != len(ops):
            raise ValueError("length of ops must match matrix dimensions")
        if not _is_upper_triangular(matrix):
            raise ValueError("matrix must be upper triangular")
        self.original_matrix = copy.deepcopy(matrix)
        self.original_ops = copy.deepcopy(ops)
        self.matrix = copy.deepcopy(matrix)
        self.ops = copy.deepcopy(ops)
        self.valid_spec = True
        self._prune()
        self.data_format = data_format

    def _prune(self):
        num_vertices = np.shape(self.original_matrix)[0]
        visited_from_input = {0}
        frontier = [0]
        while frontier:
            top = frontier.pop()
            for v in range(top + 1, num_vertices):
                if self.original_matrix[top, v] and v not in visited_from_input:
                    visited_from_input.add(v)
                    frontier.append(v)
        visited_from_output = {num_vertices - 1}
        frontier = [num_vertices - 1]
        while frontier:
            top = frontier.pop()
            for v in range(0, top):
                if self.original_matrix[v, top] and v not in visited_from_output:
                    visited_from_output.add(v)
                    frontier.append(v)
        extraneous = set(range(num_vertices)).difference(
            visited_from_input.intersection(visited_from_output))
        if len(extraneous) > num_vertices - 2:
            self.matrix = None
            self.ops = None
            self.valid_spec = False
            return
        self.matrix = np.delete(self.matrix, list(extraneous), axis=0)
        self.matrix = np.delete(self.matrix, list(extraneous), axis=1)
        for index in sorted(extraneous, reverse=True):
            del self.ops[index]

    def hash_spec(self, canonical_ops):
        labeling = [-1] + [canonical_ops.index(op) for op in self.ops[1:-1]] + [-2]
        return original_hash_module(self.matrix, labeling)


def _is_upper_triangular(matrix) -> bool:
    for src in range(np.shape(matrix)[0]):
        for dst in range(0, src + 1):
            if matrix[src, dst] != 0:
                return False
    return True


class OriginalQuery:
    """``nasbench/api.py`` ``NASBench.query`` over its in-memory dicts."""

    def __init__(self, fixed: dict, computed: dict):
        self.fixed_statistics, self.computed_statistics = fixed, computed
        self.config = {"module_vertices": 7, "max_edges": 9, "available_ops": list(OPS),
                       "num_repeats": 3}
        self.valid_epochs = {4, 12, 36, 108}
        self.training_time_spent, self.total_epochs_spent = 0.0, 0

    def query(self, model_spec, epochs=108, stop_halfway=False):
        if epochs not in self.valid_epochs:
            raise ValueError("invalid number of epochs")
        fixed_stat, computed_stat = self.get_metrics_from_spec(model_spec)
        sampled_index = random.randint(0, self.config["num_repeats"] - 1)
        computed_stat = computed_stat[epochs][sampled_index]
        data = {"module_adjacency": fixed_stat["module_adjacency"],
                "module_operations": fixed_stat["module_operations"],
                "trainable_parameters": fixed_stat["trainable_parameters"]}
        prefix = "halfway_" if stop_halfway else "final_"
        for key in ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy"):
            data[key] = computed_stat[prefix + key]
        self.training_time_spent += data["training_time"]
        self.total_epochs_spent += epochs // 2 if stop_halfway else epochs
        return data

    def get_metrics_from_spec(self, model_spec):
        self._check_spec(model_spec)
        module_hash = model_spec.hash_spec(self.config["available_ops"])
        return (copy.deepcopy(self.fixed_statistics[module_hash]),
                copy.deepcopy(self.computed_statistics[module_hash]))

    def _check_spec(self, model_spec):
        if not model_spec.valid_spec:
            raise ValueError("invalid spec, provided graph is disconnected.")
        num_vertices = len(model_spec.ops)
        num_edges = np.sum(model_spec.matrix)
        if num_vertices > self.config["module_vertices"]:
            raise ValueError("too many vertices")
        if num_edges > self.config["max_edges"]:
            raise ValueError("too many edges")
        if model_spec.ops[0] != "input" or model_spec.ops[-1] != "output":
            raise ValueError("first/last operation")
        for op in model_spec.ops[1:-1]:
            if op not in self.config["available_ops"]:
                raise ValueError("unsupported op")


def optimizer_form(nb: NASBench, row_index: int, rng: np.random.Generator
                   ) -> tuple[list[list[int]], list[str]]:
    """A stored cell as an optimizer proposes it: interior vertices in a random topological
    order, padded to 7 vertices with vertices off every input-output path."""
    spec = nb.spec_of_row(row_index)
    m, ops = spec.matrix, list(spec.ops)
    n = len(ops)
    order = _random_topological_order(m, rng)
    m = m[np.ix_(order, order)]
    ops = [ops[v] for v in order]
    full = np.zeros((7, 7), np.int64)
    where = list(range(n - 1)) + [6]
    full[np.ix_(where, where)] = m
    for v in range(n - 1, 6):   # dangling: fed by the input, feeding nothing
        full[0, v] = 1
    names = ops[:-1] + [OPS[int(rng.integers(3))] for _ in range(7 - n)] + ["output"]
    return full.tolist(), names


def _random_topological_order(m: np.ndarray, rng: np.random.Generator) -> list[int]:
    n = m.shape[0]
    indegree = m.sum(axis=0).tolist()
    ready, order = [0], []
    while ready:
        v = ready.pop(int(rng.integers(len(ready))))
        order.append(v)
        for w in range(n):
            if m[v, w]:
                indegree[w] -= 1
                if indegree[w] == 0:
                    ready.append(w)
    # input first, output last by construction (the only source and sink of a pruned cell)
    return order


def main() -> None:
    nb = NASBench.surrogate(rng=0)
    rng = np.random.default_rng(0)
    cells = 1000 if QUICK else 5000
    rows = rng.choice(len(nb), cells, replace=False).tolist()
    forms = [optimizer_form(nb, r, rng) for r in rows]
    fixed, computed = {}, {}
    for r in rows:
        h = nb.hashes[r].decode()
        fixed[h], computed[h] = nb.get_metrics_from_hash(h)
    original = OriginalQuery(fixed, computed)
    random.seed(0)
    for f in forms[:200]:   # the same cell on both sides
        ours_, theirs_ = nb.query(ModelSpec(*f)), original.query(OriginalModelSpec(*f))
        assert ours_["module_operations"] == theirs_["module_operations"]
        assert np.array_equal(ours_["module_adjacency"], theirs_["module_adjacency"])

    theirs = per_call(lambda f: original.query(OriginalModelSpec(*f)), forms)
    fresh = NASBench.surrogate(rng=0)   # every spec unseen by this instance
    ours = per_call(lambda f: fresh.query(ModelSpec(*f)), forms)
    build = per_call(lambda f: ModelSpec(*f), forms)
    print(f"ModelSpec(...) + query, {cells} unseen, unpruned, permuted specs")
    row("ours: ModelSpec + query (median)", f"{ours * 1e6:.1f} us")
    row("  of which ModelSpec (median)", f"{build * 1e6:.1f} us")
    row("original path, same machine (median)", f"{theirs * 1e6:.1f} us")
    row("ratio original/ours", f"{theirs / ours:.1f}x", "target >= 10x", theirs / ours >= 10)


if __name__ == "__main__":
    main()
