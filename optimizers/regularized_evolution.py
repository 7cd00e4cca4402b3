"""Regularized evolution (Real et al., 2019) with the settings of the NAS-Bench-101 paper, and
its non-regularized variant (the paper's Figure 8).

Population 100 filled with random configurations; then each child is the best of a tournament
of 10 drawn with replacement from the population, with exactly one hyperparameter changed; the
oldest member dies when a child is added (non-regularized: the worst, the oldest of equals).
Invalid children stay with the worst fitness (the paper's behaviour) unless ``resample_invalid``
drops them.
"""
from __future__ import annotations

from collections import deque
from operator import itemgetter

from .base import Optimizer, Param, Result, Trial
from .space import SpaceSampler

_fitness = itemgetter(1)


class RegularizedEvolution(Optimizer):
    """Regularized evolution (Real et al., 2019): tournament selection, one-hyperparameter
    mutation, the oldest member dies; population 100, tournament 10 (the paper's)."""

    name = "regularized_evolution"
    requires_categorical = True
    params = {
        "population_size": Param(100, int, 2, None, help="members kept"),
        "sample_size": Param(10, int, 1, None, help="tournament size, drawn with replacement"),
        "resample_invalid": Param(False, bool, help="drop invalid children from the population"),
    }

    def __init__(self, space, budgets, rng=None, **hyperparameters):
        super().__init__(space, budgets, rng, **hyperparameters)
        self.sampler = SpaceSampler(space)
        self.population: deque[tuple[dict, float]] = deque()
        self._asked_random = 0

    def ask(self) -> Trial:
        size = self.settings["population_size"]
        if self._asked_random < size and len(self.population) < size:
            self._asked_random += 1
            return self.new_trial(self.sampler.sample(self.rng))
        if not self.population:
            return self.new_trial(self.sampler.sample(self.rng))
        members = self.population
        picks = self.rng.integers(len(members), size=self.settings["sample_size"]).tolist()
        parent = min(map(members.__getitem__, picks), key=_fitness)  # lowest error, first wins
        return self.new_trial(self.sampler.mutate(parent[0], self.rng))

    def tell(self, trial: Trial, result: Result) -> None:
        if result.invalid and self.settings["resample_invalid"]:
            return
        fitness = float("inf") if result.invalid else result.validation_error
        self.population.append((trial.config, fitness))
        if len(self.population) > self.settings["population_size"]:
            self.remove_one()

    def remove_one(self) -> None:
        """Regularized: the oldest member dies."""
        self.population.popleft()


class NonRegularizedEvolution(RegularizedEvolution):
    """Non-regularized evolution (Real et al., 2019; the NAS-Bench-101 paper's Figure 8):
    regularized evolution with the worst member removed instead of the oldest (of equally bad
    ones, the oldest); population 100, tournament 10 as RE."""

    name = "non_regularized_evolution"

    def remove_one(self) -> None:
        """The worst member dies (the highest error; invalid ones first; the oldest of equals)."""
        fitness = list(map(_fitness, self.population))
        del self.population[fitness.index(max(fitness))]
