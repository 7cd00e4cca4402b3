"""The report's figures, drawn with matplotlib (Agg) and saved as PNG and PDF with fixed
metadata, so the same results give the same files.  Each function takes plain DataFrames (see
:mod:`harness.report`) and a stem path; colours and markers are fixed per optimizer."""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.fileutil import atomic_write_bytes
from optimizers.registry import BUILTIN

from .stats import Friedman

#: Colours (Okabe-Ito's colour-blind-safe eight without its yellow, then five of Paul Tol's),
#: markers and dash patterns: an optimizer keeps its style in every figure of a report, built-ins
#: in every report; up to 12 optimizers get distinct ones.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
           "#882255", "#999933", "#332288", "#8C564B", "#7F7F7F"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">", "p"]
DASHES: list[str | tuple] = ["-", "--", "-.", (0, (5, 1, 1, 1, 1, 1))]
KNOWN_ORDER = list(BUILTIN)
BAND = {"mean": "mean, 95% bootstrap CI", "median": "median, 95% bootstrap CI",
        "iqm": "IQM, 95% bootstrap CI"}
#: Markers every this many grid points, each optimizer's shifted so that lines which coincide
#: (random search and regularized evolution share their first configurations) stay visible.
MARK_EVERY = 25
PARTIAL = dict(lw=1.0, alpha=0.55, ls=":")


@dataclass(frozen=True)
class Style:
    colour: str
    marker: str
    dashes: str | tuple
    offset: int       #: first marked grid point
    zorder: float     #: the baseline is drawn last, on top
    width: float      #: the baseline's line is thinner, so one it covers shows at its edges


def style(optimizers: list[str], baseline: str | None = None) -> dict[str, Style]:
    """Each optimizer's style: a built-in always the same one, others the first free ones,
    so up to ``len(PALETTE)`` optimizers are all distinct; ``baseline`` on top."""
    known = {n: KNOWN_ORDER.index(n) for n in optimizers if n in KNOWN_ORDER}
    free = (i for i in range(10_000) if i not in known.values())
    out = {}
    for j, name in enumerate(optimizers):
        i = known[name] if name in known else next(free)
        out[name] = Style(PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)],
                          "-" if name == baseline else DASHES[j % len(DASHES)],
                          (j * MARK_EVERY) // max(len(optimizers), 1),
                          10.0 if name == baseline else 3.0 + j / 100,
                          1.4 if name == baseline else 2.4)
    return out


def shown_order(names) -> list[str]:
    """``names`` in the order reports list them: the built-ins first, in the registry's order,
    then the others by name."""
    return sorted(names, key=lambda n: (KNOWN_ORDER.index(n) if n in KNOWN_ORDER else 99, n))


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


def runs_label(n: int) -> str:
    """The number of runs as '1 run' or '5 runs'."""
    return f"{n} run" if n == 1 else f"{n} runs"


def _line(ax, name: str, c: pd.DataFrame, s: Style, label: str, band: bool = True) -> None:
    """One optimizer's line: faint and dotted where not every run contributes yet (the
    ``complete`` column), solid (its dash pattern) with markers and band from where all do."""
    whole = c["complete"].to_numpy(bool) if "complete" in c else np.ones(len(c), bool)
    if not whole.all():
        # the partial part runs up to the first complete point, so the two parts join
        upto = np.flatnonzero(whole)[0] + 1 if whole.any() else len(c)
        ax.plot(c["time"][:upto], c["center"][:upto], color=s.colour, zorder=s.zorder,
                **PARTIAL)
    full = c[whole]
    ax.plot(full["time"], full["center"], color=s.colour, ls=s.dashes, lw=s.width,
            marker=s.marker, markersize=5, markevery=(s.offset, MARK_EVERY), zorder=s.zorder,
            label=label)
    if band and "lower" in full:
        ax.fill_between(full["time"], full["lower"], full["upper"], color=s.colour, alpha=0.15,
                        lw=0, zorder=1)


def _partial_note(data: pd.DataFrame, name: str) -> str:
    """'; dotted before T: k-m runs' where the curve starts with fewer than all runs."""
    c = data[data["optimizer"] == name]
    if "complete" not in c or c["complete"].all() or c.empty:
        return ""
    part = c[~c["complete"].to_numpy(bool) & (c["runs"] > 0)]
    if part.empty:
        return ""
    lo, hi = int(part["runs"].min()), int(part["runs"].max())
    counts = f"{lo}" if lo == hi else f"{lo}-{hi}"
    end = c[c["complete"].to_numpy(bool)]["time"]
    until = f" before {end.iloc[0]:.2g} s" if len(end) else ""
    return f"; dotted{until}: {counts} of them"


def _bands(ax, data: pd.DataFrame, names: list[str], counts: dict[str, str], aggregate: str,
           baseline: str | None = None) -> None:
    styles = style(names, baseline)
    for name in names:
        c = data[data["optimizer"] == name]
        label = f"{name} ({counts[name]}{_partial_note(data, name)})"
        if c.empty:   # every run failed: the legend still names it
            ax.plot([], [], color=styles[name].colour, ls=styles[name].dashes,
                    marker=styles[name].marker, label=label)
            continue
        _line(ax, name, c, styles[name], label)


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


def _figure(width: float = 7, height: float = 5.6, columns: int = 1):
    plt = _plt()
    return plt.subplots(1, columns, figsize=(width, height), layout="constrained",
                        squeeze=False, sharey=columns > 1)


def regret(data: pd.DataFrame, names: list[str], counts: dict[str, str], aggregate: str,
           ylabel: str, title: str, stem: Path, baseline: str | None = None) -> None:
    """The paper's figure: regret of the incumbent over simulated wall-clock time."""
    fig, axes = _figure()
    ax = axes[0, 0]
    _bands(ax, data, names, counts, aggregate, baseline)
    _regret_axes(ax, data)
    _finish(fig, ax, "Total wall-clock time [s]", ylabel, title, stem, BAND[aggregate])


def aggregates(data: dict[str, pd.DataFrame], names: list[str], counts: dict[str, str],
               title: str, stem: Path, baseline: str | None = None) -> None:
    """Mean, median and IQM side by side, each with its bootstrap band; one legend below
    the panels, clear of every axis label."""
    fig, axes = _figure(5 * len(data), 5.2, len(data))
    for ax, (how, frame) in zip(axes[0], data.items()):
        _bands(ax, frame, names, counts, how, baseline)
        _regret_axes(ax, frame)
        ax.set_title(BAND[how], fontsize=9)
        ax.set_xlabel("Total wall-clock time [s]")
        ax.grid(True, which="both", alpha=0.3)
    axes[0, 0].set_ylabel("Test regret")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(3, len(labels)),
               fontsize=8)
    fig.suptitle(title, fontsize=9)
    _save(fig, stem)
    _plt().close(fig)


def ecdf(final: dict[str, np.ndarray], counts: dict[str, str], title: str, stem: Path,
         baseline: str | None = None) -> None:
    """The empirical CDF of each optimizer's final regret: 0 left of its best run, rising by
    1/n at each run's value to 1."""
    styles = style(list(final), baseline)
    fig, axes = _figure()
    ax = axes[0, 0]
    kept = [np.sort(v[~np.isnan(v)]) for v in final.values()]
    left = min((v[0] for v in kept if v.size), default=0.0)
    for name, values in zip(final, kept):
        s = styles[name]
        x = np.concatenate([[left], values])
        y = np.arange(values.size + 1) / max(values.size, 1)
        ax.step(x, y, where="post", color=s.colour, ls=s.dashes, lw=s.width, zorder=s.zorder,
                marker=s.marker, markersize=5, markevery=list(range(1, x.size)),
                label=f"{name} ({counts[name]})")
    if left > 0:
        ax.set_xscale("log")
    else:   # sampled runs can beat the mean optimum: regret 0 or below
        ax.set_xscale("symlog", linthresh=1e-4)
    ax.set_ylim(0, 1.02)
    _finish(fig, ax, "Final test regret", "Fraction of runs", title, stem)


def lines(data: pd.DataFrame, names: list[str], ylabel: str, title: str, stem: Path, *,
          logy: bool = False, band_label: str = "", baseline: str | None = None) -> None:
    """One line per optimizer over time (columns optimizer, time, center[, lower, upper])."""
    styles = style(names, baseline)
    fig, axes = _figure()
    ax = axes[0, 0]
    for name in names:
        c = data[data["optimizer"] == name]
        if not c.empty:
            _line(ax, name, c, styles[name], name)
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if "complete" in data and not data["complete"].all():
        band_label += "; dotted: before every run has a value"
    _finish(fig, ax, "Total wall-clock time [s]", ylabel, title, stem, band_label)


def critical_difference(result: Friedman, title: str, stem: Path,
                        names: list[str] | None = None) -> None:
    """Demšar's (2006) diagram: average ranks on an axis (1 = best, left), a bar joining
    optimizers whose ranks differ by less than Nemenyi's critical difference, the CD drawn.
    ``names``: every optimizer of the report (for the colours)."""
    plt = _plt()
    k = len(result.names)
    colours = style(names or result.names)
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
        ax.plot([rank, rank, x_text], [0, row, row], color=colours[name].colour, lw=1.2)
        ax.text(x_text + (-0.05 if left else 0.05), row, f"{name} ({rank:.2f})",
                ha="right" if left else "left", va="center", fontsize=8)
    for g, (i, j) in enumerate(result.groups):
        y = -0.25 - 0.18 * g
        ax.hlines(y, result.ranks[i] - 0.04, result.ranks[j] + 0.04, color="black", lw=3.5)
    ax.set_title(title, fontsize=9)
    _save(fig, stem)
    plt.close(fig)


def _finish(fig, ax, xlabel: str, ylabel: str, title: str, stem: Path,
            legend_title: str = "") -> None:
    """Labels, grid, and the legend below the axes (so it covers no line and no label); then
    save as PNG and PDF and close."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if any("dotted" in label for label in labels):
        legend_title += ("; " if legend_title else "") + "dotted: before every run has an incumbent"
    fig.legend(handles, labels, loc="outside lower center", ncol=2 if len(labels) > 3 else 1,
               fontsize=8, title=legend_title.strip("; :") or None, title_fontsize=8)
    _save(fig, stem)
    _plt().close(fig)


def _save(fig, stem: Path) -> None:
    for ext in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, dpi=150, bbox_inches="tight",
                    metadata={"CreationDate": None} if ext == "pdf" else None)
        atomic_write_bytes(stem.with_suffix(f".{ext}"), buf.getvalue())


def time_split(data: pd.DataFrame, names: list[str], title: str, stem: Path) -> None:
    """Where a run's wall-clock time goes: per optimizer (rows of ``data``: optimizer,
    optimizer_seconds, harness_seconds, runs), a bar for its ask/tell and one for the rest of
    the run (the harness), on a log axis, each labelled with its seconds."""
    plt = _plt()
    data = data.set_index("optimizer").loc[[n for n in names if n in set(data["optimizer"])]]
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.55 * len(data)), layout="constrained")
    y = np.arange(len(data))
    parts = {"optimizer_seconds": ("optimizer: ask and tell", "#0072B2"),
             "harness_seconds": ("harness: simulation, table look-ups, run file", "#999999")}
    for k, (column, (label, colour)) in enumerate(parts.items()):
        values = data[column].to_numpy(float)
        ax.barh(y + (k - 0.5) * 0.38, np.maximum(values, 1e-4), 0.36, color=colour, label=label)
        for yi, v in zip(y + (k - 0.5) * 0.38, values):
            ax.annotate(f"{v:.3g} s", (max(v, 1e-4), yi), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=7)
    ax.set_yticks(y, [f"{n} ({int(r)} run{'s' * (r != 1)})" for n, r in
                      zip(data.index, data["runs"])])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(right=ax.get_xlim()[1] * 4)   # room for the labels
    _finish(fig, ax, "Wall-clock seconds per run (mean)", "", title, stem)
