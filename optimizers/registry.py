"""Optimizers by name: the built-ins, entry points ``nasbench_harness.optimizers``, ``module:Class``."""
from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from .base import Optimizer

ENTRY_POINT_GROUP = "nasbench_harness.optimizers"
BUILTIN = {
    "random_search": "optimizers.random_search:RandomSearch",
    "regularized_evolution": "optimizers.regularized_evolution:RegularizedEvolution",
    "hyperband": "optimizers.hyperband:Hyperband",
    "bohb": "optimizers.hyperband:BOHB",
    "smac": "optimizers.smac:SMAC",
    "tpe": "optimizers.tpe:TPE",
    "reinforce": "optimizers.reinforce:Reinforce",
}


def available() -> dict[str, str]:
    """Registered names -> ``module:Class`` (built-ins, then plug-ins)."""
    names = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        names.setdefault(ep.name, ep.value)
    return names


def get_optimizer(name: str) -> type[Optimizer]:
    """An optimizer class by registered name or ``module:Class`` path."""
    target = available().get(name, name)
    if ":" not in target:
        raise ValueError(f"unknown optimizer {name!r}; registered: {', '.join(available())} "
                         "(or give a module:Class path)")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"optimizer {name!r}: cannot import {module_name!r} ({exc})") from None
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        raise ValueError(f"optimizer {name!r}: {target} is not an optimizers.Optimizer subclass")
    return cls
