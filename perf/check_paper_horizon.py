"""The paper's claim at its horizon, SMAC's part too slow for the suite (#24): regularized
evolution, BOHB and SMAC beat random search at 1e7 simulated seconds.

Figure 7's experiment on the embedded surrogate (``experiments/paper/figure7.yaml``: encoding A,
one worker, 1e7 simulated seconds, the paper's settings) with these four optimizers, run by
``nasbench run`` on a local Ray (every core) into ``results/perf/paper-horizon`` (resumable: an
interrupted check picks up the runs already done).  Printed: each optimizer's median final test
regret and the one-sided Mann-Whitney p that it is lower than random search's (the suite tests
RE, and BOHB under ``NASBENCH_LONG=1``, the same way over 20 seeds).

    python -m perf check_paper_horizon     # PAPER_HORIZON_SEEDS (default 8) seeds; SMAC's runs
                                           # of 1e7 s cost ~10-20 CPU minutes each, BOHB's ~1
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml
from scipy.stats import mannwhitneyu

from harness.report_tables import on_grid
from harness.results import load_trajectories

from .common import row

ROOT = Path(__file__).resolve().parents[1]
FIGURE7 = ROOT / "experiments" / "paper" / "figure7.yaml"
OUTPUT = ROOT / "results" / "perf" / "paper-horizon"
BASELINE = "random_search"
OPTIMIZERS = (BASELINE, "regularized_evolution", "bohb", "smac")


def experiment(seeds: int) -> dict:
    """Figure 7's file with :data:`OPTIMIZERS` only, ``seeds`` seeds, a local Ray."""
    spec = yaml.safe_load(FIGURE7.read_text())
    spec["optimizers"] = [o for o in spec["optimizers"] if o["name"] in OPTIMIZERS]
    spec.update(name="paper-horizon", seeds=seeds, execution={"backend": "ray"},
                report={"times": [1.0e5, 1.0e6, 1.0e7]})
    return spec


def main() -> None:
    seeds = int(os.environ.get("PAPER_HORIZON_SEEDS", "8"))
    spec = experiment(seeds)
    horizon = float(spec["budget"]["time"])
    print(f"{FIGURE7.name} on the surrogate: {', '.join(OPTIMIZERS)}, {seeds} seeds of "
          f"{horizon:.3g} s into {OUTPUT.relative_to(ROOT)} (resumable)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "paper-horizon.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        done = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(path),
                               "--output", str(OUTPUT)], cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"nasbench run ended with exit {done.returncode}")
    table = on_grid(load_trajectories(OUTPUT), np.array([horizon]), "test_regret")[horizon]
    final = {name: table.xs(name, level="optimizer").dropna().to_numpy() for name in OPTIMIZERS}
    for name, values in final.items():
        row(f"{name}: median final test regret ({values.size} runs)", f"{np.median(values):.5f}")
    for name in OPTIMIZERS[1:]:
        p = mannwhitneyu(final[name], final[BASELINE], alternative="less").pvalue
        row(f"{name} < {BASELINE} at {horizon:.3g} s, one-sided Mann-Whitney p", f"{p:.4f}",
            "paper: it beats random search (p < 0.05)", bool(p < 0.05))


if __name__ == "__main__":
    main()
