"""Per-ask overhead of each optimizer, and evaluations per second through the adapter."""
from __future__ import annotations

import time
import warnings

import numpy as np

from benchmark import NASBench
from benchmark.objectives import Objective
from optimizers import Result, get_optimizer

from .common import QUICK, row

NAMES = ["random_search", "regularized_evolution", "hyperband", "bohb", "smac", "tpe",
         "reinforce"]


def ask_overhead(objective: Objective, name: str, observations: int, probes: int = 20) -> float:
    """Median ms of ask+tell after ``observations`` told results (the lookup excluded)."""
    cls = get_optimizer(name)
    budgets = cls.offered_budgets(objective.budgets)
    opt = cls(objective.config_space(seed=0), budgets, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    samples = []
    try:
        for i in range(observations + probes):
            t0 = time.perf_counter()
            trial = opt.ask()
            t1 = time.perf_counter()
            r = objective.evaluate(trial.config, trial.budget, rng)
            t2 = time.perf_counter()
            opt.tell(trial, Result(r.validation_error, r.cost, r.invalid, trial.budget))
            if i >= observations:
                samples.append((t1 - t0) + (time.perf_counter() - t2))
    finally:
        opt.close()
    return float(np.median(samples)) * 1e3


def evaluations_per_second(objective: Objective, name: str, seconds: float = 3.0) -> float:
    cls = get_optimizer(name)
    opt = cls(objective.config_space(seed=0), [objective.max_budget], np.random.default_rng(0))
    rng = np.random.default_rng(1)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(1000):
            trial = opt.ask()
            r = objective.evaluate(trial.config, trial.budget, rng)
            opt.tell(trial, Result(r.validation_error, r.cost, r.invalid, trial.budget))
        n += 1000
    return n / (time.perf_counter() - t0)


def main() -> None:
    warnings.filterwarnings("ignore")
    objective = Objective(NASBench.surrogate(), "A")
    print("ask+tell overhead per optimizer [ms] (surrogate table, encoding A)")
    for name in NAMES:
        after = [100] if QUICK and name in ("smac", "bohb", "tpe") else [100, 1000]
        figures = ", ".join(f"after {n}: {ask_overhead(objective, name, n):.3f}" for n in after)
        row(name, "", figures)
    for name in ("random_search", "regularized_evolution"):
        rate = evaluations_per_second(objective, name)
        row(f"{name}: evaluations/s through the adapter", f"{rate:,.0f}/s")
    ours, theirs = kde_pdf_times()
    row("BOHB density (150 points, 26 vars): statsmodels", f"{theirs * 1e6:.0f} us")
    row("  ... CategoricalKDE, the same values", f"{ours * 1e6:.0f} us",
        f"{theirs / ours:.1f}x faster (target >= 5x)", theirs / ours >= 5)


def kde_pdf_times(points: int = 200) -> tuple[float, float]:
    """Seconds per pdf call: BOHB's fast categorical KDE vs statsmodels', on encoding-A-like
    data (5 three-level and 21 two-level variables, 150 observations)."""
    import statsmodels.api as sm

    from optimizers.hyperband import CategoricalKDE

    rng = np.random.default_rng(0)
    data = np.column_stack([rng.integers(0, k, 150) for k in [3] * 5 + [2] * 21]).astype(float)
    kde = sm.nonparametric.KDEMultivariate(data=data, var_type="u" * 26, bw="normal_reference")
    fast = CategoricalKDE(kde)
    queries = data[rng.integers(0, 150, points)]
    times = []
    for density in (fast, kde):
        t0 = time.perf_counter()
        for q in queries:
            density.pdf(q)
        times.append((time.perf_counter() - t0) / points)
    return times[0], times[1]
