"""Optimizers find the structure of the surrogate table: a statistical check, not a coin flip.

The paper's findings on the surrogate (version 2, with each cell's deviation among the best cells
and failed trainings), median final test regret over 20 seeds, one-sided Mann-Whitney p that the
optimizer's regret is lower than random search's (RS 0.00780 / 0.00704 / 0.00552 / 0.00473 /
0.00420 at 1e5 / 3e5 / 6e5 / 1e6 / 3e6 simulated seconds):

    regularized evolution  0.00850 / 0.00699 / 0.00517 / 0.00360 / 0.00174   p at 3e6: 0.001
    Hyperband              0.00786 / 0.00699 / 0.00629                        p at 6e5: 0.65
    BOHB                   0.00881 / 0.00699 / 0.00600                        p at 6e5: 0.64

(BOHB there with the nas_benchmarks settings, 64 samples and a third random, its defaults before
the paper's.)  With the paper's settings (4 samples, no random fraction), now the defaults, BOHB
is ahead at 6e5 s: 0.0045 vs 0.0055, p = 0.016, as the paper finds (RE, BOHB and SMAC pull ahead
of random search); Hyperband is not (p = 0.65).

Regularized evolution pulls ahead of random search (at 1e7 s, Figure 7's horizon: median 0.0008
vs 0.0032) and reaches its 3e6-second regret before 1e6 seconds; Hyperband gains nothing from
the cheap budgets within 6e5 seconds, as the paper finds
(low rank correlation between budgets among the best cells).  The version-1 table, whose cheap
budgets ranked its best cells too well (top-10 % Spearman of 36 vs 108 epochs 0.52, real 0.36),
had BOHB with the nas_benchmarks settings ahead at 6e5 seconds (0.0038 vs 0.0061, p = 0.002).

Both tests: ~2.5 min on 2 idle cores (BOHB's densities are computed without statsmodels'
overhead).
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from scipy.stats import mannwhitneyu

from benchmark.objectives import Objective
from harness.results import trajectory
from harness.simulator import simulate
from optimizers import get_optimizer

from .conftest import long_check


def final_regret(objective: Objective, name: str, time_budget: float, seed: int) -> float:
    """Test regret of the incumbent after ``time_budget`` simulated seconds (1 worker)."""
    opt_seq, bench_seq = np.random.SeedSequence(seed).spawn(2)
    cls = get_optimizer(name)
    opt = cls(objective.config_space(seed=seed),
              cls.offered_budgets(objective.budgets),
              np.random.default_rng(opt_seq))
    try:
        events = simulate(objective, opt, time_budget, 1, np.random.default_rng(bench_seq))
    finally:
        opt.close()
    traj = trajectory(events.arrays(), objective.y_star_valid, objective.y_star_test)
    return float(traj["test_regret"].iloc[-1])


_SHARED: dict = {}   # the objective, for forked workers


def _final_regret_of(args) -> float:
    return final_regret(_SHARED["objective"], *args)


def final_regrets(objective, name, seeds, time_budget) -> np.ndarray:
    """Final regrets of ``seeds``, on every CPU (forked workers share the table)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return np.array([final_regret(objective, name, time_budget, s) for s in seeds])
    _SHARED["objective"] = objective
    with ProcessPoolExecutor(min(len(seeds), len(os.sched_getaffinity(0))),
                             mp_context=multiprocessing.get_context("fork")) as pool:
        return np.array(list(pool.map(_final_regret_of, [(name, time_budget, s)
                                                          for s in seeds])))


def test_regularized_evolution_beats_random_search_at_the_papers_horizon(surrogate):
    """At 1e7 simulated seconds (Figure 7's horizon), 20 seeds, one-sided Mann-Whitney: RE's
    median final regret 0.0008 vs random search's 0.0032 (measured, p_Holm 0.0005 paired)."""
    objective = Objective(surrogate, "A")
    seeds = range(20)
    rs = final_regrets(objective, "random_search", seeds, 1e7)
    re = final_regrets(objective, "regularized_evolution", seeds, 1e7)
    assert np.median(re) < np.median(rs) - 0.001, (np.median(re), np.median(rs))  # a margin
    assert mannwhitneyu(re, rs, alternative="less").pvalue < 0.05


@long_check
def test_bohb_beats_random_search_at_the_papers_horizon(surrogate):
    """At 1e7 simulated seconds, 20 seeds, one-sided Mann-Whitney (BOHB's runs of that length
    take about a minute each: NASBENCH_LONG=1)."""
    objective = Objective(surrogate, "A")
    seeds = range(20)
    rs = final_regrets(objective, "random_search", seeds, 1e7)
    bohb = final_regrets(objective, "bohb", seeds, 1e7)
    assert mannwhitneyu(bohb, rs, alternative="less").pvalue < 0.05, (np.median(bohb),
                                                                      np.median(rs))


def test_bohb_pulls_ahead_of_random_search_and_hyperband_does_not_over_20_seeds(surrogate):
    """At 6e5 simulated seconds, one-sided Mann-Whitney over 20 seeds: BOHB with the paper's
    settings beats random search (median 0.0045 vs 0.0055, p = 0.016 measured), Hyperband does
    not (p = 0.65): the cheap budgets alone buy nothing, BOHB's model does."""
    objective = Objective(surrogate, "A")
    seeds = range(20)
    rs = final_regrets(objective, "random_search", seeds, 6e5)
    hb = final_regrets(objective, "hyperband", seeds, 6e5)
    bohb = final_regrets(objective, "bohb", seeds, 6e5)
    assert mannwhitneyu(hb, rs, alternative="less").pvalue > 0.2, (np.median(hb), np.median(rs))
    assert mannwhitneyu(bohb, rs, alternative="less").pvalue < 0.05, (np.median(bohb),
                                                                      np.median(rs))
