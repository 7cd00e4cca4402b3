"""SMAC3 (2.x) through its ask/tell API with the paper's settings (S2.2): a random forest of 5
trees, random configurations with probability 0.33, a non-deterministic objective evaluated at
most once per configuration.

Where SMAC3 has moved since the paper: the paper ran SMAC3 0.x (2019), whose scenario API and
acquisition optimizer no longer exist.  SMAC3 2.x's hyperparameter-optimization facade keeps
the paper's model and intensification settings; what the paper leaves open takes SMAC3 2.x's
own defaults, among them 10,000 random challengers and 10 local searches per acquisition
maximization (this project used 1,000 challengers before, for speed: ``params: {challengers:
1000}`` gives that back).  The initial design is 10 Sobol configurations (this project's: the
facade's default, 10 per hyperparameter, would be 220 here).  The nas_benchmarks script
``run_smac.py`` used 10 trees and up to 4 evaluations per configuration (``params: {n_trees:
10, max_config_calls: 4}``).

Two engines make the same decisions: ``engine: smac3`` is SMAC3's own code path, nothing
replaced; the default, ``fast``, swaps SMAC3's hot paths for exact equivalents (the same trees,
floats, random draws and neighbours; see :mod:`optimizers.smac_fast`,
:mod:`optimizers.smac_selector` and :mod:`optimizers.smac_membership`) and compares
configurations of one space by their vectors (:func:`_fast_configuration_equality`).  The
engine is a speed-only setting (left out of a run's identity and file);
``tests/test_smac_fast.py`` checks that the run files are the same bytes.

SMAC runs in-process and single-threaded (no dask workers, no joblib threads in the forest:
parallel workers are the simulator's job).  It writes its run history to an output directory;
that is a temporary folder removed by ``close()``.  SMAC seeds its own RandomState from the
seed we pass, drawn from the run's Generator.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .base import Optimizer, Param, Result, SearchExhausted, Trial
from .space import plain_config


class SMAC(Optimizer):
    """SMAC (Hutter et al., 2011) through SMAC3's ask/tell: a random forest of 5 trees,
    random configurations with probability 0.33, at most 1 evaluation per configuration (the
    paper's settings)."""

    name = "smac"
    cost_hint = 100
    params = {"n_trees": Param(5, int, 1, None, help="trees of the random forest"),
              "random_probability": Param(0.33, float, 0.0, 1.0,
                                          help="share of random configurations"),
              "max_config_calls": Param(1, int, 1, None, help="evaluations per configuration"),
              "initial_configs": Param(10, int, 1, None, help="initial design size"),
              "challengers": Param(10_000, int, 1, None,
                                   help="random acquisition candidates per ask"),
              "local_search_iterations": Param(10, int, 1, None,
                                               help="local searches of the acquisition function"),
              "engine": Param("fast", str, choices=("fast", "smac3"), speed_only=True,
                              help="SMAC3 with exact replacements of its hot paths (ours) or "
                                   "SMAC3's own code path: the same decisions")}

    def __init__(self, space, budgets, rng=None, **hyperparameters):
        super().__init__(space, budgets, rng, **hyperparameters)
        from smac import HyperparameterOptimizationFacade as HPO
        from smac import Scenario
        from smac.model.random_forest import RandomForest

        fast = self.settings["engine"] == "fast"
        if fast:
            from .smac_fast import FastRandomForest as RandomForest
            from .smac_fast import install
            from .smac_selector import BatchedConfigSelector
        self._dir = tempfile.mkdtemp(prefix="nasbench-smac-")
        s = self.settings
        scenario = Scenario(space, deterministic=False, n_trials=10**9,
                            seed=int(self.rng.integers(2**31 - 1)),
                            output_directory=Path(self._dir))
        self._facade = HPO(
            scenario, target_function=_never_called,
            model=RandomForest(  # HPO.get_model's settings, but single-threaded
                configspace=space, n_trees=s["n_trees"], log_y=True, ratio_features=1.0,
                min_samples_split=2, min_samples_leaf=1, seed=scenario.seed, n_jobs=1),
            random_design=HPO.get_random_design(scenario, probability=s["random_probability"]),
            intensifier=HPO.get_intensifier(scenario, max_config_calls=s["max_config_calls"]),
            initial_design=HPO.get_initial_design(scenario, n_configs=s["initial_configs"]),
            acquisition_maximizer=HPO.get_acquisition_maximizer(
                scenario, challengers=s["challengers"],
                local_search_iterations=s["local_search_iterations"]),
            config_selector=BatchedConfigSelector(scenario) if fast else None,  # None: SMAC's
            overwrite=True, logging_level=False)  # False: leave the logging setup alone
        if fast:
            install(self._facade)
        self._exact_equality = _fast_configuration_equality if fast else contextlib.nullcontext
        self._infos = {}

    def ask(self) -> Trial:
        from smac.main.exceptions import ConfigurationSpaceExhaustedException

        try:
            with self._exact_equality():
                info = self._facade.ask()
        except ConfigurationSpaceExhaustedException:   # every configuration already seen
            raise SearchExhausted(f"{self.name}: no new configuration left") from None
        trial = self.new_trial(plain_config(info.config), smac_seed=info.seed)
        self._infos[trial.id] = info
        return trial

    def tell(self, trial: Trial, result: Result) -> None:
        from smac.runhistory import TrialValue

        cost = 1.0 if result.invalid else result.validation_error
        with self._exact_equality():
            self._facade.tell(self._infos.pop(trial.id), TrialValue(cost=cost, time=result.cost),
                              save=False)

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


@contextlib.contextmanager
def _fast_configuration_equality() -> Iterator[None]:
    """Within the block, compare ConfigSpace configurations of the same space by their vectors
    and reuse each configuration's text once made.

    SMAC's intensifier tests membership in lists of configurations on every ask, and
    ``Configuration.__eq__`` rebuilds both value dicts and compares the whole spaces each time:
    half of SMAC's time after a few hundred evaluations.  For two configurations of the *same*
    space object the vectors determine the values one to one, so comparing them gives the same
    answer; anything else falls back to ConfigSpace's own comparison.  SMAC's run history also
    hashes configurations (``hash(repr(config))``, the text rebuilt from the values each time)
    thousands of times per ask: the text is kept with the vector's bytes it was made from and
    remade whenever they differ, so it is always the text ConfigSpace would make.  The class is
    patched only while SMAC's own calls run (single-threaded) and restored after, so nothing
    outside them sees it.
    """
    from ConfigSpace.configuration import Configuration

    original = Configuration.__dict__["__eq__"]
    original_str = Configuration.__dict__["__str__"]
    if getattr(original, "_nasbench_fast", False):   # already inside such a block
        yield
        return

    def __eq__(self, other):  # noqa: N807 - replaces the dunder
        if isinstance(other, Configuration) and self.config_space is other.config_space:
            return bool(np.array_equal(self._vector, other._vector, equal_nan=True))
        return original(self, other)

    def __str__(self):  # noqa: N807 - replaces the dunder
        key = self._vector.tobytes()
        cached = self.__dict__.get("_nasbench_str")
        if cached is None or cached[0] != key:
            cached = self._nasbench_str = (key, original_str(self))
        return cached[1]

    __eq__._nasbench_fast = True  # type: ignore[attr-defined]
    # a patch for the block's duration only (mypy refuses any assignment to a method)
    Configuration.__eq__, Configuration.__str__ = __eq__, __str__  # type: ignore[method-assign]
    try:
        yield
    finally:
        Configuration.__eq__, Configuration.__str__ = original, original_str  # type: ignore[method-assign]


def _never_called(config, seed: int = 0) -> float:
    raise RuntimeError("SMAC is driven through ask/tell; the simulator evaluates trials")
