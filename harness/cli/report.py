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
    p.add_argument("--aggregate", choices=("mean", "median", "iqm"), default=None,
                   help="the line of each optimizer in the regret figures: the "
                   "mean, median or interquartile mean over its runs of the incumbent's regret, "
                   "with a 95%% percentile-bootstrap band; dotted before every run has an "
                   "incumbent (default: the experiment's report.aggregate, else the mean)")
    p.add_argument("--baseline", help="test each optimizer against this one (default: the "
                   "experiment's report.baseline, else random_search when present)")
    p.add_argument("--all-pairs", action="store_true",
                   help="test every ordered pair instead (one-sided, Holm over all of them)")
    p.add_argument("--out", type=folder_path, help="where to write (default: FOLDER/report)")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from harness.report import report

    planned = _planned(args.folder)
    times = positive_times(args.times) if args.times is not None else planned.get("times")
    times = [float(t) for t in times] if isinstance(times, list) and times else None
    out = report(args.folder, times=times, aggregate=args.aggregate or _choice(
        planned.get("aggregate"), ("mean", "median", "iqm"), "mean"), out=args.out,
        baseline=args.baseline or _choice(planned.get("baseline"), None, None),
        all_pairs=args.all_pairs or planned.get("pairs") == "all")
    print(f"figures and tables in {out}")
    return 0


def _planned(folder: Path) -> dict:
    """The ``report`` section of the folder's experiment (empty if it has none)."""
    from harness.results import read_experiment

    section = (read_experiment(folder) or {}).get("report")
    return section if isinstance(section, dict) else {}


def _choice(value, allowed, default):
    """``value`` if it is a string (among ``allowed``, when given), else ``default``."""
    return value if isinstance(value, str) and (allowed is None or value in allowed) else default
