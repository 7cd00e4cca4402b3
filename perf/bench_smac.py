"""SMAC: seconds of one 1e7-s run, SMAC3's own code path against the fast engine, same machine.

Encoding A, the surrogate table, one worker, the paper's settings (5 trees, random fraction
0.33, one evaluation per configuration, 10,000 challengers, 10 local searches).  First both
engines are stepped in lockstep over the start of the same run, each ask+tell timed for both
(interleaved) and the proposals checked to be the same.  Then the fast engine runs the whole
horizon (its history recorded).  SMAC3's own path would take hours, so its cost is measured at
checkpoints: at n = a few history sizes, both engines are told the first n trials of that run
(not timed, nor the first ask after, which reads them) and then each makes 8 asks and tells
(one retraining period of SMAC's config selector), interleaved; the per-ask costs are
interpolated over the run's asks and summed.
Seconds are CPU seconds of this process (both engines are single-threaded): on a shared machine
they hold still where wall seconds follow the load.
"""
from __future__ import annotations

import time

import numpy as np

from benchmark import NASBench
from benchmark.objectives import Objective
from harness.simulator import simulate
from optimizers import Result
from optimizers.smac import SMAC, _fast_configuration_equality

from .common import QUICK, paper_hours, row

HORIZON = 1e7
ENGINES = ("smac3", "fast")


def step(opt: SMAC, objective: Objective, rng: np.random.Generator) -> tuple[float, dict]:
    """Seconds of one ask+tell (the look-up not counted) and the configuration asked."""
    t0 = time.process_time()
    trial = opt.ask()
    spent = time.process_time() - t0
    r = objective.evaluate(trial.config, trial.budget, rng)
    t0 = time.process_time()
    opt.tell(trial, Result(r.validation_error, r.cost, r.invalid, trial.budget))
    return spent + time.process_time() - t0, {**trial.config, "seed": trial.info["smac_seed"]}


def lockstep(objective: Objective, evaluations: int) -> dict[str, np.ndarray]:
    """Seconds of each ask+tell of both engines over the same run, proposals checked equal."""
    opts = {e: SMAC(objective.config_space(seed=0), [108], np.random.default_rng(0), engine=e)
            for e in ENGINES}
    rngs = {e: np.random.default_rng(1) for e in ENGINES}
    times = {e: np.empty(evaluations) for e in ENGINES}
    try:
        for i in range(evaluations):
            asked = []
            for e in ENGINES:
                times[e][i], config = step(opts[e], objective, rngs[e])
                asked.append(config)
            if asked[0] != asked[1]:
                raise AssertionError(f"smac engines differ at evaluation {i}")
    finally:
        for opt in opts.values():
            opt.close()
    return times


def full_run(objective: Objective, horizon: float) -> tuple[float, list]:
    """Seconds of one run of the fast engine to ``horizon``, and its told trials in order:
    (configuration, SMAC's seed, Result)."""
    opt = SMAC(objective.config_space(seed=0), [108], np.random.default_rng(0))
    told, tell = [], opt.tell

    def recording_tell(trial, result):
        told.append((trial.config, trial.info["smac_seed"], result))
        tell(trial, result)

    opt.tell = recording_tell
    t0 = time.process_time()
    try:
        simulate(objective, opt, horizon, 1, np.random.default_rng(1))
    finally:
        opt.close()
    return time.process_time() - t0, told


def per_ask_at(objective: Objective, told: list, n: int, asks: int = 8) -> dict[str, float]:
    """Seconds per ask+tell of each engine after being told the first ``n`` trials."""
    from ConfigSpace import Configuration
    from smac.runhistory import TrialInfo, TrialValue

    space = objective.config_space(seed=0)
    opts = {e: SMAC(space, [108], np.random.default_rng(0), engine=e) for e in ENGINES}
    try:
        with _fast_configuration_equality():   # exact; the history is set up, not timed
            for config, seed, result in told[:n]:
                info = TrialInfo(config=Configuration(space, values=config), seed=seed)
                value = TrialValue(cost=1.0 if result.invalid else result.validation_error,
                                   time=result.cost)
                for opt in opts.values():
                    opt._facade.tell(info, value, save=False)
        rngs = {e: np.random.default_rng(n) for e in ENGINES}
        for e in ENGINES:   # untimed: the intensifier's first ask reads the told history
            step(opts[e], objective, rngs[e])
        spent = {e: 0.0 for e in ENGINES}
        for _ in range(asks):
            for e in ENGINES:
                spent[e] += step(opts[e], objective, rngs[e])[0]
    finally:
        for opt in opts.values():
            opt.close()
    return {e: s / asks for e, s in spent.items()}


def main() -> None:
    objective = Objective(NASBench.surrogate(), "A")
    n = 60 if QUICK else 200
    times = lockstep(objective, n)
    print(f"smac, encoding A, surrogate, one worker, paper settings: the first {n} evaluations "
          "in lockstep (same proposals checked)")
    row(f"SMAC3's own path: {n} asks", f"{times['smac3'].sum():.1f} s")
    row(f"fast engine: the same {n} asks", f"{times['fast'].sum():.1f} s",
        f"{times['smac3'].sum() / times['fast'].sum():.1f}x faster")

    horizon = 3e5 if QUICK else HORIZON
    seconds, told = full_run(objective, horizon)
    row(f"one {horizon:.0e}-s run ({len(told):,} asks): fast engine", f"{seconds:,.0f} s")
    sizes = [s for s in ((100, 250) if QUICK else (250, 1000, 2500, 5000, 8000)) if s < len(told)]
    costs = {e: [] for e in ENGINES}
    for size in sizes:
        at = per_ask_at(objective, told, size)
        for e in ENGINES:
            costs[e].append(at[e])
        row(f"  per ask after {size:,} trials: SMAC3's path / fast",
            f"{at['smac3']:.2f} / {at['fast']:.2f} s", f"{at['smac3'] / at['fast']:.1f}x")
    if not sizes:
        return
    asks = np.arange(len(told))
    before = float(np.interp(asks, sizes, costs["smac3"]).sum())
    after = float(np.interp(asks, sizes, costs["fast"]).sum())
    row(f"  projected run: SMAC3's path ({len(sizes)} checkpoints)", f"{before:,.0f} s",
        f"{before / after:.1f}x faster (target >= 10x)", before / after >= 10)
    row("  projected run: fast engine (same checkpoints)", f"{after:,.0f} s")
    paper_hours("smac", before, seconds)


if __name__ == "__main__":
    main()
