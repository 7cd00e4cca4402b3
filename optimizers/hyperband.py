"""Hyperband and BOHB: synchronous successive-halving brackets as in hpbandster.

With eta 3 and budgets 4 -> 108 the brackets hold 27/9/3/1, 9/3/1, 6/2 and 4 configurations
(65 evaluations per cycle).  A stage waits for all its results before the best ``1/eta`` move
up (``ask`` returns ``None`` meanwhile: on a cluster those workers would idle).  A promotion is
a new training run at the higher budget, paid in full.  Hyperband samples configurations
uniformly; BOHB asks hpbandster's kernel-density config generator, driven in-process.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import logging
import math
import types
import warnings
from collections.abc import Iterator

import numpy as np

from .base import Optimizer, Param, Result, Trial
from .space import SpaceSampler, plain_config


def bracket_plan(budgets: list[int], eta: int) -> list[tuple[list[int], list[int]]]:
    """(configs per stage, budget per stage) of each bracket, as hpbandster's Hyperband."""
    lo, hi = budgets[0], budgets[-1]
    max_sh_iter = -int(np.log(lo / hi) / np.log(eta)) + 1
    grid = hi * np.power(eta, -np.linspace(max_sh_iter - 1, 0, max_sh_iter))
    plan = []
    for s in range(max_sh_iter - 1, -1, -1):
        n0 = int(np.floor(max_sh_iter / (s + 1)) * eta ** s)
        counts = [max(int(n0 * eta ** (-i)), 1) for i in range(s + 1)]
        stage_budgets = [_snap(b, budgets) for b in grid[-s - 1:]]
        plan.append((counts, stage_budgets))
    return plan


def _snap(value: float, budgets: list[int]) -> int:
    """The available budget nearest to hpbandster's geometric one (4, 12, 36, 108 exactly)."""
    return min(budgets, key=lambda b: abs(math.log(b) - math.log(value)))


class Hyperband(Optimizer):
    """Hyperband (Li et al., 2018) as hpbandster runs it: successive-halving brackets over the
    budgets with eta 3 (the paper's, S2.2), configurations drawn uniformly."""

    name = "hyperband"
    multi_fidelity = True
    params = {"eta": Param(3, int, 2, None, help="halving rate"),
              "min_budget": Param(4, int, 1, None,
                                  help="smallest budget (epochs; the table's smallest)")}

    def __init__(self, space, budgets, rng=None, **hyperparameters):
        super().__init__(space, budgets, rng, **hyperparameters)
        problem = self.budget_problem(self.settings, self.budgets)
        if problem:
            raise ValueError(f"{self.name}: {problem[1]}")
        self.plan = bracket_plan([b for b in self.budgets if b >= self.settings["min_budget"]],
                                 self.settings["eta"])
        self.sampler = SpaceSampler(space)
        self._bracket = -1
        self._start_bracket()

    @classmethod
    def budget_problem(cls, hp, budgets):
        if not any(b >= hp["min_budget"] for b in budgets):
            return "min_budget", (f"min_budget {hp['min_budget']} exceeds every budget of the "
                                  f"benchmark ({', '.join(map(str, budgets))})")
        return None

    # -- config source (overridden by BOHB) --
    def sample_config(self, budget: int) -> tuple[dict, dict]:
        return self.sampler.sample(self.rng), {}

    def observe(self, trial: Trial, result: Result) -> None:
        pass

    # -- successive halving --
    def _start_bracket(self) -> None:
        self._bracket += 1
        counts, budgets = self.plan[self._bracket % len(self.plan)]
        self._counts, self._stage_budgets = counts, budgets
        self._stage = 0
        self._queue: list[dict] = []      # configs still to hand out in this stage
        self._results: dict[int, tuple[float, dict]] = {}  # trial id -> (loss, config)
        self._outstanding = 0
        self._to_sample = counts[0]

    def ask(self) -> Trial | None:
        budget = self._stage_budgets[self._stage]
        if self._to_sample:
            self._to_sample -= 1
            config, info = self.sample_config(budget)
        elif self._queue:
            config, info = self._queue.pop(0), {}
        else:
            return None  # waiting for the stage to finish
        self._outstanding += 1
        return self.new_trial(config, budget, bracket=self._bracket, stage=self._stage, **info)

    def tell(self, trial: Trial, result: Result) -> None:
        self.observe(trial, result)
        if trial.info.get("bracket") != self._bracket or trial.info.get("stage") != self._stage:
            return  # a straggler from an abandoned stage
        self._outstanding -= 1
        loss = math.inf if result.invalid or not math.isfinite(result.validation_error) \
            else result.validation_error
        self._results[trial.id] = (loss, trial.config)
        if self._outstanding or self._to_sample or self._queue:
            return
        self._stage += 1
        if self._stage >= len(self._counts):
            self._start_bracket()
            return
        ranked = sorted(self._results.values(), key=lambda lc: lc[0])  # stable: ties by order
        self._queue = [config for _, config in ranked[:self._counts[self._stage]]]
        self._results = {}


class BOHB(Hyperband):
    """BOHB (Falkner et al., 2018): Hyperband's brackets with hpbandster's kernel-density model
    proposing configurations, with the paper's settings (S2.2): no random configurations once a
    model exists, 4 samples to optimize the acquisition, minimum bandwidth 0.3, bandwidth
    factor 3; the good set is hpbandster's top 15 %.

    The nas_benchmarks scripts ran 64 samples and a third random configurations
    (``params: {num_samples: 64, random_fraction: 0.3333333333333333}``, this project's defaults
    before).  hpbandster 0.7.4, the version the paper used, is still the one installed.
    ``engine: hpbandster`` runs its generator's own ``get_config``; the default, ``fast``, the
    same steps less their overhead (:mod:`optimizers.bohb_fast`; a speed-only setting, left out
    of a run's identity and file)."""

    name = "bohb"
    cost_hint = 50
    params = {**Hyperband.params,
              "top_n_percent": Param(15, int, 1, 99, help="share of results in the good KDE"),
              "num_samples": Param(4, int, 1, None, help="samples to optimize the acquisition"),
              "random_fraction": Param(0.0, float, 0.0, 1.0,
                                       help="share of configurations drawn at random"),
              "bandwidth_factor": Param(3.0, float, 0.0, None,
                                        help="widens the KDE bandwidth when sampling"),
              "min_bandwidth": Param(0.3, float, 0.0, None, help="floor of the KDE bandwidths"),
              "min_points_in_model": Param(0, int, 0, None, help="0: hpbandster's default"),
              "engine": Param("fast", str, choices=("fast", "hpbandster"), speed_only=True,
                              help="hpbandster's generator less its per-sample overhead (ours) "
                                   "or hpbandster's own code path: the same decisions")}

    def __init__(self, space, budgets, rng=None, **hyperparameters):
        super().__init__(space, budgets, rng, **hyperparameters)
        from hpbandster.optimizers.config_generators.bohb import BOHB as KDEGenerator

        from .bohb_fast import FastBOHBGenerator

        generator = FastBOHBGenerator if self.settings["engine"] == "fast" else KDEGenerator
        self._cs = copy.deepcopy(self.space)  # seeded below; the caller's space is untouched
        self._cs.seed(int(self.rng.integers(2**31)))
        s = self.settings
        with self._numpy_global_rng():
            self._generator = generator(
                self._cs, min_points_in_model=s["min_points_in_model"] or None,
                top_n_percent=s["top_n_percent"], num_samples=s["num_samples"],
                random_fraction=s["random_fraction"], bandwidth_factor=s["bandwidth_factor"],
                min_bandwidth=s["min_bandwidth"])
        self._generator.logger = logging.getLogger("hpbandster.bohb")
        # the fast generator on a space it handles draws from its own RandomState
        self._own_random = bool(getattr(self._generator, "plain", False))
        library_impute = self._generator.impute_conditional_data
        self._generator.impute_conditional_data = functools.partial(_impute, library_impute)

    @contextlib.contextmanager
    def _numpy_global_rng(self) -> Iterator[None]:
        """hpbandster draws from numpy's global RNG; give it a state derived from this run's
        Generator for the call and put the caller's global state back afterwards."""
        saved = np.random.get_state()
        np.random.seed(int(self.rng.integers(2**32)))
        try:
            yield
        finally:
            np.random.set_state(saved)

    def sample_config(self, budget):
        if self._own_random:   # seeded as hpbandster's path seeds numpy's global generator
            self._generator.random.seed(int(self.rng.integers(2**32)))
            config, info = self._generator.get_config(budget)
        else:
            with self._numpy_global_rng():
                config, info = self._generator.get_config(budget)
        return plain_config(config), {"model_based_pick": bool(info.get("model_based_pick"))}

    def observe(self, trial, result):
        loss = math.inf if result.invalid else result.validation_error
        job = types.SimpleNamespace(result={"loss": loss}, exception=None, timestamps={},
                                    kwargs={"budget": trial.budget, "config": trial.config})
        # new_result draws nothing where no value is inactive (see _impute; statsmodels'
        # 'normal_reference' bandwidths are computed): the fast generator's path takes the
        # seed hpbandster's path would set and leaves numpy's global generator alone
        if self._own_random:
            self.rng.integers(2**32)
        with (contextlib.nullcontext() if self._own_random else self._numpy_global_rng()), \
                warnings.catch_warnings():
            # statsmodels >= 0.15 warns that a KDE built without ``rng`` (as hpbandster builds
            # them) will draw from fresh entropy one day; the bandwidth rule hpbandster uses
            # ('normal_reference') draws nothing, so the warning says nothing about these runs.
            warnings.filterwarnings("ignore", "After 0.17 or January 2028", FutureWarning)
            self._generator.new_result(job)
        for pair in self._generator.kde_models.values():
            for key, kde in pair.items():
                if CategoricalKDE.fits(kde):
                    pair[key] = CategoricalKDE(kde)


def _impute(library_impute, array: np.ndarray) -> np.ndarray:
    """hpbandster's ``impute_conditional_data`` where ``array`` has no NaN (no inactive
    hyperparameter, as in every encoding here): its Python loop over the rows then copies each
    row unchanged and draws nothing, so a copy is the same array at no cost per row (it ran at
    every result, over every result of the budget).  Arrays with a NaN go to the library."""
    if np.isnan(array).any():
        return library_impute(array)
    return array.copy()


class CategoricalKDE:
    """statsmodels' ``KDEMultivariate`` over unordered categorical data, its ``pdf`` bit for bit.

    hpbandster's BOHB evaluates two such densities at each of ``num_samples`` candidates per
    sampled configuration; statsmodels loops over the variables and recounts each one's levels
    (``np.unique``) at every call: 88 % of a BOHB run.  Here the Aitchison-Aitken kernel values
    (``1 - h`` where a datum equals the point, ``h / (levels - 1)`` elsewhere, with statsmodels'
    levels: the distinct values in the data) are computed once, and ``pdf`` is one comparison,
    product and sum, in statsmodels' order.  Installed on this BOHB's own generator only.
    """

    def __init__(self, kde):
        self.data, self.bw, self.var_type, self.nobs = kde.data, kde.bw, kde.var_type, kde.nobs
        levels = np.array([np.unique(column).size for column in kde.data.T])
        with np.errstate(divide="ignore", invalid="ignore"):  # one level: h / 0, as statsmodels
            self._other = np.ones(levels.size) * kde.bw / (levels - 1)
        self._same = 1 - np.asarray(kde.bw)

    @staticmethod
    def fits(kde) -> bool:
        """A statsmodels KDE of unordered variables only (the case written out here)."""
        return (type(kde).__name__ == "KDEMultivariate" and set(kde.var_type) == {"u"}
                and getattr(kde, "data", None) is not None and kde.data.ndim == 2)

    def pdf(self, point) -> np.ndarray:
        point = np.asarray(point, dtype=float).reshape(-1)
        kernel = np.where(self.data == point, self._same, self._other)
        return np.squeeze(kernel.prod(axis=1).sum(axis=0) / self.nobs)
