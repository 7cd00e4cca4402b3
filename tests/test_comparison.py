"""Optimizers find the structure of the surrogate table: a statistical check, not a coin flip.

The paper's finding that regularized evolution beats random search holds on the surrogate at 3e6
simulated seconds over 20 seeds.  BOHB over random search does not show at horizons a test can
afford (BOHB costs ~40 s of wall time per 3e5-second run on 2 cores): median final test regret
BOHB / RS 0.00732 / 0.00755 at 2e5 s over 40 seeds (one-sided Mann-Whitney p = 0.07), 0.00665 /
0.00643 at 3e5 s over 30 seeds (p = 0.19).  In the paper BOHB pulls ahead from ~1e6 s on; a test
at that horizon (~20 min) is left to a measurement first.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import mannwhitneyu

from benchmark.objectives import Objective
from harness.results import trajectory
from harness.simulator import simulate
from optimizers import get_optimizer


def final_regret(objective: Objective, name: str, time_budget: float, seed: int) -> float:
    """Test regret of the incumbent after ``time_budget`` simulated seconds (1 worker)."""
    opt_seq, bench_seq = np.random.SeedSequence(seed).spawn(2)
    cls = get_optimizer(name)
    opt = cls(objective.config_space(seed=seed),
              objective.budgets if cls.multi_fidelity else [objective.max_budget],
              np.random.default_rng(opt_seq))
    try:
        events = simulate(objective, opt, time_budget, 1, np.random.default_rng(bench_seq))
    finally:
        opt.close()
    traj = trajectory(events.arrays(), objective.y_star_valid, objective.y_star_test)
    return float(traj["test_regret"].iloc[-1])


def final_regrets(objective, name, seeds, time_budget):
    return np.array([final_regret(objective, name, time_budget, s) for s in seeds])


def test_regularized_evolution_beats_random_search_over_20_seeds(surrogate):
    """At 3e6 simulated seconds (~1,500 evaluations at 108 epochs); one-sided Mann-Whitney."""
    objective = Objective(surrogate, "A")
    seeds = range(20)
    rs = final_regrets(objective, "random_search", seeds, 3e6)
    re = final_regrets(objective, "regularized_evolution", seeds, 3e6)
    assert np.median(re) < np.median(rs) - 0.002, (np.median(re), np.median(rs))  # a margin
    assert mannwhitneyu(re, rs, alternative="less").pvalue < 0.05
