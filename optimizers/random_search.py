"""Random search: uniform configurations at the largest budget."""
from __future__ import annotations

from .base import Optimizer, Result, Trial
from .space import SpaceSampler


class RandomSearch(Optimizer):
    """Random search (Bergstra & Bengio, 2012): uniform configurations at the largest budget."""

    name = "random_search"

    def __init__(self, space, budgets, rng=None, **hyperparameters):
        super().__init__(space, budgets, rng, **hyperparameters)
        self.sampler = SpaceSampler(space)

    def ask(self) -> Trial:
        return self.new_trial(self.sampler.sample(self.rng))

    def tell(self, trial: Trial, result: Result) -> None:
        pass
