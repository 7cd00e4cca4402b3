"""The plan of an experiment: which runs it has, which of them a results folder already holds,
and the order to start the others in."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Experiment
from .results import RunKey, expected_facts, incomplete

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSpec:
    label: str
    optimizer: str
    params: dict[str, Any]
    seed: int

    @property
    def key(self) -> RunKey:
        return RunKey(self.label, self.seed)


def plan(experiment: Experiment) -> list[RunSpec]:
    return [RunSpec(o.key, o.name, dict(o.params), seed) for o, seed in experiment.runs()]


def to_do(experiment: Experiment, output: Path) -> list[RunSpec]:
    """The runs without a complete run file of this experiment; a damaged one, or one of
    another experiment, is named and redone."""
    todo = []
    expected = expected_facts(experiment)
    for run in plan(experiment):
        path = run.key.path(output)
        why = incomplete(path, run.key, expected[(run.label, run.seed)])
        if why is not None:
            if why != "missing":
                log.warning("redoing %s: %s", path, why)
            todo.append(run)
    return todo


def relative_cost(run: RunSpec) -> float:
    """The run's expected wall time relative to random search's (its optimizer's
    :attr:`~optimizers.Optimizer.cost_hint`): runs start longest first."""
    from optimizers import get_optimizer

    return get_optimizer(run.optimizer).cost_hint
