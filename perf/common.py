"""Helpers of the benchmark scripts: timing, printing figures and ratios."""
from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

QUICK = os.environ.get("PERF_QUICK") == "1"


def timed(fn: Callable, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def per_call(fn: Callable, items, repeat: int = 1) -> float:
    """Median seconds per call of ``fn(item)`` over ``items``."""
    samples = []
    for item in items:
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn(item)
        samples.append((time.perf_counter() - t0) / repeat)
    return statistics.median(samples)


def row(what: str, value: str, target: str = "", ok: bool | None = None) -> None:
    mark = "" if ok is None else ("  OK" if ok else "  MISSED")
    print(f"  {what:<58s} {value:>16s}  {target}{mark}", flush=True)


#: runs per optimizer in experiments/paper.yaml, and the machines its hours are projected to
PAPER_SEEDS = 500
PAPER_CORES = (2, 16)


def paper_hours(name: str, before: float, after: float) -> None:
    """Rows: the hours of paper.yaml's runs of ``name`` (seconds per run ``before`` -> ``after``)
    on :data:`PAPER_CORES`."""
    for cores in PAPER_CORES:
        row(f"paper.yaml's {PAPER_SEEDS} {name} runs on {cores} cores: before -> after",
            f"{before * PAPER_SEEDS / cores / 3600:,.1f} h -> "
            f"{after * PAPER_SEEDS / cores / 3600:,.2f} h")
