"""The analysis page's figures (paper Figs. 2, 3, 5, 6 and supplement Fig. 7), drawn from an
:class:`harness.analyze.Analysis`'s series and tables; each saved as PNG and PDF."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.ticker
import numpy as np

from .figures import PALETTE, pyplot, save_figure

SCATTER_LIMIT = 50_000      # more cells than this: the cost figure bins them in hexagons
METRIC_COLOURS = {"train": PALETTE[0], "validation": PALETTE[1], "test": PALETTE[2]}


def draw(result: Any, folder: Path) -> list[tuple[str, str]]:
    """Every figure the analysis has data for; returns (file stem, caption) pairs."""
    shown = []
    for fn in (_accuracy, _noise, _cost, _shape, _locality, _budgets):
        shown += fn(result, folder)
    return shown


def _title(result: Any, what: str) -> str:
    return f"{what}: {result.table.label}"


def _accuracy(result: Any, folder: Path) -> list[tuple[str, str]]:
    ecdfs = result.series.get("ecdf")
    if not ecdfs:
        return []
    _ecdf_figure({f"{metric} ({x.size:,} cells)": (x, y, METRIC_COLOURS[metric])
                  for metric, (x, y) in ecdfs.items()},
                 lambda ax: ax.set_xlim(0.8, 1.0), "Accuracy at 108 epochs (mean over repeats)",
                 _title(result, "Empirical CDF of accuracy"), folder / "accuracy_ecdf")
    return [("accuracy_ecdf", "ECDF of train, validation and test accuracy at 108 epochs "
                              "(paper Fig. 2 left); the x axis starts at 80 %.")]


def _noise(result: Any, folder: Path) -> list[tuple[str, str]]:
    noise = result.series.get("noise")
    if not noise:
        return []
    _ecdf_figure({f"{budget} epochs": (x, y, PALETTE[i % len(PALETTE)])
                  for i, (budget, (x, y)) in enumerate(noise.items())},
                 lambda ax: ax.set_xscale("symlog", linthresh=1e-3),
                 "Std of test accuracy over the repeats",
                 _title(result, "Empirical CDF of the noise"), folder / "noise_ecdf")
    return [("noise_ecdf", "ECDF of the noise, the standard deviation of test accuracy over "
                           "the 3 repeats, per budget (paper Fig. 2 right).")]


def _ecdf_figure(curves: dict[str, tuple[np.ndarray, np.ndarray, str]], x_axis, xlabel: str,
                 title: str, stem: Path) -> None:
    """One figure of ECDF steps: label -> (x, y, colour); ``x_axis`` sets the x axis up."""
    fig, ax = pyplot().subplots(figsize=(7, 4.5))
    for label, (x, y, colour) in curves.items():
        ax.step(*_thin(x, y), where="post", color=colour, lw=1.8, label=label)
    x_axis(ax)
    _finish(ax, xlabel, "Fraction of cells", title)
    save_figure(fig, stem)


def _cost(result: Any, folder: Path) -> list[tuple[str, str]]:
    c = result.series.get("cost")
    if not c:
        return []
    fig, (left, right) = pyplot().subplots(1, 2, figsize=(13, 4.8),
                                           gridspec_kw={"wspace": 0.35})
    ok = np.isfinite(c["time"]) & np.isfinite(c["accuracy"])
    vmin = max(0.8, np.nanmin(c["accuracy"]))
    dense = ok.sum() > SCATTER_LIMIT          # hexagons: a scatter this big takes minutes
    if dense:
        points = left.hexbin(c["params"][ok], c["time"][ok], C=c["accuracy"][ok],
                             reduce_C_function=np.mean, gridsize=80, xscale="log",
                             yscale="log", cmap="viridis", vmin=vmin)
    else:
        order = np.flatnonzero(ok)[np.argsort(c["accuracy"][ok], kind="stable")]
        points = left.scatter(c["params"][order], c["time"][order], c=c["accuracy"][order],
                              s=2, cmap="viridis", vmin=vmin, rasterized=True)
        left.set_xscale("log")
        left.set_yscale("log")
    fig.colorbar(points, ax=left, label="Validation accuracy" + (" (mean per hexagon)"
                                                                  if dense else ""))
    left.set_xlabel("Trainable parameters")
    left.set_ylabel("Training time at 108 epochs [s]")
    left.set_title("Training time vs parameters", fontsize=9)
    if dense:
        shown = ok & (c["accuracy"] >= vmin)
        right.hexbin(c["time"][shown], c["accuracy"][shown], gridsize=80, xscale="log",
                     bins="log", cmap="Greys", mincnt=1)
        right.scatter([], [], s=8, marker="h", color="#999999", label="cells (count, log)")
    else:
        right.scatter(c["time"][ok], c["accuracy"][ok], s=2, color="#bbbbbb",
                      rasterized=True, label="cells")
    front = c["front"]
    right.plot(c["time"][front], c["accuracy"][front], color="black", lw=1.2,
               label="Pareto front")
    if c["neighbours"].size:
        right.scatter(c["time"][c["neighbours"]], c["accuracy"][c["neighbours"]], s=14,
                      color=PALETTE[5], label="Inception-like's 1-edit neighbours", zorder=3)
    for i, (name, row) in enumerate(c["marked"].items()):
        right.scatter(c["time"][row], c["accuracy"][row], s=60, marker="*", zorder=4,
                      color=PALETTE[(i + 3) % len(PALETTE)], label=name)
    right.set_xscale("log")
    right.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    right.set_ylim(vmin, None)
    _finish(right, "Training time at 108 epochs [s]", "Validation accuracy",
            "Validation accuracy vs training time", legend="lower right")
    fig.suptitle(_title(result, "Cost"), fontsize=10)
    save_figure(fig, folder / "cost")
    return [("cost", "Left: training time against parameters, coloured by validation accuracy. "
                     "Right: validation accuracy against training time with the Pareto front, "
                     "the hand-designed cells, the best cell and the Inception-like cell's "
                     "1-edit neighbours (paper Fig. 3); the y axis starts at 80 %.")]


def _shape(result: Any, folder: Path) -> list[tuple[str, str]]:
    frame = result.frames.get("depth_width")
    if frame is None:
        return []
    acc = next(c for c in frame.columns if c.endswith("_accuracy"))
    fig, axes = pyplot().subplots(2, 2, figsize=(11, 7))
    for col, feature in enumerate(("depth", "width")):
        part = frame[frame.feature == feature]
        axes[0, col].bar(part.value, part[acc], color=PALETTE[1])
        axes[0, col].set_ylim(max(0.0, part[acc].min() - 0.05), min(1.0, part[acc].max() + 0.02))
        axes[0, col].set_ylabel(acc.replace("_", " "))
        for x, y, n in zip(part.value, part[acc], part.cells):
            axes[0, col].text(x, y, f"{n:,}", ha="center", va="bottom", fontsize=7)
        axes[1, col].bar(part.value, part.mean_training_time, color=PALETTE[0])
        axes[1, col].set_ylabel("mean training time [s]")
        axes[1, col].set_xlabel(feature)
        for ax in axes[:, col]:
            ax.grid(True, alpha=0.3)
    fig.suptitle(_title(result, "Depth and width"), fontsize=10)
    save_figure(fig, folder / "depth_width")
    return [("depth_width", "Mean accuracy (top, with the number of cells) and training time "
                            "(bottom) by depth (edges on the longest input-output path) and "
                            "width (maximum directed cut) (paper Fig. 5).")]


def _locality(result: Any, folder: Path) -> list[tuple[str, str]]:
    frames = result.frames
    if "rwa" not in frames and "fdc" not in frames:
        return []
    fig, axes = pyplot().subplots(1, 3, figsize=(15, 4.5))
    if "rwa" in frames:
        rwa = frames["rwa"]
        axes[0].plot(rwa.sqrt_shift, rwa.autocorrelation, color=PALETTE[0], lw=1.8)
        bound = result.series["rwa_bound"]
        axes[0].axhspan(-bound, bound, color="grey", alpha=0.3, label="95 % band of no correlation")
        _finish(axes[0], "sqrt(shift)", "Autocorrelation", "Random-walk autocorrelation")
    if "fdc" in frames:
        fdc = frames["fdc"]
        acc = next(c for c in fdc.columns if c.endswith("_accuracy"))
        axes[1].plot(fdc.distance, fdc[acc], marker="o", color=PALETTE[1], lw=1.8,
                     label=f"FDC r = {result.numbers.get('fdc', float('nan')):.3f}")
        _finish(axes[1], "Edit distance to the global best", acc.replace("_", " "),
                "Fitness-distance")
    if "volume_near_top" in frames:
        vol = frames["volume_near_top"]
        axes[2].plot(vol.distance, vol.share_of_encoded_space, marker="o", color=PALETTE[2],
                     label="of all encoded points")
        axes[2].plot(vol.distance, vol.share_of_valid_points, marker="s", color=PALETTE[3],
                     label="of valid points")
        _finish(axes[2], "Edit distance d", "Share within d", "Within d of the closest top cell")
    fig.suptitle(_title(result, "Locality in encoding A"), fontsize=10)
    save_figure(fig, folder / "locality")
    return [("locality", "Left: autocorrelation of the accuracy along a random walk over valid "
                         "encoded points against sqrt(shift), with the band in which it is "
                         "indistinguishable from no correlation. Middle: mean accuracy of the "
                         "valid points at each edit distance from the global best. Right: share "
                         "of the encoded space within distance d of the closest top cell "
                         "(paper Fig. 6).")]


def _budgets(result: Any, folder: Path) -> list[tuple[str, str]]:
    if "budget_correlations" not in result.frames:
        return []
    frame = result.frames["budget_correlations"]
    fig, ax = pyplot().subplots(figsize=(7, 4.5))
    tops = sorted(frame.top.unique(), reverse=True)
    for i, ((a, b), part) in enumerate(frame.groupby(["budget_a", "budget_b"], sort=True)):
        part = part.set_index("top").loc[tops]
        ax.plot(range(len(tops)), part.spearman, marker="o", color=PALETTE[i % len(PALETTE)],
                label=f"{a} vs {b} epochs")
    ax.set_xticks(range(len(tops)))
    ax.set_xticklabels(["all" if t == 1 else f"top {100 * t:g} %" for t in tops])
    _finish(ax, "Cells (top by validation accuracy at the largest budget)", "Spearman rho",
            _title(result, "Rank correlation between budgets"))
    save_figure(fig, folder / "budget_correlations")
    return [("budget_correlations", "Spearman rank correlation of validation accuracy between "
                                    "every pair of budgets, over all cells and over the top "
                                    "cells (supplement Fig. 7).")]


def _thin(x: np.ndarray, y: np.ndarray, points: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """An ECDF drawn through at most ``points`` of its steps (and its last): the same curve to
    the eye, without a vector path of 400,000 points in the PDF (the CSV keeps them all)."""
    if x.size <= points:
        return x, y
    keep = np.unique(np.r_[np.linspace(0, x.size - 1, points).astype(np.int64), x.size - 1])
    return x[keep], y[keep]


def _finish(ax, xlabel: str, ylabel: str, title: str, legend: str = "best") -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc=legend)
