"""Optimizers find the structure of the synthetic table: a statistical check, not a coin flip."""
from __future__ import annotations

import numpy as np
from scipy.stats import mannwhitneyu

from benchmark.objectives import Objective
from harness.results import trajectory
from harness.simulator import simulate
from optimizers import get_optimizer


def final_regrets(objective, name, seeds, time_budget):
    out = []
    for seed in seeds:
        opt_seq, bench_seq = np.random.SeedSequence(seed).spawn(2)
        opt = get_optimizer(name)(objective.config_space(seed=seed), [108],
                                  np.random.default_rng(opt_seq))
        events = simulate(objective, opt, time_budget, 1, np.random.default_rng(bench_seq))
        traj = trajectory(events.arrays(), objective.y_star_valid, objective.y_star_test)
        out.append(traj["test_regret"].iloc[-1])
    return np.array(out)


def test_regularized_evolution_beats_random_search_over_20_seeds(synthetic):
    objective = Objective(synthetic, "A")
    seeds = range(20)
    rs = final_regrets(objective, "random_search", seeds, 1e6)
    re = final_regrets(objective, "regularized_evolution", seeds, 1e6)
    assert np.median(re) < np.median(rs) - 0.001  # a margin, not just "smaller"
    assert mannwhitneyu(re, rs, alternative="less").pvalue < 0.01
