"""Run every benchmark script in turn."""
from __future__ import annotations

import importlib
import logging
import sys

SCRIPTS = ["perf.bench_space", "perf.bench_query", "perf.bench_data", "perf.bench_surrogate",
           "perf.bench_analysis", "perf.bench_optimizers", "perf.bench_tpe", "perf.bench_smac",
           "perf.bench_harness", "perf.bench_cluster", "perf.bench_trainer",
           "perf.bench_paper_scale", "perf.check_paper_horizon"]


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    from harness.cli.app import RAY_TOKEN_NOTICE

    logging.getLogger(RAY_TOKEN_NOTICE).setLevel(logging.ERROR)   # as the CLI
    selected = sys.argv[1:] or SCRIPTS
    for name in selected:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(name if name.startswith("perf.") else f"perf.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
