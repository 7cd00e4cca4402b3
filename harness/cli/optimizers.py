"""``nasbench optimizers``: every registered optimizer with its hyperparameters and defaults."""
from __future__ import annotations

import argparse
import textwrap

from .util import examples


def register(groups: argparse._SubParsersAction) -> None:
    p = groups.add_parser("optimizers", help="list optimizers, hyperparameters and defaults",
                          **examples("nasbench optimizers"))
    p.set_defaults(func=cmd_optimizers)


def cmd_optimizers(args: argparse.Namespace) -> int:
    """Each optimizer, its hyperparameters, defaults and where each default comes from (the
    paper's S2.2, the driving library's default, or this project's choice)."""
    from benchmark.objectives import ENCODINGS
    from optimizers import available, get_optimizer
    from optimizers.registry import BUILTIN
    from optimizers.settings import source

    for name, target in available().items():
        try:
            cls = get_optimizer(name)
        except ValueError as exc:
            print(f"{name}  ({target}): unavailable: {exc}")
            continue
        kind = "multi-fidelity" if cls.multi_fidelity else "full budget"
        encodings = ", ".join(e for e in ENCODINGS if _fits(cls, e))
        print(f"{name}  ({target}; {kind}; encodings {encodings})")
        summary = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
        if summary:
            print(textwrap.fill(summary, 96, initial_indent="    ", subsequent_indent="    "))
        for key, param in cls.params.items():
            origin = source(name, key) if name in BUILTIN else "plug-in"
            print(f"    {key}: {param.describe()} ({origin})"
                  + (f"  - {param.help}" if param.help else ""))
    from optimizers.optuna_samplers import optuna_samplers

    print(f"optuna:SAMPLER  (any Optuna sampler that takes a seed: {', '.join(optuna_samplers())})")
    print("    params: the sampler's constructor arguments, e.g. {n_startup_trials: 10}; "
          "seeded from the run")
    return 0


def _fits(cls, encoding: str) -> bool:
    from harness.config import check_encoding

    try:
        check_encoding(cls, encoding)
    except ValueError:
        return False
    return True
