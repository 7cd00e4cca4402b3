"""Sampling and mutating ConfigSpace configurations with a numpy Generator.

ConfigSpace samples with its own RandomState; the built-in optimizers draw from the run's
Generator instead, so a run depends only on its seed.  Configurations are plain dicts with plain
Python values.  Conditions and forbidden clauses are not supported (the NAS-Bench-101
encodings have none) and are rejected with a clear error.
"""
from __future__ import annotations

from typing import Any

import ConfigSpace as CS
import numpy as np


class SpaceSampler:
    """Uniform sampling and one-hyperparameter mutation over a flat ConfigSpace."""

    def __init__(self, space: CS.ConfigurationSpace, batch: int = 1024):
        if space.conditions or space.forbidden_clauses:
            raise ValueError("conditional or forbidden search spaces are not supported")
        self.space = space
        self.names = list(space.keys())
        self.kinds: list[tuple[str, Any]] = []
        for hp in space.values():
            if isinstance(hp, CS.CategoricalHyperparameter):
                self.kinds.append(("choice", tuple(_plain(c) for c in hp.choices)))
            elif isinstance(hp, CS.OrdinalHyperparameter):
                self.kinds.append(("choice", tuple(_plain(c) for c in hp.sequence)))
            elif isinstance(hp, CS.UniformIntegerHyperparameter) and not hp.log:
                self.kinds.append(("int", (int(hp.lower), int(hp.upper))))
            elif isinstance(hp, CS.UniformFloatHyperparameter) and not hp.log:
                self.kinds.append(("float", (float(hp.lower), float(hp.upper))))
            else:
                raise ValueError(f"hyperparameter {hp.name}: {type(hp).__name__} is not supported")
        # choices 0..k-1 (an edge's 0/1): a drawn index is the value, no look-up per draw
        self._indices = {i for i, (kind, spec) in enumerate(self.kinds)
                         if kind == "choice" and _is_range(spec)}
        self.batch = batch
        self._pending: list[dict[str, Any]] = []

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """One uniform configuration (drawn in batches of ``batch`` for speed)."""
        if not self._pending:
            self._pending = self.sample_many(rng, self.batch)[::-1]
        return self._pending.pop()

    def sample_many(self, rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
        columns = []
        for k, (kind, spec) in enumerate(self.kinds):
            if kind == "choice":
                idx = rng.integers(len(spec), size=n).tolist()
                columns.append(idx if k in self._indices else [spec[i] for i in idx])
            elif kind == "int":
                columns.append(rng.integers(spec[0], spec[1] + 1, size=n).tolist())
            else:
                columns.append(rng.uniform(spec[0], spec[1], size=n).tolist())
        names = self.names
        return [dict(zip(names, values)) for values in zip(*columns)]

    def mutate(self, config: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """Change exactly one hyperparameter to a different value (nas_benchmarks' mutate_arch)."""
        i = int(rng.integers(len(self.names)))
        kind, spec = self.kinds[i]
        name = self.names[i]
        child = dict(config)
        if kind == "choice":
            current = config[name]
            if current in spec:  # others[j] without building the list of others
                j = int(rng.integers(len(spec) - 1))
                child[name] = spec[j + (j >= spec.index(current))]
            else:
                others = [c for c in spec if c != current]
                child[name] = others[int(rng.integers(len(others)))]
        elif kind == "int":
            others = [v for v in range(spec[0], spec[1] + 1) if v != config[name]]
            child[name] = others[int(rng.integers(len(others)))]
        else:
            child[name] = float(rng.uniform(spec[0], spec[1]))
        return child


def _is_range(choices: tuple) -> bool:
    return all(type(c) is int for c in choices) and choices == tuple(range(len(choices)))


def _plain(value: Any) -> Any:
    """numpy scalars -> Python values (configs are written to JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def plain_config(config: Any) -> dict[str, Any]:
    return {str(k): _plain(v) for k, v in dict(config).items()}
