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
    """``nasbench report``: the report of ``args.folder``, each setting from its flag, else the
    folder's experiment (``report:``), else its default.

    Args:
        args: the parsed command line (see :func:`register`).

    Returns:
        The exit status, 0.

    Raises:
        harness.report.ReportError: nothing to report (no such folder, no readable run).
    """
    from harness.config import ReportConfig, read_saved
    from harness.report import report

    saved = read_saved(args.folder)
    options = (saved.report if saved else ReportConfig()).options()
    if args.times is not None:
        options["times"] = positive_times(args.times)
    options["aggregate"] = args.aggregate or options["aggregate"]
    options["baseline"] = args.baseline or options["baseline"]
    options["all_pairs"] = args.all_pairs or options["all_pairs"]
    out = report(args.folder, out=args.out, **options)
    print(f"figures and tables in {out}")
    return 0
