"""``nasbench report``: figures and tables from a results folder."""
from __future__ import annotations

import argparse
from pathlib import Path

from .util import examples, folder_path, positive_times


def register(groups: argparse._SubParsersAction) -> None:
    p = groups.add_parser("report", help="regret plots and tables from a results folder",
                          **examples("nasbench report results/demo",
                                     "nasbench report results/paper --aggregate median "
                                     "--times 1e5,1e6,1e7"))
    p.add_argument("folder", type=Path, help="results folder of 'nasbench run'")
    p.add_argument("--times", help="comma-separated times [s] for the tables and tests "
                   "(default: the experiment's report.times, else the end)")
    p.add_argument("--aggregate", choices=("mean", "median", "iqm"), default="mean",
                   help="mean ± s.e. (default), median with IQR, or IQM with bootstrap CI")
    p.add_argument("--out", type=folder_path, help="where to write (default: FOLDER/report)")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from harness.report import report

    times = positive_times(args.times) if args.times is not None else _planned_times(args.folder)
    out = report(args.folder, times=times, aggregate=args.aggregate, out=args.out)
    print(f"figures and tables in {out}")
    return 0


def _planned_times(folder: Path) -> list[float] | None:
    """The ``report.times`` of the folder's experiment, if it names any."""
    import yaml

    try:
        times = yaml.safe_load((folder / "experiment.yaml").read_text())["report"]["times"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    return [float(t) for t in times] if isinstance(times, list) and times else None
