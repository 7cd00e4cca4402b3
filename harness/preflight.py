"""Checks of an experiment against the disk, after its file validated: the data it names
exists and opens.  (The schema's validators touch nothing: an experiment can be validated on
any machine; these run on the one that runs it.)"""
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
