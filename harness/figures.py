"""The report's figures, drawn with matplotlib (Agg) and saved as PNG and PDF with fixed
metadata, so the same results give the same files.  Each function takes plain DataFrames (see
:mod:`harness.report`) and a stem path; colours and markers are fixed per optimizer."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.fileutil import atomic_write_bytes

from .stats import Friedman

#: Okabe-Ito colour-blind-safe palette and markers, fixed per optimizer across figures.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
           "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
KNOWN_ORDER = ["random_search", "regularized_evolution", "hyperband", "bohb", "smac", "tpe",
               "reinforce", "optuna_tpe"]
BAND = {"mean": "mean, 95% bootstrap CI", "median": "median, 95% bootstrap CI",
        "iqm": "IQM, 95% bootstrap CI"}


def style(optimizers: list[str]) -> dict[str, tuple[str, str]]:
    """(colour, marker) per optimizer: built-ins always get the same ones."""
    out, extra = {}, 0
    for name in optimizers:
        i = KNOWN_ORDER.index(name) if name in KNOWN_ORDER else len(KNOWN_ORDER) + extra
        extra += name not in KNOWN_ORDER
        out[name] = (PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)])
    return out


def pyplot():
    """matplotlib's pyplot on the Agg backend (for modules drawing their own figures)."""
    return _plt()


def save_figure(fig, stem: Path) -> None:
    """Save a figure as ``stem``.png and .pdf (fixed metadata, atomic) and close it."""
    _save(fig, stem)
    _plt().close(fig)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _bands(ax, data: pd.DataFrame, names: list[str], runs: dict[str, int], aggregate: str
           ) -> None:
    colours = style(names)
    for name in names:
        c = data[data["optimizer"] == name]
        colour, marker = colours[name]
        ax.plot(c["time"], c["center"], color=colour, marker=marker, markevery=25, lw=1.8,
                label=f"{name} ({_runs(runs[name])}): {BAND[aggregate]}")
        ax.fill_between(c["time"], c["lower"], c["upper"], color=colour, alpha=0.2, lw=0)


def _regret_axes(ax, data: pd.DataFrame) -> None:
    """Log-log axes; symlog where a band reaches zero or below (sampled runs can beat the mean
    optimum), with a note saying so; linear ones saying so when there is no regret at all."""
    if not np.isfinite(data["center"].to_numpy(float)).any():   # nothing to draw on log axes
        ax.text(0.5, 0.5, "no valid evaluation in any run", ha="center",
                transform=ax.transAxes, color="grey")
        return
    ax.set_xscale("log")
    if (data["lower"] <= 0).any():
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.axhline(0, color="grey", lw=0.8, ls=":")
        ax.text(0.01, 0.01, "symlog: sampled runs can beat the mean optimum",
                transform=ax.transAxes, fontsize=7, color="grey")
    else:
        ax.set_yscale("log")


def regret(data: pd.DataFrame, names: list[str], runs: dict[str, int], aggregate: str,
           ylabel: str, title: str, stem: Path) -> None:
    """The paper's figure: regret of the incumbent over simulated wall-clock time."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.8))
    _bands(ax, data, names, runs, aggregate)
    _regret_axes(ax, data)
    _finish(fig, ax, "Total wall-clock time [s]", ylabel, title, stem)


def aggregates(data: dict[str, pd.DataFrame], names: list[str], runs: dict[str, int],
               title: str, stem: Path) -> None:
    """Mean, median and IQM side by side, each with its bootstrap band."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(data), figsize=(5 * len(data), 4.2), sharey=True)
    for ax, (how, frame) in zip(axes, data.items()):
        _bands(ax, frame, names, runs, how)
        _regret_axes(ax, frame)
        ax.set_title(BAND[how], fontsize=9)
        ax.set_xlabel("Total wall-clock time [s]")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("Test regret")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, [label.split(":")[0] for label in labels], loc="lower center",
               ncol=min(4, len(labels)), fontsize=8, bbox_to_anchor=(0.5, -0.08))
    fig.suptitle(title, fontsize=9)
    _save(fig, stem)
    plt.close(fig)


def ecdf(final: dict[str, np.ndarray], title: str, stem: Path) -> None:
    plt = _plt()
    colours = style(list(final))
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for name, values in final.items():
        values = np.sort(values[~np.isnan(values)])
        ax.step(values, np.arange(1, values.size + 1) / values.size, where="post",
                color=colours[name][0], label=f"{name} ({_runs(values.size)})", lw=1.8)
    ax.set_xscale("symlog", linthresh=1e-4)
    _finish(fig, ax, "Final test regret", "Fraction of runs", title, stem)


def lines(data: pd.DataFrame, names: list[str], ylabel: str, title: str, stem: Path, *,
          logy: bool = False, band_label: str = "") -> None:
    """One line per optimizer over time (columns optimizer, time, center[, lower, upper])."""
    plt = _plt()
    colours = style(names)
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for name in names:
        c = data[data["optimizer"] == name]
        colour, marker = colours[name]
        ax.plot(c["time"], c["center"], color=colour, marker=marker, markevery=25,
                label=f"{name}{band_label}", lw=1.8)
        if "lower" in c:
            ax.fill_between(c["time"], c["lower"], c["upper"], color=colour, alpha=0.2, lw=0)
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    _finish(fig, ax, "Total wall-clock time [s]", ylabel, title, stem)


def critical_difference(result: Friedman, title: str, stem: Path) -> None:
    """Demšar's (2006) diagram: average ranks on an axis (1 = best, left), a bar joining
    optimizers whose ranks differ by less than Nemenyi's critical difference, the CD drawn."""
    plt = _plt()
    k = len(result.names)
    colours = style(result.names)
    half = (k + 1) // 2
    base = 0.45 + 0.18 * len(result.groups)      # the group bars sit between axis and names
    bottom = base + (half - 1) * 0.5 + 0.4
    fig, ax = plt.subplots(figsize=(7, 0.55 * (1.7 + bottom)))
    lo, hi = 1, k
    margin = 0.3 * (hi - lo) / 2
    ax.set_xlim(lo - 2 * margin - 0.3, hi + 2 * margin + 0.3)
    ax.set_ylim(-bottom, 1.6)
    ax.axis("off")
    ax.hlines(0, lo, hi, color="black", lw=1)
    for r in range(lo, hi + 1):
        ax.vlines(r, 0, 0.15, color="black", lw=1)
        ax.text(r, 0.25, str(r), ha="center", va="bottom", fontsize=8)
    ax.hlines(1.1, lo, lo + result.cd, color="black", lw=1.5)
    ax.vlines([lo, lo + result.cd], 1.0, 1.2, color="black", lw=1.5)
    ax.text(lo + result.cd / 2, 1.25, f"CD = {result.cd:.2f}", ha="center", va="bottom",
            fontsize=8)
    for i, (name, rank) in enumerate(zip(result.names, result.ranks)):
        left = i < half
        row = -(base + (i if left else k - 1 - i) * 0.5)
        x_text = lo - margin - 0.1 if left else hi + margin + 0.1
        ax.plot([rank, rank, x_text], [0, row, row], color=colours[name][0], lw=1.2)
        ax.text(x_text + (-0.05 if left else 0.05), row, f"{name} ({rank:.2f})",
                ha="right" if left else "left", va="center", fontsize=8)
    for g, (i, j) in enumerate(result.groups):
        y = -0.25 - 0.18 * g
        ax.hlines(y, result.ranks[i] - 0.04, result.ranks[j] + 0.04, color="black", lw=3.5)
    ax.set_title(title, fontsize=9)
    _save(fig, stem)
    plt.close(fig)


def _finish(fig, ax, xlabel: str, ylabel: str, title: str, stem: Path) -> None:
    """Labels, grid, legend; then save as PNG and PDF and close."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, stem)
    _plt().close(fig)


def _save(fig, stem: Path) -> None:
    for ext in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, dpi=150, bbox_inches="tight",
                    metadata={"CreationDate": None} if ext == "pdf" else None)
        atomic_write_bytes(stem.with_suffix(f".{ext}"), buf.getvalue())
