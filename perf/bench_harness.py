"""Simulated evaluations per second, the 500-seed sweep, and Ray's overhead per run."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from benchmark import NASBench
from benchmark.objectives import Objective
from harness.config import BenchmarkConfig, BudgetConfig, Experiment
from harness.plan import RunSpec
from harness.runner import run_experiment
from harness.simulator import simulate
from harness.task import execute_run
from optimizers import Result, get_optimizer

from .common import QUICK, row


def simulated_rate(objective: Objective, name: str) -> float:
    opt = get_optimizer(name)(objective.config_space(seed=0), [108], np.random.default_rng(0))
    t0 = time.perf_counter()
    events = simulate(objective, opt, 1e7, 1, np.random.default_rng(1))
    return len(events) / (time.perf_counter() - t0)


def bare_rate(objective: Objective, name: str, evaluations: int) -> float:
    """The same asks, look-ups and tells as :func:`simulated_rate` with no simulator around
    them (no clock, event queue, records or overhead timing): the baseline of the loop's cost."""
    opt = get_optimizer(name)(objective.config_space(seed=0), [108], np.random.default_rng(0))
    rng, evaluate = np.random.default_rng(1), objective.evaluate
    t0 = time.perf_counter()
    for _ in range(evaluations):
        trial = opt.ask()
        r = evaluate(trial.config, trial.budget, rng)
        opt.tell(trial, Result(r[0], r[2], r[4], r[3]))
    return evaluations / (time.perf_counter() - t0)


def sweep(optimizers: list[str], seeds: int, backend: str, time_budget: float = 1e7,
          cpus: int | None = None) -> tuple:
    exp = Experiment.model_validate({
        "name": "perf", "budget": {"time": time_budget}, "seeds": seeds,
        "optimizers": [{"name": n} for n in optimizers],
        "execution": {"backend": backend, "cpus": cpus}, "report": {"enabled": False}})
    with tempfile.TemporaryDirectory(prefix="nbperf-") as out:
        t0 = time.perf_counter()
        run_experiment(exp, Path("perf"), Path(out), progress=False)
        took = time.perf_counter() - t0
        from harness.results import load_events

        n = len(load_events(out))
    return took, n


def ray_startup() -> float:
    """Seconds to start a local Ray as the harness does and shut it down."""
    from harness.cluster import ray_session

    t0 = time.perf_counter()
    with ray_session(None, None):
        pass
    return time.perf_counter() - t0


def main() -> None:
    objective = Objective(NASBench.surrogate(), "A")
    print("simulated evaluations per second, 1 worker, 1e7 s, one core")
    for name in ("random_search", "regularized_evolution"):
        rates = [(simulated_rate(objective, name), bare_rate(objective, name, 20_000))
                 for _ in range(3)]   # interleaved, best of 3: the machine's speed drifts
        rate, bare = max(r for r, _ in rates), max(b for _, b in rates)
        row(name, f"{rate:,.0f}/s", "target >= 50,000/s", rate >= 50_000)
        row(f"  vs the bare ask/look-up/tell loop ({bare:,.0f}/s)",
            f"{rate / bare:.2f}x")
    seeds = 20 if QUICK else 500
    took, n = sweep(["random_search", "regularized_evolution", "reinforce"], seeds, "ray")
    row(f"RS + RE + REINFORCE x {seeds} seeds x 1e7 s on Ray ({n:,} evaluations)",
        f"{took:.0f} s", "target <= 300 s (500 seeds)", None if QUICK else took <= 300)
    # Per-run overhead of each backend, on one CPU: the extra wall time of n more tiny runs
    # (each sweep starts its own Ray, so the difference of two sweeps cancels its start-up,
    # which varies by seconds), less the same runs called in this process
    tiny = 200

    def per_run(backend: str) -> float:
        few, _ = sweep(["random_search"], tiny, backend, 1e3, cpus=1)
        more, _ = sweep(["random_search"], 2 * tiny, backend, 1e3, cpus=1)
        return (more - few) / tiny

    bench, budget = BenchmarkConfig(), BudgetConfig(time=1e3)
    t0 = time.perf_counter()
    for seed in range(tiny):
        execute_run(bench, budget, RunSpec("random_search", "random_search", {}, seed))
    alone = (time.perf_counter() - t0) / tiny
    row("local Ray start-up + shut-down", f"{ray_startup():.1f} s")
    row(f"a tiny run in this process ({tiny} runs)", f"{alone * 1e3:.1f} ms")
    for backend, target in (("ray", 0.05), ("local", None)):
        extra = per_run(backend) - alone
        row(f"{backend} backend's overhead per run (1 CPU; start-up cancels)",
            f"{extra * 1e3:.0f} ms", f"target <= {target * 1e3:.0f} ms" if target else
            "(a forked child per run)", None if target is None else extra <= target)
    print("wall time of one run of 1e6 simulated seconds, model-based optimizers (1e7 s: SMAC "
          "alone would take most of an hour)")
    for name in ("bohb", "tpe", "smac"):
        budget = BudgetConfig(time=1e5 if QUICK else 1e6)
        out = execute_run(BenchmarkConfig(), budget, RunSpec(name, name, {}, 0))
        row(f"{name} ({budget.time:.0e} s simulated)", f"{out['wall']:.0f} s")
