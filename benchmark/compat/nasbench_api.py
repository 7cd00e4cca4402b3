"""google-research/nasbench's ``nasbench.api``, over a store and without TensorFlow.

Usage, as the original's::

    import benchmark.compat.nasbench_api as api

    nasbench = api.NASBench('nasbench_only108.tfrecord')   # converted once, then memory-mapped
    cell = api.ModelSpec(matrix=[[0, 1, 1], [0, 0, 1], [0, 0, 0]],
                         ops=[api.INPUT, api.CONV3X3, api.OUTPUT])
    data = nasbench.query(cell)        # one of the 3 runs, sampled from nasbench's Generator

What is the same: ``ModelSpec(matrix, ops, data_format)`` with ``original_matrix``,
``original_ops``, ``matrix``, ``ops``, ``valid_spec``, ``hash_spec(canonical_ops)`` (no op
check at construction: ``NASBench.is_valid`` returns False for an unknown op, ``query`` raises
``OutOfDomainError``), and ``NASBench`` with ``config``, ``valid_epochs``, ``query``,
``is_valid``, ``get_budget_counters``, ``reset_budget_counters``, ``evaluate``,
``hash_iterator``, ``get_metrics_from_hash``, ``get_metrics_from_spec``, the same dict keys and
the same ``OutOfDomainError`` cases and messages.  What differs: the repeat of ``query`` comes
from ``numpy.random.default_rng(seed)``, not the global ``random`` module; ``NASBench``
also opens a converted store or ``NASBench.surrogate()`` (the embedded table); loading takes
milliseconds and prints nothing; ``evaluate`` trains with this project's trainer (Keras 3,
the ``trainer`` extra) on the CIFAR-10 data named by ``config['cifar10']``.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..api import NASBench as _NASBench
from ..errors import OutOfDomainError
from ..space.constants import CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OUTPUT
from ..space.hashing import hash_graph
from ..space.spec import ModelSpec as _ModelSpec
from ..space.spec import _as_matrix

__all__ = ["CONV1X1", "CONV3X3", "INPUT", "MAXPOOL3X3", "OUTPUT", "ModelSpec", "NASBench",
           "OutOfDomainError"]


class ModelSpec(_ModelSpec):
    """``nasbench.lib.model_spec.ModelSpec``: a matrix and ops, pruned at construction.

    Raises ``ValueError`` for a matrix that is not square or not upper triangular, or ops of
    another length; the ops' names are checked by ``NASBench`` (``is_valid``, ``query``).
    Entries must be 0 or 1 (the original accepted any number, with undefined results)."""

    def __init__(self, matrix: Any, ops: list[str], data_format: str = "channels_last"):
        shape = np.shape(matrix := np.asarray(matrix))
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError("matrix must be square")
        if shape[0] != len(ops):
            raise ValueError("length of ops must match matrix dimensions")
        original, succ = _as_matrix(matrix)
        self._prune(original, succ, copy.deepcopy(list(ops)))
        self.data_format = data_format

    def hash_spec(self, canonical_ops: list[str]) -> str:
        """The isomorphism-invariant MD5 hash; ``canonical_ops`` orders the op labels."""
        if self.ops is None or self.rows is None:
            raise ValueError("spec is disconnected: input does not reach output")
        labeling = [-1] + [canonical_ops.index(op) for op in self.ops[1:-1]] + [-2]
        return hash_graph(self.rows, labeling)

    def visualize(self):
        """A graphviz ``Digraph`` of the pruned cell (needs the graphviz package)."""
        try:
            import graphviz
        except ImportError:
            raise ImportError("ModelSpec.visualize needs graphviz (pip install graphviz)") \
                from None
        if self.ops is None or self.matrix is None:
            raise ValueError("spec is disconnected: input does not reach output")
        n = np.shape(self.matrix)[0]
        g = graphviz.Digraph()
        g.node(str(0), "input")
        for v in range(1, n - 1):
            g.node(str(v), self.ops[v])
        g.node(str(n - 1), "output")
        for src in range(n - 1):
            for dst in range(src + 1, n):
                if self.matrix[src, dst]:
                    g.edge(str(src), str(dst))
        return g


class NASBench(_NASBench):
    """``nasbench.api.NASBench(dataset_file, seed=None)``: the table of an official
    ``.tfrecord`` (converted into a store beside it on first use) or of a store."""

    def __init__(self, dataset_file: str | Path, seed: int | None = None):
        super().__init__(dataset_file, seed)

    def _init_store(self, store, seed) -> None:
        super()._init_store(store, seed)
        self.config.update({"num_repeats": 3, "cifar10": None})
        self.history: dict = {}

    def _check_spec(self, model_spec: _ModelSpec) -> None:
        """The original's checks, in its order and with its messages."""
        if not model_spec.valid_spec:
            raise OutOfDomainError("invalid spec, provided graph is disconnected.")
        assert model_spec.ops is not None   # a connected spec has its pruned ops
        num_vertices, num_edges = len(model_spec.ops), model_spec.num_edges
        if num_vertices > self.config["module_vertices"]:
            raise OutOfDomainError("too many vertices, got %d (max vertices = %d)"
                                   % (num_vertices, self.config["module_vertices"]))
        if num_edges > self.config["max_edges"]:
            raise OutOfDomainError("too many edges, got %d (max edges = %d)"
                                   % (num_edges, self.config["max_edges"]))
        if model_spec.ops[0] != "input":
            raise OutOfDomainError("first operation should be 'input'")
        if model_spec.ops[-1] != "output":
            raise OutOfDomainError("last operation should be 'output'")
        for op in model_spec.ops[1:-1]:
            if op not in self.config["available_ops"]:
                raise OutOfDomainError("unsupported op %s (available ops = %s)"
                                       % (op, self.config["available_ops"]))

    def _hash_spec(self, model_spec: _ModelSpec) -> str:
        return model_spec.hash()

    def query(self, model_spec: _ModelSpec, epochs: int = 108,  # type: ignore[override]
              stop_halfway: bool = False) -> dict[str, Any]:   # the original's, without repeat
        """One of the runs of ``model_spec`` at ``epochs`` (sampled); increments the budget
        counters.  ``OutOfDomainError`` for a spec or epochs outside the space."""
        if epochs not in self.valid_epochs:
            raise OutOfDomainError("invalid number of epochs, must be one of %s"
                                   % self.valid_epochs)
        return super().query(model_spec, epochs, stop_halfway)

    def query_run(self, model_spec: _ModelSpec, epochs: int = 108, run: int = 0,
                  stop_halfway: bool = False) -> dict[str, Any]:
        """``query`` of a given run (0, 1 or 2), as HPOBench's ``modified_query``: the budget
        counters are left alone."""
        if epochs not in self.valid_epochs:
            raise OutOfDomainError("invalid number of epochs, must be one of %s"
                                   % self.valid_epochs)
        spent = self.training_time_spent, self.total_epochs_spent
        data = super().query(model_spec, epochs, stop_halfway, repeat=run)
        self.training_time_spent, self.total_epochs_spent = spent
        return data

    def evaluate(self, model_spec: _ModelSpec, model_dir: str | Path, *,
                 epochs: int = 108, config=None, seed: int = 0) -> dict[str, Any]:
        """Train ``model_spec`` from scratch (the pipeline that made the table) and return what
        ``query`` returns; ``metadata.json`` in ``model_dir`` holds every evaluation.  Needs the
        trainer extra (Keras 3 and a backend) and ``self.config['cifar10']``, a CIFAR-10
        tarball or image folder (``nasbench data cifar10`` downloads it)."""
        if not self.config.get("cifar10"):
            raise ValueError("evaluate needs the CIFAR-10 data: set nasbench.config['cifar10'] "
                             "to the tarball or folder ('nasbench data cifar10' downloads it)")
        from trainer.cifar import load  # the trainer extra; TrainerUnavailable without it
        from trainer.train import train

        self._check_spec(model_spec)
        result = train(model_spec, epochs, load(self.config["cifar10"]), config, seed=seed)
        final = result.evaluations[-1]
        metadata = {"trainable_params": result.trainable_parameters,
                    "total_time": result.total_time,
                    "evaluation_results": [e.__dict__ for e in result.evaluations]}
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        from ..fileutil import atomic_write_text

        atomic_write_text(model_dir / "metadata.json", json.dumps(metadata, indent=2))
        return {"module_adjacency": model_spec.matrix, "module_operations": model_spec.ops,
                "trainable_parameters": result.trainable_parameters,
                "training_time": final.training_time, "train_accuracy": final.train_accuracy,
                "validation_accuracy": final.validation_accuracy,
                "test_accuracy": final.test_accuracy}
