"""The reporter: paper-style regret plots and tables from any results folder.

``curves()`` and ``final_table()`` return DataFrames for users who draw their own figures;
``report()`` writes the figures (PNG and PDF) and tables (Markdown and CSV) and prints the table.
Each run's incumbent is carried forward onto a common log-spaced time grid; a run contributes to
a grid point only once it has finished its first evaluation.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.fileutil import atomic_write_bytes, atomic_write_text

from .results import failed_runs, load_facts, load_trajectories

log = logging.getLogger(__name__)

#: Okabe-Ito colour-blind-safe palette and markers, fixed per optimizer across figures.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
           "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
KNOWN_ORDER = ["random_search", "regularized_evolution", "hyperband", "bohb", "smac", "tpe",
               "reinforce"]
METRICS = {"test_regret": "Test regret", "validation_regret": "Validation regret"}


class ReportError(ValueError):
    """Nothing to report (one line, exit code 2 from the CLI)."""


def style(optimizers: list[str]) -> dict[str, tuple[str, str]]:
    """(colour, marker) per optimizer: built-ins always get the same ones."""
    out, extra = {}, 0
    for name in optimizers:
        i = KNOWN_ORDER.index(name) if name in KNOWN_ORDER else len(KNOWN_ORDER) + extra
        extra += name not in KNOWN_ORDER
        out[name] = (PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)])
    return out


def time_grid(trajectories: pd.DataFrame, points: int = 200) -> np.ndarray:
    valid = trajectories[trajectories["test_regret"].notna()]
    positive = valid["time"][valid["time"] > 0]
    if positive.empty:
        return np.array([1.0])
    return np.geomspace(positive.min(), trajectories["time"].max(), points)


def on_grid(trajectories: pd.DataFrame, grid: np.ndarray, metric: str) -> pd.DataFrame:
    """Rows (optimizer, seed), columns grid times: the incumbent's metric carried forward."""
    rows, index = [], []
    for (opt, seed), run in trajectories.groupby(["optimizer", "seed"], sort=True):
        times = run["time"].to_numpy()
        values = run[metric].to_numpy()
        at = np.searchsorted(times, grid, side="right") - 1
        rows.append(np.where(at >= 0, values[np.maximum(at, 0)], np.nan))
        index.append((opt, seed))
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["optimizer", "seed"]),
                        columns=grid)


def _aggregate(values: np.ndarray, how: str, rng: np.random.Generator) -> tuple[float, float, float]:
    values = values[~np.isnan(values)]
    if values.size == 0:
        return np.nan, np.nan, np.nan
    if how == "mean":
        center = values.mean()
        se = values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else 0.0
        return center, center - se, center + se
    if how == "median":
        return (np.median(values), *np.percentile(values, [25, 75]))
    boot = [_iqm(rng.choice(values, values.size)) for _ in range(200)]
    return _iqm(values), *np.percentile(boot, [2.5, 97.5])


def _iqm(values: np.ndarray) -> float:
    lo, hi = np.percentile(values, [25, 75])
    inner = values[(values >= lo) & (values <= hi)]
    return float(inner.mean()) if inner.size else float(np.median(values))


def curves(folder: str | Path | pd.DataFrame, metric: str = "test_regret", aggregate: str = "mean",
           grid: np.ndarray | None = None) -> pd.DataFrame:
    """Aggregated curves: optimizer, time, center, lower, upper, runs (with a value at time)."""
    trajectories = _load(folder)
    grid = time_grid(trajectories) if grid is None else np.asarray(grid, float)
    table = on_grid(trajectories, grid, metric)
    rng = np.random.default_rng(0)
    out = []
    for opt, block in table.groupby(level="optimizer", sort=False):
        data = block.to_numpy()
        for j, t in enumerate(grid):
            center, lower, upper = _aggregate(data[:, j], aggregate, rng)
            out.append((opt, t, center, lower, upper, int(np.sum(~np.isnan(data[:, j])))))
    return pd.DataFrame(out, columns=["optimizer", "time", "center", "lower", "upper", "runs"])


def final_table(folder: str | Path | pd.DataFrame, times: list[float] | None = None,
                metric: str = "test_regret") -> pd.DataFrame:
    """Regret at chosen times (default: the end): mean, s.e., median, runs per optimizer."""
    trajectories = _load(folder)
    if not times:
        times = [float(trajectories["time"].max())]
    table = on_grid(trajectories, np.asarray(times, float), metric)
    rows = []
    for opt, block in table.groupby(level="optimizer", sort=False):
        for t in times:
            v = block[t].to_numpy()
            v = v[~np.isnan(v)]
            se = v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else np.nan
            rows.append({"optimizer": opt, "time": t, "mean": v.mean() if v.size else np.nan,
                         "se": se, "median": np.median(v) if v.size else np.nan,
                         "runs": int(v.size)})
    return pd.DataFrame(rows)


def average_rank(folder: str | Path | pd.DataFrame, grid: np.ndarray | None = None,
                 metric: str = "test_regret") -> pd.DataFrame:
    """Mean rank (1 = best) of each optimizer over time, ranking within each seed."""
    trajectories = _load(folder)
    grid = time_grid(trajectories) if grid is None else grid
    table = on_grid(trajectories, grid, metric)
    ranks = table.groupby(level="seed").rank(method="average")
    return ranks.groupby(level="optimizer").mean().T.rename_axis("time")


def _load(folder: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Trajectories of a results folder (or already loaded ones, passed through)."""
    if isinstance(folder, pd.DataFrame):
        return folder
    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such results folder")
    trajectories = load_trajectories(folder)
    if trajectories.empty:
        failed = failed_runs(folder)
        if failed:
            raise ReportError(f"{folder}: nothing to report, all {len(failed)} run(s) failed "
                              f"(tracebacks: {failed[0]}, ...)")
        raise ReportError(f"{folder}: no readable run results (runs/*/seed-*.npz)")
    return trajectories


def _title(folder: Path, facts: list[dict], what: str) -> str:
    runs = pd.Series([f["label"] for f in facts]).value_counts()
    surrogate = next((f.get("table") for f in facts if f.get("surrogate")), None)
    bench = (surrogate if surrogate else
             "NAS-Bench-101 trained live (regret = error, wall-clock time)"
             if any(f.get("live") for f in facts) else "NAS-Bench-101")
    encodings = sorted({f.get("encoding", "?") for f in facts})
    counts = f"{runs.min()}" if runs.min() == runs.max() else f"{runs.min()}-{runs.max()}"
    plural = "" if runs.max() == 1 else "s"
    return f"{what}: {bench}, encoding {'/'.join(encodings)}, {counts} run{plural} per optimizer"


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def report(folder: str | Path, times: list[float] | None = None, aggregate: str = "mean",
           out: str | Path | None = None, show: bool = True) -> Path:
    """Write figures and tables into ``folder/report`` (or ``out``); returns that folder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    trajectories = _load(folder)
    facts = load_facts(folder)
    out = Path(out) if out else folder / "report"
    out.mkdir(parents=True, exist_ok=True)
    names = list(dict.fromkeys(sorted(trajectories["optimizer"].unique(),
                                      key=lambda n: (KNOWN_ORDER.index(n) if n in KNOWN_ORDER
                                                     else 99, n))))
    colours = style(names)
    grid = time_grid(trajectories)
    runs_per = trajectories.groupby("optimizer")["seed"].nunique()
    band = {"mean": "mean ± s.e.", "median": "median, IQR", "iqm": "IQM, 95% bootstrap CI"}

    for metric, label in METRICS.items():
        data = curves(trajectories, metric, aggregate, grid)
        fig, ax = plt.subplots(figsize=(7, 4.8))
        negative = (data["lower"] <= 0).any()
        for name in names:
            c = data[data["optimizer"] == name]
            colour, marker = colours[name]
            ax.plot(c["time"], c["center"], color=colour, marker=marker, markevery=25,
                    label=f"{name} ({_runs(runs_per[name])})", lw=1.8)
            ax.fill_between(c["time"], c["lower"], c["upper"], color=colour, alpha=0.2, lw=0)
        ax.set_xscale("log")
        if negative:
            ax.set_yscale("symlog", linthresh=1e-3)
            ax.axhline(0, color="grey", lw=0.8, ls=":")
            ax.text(0.01, 0.01, "symlog: sampled runs can beat the mean optimum",
                    transform=ax.transAxes, fontsize=7, color="grey")
        else:
            ax.set_yscale("log")
        _finish(fig, ax, "Total wall-clock time [s]", f"{label} ({band[aggregate]})",
                _title(folder, facts, label), out / metric)
        data.to_csv(out / f"{metric}_curves.csv", index=False)

    table = on_grid(trajectories, np.array([grid[-1]]), "test_regret")
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for name in names:
        values = np.sort(table.loc[name].to_numpy().ravel())
        values = values[~np.isnan(values)]
        colour, marker = colours[name]
        ax.step(values, np.arange(1, values.size + 1) / values.size, where="post", color=colour,
                label=f"{name} ({_runs(values.size)})", lw=1.8)
    ax.set_xscale("symlog", linthresh=1e-4)
    _finish(fig, ax, "Final test regret", "Fraction of runs",
            _title(folder, facts, "Empirical CDF of final test regret"), out / "test_regret_ecdf")

    ranks = average_rank(trajectories, grid)
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for name in names:
        colour, marker = colours[name]
        ax.plot(ranks.index, ranks[name], color=colour, marker=marker, markevery=25, label=name)
    ax.set_xscale("log")
    _finish(fig, ax, "Total wall-clock time [s]", "Average rank (test regret, 1 = best)",
            _title(folder, facts, "Average rank"), out / "average_rank")

    final = final_table(trajectories, times)
    final = final.sort_values("optimizer", key=lambda c: c.map(names.index), kind="stable")
    atomic_write_text(out / "final_regret.csv", final.to_csv(index=False))
    atomic_write_text(out / "final_regret.md", _markdown(final, _title(folder, facts,
                                                                        "Final test regret")))
    if show:
        print(_markdown(final, _title(folder, facts, "Final test regret")))
    log.info("report written to %s", out)
    return out


def _markdown(final: pd.DataFrame, title: str) -> str:
    lines = [f"{title}", "", "| optimizer | time [s] | mean ± s.e. | median | runs |",
             "|---|---:|---:|---:|---:|"]
    for row in final.itertuples():
        se = "" if np.isnan(row.se) else f" ± {row.se:.5f}"
        lines.append(f"| {row.optimizer} | {row.time:.4g} | {row.mean:.5f}{se} | "
                     f"{row.median:.5f} | {row.runs} |")
    return "\n".join(lines) + "\n"


def _finish(fig, ax, xlabel: str, ylabel: str, title: str, stem: Path) -> None:
    """Labels, grid, legend; then save as PNG and PDF and close."""
    import matplotlib.pyplot as plt

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, stem)
    plt.close(fig)


def _save(fig, stem: Path) -> None:
    import io

    for ext in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, dpi=150, bbox_inches="tight",
                    metadata={"CreationDate": None} if ext == "pdf" else None)
        atomic_write_bytes(stem.with_suffix(f".{ext}"), buf.getvalue())
