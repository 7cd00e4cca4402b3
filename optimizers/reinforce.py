"""REINFORCE over independent categorical distributions, one per hyperparameter (numpy only).

Logits start at 0; after each valid result the logits move by ``lr * advantage * (onehot -
softmax)``, with reward = validation accuracy and a bias-corrected moving-average baseline
(momentum 0.9).  The baseline of a step is the average *before* that step's reward, so the very
first step has advantage 0.  Invalid samples cost nothing and are rejected: no update.
"""
from __future__ import annotations

from operator import getitem

import numpy as np

from .base import Optimizer, Param, Result, Trial
from .space import SpaceSampler

#: Uniform rows drawn from the Generator at a time (one row per ask), and rows mapped to
#: choices at a time (a valid result changes the logits, on average every ~7 asks in A).
_BLOCK = 64
_CHOOSE = 8


class Reinforce(Optimizer):
    """REINFORCE (Williams, 1992) over one categorical distribution per hyperparameter, as in
    the paper: learning rate 0.5 (S2.2), a moving-average baseline with momentum 0.9 (the
    nas_benchmarks script's; the paper does not state it).

    The nas_benchmarks script ``run_rl.py`` defaults to a learning rate of 0.1
    (``params: {learning_rate: 0.1}``, this project's default before)."""

    name = "reinforce"
    requires_categorical = True
    params = {"learning_rate": Param(0.5, float, 0.0, None, help="step size on the logits"),
              "momentum": Param(0.9, float, 0.0, 1.0,
                                help="of the baseline's moving average (nas_benchmarks')")}

    def __init__(self, space, budgets, rng=None, **hyperparameters):
        super().__init__(space, budgets, rng, **hyperparameters)
        sampler = SpaceSampler(space)
        self.names = sampler.names
        self.choices = [spec for _, spec in sampler.kinds]
        sizes = np.array([len(c) for c in self.choices])
        width = sizes.max()
        # one row of logits per hyperparameter, padded with -inf (probability 0) to the widest
        self.logits = np.where(np.arange(width) < sizes[:, None], 0.0, -np.inf)
        # choice k is picked when the uniform is >= k thresholds: the cumulative probabilities
        # of the choices before the last (inf from there on, so a pick is always in range)
        self._cut = np.arange(width - 1) >= sizes[:, None] - 1
        self._rows = np.arange(len(sizes))
        self._ema = 0.0
        self._steps = 0
        self._probs, self._thresholds = self._distribution()
        self._uniforms = np.empty((0, len(sizes)))   # drawn; rows from _used on not yet used
        self._used = 0
        self._block = np.empty((0, len(sizes)), np.int64)  # choices of the next rows ...
        self._picks: list[list[int]] = []                  # ... as lists, under these logits
        self._next = 0

    def _distribution(self) -> tuple[np.ndarray, np.ndarray]:
        """Softmax of every row and its thresholds (recomputed when the logits change)."""
        z = np.exp(self.logits - self.logits.max(axis=1, keepdims=True))
        probs = z / z.sum(axis=1, keepdims=True)
        thresholds = np.cumsum(probs[:, :-1], axis=1)
        thresholds[self._cut] = np.inf
        return probs, thresholds

    def ask(self) -> Trial:
        if self._next == len(self._picks):
            self._choose()
        i = self._next
        self._next += 1
        self._used += 1
        return self.new_trial(dict(zip(self.names, map(getitem, self.choices, self._picks[i]))),
                              picks=self._block[i])

    def _choose(self) -> None:
        """Choices for the next drawn uniforms (``_BLOCK`` more when none are left), vectorised.

        Each ask consumes one row of uniforms in draw order; a change of the logits re-derives
        the choices of the rows not yet used, so the samples do not depend on the block size.
        """
        if self._used == len(self._uniforms):
            self._uniforms = self.rng.random((_BLOCK, len(self.names)))
            self._used = 0
        rows = self._uniforms[self._used:self._used + _CHOOSE]
        self._block = (rows[:, :, None] >= self._thresholds).sum(axis=2)
        self._picks = self._block.tolist()
        self._next = 0

    def tell(self, trial: Trial, result: Result) -> None:
        if result.invalid:
            return
        reward = 1.0 - result.validation_error
        m = self.settings["momentum"]
        baseline = reward if self._steps == 0 else self._ema / (1 - m ** self._steps)
        advantage = reward - baseline
        grad = -self._probs
        grad[self._rows, trial.info["picks"]] += 1.0
        self.logits += self.settings["learning_rate"] * advantage * grad
        self._ema = m * self._ema + (1 - m) * reward
        self._steps += 1
        self._probs, self._thresholds = self._distribution()
        self._picks = []  # the unused uniforms are re-mapped under the new logits
        self._next = 0
