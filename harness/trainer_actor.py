"""The Ray actor that trains cells: CIFAR-10 loaded once, then cell after cell.

Used by ``build-table`` (one actor per GPU) and by the live benchmark (one per worker).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.space import ModelSpec


class TrainerActor:
    """Holds CIFAR-10 in memory and trains cell after cell with one ``TrainConfig``."""

    def __init__(self, data: str, config: Any):
        from trainer.cifar import load

        self.data = load(data)
        self.config = config

    def ready(self) -> bool:
        """Returns once the data is loaded (the constructor has run)."""
        return True

    def train(self, tag: Any, matrix: list, ops: list, epochs: int,
              seed: np.random.SeedSequence, deadline: float | None = None) -> tuple[Any, Any]:
        """``(tag, TrainResult)``, or ``(tag, None)`` when ``deadline`` passed first."""
        from trainer.train import TrainingStopped, train

        try:
            return tag, train(ModelSpec(matrix, ops), epochs, self.data, self.config, seed=seed,
                              progress=False, deadline=deadline)
        except TrainingStopped:
            return tag, None
