"""The paper's claim at its horizon, SMAC's part too slow for the suite (#24): regularized
evolution, BOHB and SMAC beat random search at 1e7 simulated seconds.

Figure 7's experiment on the embedded surrogate (``experiments/paper/figure7.yaml``: encoding A,
one worker, 1e7 simulated seconds, the paper's settings), run by ``nasbench run`` on a local Ray
(every core) into ``results/perf/paper-horizon`` (resumable: an interrupted check picks up the
runs already done): RE, BOHB and SMAC with ``PAPER_HORIZON_SEEDS`` seeds (default 8; a SMAC
run costs ~4 CPU minutes), random search, which costs nothing, with
``PAPER_HORIZON_BASELINE_SEEDS`` (default 20) in a folder of its own (its seeds 0.. are the same
runs as the other folder's).  Printed: each optimizer's median final test regret and the
one-sided Mann-Whitney p that it is lower than random search's (unequal groups are fine for the
test; the suite tests RE, and BOHB under ``NASBENCH_LONG=1``, the same way over 20 seeds).

    python -m perf check_paper_horizon     # ~20 minutes on 2 cores with the default 8 seeds
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


def experiment(names: tuple[str, ...], seeds: int, name: str) -> dict:
    """Figure 7's file with ``names`` only, ``seeds`` seeds, a local Ray."""
    spec = yaml.safe_load(FIGURE7.read_text())
    spec["optimizers"] = [o for o in spec["optimizers"] if o["name"] in names]
    spec.update(name=name, seeds=seeds, execution={"backend": "ray"},
                report={"times": [1.0e5, 1.0e6, 1.0e7]})
    return spec


def run(spec: dict, output: Path) -> dict[str, np.ndarray]:
    """``nasbench run`` of ``spec`` into ``output``: each optimizer's final test regrets."""
    horizon = float(spec["budget"]["time"])
    print(f"{FIGURE7.name} on the surrogate: {', '.join(o['name'] for o in spec['optimizers'])},"
          f" {spec['seeds']} seeds of {horizon:.3g} s into {output.relative_to(ROOT)} "
          "(resumable)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{spec['name']}.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        done = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(path),
                               "--output", str(output)], cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"nasbench run ended with exit {done.returncode}")
    table = on_grid(load_trajectories(output), np.array([horizon]), "test_regret")[horizon]
    return {o["name"]: table.xs(o["name"], level="optimizer").dropna().to_numpy()
            for o in spec["optimizers"]}


def main() -> None:
    seeds = int(os.environ.get("PAPER_HORIZON_SEEDS", "8"))
    baseline_seeds = int(os.environ.get("PAPER_HORIZON_BASELINE_SEEDS", "20"))
    final = run(experiment(OPTIMIZERS, seeds, "paper-horizon"), OUTPUT)
    baseline = experiment((BASELINE,), baseline_seeds, "paper-horizon-baseline")
    final[BASELINE] = run(baseline, OUTPUT.with_name("paper-horizon-baseline"))[BASELINE]
    horizon = float(baseline["budget"]["time"])
    for name, values in final.items():
        row(f"{name}: median final test regret ({values.size} runs)", f"{np.median(values):.5f}")
    for name in OPTIMIZERS[1:]:
        p = mannwhitneyu(final[name], final[BASELINE], alternative="less").pvalue
        row(f"{name} < {BASELINE} at {horizon:.3g} s, one-sided Mann-Whitney p", f"{p:.4f}",
            "paper: it beats random search (p < 0.05)", bool(p < 0.05))


if __name__ == "__main__":
    main()
