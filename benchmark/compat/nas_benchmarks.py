"""automl/nas_benchmarks' ``tabular_benchmarks.NASCifar10A/B/C``, the code behind the paper's
optimizer comparison, over this project's table.

Usage, as the original's::

    from benchmark.compat.nas_benchmarks import NASCifar10A

    b = NASCifar10A(data_dir="~/nb101", multi_fidelity=True)   # nasbench_full.tfrecord in it
    cs = b.get_configuration_space()
    y, cost = b.objective_function(cs.sample_configuration(), budget=12)
    b.get_results(ignore_invalid_configs=True)   # regret_validation, regret_test, runtime

Same as the original: the encodings (A: 21 binary edges; B: 9 edge indices; C: 21 edge weights
and ``num_edges``), ``objective_function(config, budget) -> (1 - validation accuracy of one
sampled run, its training time)``, ``(1, 0)`` for an invalid cell, the tracker (``X``,
``y_valid``, ``y_test`` = the 108-epoch mean test error, ``costs``) and ``get_results``'s
incumbent trajectory.  Different: the run is sampled from a Generator seeded by ``seed``;
``data_dir`` may also name a store, a ``.tfrecord`` or ``"surrogate"`` (the embedded table);
on the surrogate the regrets are to its own optimum, on real data to the paper's constants;
a configuration that does not fit its encoding raises ``ConfigError`` naming the
hyperparameter (the original raised a bare ``KeyError``); ``objective_function_test`` returns
the test error of the 108-epoch mean, as HPOBench's does.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ConfigSpace as CS
import numpy as np

from ..objectives.encodings import Encoding, get_encoding
from .nasbench_api import ModelSpec, NASBench, OutOfDomainError

MAX_EDGES = 9
VERTICES = 7
#: The paper's optimum of the real table (nas_benchmarks' constants).
Y_STAR_VALID = 0.04944576819737756   # lowest mean validation error
Y_STAR_TEST = 0.056824247042338016   # lowest mean test error


def open_table(data_dir: str | os.PathLike, multi_fidelity: bool, seed: int | None) -> NASBench:
    """The original's file in ``data_dir`` (``nasbench_full.tfrecord`` for multi-fidelity,
    else ``nasbench_only108.tfrecord``), or ``data_dir`` itself if it is a store or a file, or
    the embedded table for ``"surrogate"``."""
    if str(data_dir) == "surrogate":
        return NASBench.surrogate(rng=seed)
    path = Path(data_dir).expanduser()
    if path.is_dir() and not (path / "manifest.json").exists():
        path = path / ("nasbench_full.tfrecord" if multi_fidelity else "nasbench_only108.tfrecord")
    return NASBench(path, seed)


class NASCifar10:
    """Base class: the table, the tracker and the trajectory (``get_results``)."""

    encoding: Encoding

    def __init__(self, data_dir: str | os.PathLike, multi_fidelity: bool = True,
                 seed: int | None = None):
        self.multi_fidelity = multi_fidelity
        self.dataset = open_table(data_dir, multi_fidelity, seed)
        if self.dataset.is_surrogate:
            self.y_star_valid = 1 - self.dataset.best_mean_validation_accuracy
            self.y_star_test = 1 - self.dataset.best_mean_test_accuracy
        else:
            self.y_star_valid, self.y_star_test = Y_STAR_VALID, Y_STAR_TEST
        self.reset_tracker()

    def reset_tracker(self) -> None:
        self.X: list = []
        self.y_valid: list[float] = []
        self.y_test: list[float] = []
        self.costs: list[float] = []

    def record_invalid(self, config, valid: float, test: float, costs: float) -> None:
        self.X.append(config)
        self.y_valid.append(valid)
        self.y_test.append(test)
        self.costs.append(costs)

    def record_valid(self, config, data: dict[str, Any], model_spec: ModelSpec) -> None:
        self.X.append(config)
        _, metrics = self.dataset.get_metrics_from_spec(model_spec)
        self.y_test.append(1 - np.mean([metrics[108][i]["final_test_accuracy"]
                                        for i in range(3)]))
        self.y_valid.append(1 - data["validation_accuracy"])
        self.costs.append(data["training_time"])

    def model_spec(self, config) -> ModelSpec | None:
        """The configuration's cell, or None when it has more than 9 edges before pruning."""
        matrix, ops = self.encoding.raw_cell(config)
        if int(matrix.sum()) > self.encoding.max_raw_edges:
            return None
        return ModelSpec(matrix, ops)

    def objective_function(self, config, budget: int = 108) -> tuple[float, float]:
        """(validation error of one sampled run, its training time); (1, 0) if invalid."""
        if self.multi_fidelity is False and budget != 108:
            raise ValueError(f"budget {budget!r}: a single-fidelity benchmark has only 108")
        spec = self.model_spec(config)
        try:
            if spec is None:
                raise OutOfDomainError("more than 9 edges")
            data = self.dataset.query(spec, epochs=budget)
        except OutOfDomainError:
            self.record_invalid(config, 1, 1, 0)
            return 1, 0
        self.record_valid(config, data, spec)
        return 1 - data["validation_accuracy"], data["training_time"]

    def objective_function_test(self, config, budget: int = 108) -> tuple[float, float]:
        """(test error of the mean over the 3 runs at ``budget``, their mean training time);
        (1, 0) if invalid.  Not recorded by the tracker."""
        spec = self.model_spec(config)
        if spec is None or not self.dataset.is_valid(spec):
            return 1, 0
        _, metrics = self.dataset.get_metrics_from_spec(spec)
        runs = metrics[budget]
        return (float(1 - np.mean([r["final_test_accuracy"] for r in runs])),
                float(np.mean([r["final_training_time"] for r in runs])))

    def get_results(self, ignore_invalid_configs: bool = False) -> dict[str, list[float]]:
        regret_validation, regret_test, runtime = [], [], []
        rt: float = 0
        inc_valid = inc_test = np.inf
        for i in range(len(self.X)):
            if ignore_invalid_configs and self.costs[i] == 0:
                continue
            if inc_valid > self.y_valid[i]:
                inc_valid, inc_test = self.y_valid[i], self.y_test[i]
            regret_validation.append(float(inc_valid - self.y_star_valid))
            regret_test.append(float(inc_test - self.y_star_test))
            rt += self.costs[i]
            runtime.append(float(rt))
        return {"regret_validation": regret_validation, "regret_test": regret_test,
                "runtime": runtime}

    @classmethod
    def get_configuration_space(cls) -> CS.ConfigurationSpace:
        return cls.encoding.config_space()


class NASCifar10A(NASCifar10):
    """Encoding A: ``op_node_0..4`` and 21 binary ``edge_i`` (row-major upper triangle)."""

    encoding = get_encoding("A")


class NASCifar10B(NASCifar10):
    """Encoding B: ``op_node_0..4`` and 9 ``edge_i``, each an index of the 21 edge slots."""

    encoding = get_encoding("B")


class NASCifar10C(NASCifar10):
    """Encoding C: ``op_node_0..4``, ``num_edges`` and 21 edge weights; the heaviest
    ``num_edges`` slots are the edges."""

    encoding = get_encoding("C")
