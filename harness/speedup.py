"""The paper's claims against random search as numbers (Section 4: RE, BOHB and SMAC "reach
random search's final performance about 5x faster" and pull ahead of it "after about 5e4 s").

Per optimizer, from the mean test-regret curves on a fine log time grid (a grid point counts
once every run of the optimizer has an incumbent):

- **speed-up**: the time random search's mean curve first reaches its own final value, divided
  by the time the optimizer's mean curve first reaches that value (NaN: it never does);
- **ahead from**: the earliest time from which the optimizer's mean stays below random
  search's until the budget (NaN: it is not ahead at the end).

Each with a 95 % percentile-bootstrap interval over runs (both optimizers' runs resampled,
from a Generator seeded by the optimizer's name), and the share of resamples in which the
optimizer reaches random search's final value at all.
"""
from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.fileutil import atomic_write_text

from . import page

#: The baseline, by registered optimizer name (a folder with exactly one such entry).
BASELINE = "random_search"
#: Points of the log time grid the curves are compared on (steps of ~1.2 % over 1e2-1e7 s).
POINTS = 1000
RESAMPLES = 1000
COLUMNS = ["optimizer", "runs", "reaches_at", "speedup", "speedup_ci_low", "speedup_ci_high",
           "reach_share", "ahead_from", "ahead_ci_low", "ahead_ci_high"]


def baseline_label(facts: list[dict[str, Any]]) -> str | None:
    """The label of the folder's random-search runs, if exactly one entry is random search."""
    labels = {f["label"] for f in facts if f.get("optimizer") == BASELINE}
    return labels.pop() if len(labels) == 1 else None


def _means(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Weighted means over runs (rows of ``values``) for each row of ``weights``; NaN where a
    run has no incumbent yet."""
    known = ~np.isnan(values).any(axis=0)
    out = np.full((weights.shape[0], values.shape[1]), np.nan)
    out[:, known] = weights @ values[:, known] / weights.sum(axis=1, keepdims=True)
    return out


def _first(mask: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Per row, the grid time of the first True (NaN if none)."""
    hit = mask.any(axis=1)
    return np.where(hit, grid[mask.argmax(axis=1)], np.nan)


def _race(base: np.ndarray, other: np.ndarray, grid: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of mean curves -> (time the other reaches the base's final value, speed-up, time
    from which the other stays ahead), one per row."""
    target = base[:, -1:]
    base_reach = _first(base <= target, grid)
    reach = _first(other <= target, grid)
    behind = ~(other < base)                       # NaN counts as not ahead
    last_behind = np.where(behind.any(axis=1),
                           grid.size - 1 - behind[:, ::-1].argmax(axis=1), -1)
    ahead = np.where(last_behind < grid.size - 1, grid[np.minimum(last_behind + 1,
                                                                  grid.size - 1)], np.nan)
    return reach, base_reach / reach, ahead


def race(table: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Speed-up and ahead-from of every optimizer against ``baseline``.  ``table``: rows
    (optimizer, seed), columns grid times, the incumbent's test regret (report.on_grid)."""
    grid = np.asarray(table.columns, float)
    base = table.loc[baseline].to_numpy(float)
    rows = []
    for name, block in table.groupby(level="optimizer", sort=False):
        if name == baseline:
            continue
        other = block.to_numpy(float)
        reach, speedup, ahead = _race(_means(np.ones((1, len(base))), base),
                                      _means(np.ones((1, len(other))), other), grid)
        rng = np.random.default_rng([0, zlib.crc32(str(name).encode()), zlib.crc32(b"speedup")])
        b_reach, b_speedup, b_ahead = _race(
            _means(rng.multinomial(len(base), np.full(len(base), 1 / len(base)), RESAMPLES),
                   base),
            _means(rng.multinomial(len(other), np.full(len(other), 1 / len(other)), RESAMPLES),
                   other), grid)
        rows.append({"optimizer": name, "runs": len(other), "reaches_at": reach[0],
                     "speedup": speedup[0], **_interval("speedup", b_speedup),
                     "reach_share": float(np.isfinite(b_reach).mean()),
                     "ahead_from": ahead[0], **_interval("ahead", b_ahead)})
    return pd.DataFrame(rows, columns=COLUMNS)


def _interval(what: str, values: np.ndarray) -> dict[str, float]:
    finite = values[np.isfinite(values)]
    low, high = np.percentile(finite, [2.5, 97.5]) if finite.size else (np.nan, np.nan)
    return {f"{what}_ci_low": float(low), f"{what}_ci_high": float(high)}


def section(table: pd.DataFrame, facts: list[dict[str, Any]], out: Path, show: bool = False
            ) -> tuple[list[page.Item], list[str]]:
    """Write ``speedup.csv/.md`` into ``out``; the page items and notes."""
    baseline = baseline_label(facts)
    if baseline is None:   # nothing to race against (not worth a warning), or ambiguous
        several = any(f.get("optimizer") == BASELINE for f in facts)
        return [], [f"several {BASELINE} entries among the optimizers: no speed-up table"
                    ] if several else []
    optimizers = set(table.index.get_level_values("optimizer"))
    if baseline not in optimizers:
        return [], [f"{baseline} has no runs: no speed-up table"]
    if optimizers == {baseline}:   # nothing to race (not worth a warning)
        return [], []
    data = race(table, baseline)
    base = table.loc[baseline].to_numpy(float)
    mean = _means(np.ones((1, len(base))), base)[0]
    grid = np.asarray(table.columns, float)
    target = mean[-1]
    reached = grid[np.argmax(mean <= target)]
    markdown = _markdown(data, baseline, target, reached)
    atomic_write_text(out / "speedup.csv", data.to_csv(index=False))
    atomic_write_text(out / "speedup.md", markdown)
    if show:
        print(markdown)
    return [page.Item(f"Against {baseline}: speed-up and lead", markdown=markdown)], []


def _markdown(data: pd.DataFrame, baseline: str, target: float, reached: float) -> str:
    def cell(x: float, low: float, high: float, fmt: str) -> str:
        if not np.isfinite(x):
            return "never"
        interval = f" [{low:{fmt}}, {high:{fmt}}]" if np.isfinite(low) else ""
        return f"{x:{fmt}}{interval}"

    lines = [f"{baseline}'s final mean test regret is {target:.5f}, first reached at "
             f"{reached:.4g} s. Speed-up: that time over the time each optimizer's mean regret "
             f"first reaches it; ahead from: the time from which its mean regret stays below "
             f"{baseline}'s to the end (the paper: RE, BOHB and SMAC about 5x faster, ahead "
             "after about 5e4 s). 95 % bootstrap intervals over runs; reached in: the share of "
             "resamples in which the optimizer reaches the value at all.", "",
             "| optimizer | runs | reaches it at [s] | speed-up [95% CI] | reached in | "
             "ahead from [s] [95% CI] |", "|---|---:|---:|---:|---:|---:|"]
    for r in data.itertuples():
        reach = "never" if not np.isfinite(r.reaches_at) else f"{r.reaches_at:.4g}"
        lines.append(f"| {r.optimizer} | {r.runs} | {reach} | "
                     f"{cell(r.speedup, r.speedup_ci_low, r.speedup_ci_high, '.2f')} | "
                     f"{100 * r.reach_share:.0f} % | "
                     f"{cell(r.ahead_from, r.ahead_ci_low, r.ahead_ci_high, '.3g')} |")
    return "\n".join(lines) + "\n"
