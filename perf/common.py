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
