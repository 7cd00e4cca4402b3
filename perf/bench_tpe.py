"""TPE: seconds of one 1e7-s run, hyperopt's tpe.suggest against RunningTPE, same run, same machine.

Per encoding (A is the paper's), both engines are stepped in lockstep over the first
evaluations of the same run (surrogate table, one worker): each ask+tell is timed for both, and
their proposals are checked to be the same.  Ours then runs the whole 1e7 simulated seconds.
hyperopt's cost per ask grows linearly with the history, so its full run is extrapolated from a
least-squares line through its measured asks, summed over the full run's evaluations.  The
paper.yaml projection uses encoding A's figures (the optimizer's cost, not the table's, sets it).
"""
from __future__ import annotations

import time

import numpy as np

from benchmark import NASBench
from benchmark.objectives import Objective
from harness.simulator import simulate
from optimizers import Result
from optimizers.tpe import TPE

from .common import QUICK, row

HORIZON = 1e7
PAPER_SEEDS = 500


def lockstep(objective: Objective, evaluations: int) -> tuple[np.ndarray, np.ndarray]:
    """Seconds of each ask+tell of hyperopt's path and ours over the same ``evaluations``
    (interleaved: the machine's drifting speed hits both alike)."""
    space = objective.config_space(seed=0)
    engines = {e: TPE(space, [108], np.random.default_rng(0), engine=e)
               for e in ("hyperopt", "running")}
    rngs = {e: np.random.default_rng(1) for e in engines}
    times = {e: np.empty(evaluations) for e in engines}
    for i in range(evaluations):
        configs = []
        for e, opt in engines.items():
            t0 = time.perf_counter()
            trial = opt.ask()
            spent = time.perf_counter() - t0
            r = objective.evaluate(trial.config, trial.budget, rngs[e])
            t0 = time.perf_counter()
            opt.tell(trial, Result(r.validation_error, r.cost, r.invalid, trial.budget))
            times[e][i] = spent + time.perf_counter() - t0
            configs.append(trial.config)
        if configs[0] != configs[1]:
            raise AssertionError(f"tpe engines differ at evaluation {i}")
    return times["hyperopt"], times["running"]


def full_run(objective: Objective) -> tuple[float, int]:
    opt = TPE(objective.config_space(seed=0), [108], np.random.default_rng(0))
    t0 = time.perf_counter()
    events = simulate(objective, opt, HORIZON, 1, np.random.default_rng(1))
    return time.perf_counter() - t0, len(events)


def extrapolate(per_ask: np.ndarray, total: int) -> float:
    """Seconds of ``total`` asks for a per-ask cost linear in the history, fitted on the
    second half of ``per_ask`` (past the start-up trials and the warm-up)."""
    n = np.arange(len(per_ask))
    half = len(per_ask) // 2
    slope, intercept = np.polyfit(n[half:], per_ask[half:], 1)
    return float(intercept * total + slope * total * (total - 1) / 2)


def main() -> None:
    steps = {"A": 1500, "B": 600, "C": 300} if not QUICK else {"A": 300, "B": 150, "C": 100}
    for encoding, n in steps.items():
        objective = Objective(NASBench.surrogate(), encoding)
        hyperopt, ours = lockstep(objective, n)
        print(f"tpe, encoding {encoding}, surrogate, one worker: the first {n} evaluations in "
              "lockstep (same proposals checked)")
        row(f"hyperopt's tpe.suggest: {n} asks", f"{hyperopt.sum():.1f} s")
        row(f"RunningTPE: the same {n} asks", f"{ours.sum():.2f} s",
            f"{hyperopt.sum() / ours.sum():.0f}x faster")
        seconds, evaluations = full_run(objective)
        before = extrapolate(hyperopt, evaluations)
        row(f"one 1e7-s run ({evaluations:,} evaluations): RunningTPE", f"{seconds:.1f} s")
        row("  hyperopt's path (extrapolated from its asks above)", f"{before:,.0f} s",
            f"{before / seconds:.0f}x faster (target >= 20x)", before / seconds >= 20)
        if encoding == "A":   # experiments/paper.yaml's encoding
            for cores in (2, 16):
                row(f"paper.yaml's {PAPER_SEEDS} tpe runs on {cores} cores: before -> after",
                    f"{before * PAPER_SEEDS / cores / 3600:,.1f} h -> "
                    f"{seconds * PAPER_SEEDS / cores / 3600:,.2f} h")


if __name__ == "__main__":
    main()
