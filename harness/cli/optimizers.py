"""``nasbench optimizers``: every registered optimizer with its hyperparameters and defaults."""
from __future__ import annotations

import argparse

from .util import examples


def register(groups: argparse._SubParsersAction) -> None:
    p = groups.add_parser("optimizers", help="list optimizers, hyperparameters and defaults",
                          **examples("nasbench optimizers"))
    p.set_defaults(func=cmd_optimizers)


def cmd_optimizers(args: argparse.Namespace) -> int:
    from optimizers import available, get_optimizer

    for name, target in available().items():
        try:
            cls = get_optimizer(name)
        except ValueError as exc:
            print(f"{name}  ({target}): unavailable: {exc}")
            continue
        kind = "multi-fidelity" if cls.multi_fidelity else "full budget"
        encodings = "A, B" if cls.requires_categorical else "A, B, C"
        print(f"{name}  ({target}; {kind}; encodings {encodings})")
        doc = (cls.__doc__ or "").strip().splitlines()
        if doc:
            print(f"    {doc[0]}")
        for hp, param in cls.params.items():
            print(f"    {hp}: {param.describe()}" + (f"  - {param.help}" if param.help else ""))
    return 0
