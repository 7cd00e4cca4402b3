"""HPOBench's ``NASCifar10ABenchmark``/``B``/``C`` (``hpobench.benchmarks.nas.nasbench_101``),
over this project's table.

Usage, as HPOBench's::

    from benchmark.compat.hpobench import NASCifar10ABenchmark

    b = NASCifar10ABenchmark(data_path="~/nb101", rng=1)   # nasbench_full.tfrecord in it
    config = b.get_configuration_space(seed=1).sample_configuration()
    b.objective_function(config, fidelity={"budget": 12})  # function_value, cost, info

Same as HPOBench (v0.0.4 of the benchmark): ``objective_function(configuration, fidelity,
run_index=(0, 1, 2))`` returns ``{'function_value': 1 - mean validation accuracy over the
runs, 'cost': their summed training time, 'info': {...}}``; ``run_index=None`` draws one run
from the benchmark's rng; an invalid cell gives accuracies and times of 0 (function value 1,
cost 0); ``objective_function_test`` is the mean test error over the three runs at the fidelity
(default: the largest).  Configurations and fidelities are checked against their spaces, a
mismatch raising ``ValueError`` naming the value.  Different: nothing is downloaded
(``data_path`` is the folder of the official file, a store, a ``.tfrecord`` or
``"surrogate"``), and no process-wide RNG is touched (``get_configuration_space(None)``
seeds the space from fresh entropy).
"""
from __future__ import annotations

import os
from typing import Any

import ConfigSpace as CS
import numpy as np

from .nas_benchmarks import NASCifar10, NASCifar10A, NASCifar10B, NASCifar10C
from .nasbench_api import OutOfDomainError

__version__ = "0.0.4"   # the HPOBench benchmark version whose behaviour this follows
BUDGETS = [4, 12, 36, 108]
_FAILURE = {"test_accuracy": 0, "train_accuracy": 0, "validation_accuracy": 0,
            "training_time": 0, "info": "failure", "trainable_parameters": 0,
            "module_operations": 0}


class NASCifar10BaseBenchmark:
    """Base class; use the A, B and C subclasses."""

    benchmark_class: type[NASCifar10]

    def __init__(self, data_path: str | os.PathLike | None = None,
                 rng: np.random.RandomState | np.random.Generator | int | None = None,
                 **kwargs: Any):
        if data_path is None:
            raise ValueError("data_path: the folder holding nasbench_full.tfrecord (or a store, "
                             "or 'surrogate'); this version downloads nothing")
        self.rng = _rng(rng)
        self.benchmark = self.benchmark_class(data_path, multi_fidelity=True,
                                              seed=int(self.rng.integers(2**31)))
        self.data_path = data_path
        self.configuration_space = self.get_configuration_space()
        self.fidelity_space = self.get_fidelity_space()

    def objective_function(self, configuration, fidelity: dict | None = None,
                           run_index: int | tuple | list | None = (0, 1, 2),
                           rng: np.random.RandomState | np.random.Generator | int | None = None,
                           **kwargs: Any) -> dict[str, Any]:
        if rng is not None:
            self.rng = _rng(rng)
        configuration, fidelity = self._checked(configuration, fidelity)
        runs = self._run_indices(run_index)
        self.benchmark.reset_tracker()
        train, valid, test, times = [], [], [], []
        additional: dict[str, Any] = {}
        for run in runs:
            data = self._query(configuration, fidelity["budget"], run)
            train.append(data["train_accuracy"])
            valid.append(data["validation_accuracy"])
            test.append(data["test_accuracy"])
            times.append(data["training_time"])
            additional = {"trainable_parameters": data["trainable_parameters"],
                          "module_operations": data["module_operations"]}
        return {"function_value": float(1 - np.mean(valid)), "cost": float(np.sum(times)),
                "info": {"fidelity": fidelity, "train_accuracies": train,
                         "valid_accuracies": valid, "test_accuracies": test,
                         "training_times": times, "data": additional}}

    def objective_function_test(self, configuration, fidelity: dict | None = None,
                                rng: np.random.RandomState | np.random.Generator | int | None
                                = None, **kwargs: Any) -> dict[str, Any]:
        result = self.objective_function(configuration, fidelity, run_index=(0, 1, 2), rng=rng)
        result["function_value"] = float(1 - np.mean(result["info"]["test_accuracies"]))
        return result

    def _query(self, config: dict, budget: int, run: int) -> dict[str, Any]:
        """HPOBench's ``_query_benchmark``: one given run, recorded by the tracker."""
        b = self.benchmark
        spec = b.model_spec(config)
        try:
            if spec is None:
                raise OutOfDomainError("more than 9 edges")
            data = b.dataset.query_run(spec, budget, run)
        except OutOfDomainError:
            b.record_invalid(config, 1, 1, 0)
            return dict(_FAILURE)
        b.record_valid(config, data, spec)
        data.pop("module_adjacency")
        return data

    def _run_indices(self, run_index) -> tuple[int, ...]:
        if run_index is None:
            return (int(self.rng.choice((0, 1, 2))),)
        if isinstance(run_index, (int, np.integer)) and not isinstance(run_index, bool):
            if not 0 <= run_index <= 2:
                raise ValueError(f"run_index must be in [0, 2], not {run_index}")
            return (int(run_index),)
        if isinstance(run_index, (tuple, list)):
            if not 0 < len(run_index) <= 3:
                raise ValueError("run_index must not be empty")
            if min(run_index) < 0 or max(run_index) > 2:
                raise ValueError(f"all run_index values must be in [0, 2], but were {run_index}")
            return tuple(sorted(set(run_index))) if len(set(run_index)) != len(run_index) \
                else tuple(run_index)
        raise ValueError(f"run index must be one of Tuple or Int, but was {type(run_index)}")

    def _checked(self, configuration, fidelity) -> tuple[dict, dict]:
        """Configuration and fidelity as dicts, checked against their spaces (HPOBench's
        ``check_parameters``); the fidelity defaults to the largest budget."""
        config = dict(configuration)
        try:
            CS.Configuration(self.configuration_space, values=config).check_valid_configuration()
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{type(self).__name__}: configuration {config!r} does not fit "
                             f"the configuration space: {exc}") from None
        fidelity = {"budget": 108, **dict(fidelity or {})}
        if set(fidelity) != {"budget"} or fidelity["budget"] not in BUDGETS:
            raise ValueError(f"{type(self).__name__}: fidelity {fidelity!r} must be "
                             f"{{'budget': one of {BUDGETS}}}")
        return config, fidelity

    @classmethod
    def get_configuration_space(cls, seed: int | None = None) -> CS.ConfigurationSpace:
        cs = cls.benchmark_class.get_configuration_space()
        cs.seed(seed if seed is not None else int(np.random.default_rng().integers(1, 100000)))
        return cs

    @staticmethod
    def get_fidelity_space(seed: int | None = None) -> CS.ConfigurationSpace:
        seed = seed if seed is not None else int(np.random.default_rng().integers(1, 100000))
        space = CS.ConfigurationSpace(seed=seed)
        space.add([CS.OrdinalHyperparameter("budget", sequence=BUDGETS, default_value=108)])
        return space

    @staticmethod
    def get_meta_information() -> dict[str, Any]:
        return {"name": "Tabular Benchmarks for Hyperparameter Optimization and Neural "
                        "Architecture Search",
                "references": ["@article{klein2019tabular,"
                               "title   = {Tabular benchmarks for joint architecture and "
                               "hyperparameter optimization},"
                               "author  = {Klein, Aaron and Hutter, Frank},"
                               "journal = {arXiv preprint arXiv:1905.04970},"
                               "year    = {2019}}",
                               "https://arxiv.org/abs/1905.04970"],
                "code": "https://github.com/automl/nas_benchmarks"}


def _rng(rng) -> np.random.Generator:
    """HPOBench's ``get_rng`` without the global RNG: a Generator is used as given, a
    RandomState seeds a Generator with one draw, an int seeds one, None uses fresh entropy."""
    if isinstance(rng, np.random.RandomState):
        return np.random.default_rng(int(rng.randint(2**31)))
    if rng is None or isinstance(rng, (int, np.integer, np.random.Generator)) and not isinstance(
            rng, bool):
        return np.random.default_rng(rng)   # a Generator is used as given
    raise ValueError(f"rng must be an int, None, a RandomState or a Generator, got {rng!r}")


class NASCifar10ABenchmark(NASCifar10BaseBenchmark):
    benchmark_class = NASCifar10A


class NASCifar10BBenchmark(NASCifar10BaseBenchmark):
    benchmark_class = NASCifar10B


class NASCifar10CBenchmark(NASCifar10BaseBenchmark):
    benchmark_class = NASCifar10C
