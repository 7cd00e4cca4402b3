"""Checks of an experiment against the disk, after its file validated: the data it names
exists and opens, and each optimizer's hyperparameters can work with its budgets.  (The
schema's validators touch nothing: an experiment can be validated on any machine; these run on
the one that runs it.)"""
from __future__ import annotations

from pathlib import Path

from .config import Experiment, ExperimentError, line_of


def check_files(experiment: Experiment, source: Path) -> None:
    """The data file or folder exists; :class:`ExperimentError` names file, line and key."""
    data = experiment.benchmark.data
    if data is not None and not Path(data).expanduser().exists():
        raise ExperimentError(f"{source}:{line_of(source, ['benchmark', 'data'])}: "
                              f"benchmark.data: data file {data!r} does not exist")


def check_data(experiment: Experiment) -> None:
    """A table opens (a live benchmark's CIFAR-10 is read by its actors)."""
    if not experiment.benchmark.is_live:
        from .task import objective_for

        objective_for(experiment.benchmark)


def check_budgets(experiment: Experiment, source: Path) -> None:
    """Each optimizer's hyperparameters can work with the benchmark's budgets (its table's, or
    a live benchmark's epochs), as the run will give them (every budget to a multi-fidelity
    optimizer, else the largest); :class:`ExperimentError` names file, line, key and value."""
    from optimizers import get_optimizer

    bench = experiment.benchmark
    if bench.is_live:
        budgets = list(bench.live_settings.epochs)
    else:
        from .task import objective_for

        budgets = sorted(objective_for(bench).budgets)
    for i, entry in enumerate(experiment.optimizers):
        cls = get_optimizer(entry.name)
        given = cls.offered_budgets(budgets)
        for member in entry.members():
            problem = cls.budget_problem(cls.resolve(member.params), given)
            if problem is None:
                continue
            key, why = problem
            if entry.grid and key in entry.grid:
                where = ["optimizers", i, "grid", key, entry.grid[key].index(member.params[key])]
                name = f"optimizers.{i}.grid.{key}"
            else:
                where, name = ["optimizers", i, "params", key], f"optimizers.{i}.params.{key}"
            raise ExperimentError(f"{source}:{line_of(source, where)}: {name}: {entry.name}: "
                                  f"{why}")
