"""Runs per second on a 3-node Ray cluster (a head and two 1-CPU worker nodes, each in a network
namespace of its own, as tests/test_cluster_nodes.py makes them), against the local backend in
the same run: sweeps of n and 2n tiny runs through the command line, so that each command's
start-up (Python, Ray's join, the node checks) cancels in the difference.  Needs root (network
namespaces); elsewhere it says so and measures nothing."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from harness.config import BenchmarkConfig, BudgetConfig
from harness.plan import RunSpec
from harness.task import execute_run

from .common import QUICK, row

ROOT = Path(__file__).resolve().parents[1]
TIME = 1e3   # simulated seconds per run: a tiny run, so that the backend's cost shows


def _experiment(folder: Path, seeds: int, execution: dict) -> Path:
    path = folder / f"e-{seeds}-{execution['backend']}.yaml"
    path.write_text(yaml.safe_dump({
        "name": "perf-cluster", "benchmark": {"name": "surrogate", "encoding": "A"},
        "budget": {"time": TIME}, "seeds": seeds, "optimizers": [{"name": "random_search"}],
        "execution": execution, "report": {"enabled": False}}))
    return path


def _timed_run(command: list[str], env: dict, exp: Path, out: Path) -> float:
    t0 = time.perf_counter()
    run = subprocess.run([*command, sys.executable, "-m", "harness.cli", "run", "--no-report",
                          "--output", str(out), str(exp)], env=env, capture_output=True,
                         text=True, timeout=3600)
    took = time.perf_counter() - t0
    if run.returncode:
        raise RuntimeError(f"{exp.name}: exit {run.returncode}: {run.stderr[-2000:]}")
    return took


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.netns_cluster import HEAD, three_nodes, why_no_namespaces

    why = why_no_namespaces()
    if why:
        print(f"  skipped: {why}")
        return
    n = 100 if QUICK else 500
    bench, budget = BenchmarkConfig(), BudgetConfig(time=TIME)
    t0 = time.perf_counter()
    for seed in range(n):
        execute_run(bench, budget, RunSpec("random_search", "random_search", {}, seed))
    alone = (time.perf_counter() - t0) / n
    with tempfile.TemporaryDirectory(prefix="nbperf-") as tmp, three_nodes(Path(tmp)) as cluster:
        tmp = Path(tmp)
        local_env = {**os.environ, "PYTHONPATH": str(ROOT)}
        took: dict[tuple[str, int], float] = {}
        for seeds in (n, 2 * n):   # interleaved: cluster, local, cluster, local
            exp = _experiment(tmp, seeds, {"backend": "ray", "address": HEAD})
            took["cluster", seeds] = _timed_run(["ip", "netns", "exec", cluster.ns(1)],
                                                cluster.env, exp, tmp / f"c{seeds}")
            exp = _experiment(tmp, seeds, {"backend": "local"})
            took["local", seeds] = _timed_run([], local_env, exp, tmp / f"l{seeds}")
    print(f"random search, {TIME:.0e} simulated s per run; 3-node cluster: 2 worker nodes of "
          f"1 CPU (load: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    row(f"a run in this process ({n} runs)", f"{alone * 1e3:.1f} ms")
    per_run = {}
    for backend in ("cluster", "local"):
        whole = took[backend, 2 * n]
        per_run[backend] = (took[backend, 2 * n] - took[backend, n]) / n
        row(f"{backend}: {2 * n:,} runs, the whole command", f"{whole:.1f} s",
            f"{2 * n / whole:.1f} runs/s")
        row(f"{backend}: wall per run (2n - n sweeps: start-up cancels)",
            f"{per_run[backend] * 1e3:.1f} ms", f"{1 / per_run[backend]:.1f} runs/s")
    workers = 2
    overhead = per_run["cluster"] * workers - alone
    row("cluster overhead per run (wall per run x 2 CPUs, less the run)",
        f"{overhead * 1e3:.1f} ms", f"local: {(per_run['local'] - alone) * 1e3:.1f} ms")
    row("cluster vs local, runs per second", f"{per_run['local'] / per_run['cluster']:.2f}x")
