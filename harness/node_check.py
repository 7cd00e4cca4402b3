"""What every node of a cluster must share with the driver for its runs to be the driver's runs:
the same code (this package's version and the digest of its sources, and the versions of the
libraries that decide a run's bytes) and the table at the configured path.

:func:`node_facts` runs on a node and says what it has; :func:`mismatch` compares that with the
driver's and returns one line naming the node and what to fix (None: the node may run).
"""
from __future__ import annotations

import functools
import hashlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .config import BenchmarkConfig

#: distributions whose versions decide a run's bytes (the optimizers' libraries, numpy's RNG)
LIBRARIES = ("nasbench-harness", "numpy", "scipy", "ConfigSpace", "hpbandster", "smac",
             "optuna", "hyperopt", "scikit-learn", "cmaes")
#: the packages whose sources a run executes
PACKAGES = ("benchmark", "optimizers", "harness")


@functools.cache
def fingerprint() -> dict[str, str | None]:
    """Versions of :data:`LIBRARIES` and ``source``: a digest of this package's Python files
    (an edited checkout keeps its version number, not its digest).  Computed once per process."""
    facts: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            facts[name] = version(name)
        except PackageNotFoundError:
            facts[name] = None
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    facts["source"] = digest.hexdigest()[:12]
    return facts


def node_address() -> str:
    """This node's address in the cluster (where Ray runs: else the host name)."""
    try:
        import ray

        return ray.util.get_node_ip_address()
    except Exception:  # noqa: BLE001 - outside Ray
        import socket

        return socket.gethostname()


def node_facts(bench: BenchmarkConfig) -> dict[str, Any]:
    """Run on a node: its address, :func:`fingerprint`, and ``table``: None if the benchmark's
    table opens here, else why not (the table is then cached for this worker's runs)."""
    from .task import objective_for

    try:
        objective_for(bench)
        table = None
    except Exception as exc:  # noqa: BLE001 - reported to the driver in one line
        table = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    return {"node": node_address(), "fingerprint": fingerprint(), "table": table}


def mismatch(facts: dict[str, Any], bench: BenchmarkConfig) -> str | None:
    """One line naming the node and what to fix, or None if it runs what the driver runs."""
    node, theirs, ours = facts["node"], facts["fingerprint"], fingerprint()
    for name in (*LIBRARIES, "source"):
        if theirs.get(name) != ours.get(name):
            what = ("nasbench-harness sources" if name == "source" else name)
            return (f"node {node}: {what} {theirs.get(name) or 'missing'} differs from the "
                    f"driver's {ours.get(name) or 'missing'}; install the driver's versions "
                    "(the same checkout of nasbench-harness) on every node")
    if facts["table"] is not None:
        where = f"benchmark.data {bench.data!r}" if bench.data else "the surrogate table"
        return (f"node {node}: {where} does not open there ({facts['table']}); put the same "
                "table at the same path on every node")
    return None
