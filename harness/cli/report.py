"""``nasbench report``: figures and tables from a results folder."""
from __future__ import annotations

import argparse
from pathlib import Path

from .util import examples


def register(groups: argparse._SubParsersAction) -> None:
    p = groups.add_parser("report", help="regret plots and tables from a results folder",
                          **examples("nasbench report results/demo",
                                     "nasbench report results/paper --aggregate median "
                                     "--times 1e5,1e6,1e7"))
    p.add_argument("folder", type=Path, help="results folder of 'nasbench run'")
    p.add_argument("--times", help="comma-separated times [s] for the table (default: the end)")
    p.add_argument("--aggregate", choices=("mean", "median", "iqm"), default="mean",
                   help="mean ± s.e. (default), median with IQR, or IQM with bootstrap CI")
    p.add_argument("--out", type=Path, help="where to write (default: FOLDER/report)")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from harness.report import report

    times = None
    if args.times:
        try:
            times = [float(t) for t in args.times.split(",")]
        except ValueError:
            raise ValueError(f"--times {args.times!r}: comma-separated numbers, e.g. "
                             "1e5,1e6") from None
    out = report(args.folder, times=times, aggregate=args.aggregate, out=args.out)
    print(f"figures and tables in {out}")
    return 0
