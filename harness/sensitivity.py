"""Sensitivity to an optimizer's settings: the members of each grid entry of an experiment
(``grid:`` in YAML, see :meth:`harness.config.OptimizerConfig.members`) side by side.

For every grid entry and every parameter it varies, one figure row: the final test regret
(mean with its 95 % bootstrap interval) and the anytime figure of merit (mean log10 regret over
log time, lower is better, with its interval) against the parameter's values, one line per
combination of the entry's other grid parameters; the numbers also go to ``sensitivity.csv``
and ``sensitivity.md``.  The supplement's Figures 2-5 are such plots.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.fileutil import atomic_write_text

from . import figures, page
from .config import read_saved

COLUMNS = ["group", "parameter", "value", "others", "optimizer", "runs", "final_mean",
           "final_ci_low", "final_ci_high", "anytime", "anytime_ci_low", "anytime_ci_high"]


@dataclass(frozen=True)
class Group:
    """One grid entry: its key (label or name), and each member's label -> grid values."""

    key: str
    members: dict[str, dict[str, Any]]

    @property
    def parameters(self) -> list[str]:
        return list(next(iter(self.members.values())))


def grid_groups(folder: str | Path) -> list[Group]:
    """The grid entries of the experiment saved in ``folder`` (none if it has no readable
    ``experiment.yaml`` or no grid)."""
    saved = read_saved(folder)
    if saved is None or saved.experiment is None:
        return []
    return [Group(o.key, o.varied()) for o in saved.experiment.optimizers if o.grid]


def table(groups: list[Group], final: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Per group, varied parameter and member: the member's final regret and anytime figure of
    merit with their intervals.  ``final``: :func:`harness.report.final_table` at one time;
    ``summary``: :func:`harness.report.summary`.  Members without runs are left out."""
    final = final.set_index("optimizer")
    summary = summary.set_index("optimizer")
    rows = []
    for group in groups:
        for parameter in group.parameters:
            for label, values in group.members.items():
                if label not in final.index or label not in summary.index:
                    continue
                f, s = final.loc[label], summary.loc[label]
                others = ",".join(f"{k}={v}" for k, v in values.items() if k != parameter)
                rows.append({"group": group.key, "parameter": parameter,
                             "value": values[parameter], "others": others, "optimizer": label,
                             "runs": int(f["runs"]), "final_mean": f["mean"],
                             "final_ci_low": f["ci_low"], "final_ci_high": f["ci_high"],
                             "anytime": s["anytime_log_regret"],
                             "anytime_ci_low": s["anytime_ci_low"],
                             "anytime_ci_high": s["anytime_ci_high"]})
    return pd.DataFrame(rows, columns=COLUMNS)


def section(groups: list[Group], final: pd.DataFrame, summary: pd.DataFrame, out: Path,
            show: bool = False) -> list[page.Item]:
    """Write ``sensitivity.csv/.md`` and one figure per group into ``out``; the page items."""
    data = table(groups, final, summary)
    if data.empty:
        return []
    markdown = _markdown(data, float(final["time"].iloc[0]))
    atomic_write_text(out / "sensitivity.csv", data.to_csv(index=False))
    atomic_write_text(out / "sensitivity.md", markdown)
    if show:
        print(markdown)
    items = [page.Item("Sensitivity to the grids' settings", markdown=markdown)]
    for key, block in data.groupby("group", sort=False):
        stem = out / f"sensitivity_{re.sub(r'[^A-Za-z0-9_.-]+', '_', key)}"
        plot(block, f"Sensitivity of {key}: final test regret and anytime performance", stem)
        items.append(page.Item(
            f"{key}: final test regret (mean, 95 % bootstrap CI) and the anytime figure of "
            "merit (mean log10 regret over log time, lower is better) against each setting it "
            "varies; one line per combination of its other settings.",
            figure=stem.with_suffix(".png")))
    return items


def plot(block: pd.DataFrame, title: str, stem: Path) -> None:
    """One row per varied parameter: final regret and anytime figure of merit against it."""
    plt = figures.pyplot()
    parameters = list(dict.fromkeys(block["parameter"]))
    fig, axes = plt.subplots(len(parameters), 2, figsize=(10, 3.4 * len(parameters)),
                             squeeze=False)
    for row, parameter in zip(axes, parameters):
        rows = block[block["parameter"] == parameter]
        values = list(dict.fromkeys(rows["value"]))
        numeric = (pd.api.types.is_numeric_dtype(rows["value"])
                   and not pd.api.types.is_bool_dtype(rows["value"]))
        logx = numeric and min(values) > 0 and max(values) / min(values) >= 10
        position = {v: (v if numeric else i) for i, v in enumerate(values)}
        lines = list(rows.groupby("others", sort=False))
        span = (max(values) - min(values) if numeric and not logx else 1) or 1
        for n, (others, line) in enumerate(lines):
            dodge = n - (len(lines) - 1) / 2   # side by side, so the intervals stay apart
            x = np.array([position[v] for v in line["value"]], float)
            x = x * 10 ** (0.015 * dodge) if logx else x + 0.01 * span * dodge
            for ax, what in zip(row, ("final", "anytime")):
                center = line["final_mean" if what == "final" else "anytime"].to_numpy(float)
                low = line[f"{what}_ci_low"].to_numpy(float)
                high = line[f"{what}_ci_high"].to_numpy(float)
                order = np.argsort(x)
                ax.errorbar(x[order], center[order],
                            yerr=[(center - low)[order], (high - center)[order]],
                            color=figures.PALETTE[n % len(figures.PALETTE)],
                            marker=figures.MARKERS[n % len(figures.MARKERS)], capsize=3,
                            lw=1.5, label=others or None)
        for ax, ylabel in zip(row, ("Final test regret (mean)", "Anytime log10 regret")):
            if logx:
                ax.set_xscale("log")
                ax.minorticks_off()
            ax.set_xticks([position[v] for v in values], [str(v) for v in values])
            ax.set_xlabel(parameter)
            ax.set_ylabel(ylabel)
            ax.grid(True, which="both", alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
        finals = rows[["final_ci_low", "final_mean"]].to_numpy(float)
        if np.isfinite(finals).all() and (finals > 0).all():
            row[0].set_yscale("log")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    figures.save_figure(fig, stem)


def _markdown(data: pd.DataFrame, time: float) -> str:
    lines = [f"Final test regret at {time:.4g} s and the anytime figure of merit (mean log10 "
             "regret over log time; lower is better) of each grid member, with 95 % bootstrap "
             "intervals.", ""]
    for (key, parameter), block in data.groupby(["group", "parameter"], sort=False):
        lines += [f"{key}, by {parameter}:", "",
                  f"| {parameter} | other settings | runs | final regret [95% CI] | "
                  "anytime [95% CI] |", "|---:|---|---:|---:|---:|"]
        for r in block.itertuples():
            lines.append(f"| {r.value} | {r.others or '-'} | {r.runs} | {r.final_mean:.5f} "
                         f"[{r.final_ci_low:.5f}, {r.final_ci_high:.5f}] | {r.anytime:.3f} "
                         f"[{r.anytime_ci_low:.3f}, {r.anytime_ci_high:.3f}] |")
        lines.append("")
    return "\n".join(lines)
