"""Running an experiment: one task per (optimizer, seed), locally or fanned out under Ray.

A run builds its objective (the table memory-mapped once per worker process and cached), its
optimizer and two Generators derived from the seed alone (``SeedSequence(seed).spawn(2)``: one
for the optimizer, one for the benchmark's repeat sampling), simulates, and returns the bytes of
its result file; the driver writes them atomically.  Results therefore do not depend on which
process runs a run or in which order.  An optimizer that raises makes a failed run (with its
traceback) while the others finish.
"""
from __future__ import annotations

import gc
import json
import logging
import os
import platform
import socket
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from benchmark.fileutil import atomic_write_text

from .config import BenchmarkConfig, BudgetConfig, Experiment, ExperimentError
from .results import RunKey, encode_run, incomplete, output_lock, run_files, write_run

log = logging.getLogger(__name__)

_OBJECTIVES: dict[str, Any] = {}   # per-process cache: benchmark settings -> Objective


@dataclass(frozen=True)
class RunSpec:
    label: str
    optimizer: str
    params: dict[str, Any]
    seed: int

    @property
    def key(self) -> RunKey:
        return RunKey(self.label, self.seed)


def objective_for(bench: BenchmarkConfig):
    """The objective of a benchmark configuration, built once per process."""
    cache_key = bench.model_dump_json()
    objective = _OBJECTIVES.get(cache_key)
    if objective is None:
        from benchmark import NASBench
        from benchmark.objectives import Objective

        table = (NASBench.surrogate(bench.table_seed) if bench.name == "surrogate"
                 else NASBench(bench.data))
        objective = Objective(table, bench.encoding, repeat=bench.repeat, cost=bench.cost,
                              invalid=bench.invalid, absent=bench.absent, cells=bench.cells)
        _OBJECTIVES[cache_key] = objective
    return objective


def execute_run(bench: BenchmarkConfig, budget: BudgetConfig, run: RunSpec) -> dict[str, Any]:
    """One run; never raises for the optimizer's errors, ``sys.exit`` included (they make a
    failed run).  See :mod:`.local_backend` for what a process of its own adds."""
    from .simulator import simulate

    started = time.perf_counter()
    objective = objective_for(bench)
    opt_seq, bench_seq = np.random.SeedSequence(run.seed).spawn(2)
    # Objects alive before the run (the table's look-ups, imported modules: many in a Ray
    # worker) are left out of the cyclic garbage collector's scans while the run allocates.
    gc.freeze()
    try:
        optimizer = make_optimizer(run, objective.config_space(seed=run.seed),
                                   objective.budgets, np.random.default_rng(opt_seq))
        quiet_libraries()
        try:
            events = simulate(objective, optimizer, budget.time, budget.workers,
                              np.random.default_rng(bench_seq),
                              charge_optimizer_time=budget.charge_optimizer_time,
                              max_evaluations=budget.max_evaluations,
                              record_invalid=bench.invalid == "penalty")
        finally:
            optimizer.close()  # an error here fails this run too
    except (Exception, SystemExit):  # noqa: BLE001 - recorded as a failed run
        return failed_outcome(traceback.format_exc(), time.perf_counter() - started)
    finally:
        gc.unfreeze()
    facts = run_facts(run, budget, bench, len(events), y_star_valid=objective.y_star_valid,
                      y_star_test=objective.y_star_test,
                      surrogate=objective.nasbench.is_surrogate, table=objective.nasbench.label)
    return {"status": "ok", "data": encode_run(events.arrays(), facts),
            "overhead": events.overhead_array(), "wall": time.perf_counter() - started}


#: Log levels of the optimizers' libraries in a run: their INFO lines (one per Optuna trial,
#: hyperopt's TPE statistics, SMAC's intensifier) would drown the harness's own.  Set here, by
#: the application, after the optimizer is built: Optuna resets its level when first imported.
LIBRARY_LOG_LEVELS = {"optuna": logging.WARNING, "hyperopt": logging.WARNING,
                      "smac": logging.ERROR, "hpbandster": logging.ERROR}


def quiet_libraries() -> None:
    for name, level in LIBRARY_LOG_LEVELS.items():
        logging.getLogger(name).setLevel(level)


def failed_outcome(text: str, wall: float = 0.0) -> dict[str, Any]:
    """What a failed run reports: its traceback (or a sentence saying how it ended)."""
    return {"status": "failed", "traceback": text, "wall": wall}


def make_optimizer(run: RunSpec, space, budgets: list[int], rng: np.random.Generator):
    """The run's optimizer: every budget for a multi-fidelity one, else the largest."""
    from optimizers import get_optimizer

    cls = get_optimizer(run.optimizer)
    return cls(space, budgets if cls.multi_fidelity else [max(budgets)], rng, **run.params)


def run_facts(run: RunSpec, budget: BudgetConfig, bench: BenchmarkConfig, evaluations: int,
              **extra: Any) -> dict[str, Any]:
    """What a run file records about its run besides the events."""
    return {"label": run.label, "optimizer": run.optimizer, "params": run.params,
            "seed": run.seed, "evaluations": evaluations, "time_budget": budget.time,
            "workers": budget.workers, "trajectory": budget.trajectory,
            "encoding": bench.encoding, **extra}


def plan(experiment: Experiment) -> list[RunSpec]:
    return [RunSpec(o.key, o.name, dict(o.params), seed)
            for o in experiment.optimizers for seed in experiment.seed_list]


def prepare_output(experiment: Experiment, source: Path, output: Path, force: bool) -> None:
    """Create or resume the output folder; refuse a folder of a different experiment."""
    identity = experiment.identity()
    marker = output / "experiment.json"
    if marker.exists():
        try:
            previous = json.loads(marker.read_text()).get("identity")
        except (json.JSONDecodeError, OSError):
            previous = None
        if previous != identity:
            if not force:
                raise ExperimentError(f"{output}: holds results of a different experiment; "
                                      "use another --output, or --force to replace them")
            for path in run_files(output):
                path.unlink()
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output / "experiment.yaml", yaml.safe_dump(
        experiment.model_dump(mode="json"), sort_keys=False))
    atomic_write_text(marker, json.dumps({"identity": identity, "source": str(source)},
                                         indent=2) + "\n")


def metadata(experiment: Experiment, start: float, walls: dict[str, float]) -> dict[str, Any]:
    packages = {}
    for name in ("nasbench-harness", "numpy", "ConfigSpace", "hpbandster", "smac", "optuna",
                 "ray", "pandas", "matplotlib"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    bench = experiment.benchmark
    if bench.is_live:
        data = {"path": str(Path(bench.data).expanduser().resolve()), "live": True}
    else:
        objective = objective_for(bench)
        data = {"path": str(objective.nasbench.path), "surrogate": objective.nasbench.is_surrogate,
                "label": objective.nasbench.label,
                "source": objective.nasbench.manifest.get("source")}
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "host": socket.gethostname(), "packages": packages, "git_commit": _git_commit(),
            "data": data,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(start)),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "wall_seconds_per_run": walls}


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_experiment(experiment: Experiment, source: Path, output: Path | None = None,
                   force: bool = False, progress: bool = True) -> tuple[int, list[str]]:
    """Run what is not done yet, holding the folder's lock; returns (runs done now, failure
    summaries)."""
    output = Path(output or experiment.output)
    if not experiment.benchmark.is_live:
        # fail fast on the data, before any worker starts and before the folder is marked
        objective_for(experiment.benchmark)
    with output_lock(output):
        return _run_locked(experiment, source, output, force, progress)


def _to_do(experiment: Experiment, output: Path) -> list[RunSpec]:
    """The runs without a complete run file; a damaged one is named and redone."""
    todo = []
    for run in plan(experiment):
        path = run.key.path(output)
        why = incomplete(path, run.key)
        if why is not None:
            if why != "missing":
                log.warning("redoing %s: %s", path, why)
            todo.append(run)
    return todo


def _run_locked(experiment: Experiment, source: Path, output: Path, force: bool,
                progress: bool) -> tuple[int, list[str]]:
    from tqdm import tqdm

    prepare_output(experiment, source, output, force)
    todo = _to_do(experiment, output)
    todo.sort(key=_cost_hint, reverse=True)  # longest first: a shorter tail on few CPUs
    total = len(plan(experiment))
    start = time.time()
    walls: dict[str, float] = {}
    failures: list[str] = []
    bar = tqdm(total=total, initial=total - len(todo), unit="run", desc=experiment.name,
               disable=not progress, dynamic_ncols=True)

    def finished(run: RunSpec, outcome: dict[str, Any]) -> None:
        walls[f"{run.label}/{run.seed}"] = round(outcome["wall"], 4)
        if outcome["status"] == "ok":
            if "data" in outcome:  # else a local Ray worker has written it
                write_run(output, run.key, outcome["data"], outcome.get("overhead"))
        else:
            atomic_write_text(run.key.failed_path(output), outcome["traceback"])
            last = outcome["traceback"].strip().splitlines()[-1]
            failures.append(f"{run.label} seed {run.seed}: {last}")
        bar.update(1)

    try:
        if experiment.benchmark.is_live and todo:
            from .live import run_live

            run_live(experiment, todo, output, finished)
        elif experiment.execution.backend == "local" or not todo:
            from .local_backend import run_locally

            run_locally(experiment, todo, finished)
        else:
            from .ray_backend import run_on_ray

            run_on_ray(experiment, todo, output, finished)
    finally:
        bar.close()
    atomic_write_text(output / "metadata.json",
                      json.dumps(metadata(experiment, start, walls), indent=2) + "\n")
    return len(todo), failures


def _cost_hint(run: RunSpec) -> float:
    from optimizers import get_optimizer

    return get_optimizer(run.optimizer).cost_hint


def default_cpus() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)
