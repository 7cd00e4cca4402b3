"""Optimizers by name: the built-ins, entry points ``nasbench_harness.optimizers``,
``module:Class``, and ``optuna:SAMPLER`` for any Optuna sampler."""
from __future__ import annotations

import importlib
import re
from importlib.metadata import entry_points

from .base import Optimizer

_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
ENTRY_POINT_GROUP = "nasbench_harness.optimizers"
OPTUNA_PREFIX = "optuna:"
#: The built-ins, in the order reports list them (and the order of their fixed figure styles).
BUILTIN = {
    "random_search": "optimizers.random_search:RandomSearch",
    "regularized_evolution": "optimizers.regularized_evolution:RegularizedEvolution",
    "hyperband": "optimizers.hyperband:Hyperband",
    "bohb": "optimizers.hyperband:BOHB",
    "smac": "optimizers.smac:SMAC",
    "tpe": "optimizers.tpe:TPE",
    "reinforce": "optimizers.reinforce:Reinforce",
    "optuna_tpe": "optimizers.optuna_samplers:OptunaTPE",
    "non_regularized_evolution": "optimizers.regularized_evolution:NonRegularizedEvolution",
}


def available() -> dict[str, str]:
    """Registered names -> ``module:Class`` (built-ins, then plug-ins)."""
    names = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        names.setdefault(ep.name, ep.value)
    return names


def get_optimizer(name: str) -> type[Optimizer]:
    """An optimizer class by registered name or ``module:Class`` path; a ``ValueError`` in one
    line for an unknown name, a malformed path, or a module that fails to import."""
    if name.startswith(OPTUNA_PREFIX):
        from .optuna_samplers import optuna_optimizer

        return optuna_optimizer(name[len(OPTUNA_PREFIX):])
    target = available().get(name, name)
    if ":" not in target:
        raise ValueError(f"unknown optimizer {name!r}; registered: {', '.join(available())} "
                         "(or give a module:Class path, or optuna:SAMPLER)")
    module_name, _, attr = target.partition(":")
    if not (_DOTTED.fullmatch(module_name) and attr.isidentifier()):
        raise ValueError(f"optimizer {name!r}: not a module:Class path (e.g. "
                         "my_package.my_module:MyOptimizer)")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise ValueError(f"optimizer {name!r}: {exc.filename}:{exc.lineno}: syntax error "
                         f"({exc.msg})") from None
    except Exception as exc:  # noqa: BLE001 - whatever the plug-in's import raises
        raise ValueError(f"optimizer {name!r}: importing {module_name!r} failed "
                         f"({type(exc).__name__}: {exc})") from None
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        raise ValueError(f"optimizer {name!r}: {target} is not an optimizers.Optimizer subclass")
    return cls
