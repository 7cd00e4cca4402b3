"""``nasbench run``: run an experiment file (resumable), then report."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from benchmark.errors import InputError

from .util import examples, folder_path

log = logging.getLogger("nasbench")


def register(groups: argparse._SubParsersAction) -> None:
    p = groups.add_parser("run", help="run an experiment YAML (resumes an unfinished folder)",
                          **examples("nasbench run experiments/demo.yaml",
                                     "nasbench run experiments/paper.yaml --seeds 0-99",
                                     "nasbench run exp.yaml --output results/exp2 --force",
                                     "nasbench run experiments/live.yaml   # trains on a Ray "
                                     "cluster"))
    p.add_argument("experiment", type=Path, help="experiment YAML file")
    p.add_argument("--output", type=folder_path,
                   help="output folder (default: the file's 'output')")
    p.add_argument("--seeds", help="override the seeds: a count '20', a range '0-9' or a list "
                                   "'1,5,7'")
    p.add_argument("--force", action="store_true",
                   help="replace the results of a different experiment in the output folder")
    p.add_argument("--backend", choices=("ray", "local"), help="override execution.backend")
    p.add_argument("--no-report", action="store_true", help="skip the report at the end")
    p.set_defaults(func=cmd_run)


def parse_seeds(text: str) -> int | list[int]:
    """``--seeds``: a count, a range ``lo-hi`` or a list ``a,b,c`` (errors name the flag)."""
    from harness.config import MAX_SEEDS

    try:
        if "-" in text and "," not in text:
            lo, hi = (int(x) for x in text.split("-"))
            if not 0 <= lo <= hi:
                raise InputError
            if hi - lo + 1 > MAX_SEEDS:
                raise InputError(f"--seeds {text!r}: {hi - lo + 1:,} seeds, more than the limit "
                                 f"of {MAX_SEEDS:,}")
            return list(range(lo, hi + 1))
        if "," in text:
            return [int(x) for x in text.split(",")]
        return int(text)
    except ValueError as exc:
        if str(exc).startswith("--seeds"):
            raise
        raise InputError(f"--seeds {text!r}: give a count (20), a range (0-9) or a list "
                         "(1,5,7)") from None


def cmd_run(args: argparse.Namespace) -> int:
    from harness.config import load_experiment
    from harness.preflight import check_files
    from harness.runner import run_experiment

    overrides = {}
    if args.seeds is not None:
        overrides["seeds"] = parse_seeds(args.seeds)
    experiment = load_experiment(args.experiment, overrides)
    check_files(experiment, args.experiment)
    if args.backend:
        experiment = experiment.model_copy(update={"execution": experiment.execution.model_copy(
            update={"backend": args.backend})})
    output = args.output or Path(experiment.output)
    done, failures = run_experiment(experiment, args.experiment, output, force=args.force)
    if done:
        log.info("%s: %d runs done now, results in %s", experiment.name, done, output)
    else:
        total = len(experiment.runs())
        log.info("%s: all %d runs already done, results in %s", experiment.name, total, output)
    if failures:  # first: a report that fails for want of results must not hide why
        print(f"nasbench: {len(failures)} run(s) failed (tracebacks in {output}/runs/*/"
              "*.failed.txt):", file=sys.stderr)
        for line in failures:
            print(f"  {line}", file=sys.stderr)
    if experiment.report.enabled and not args.no_report:
        from harness.report import report
        from harness.results import run_files

        if run_files(output):
            report(output, **experiment.report.options())
    return 1 if failures else 0
