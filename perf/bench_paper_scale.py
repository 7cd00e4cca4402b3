"""What experiments/paper.yaml costs: seconds of one 1e7-s run per optimizer, and the hours of all.

Per optimizer of ``experiments/paper.yaml`` (read through :mod:`harness.config`, so the
settings are the paper's), one run (seed 0) through the task every backend executes
(:func:`harness.task.execute_run`), on the embedded surrogate table with paper.yaml's encoding,
repeat and cost (an optimizer's cost follows its history, not the table's values; the full table
need not be downloaded).  Seconds are CPU seconds (the hours of paper.yaml on N cores assume N
runs at once, one per core).  Where the optimizer has an ``engine`` switch (TPE: ``hyperopt``;
SMAC: ``smac3``; BOHB: ``hpbandster``), the library's own path is measured too: the same
proposals, so the same evaluations, at the library's cost.

Slow paths are measured over a shorter horizon and extrapolated (said so in the output): the
run's recorded optimizer seconds per evaluation are fitted by ``a + b k`` (a model-based
optimizer's cost per ask grows with its history ``k``), summed up to the full run's evaluation
count (that of our engine's full run where there is one: the same proposals; else scaled by the
simulated time), and the harness's own seconds are scaled by the evaluations.  ``--full``
(or ``PAPER_SCALE_FULL=1``) runs every path over the whole horizon instead.

    python -m perf bench_paper_scale            # ~15 minutes on 2 busy cores
    python -m perf.bench_paper_scale --full     # hours: the libraries' paths in full
"""
from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

from harness.config import BenchmarkConfig, Experiment, load_experiment
from harness.plan import RunSpec
from harness.task import execute_run, objective_for

from .common import PAPER_CORES, row

PAPER = Path(__file__).resolve().parents[1] / "experiments" / "paper.yaml"
#: an optimizer's library path, where its ``engine`` switch has one
LIBRARY_ENGINES = {"tpe": "hyperopt", "smac": "smac3", "bohb": "hpbandster"}
#: the horizon the slow paths are measured over (then extrapolated) without --full
SHORT_HORIZON = 1e6
#: a path with no faster engine whose extrapolated full run exceeds this is not run in full
FULL_RUN_CAP_S = 240.0


class Measure:
    """One path's seconds for a run of the experiment's horizon."""

    def __init__(self, seconds: float, evaluations: int, measured_to: float):
        self.seconds, self.evaluations, self.measured_to = seconds, evaluations, measured_to

    def text(self, horizon: float) -> str:
        if self.measured_to >= horizon:
            return f"{self.seconds:,.1f} s"
        return f"~{self.seconds:,.0f} s (from {self.measured_to:.3g} s)"


def surrogate(experiment: Experiment) -> BenchmarkConfig:
    """The experiment's benchmark settings on the embedded surrogate table."""
    return experiment.benchmark.model_copy(update={"name": "surrogate", "data": None})


def one_run(experiment: Experiment, name: str, params: dict, horizon: float) -> dict:
    """The outcome of seed 0's run of ``name`` with ``params`` over ``horizon`` seconds, with
    ``cpu``: the CPU seconds it took (the run is in this process and single-threaded: on a
    busy machine they hold still where its wall seconds follow the load)."""
    bench = surrogate(experiment)
    budget = experiment.budget.model_copy(update={"time": horizon})
    started = time.process_time()
    outcome = execute_run(bench, budget, RunSpec(name, name, params, 0))
    if outcome["status"] != "ok":
        raise RuntimeError(f"{name} {params}: the run failed\n{outcome['traceback']}")
    return {**outcome, "cpu": time.process_time() - started}


def extrapolate(outcome: dict, evaluations: int) -> float:
    """CPU seconds of a run of ``evaluations`` from a shorter one's outcome: its optimizer's
    per-evaluation seconds fitted by ``a + b k`` and summed on, the harness's scaled (the
    recorded per-evaluation seconds are wall seconds: scaled by the short run's CPU/wall)."""
    overhead = outcome["overhead"]
    n = len(overhead)
    harness = max(outcome["wall"] - float(overhead[-1]), 0.0) * evaluations / n
    per_ask = np.diff(overhead, prepend=0.0)
    b, a = np.polyfit(np.arange(n), per_ask, 1)
    rest = np.arange(n, max(evaluations, n))
    wall = float(overhead[-1]) + float(np.clip(a + max(b, 0.0) * rest, 0.0, None).sum()) + harness
    return wall * min(outcome["cpu"] / max(outcome["wall"], 1e-9), 1.0)


def measure(experiment: Experiment, name: str, params: dict, horizon: float, full: bool,
            evaluations: int | None = None, cap: float = 0.0) -> Measure:
    """One path's run seconds: in full where ``full`` (or where a short run projects to at
    most ``cap`` seconds), else extrapolated from :data:`SHORT_HORIZON` to ``evaluations``
    (or to the short run's evaluations scaled by the horizon)."""
    if full or horizon <= SHORT_HORIZON:
        outcome = one_run(experiment, name, params, horizon)
        return Measure(outcome["cpu"], len(outcome["overhead"]), horizon)
    short = one_run(experiment, name, params, SHORT_HORIZON)
    n = evaluations or round(len(short["overhead"]) * horizon / SHORT_HORIZON)
    projected = extrapolate(short, n)
    if projected <= cap:
        return measure(experiment, name, params, horizon, True)
    return Measure(projected, n, SHORT_HORIZON)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m perf.bench_paper_scale")
    parser.add_argument("--full", action="store_true",
                        help="run the libraries' slow paths over the whole horizon (hours)")
    args = parser.parse_args([] if argv is None else argv)
    full = args.full or os.environ.get("PAPER_SCALE_FULL") == "1"
    warnings.filterwarnings("ignore")
    from optimizers import get_optimizer

    experiment = load_experiment(PAPER)
    horizon, seeds = experiment.budget.time, len(experiment.seed_list)
    objective_for(surrogate(experiment))   # the table built once, before any run is timed
    print(f"{PAPER.name}: one run (seed 0) of {horizon:.3g} s per optimizer, its settings, "
          f"encoding {experiment.benchmark.encoding}, surrogate table, "
          f"{experiment.budget.workers} worker; '~': extrapolated from a shorter run"
          + ("" if full else " (--full: every path in full)"))
    totals = {"library": 0.0, "ours": 0.0}
    for opt in experiment.optimizer_list():
        params = dict(opt.params)
        cls = get_optimizer(opt.name)
        engine = cls.params.get("engine")
        library = LIBRARY_ENGINES.get(opt.name)
        if engine is None or library not in (engine.choices or ()) or "engine" in params:
            ours = measure(experiment, opt.name, params, horizon, full, cap=FULL_RUN_CAP_S)
            row(f"{opt.key}: one run ({ours.evaluations:,} evaluations)", ours.text(horizon),
                "one path (no engine switch)")
            totals["library"] += ours.seconds
            totals["ours"] += ours.seconds
            continue
        ours = measure(experiment, opt.name, params, horizon, True)
        theirs = measure(experiment, opt.name, {**params, "engine": library}, horizon, full,
                         evaluations=ours.evaluations)
        row(f"{opt.key}: engine {library} ({ours.evaluations:,} evaluations)",
            theirs.text(horizon))
        row(f"{opt.key}: engine {engine.default} (ours)", ours.text(horizon),
            f"{theirs.seconds / ours.seconds:.1f}x faster")
        totals["library"] += theirs.seconds
        totals["ours"] += ours.seconds
    for cores in PAPER_CORES:
        before, after = (totals[k] * seeds / cores / 3600 for k in ("library", "ours"))
        row(f"{PAPER.name}, {seeds} seeds each, on {cores} cores: libraries -> ours",
            f"{before:,.1f} h -> {after:,.1f} h", "target <= 24 h on 2 cores" if cores == 2
            else "", after <= 24 if cores == 2 else None)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
