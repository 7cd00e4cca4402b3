"""``nasbench analyze``: the paper's dataset analysis of a table, one page beside the paper."""
from __future__ import annotations

import argparse
from pathlib import Path

from .util import examples, folder_path


def register(groups: argparse._SubParsersAction) -> None:
    p = groups.add_parser("analyze", help="the paper's dataset analysis (Section 3) of a table",
                          **examples("nasbench analyze surrogate --out analysis/surrogate",
                                     "nasbench analyze ~/nb101 --out analysis/nb101",
                                     "nasbench analyze sample_30k.json.gz --out analysis/sample"))
    p.add_argument("table", help="a store folder, a .tfrecord, a real sample (.json/.json.gz) "
                   "or 'surrogate'")
    p.add_argument("--out", type=folder_path, help="folder to write (new, empty or an earlier "
                   "analysis; default: analysis-<table name>)")
    p.add_argument("--seed", type=int, default=0, help="the surrogate's draw and the random "
                   "walk's seed (default 0)")
    p.add_argument("--walk-steps", type=int, default=100_000,
                   help="length of the random walk (default 100000)")
    p.set_defaults(func=cmd_analyze)


def cmd_analyze(args: argparse.Namespace) -> int:
    from benchmark.errors import InputError
    from harness.analyze import analyze

    if args.seed < 0:
        raise InputError(f"--seed {args.seed}: a seed is a non-negative integer")
    if args.walk_steps < 10:
        raise InputError(f"--walk-steps {args.walk_steps}: give at least 10 steps")
    name = Path(str(args.table)).name.split(".")[0] or "table"
    out = analyze(args.table, args.out or Path(f"analysis-{name}"), seed=args.seed,
                  walk_steps=args.walk_steps)
    print(f"analysis in {out / 'index.html'}")
    return 0
