"""REINFORCE over independent categorical distributions, one per hyperparameter (numpy only).

Logits start at 0; after each valid result the logits move by ``lr * advantage * (onehot -
softmax)``, with reward = validation accuracy and a bias-corrected moving-average baseline
(momentum 0.9).  The baseline of a step is the average *before* that step's reward, so the very
first step has advantage 0.  Invalid samples cost nothing and are rejected: no update.
"""
from __future__ import annotations

import bisect

import numpy as np

from .base import Optimizer, Param, Result, Trial
from .space import SpaceSampler


class Reinforce(Optimizer):
    name = "reinforce"
    requires_categorical = True
    params = {"learning_rate": Param(0.1, float, 0.0, None),
              "momentum": Param(0.9, float, 0.0, 1.0, help="of the baseline's moving average")}

    def __init__(self, space, budgets, rng=None, **hyperparameters):
        super().__init__(space, budgets, rng, **hyperparameters)
        sampler = SpaceSampler(space)
        self.names = sampler.names
        self.choices = [spec for _, spec in sampler.kinds]
        self.logits = [np.zeros(len(c)) for c in self.choices]
        self._ema = 0.0
        self._steps = 0
        self._cumulative = self._cumulative_probs()

    def _cumulative_probs(self) -> list[list[float]]:
        """Cumulative probabilities per hyperparameter (recomputed when the logits change)."""
        return [np.cumsum(self._probs(i)).tolist() for i in range(len(self.names))]

    def _probs(self, i: int) -> np.ndarray:
        z = np.exp(self.logits[i] - self.logits[i].max())
        return z / z.sum()

    def ask(self) -> Trial:
        u = self.rng.random(len(self.names)).tolist()
        config, picks = {}, []
        for i, name in enumerate(self.names):
            k = min(bisect.bisect_right(self._cumulative[i], u[i]), len(self.choices[i]) - 1)
            config[name] = self.choices[i][k]
            picks.append(k)
        return self.new_trial(config, picks=picks)

    def tell(self, trial: Trial, result: Result) -> None:
        if result.invalid:
            return
        reward = 1.0 - result.validation_error
        m = self.hp["momentum"]
        baseline = reward if self._steps == 0 else self._ema / (1 - m ** self._steps)
        advantage = reward - baseline
        for i, k in enumerate(trial.info["picks"]):
            grad = -self._probs(i)
            grad[k] += 1.0
            self.logits[i] += self.hp["learning_rate"] * advantage * grad
        self._ema = m * self._ema + (1 - m) * reward
        self._steps += 1
        self._cumulative = self._cumulative_probs()
