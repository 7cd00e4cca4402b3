"""The reporter: paper-style regret plots, statistics and one page, from any results folder.

``curves()``, ``final_table()``, ``average_rank()``, ``significance()``,
``critical_differences()``, ``usage()`` and ``summary()`` return DataFrames (or results) for users
who draw their own figures; ``report()`` writes every figure (PNG and PDF), every table (Markdown
and CSV) and ``index.html``, a page that holds them all with the experiment's settings, the data's
provenance and the software versions, and prints the tables.

The numbers come from :mod:`.report_tables` (how curves, bands and tests are computed), the
words from :mod:`.report_text` (Markdown tables, titles, legend counts); this module draws and
writes them, and re-exports the computations as the reporter's public API.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.fileutil import atomic_write_text

from . import figures, page, sensitivity, speedup, stats
from .report_tables import (
    DEFAULT_BASELINE,
    REPORT_SEED,
    SIGNIFICANCE_COLUMNS,
    ReportError,
    Source,
    average_rank,
    comparisons,
    critical_differences,
    curves,
    exhausted_runs,
    final_table,
    in_progress,
    load_source,
    on_grid,
    over_time,
    report_times,
    significance,
    summarise,
    summary,
    time_grid,
    usage,
    wall_split,
)
from .report_text import (
    CURVE_RULE,
    baseline_markdown,
    failure_notes,
    final_markdown,
    pairs_markdown,
    report_title,
    run_counts,
    summary_markdown,
)

__all__ = ["DEFAULT_BASELINE", "METRICS", "REPORT_SEED", "SIGNIFICANCE_COLUMNS", "ReportError",
           "Source", "average_rank", "comparisons", "critical_differences", "curves",
           "exhausted_runs", "failure_notes", "final_table", "on_grid", "over_time", "report",
           "report_times", "significance", "summary", "time_grid", "usage"]

log = logging.getLogger(__name__)
METRICS = {"test_regret": "Test regret", "validation_regret": "Validation regret"}


def report(folder: str | Path, times: list[float] | None = None, aggregate: str = "mean",
           out: str | Path | None = None, show: bool = True, baseline: str | None = None,
           all_pairs: bool = False) -> Path:
    """Write every figure, table and ``index.html`` (``nasbench report``); print the tables.
    What cannot be computed (too few seeds for a test, a report time past the budget) is one
    warning line each, and the rest is still written.

    Args:
        folder: a results folder of ``nasbench run``.
        times: the times [s] of the tables and tests (None: the end).
        aggregate: each figure line's ``mean``, ``median`` or ``iqm`` over runs.
        out: where to write (None: ``folder/report``).
        show: print the tables.
        baseline, all_pairs: which tests (see :func:`comparisons`).

    Returns:
        The folder written.

    Raises:
        ReportError: no such folder, or no readable run in it; a baseline not among the
            optimizers.
    """
    folder = Path(folder)
    loaded = load_source(folder)
    trajectories, facts = loaded.trajectories, loaded.facts
    out = Path(out) if out else folder / "report"
    names = figures.shown_order({*trajectories["optimizer"].unique(), *loaded.failures})
    present = [n for n in names if n in set(trajectories["optimizer"])]
    lost = baseline in loaded.failures and baseline not in present
    baseline = None if lost else baseline
    family, _, chosen = comparisons(present, baseline, all_pairs)
    top = comparisons(present, baseline)[2]   # the baseline, drawn on top in every figure
    out.mkdir(parents=True, exist_ok=True)
    grid = time_grid(trajectories)
    counts = run_counts(loaded, names)
    times, notes = report_times(times, loaded)
    if lost:
        notes.append("the baseline has no results (every run failed): tested against "
                     f"{chosen} instead" if chosen else "the baseline has no results (every run "
                     "failed): every ordered pair tested instead")
    notes += failure_notes(loaded) + exhausted_runs(loaded) + in_progress(folder, loaded)
    shown: list[page.Item] = []

    def figure(stem: str, caption: str) -> None:
        shown.append(page.Item(caption, figure=out / f"{stem}.png"))

    by_aggregate = {how: curves(loaded, "test_regret", how, grid) for how in stats.AGGREGATES}
    for metric, label in METRICS.items():
        data = (by_aggregate[aggregate] if metric == "test_regret"
                else curves(loaded, metric, aggregate, grid))
        figures.regret(data, names, counts, aggregate, label, report_title(facts, label),
                       out / metric, top)
        atomic_write_text(out / f"{metric}_curves.csv", data.to_csv(index=False))
        figure(metric, f"{label} of the incumbent (chosen by validation error) over simulated "
                       f"wall-clock time: {figures.BAND[aggregate]} over runs. {CURVE_RULE}")
        if metric == "test_regret":
            final = _ordered(final_table(loaded, times), names)
            _table(out, "final_regret", final, final_markdown(final, loaded), shown, show,
                   report_title(facts, "Final test regret"))
            per_run = usage(loaded)
            per_optimizer = _ordered(summarise(per_run, loaded), names)
            _table(out, "summary", per_optimizer, summary_markdown(per_optimizer), shown, show,
                   "Per optimizer: anytime performance, distinct architectures, overhead")
            atomic_write_text(out / "runs.csv", per_run.to_csv(index=False))

    figures.aggregates(by_aggregate, names, counts,
                       report_title(facts, "Test regret by aggregate"),
                       out / "test_regret_aggregates", top)
    figure("test_regret_aggregates", "Test regret as mean, median and interquartile mean, each "
                                     f"with its 95 % bootstrap interval. {CURVE_RULE}")
    at_end = on_grid(trajectories, np.array([grid[-1]]), "test_regret")
    done = set(at_end.index.get_level_values("optimizer"))
    figures.ecdf({n: at_end.loc[n].to_numpy().ravel() if n in done else np.array([])
                  for n in names}, counts,
                 report_title(facts, "Empirical CDF of final test regret"),
                 out / "test_regret_ecdf", top)
    figure("test_regret_ecdf", "Distribution of the final test regret over runs: the fraction "
                               "of runs with at most that regret (0 left of the best run).")
    ranks = average_rank(loaded, grid).reset_index().melt(
        id_vars="time", var_name="optimizer", value_name="center")
    figures.lines(ranks, names, "Average rank (test regret, 1 = best)",
                  report_title(facts, "Average rank"), out / "average_rank", baseline=top)
    figure("average_rank", "Average rank over time, ranking the optimizers within each seed.")

    tests, test_notes = significance(loaded, times, baseline=baseline, all_pairs=all_pairs)
    notes += test_notes
    atomic_write_text(out / "significance.csv", tests.to_csv(index=False))
    markdown = (baseline_markdown(tests, names, chosen, len(family)) if chosen else
                pairs_markdown(tests, names))
    reach = [n for n in test_notes if "no test can reach" in n]
    markdown += "".join(f"\n**{n[0].upper()}{n[1:]}.**\n" for n in reach)
    atomic_write_text(out / "significance.md", markdown)
    shown.append(page.Item(f"Each optimizer against {chosen}" if chosen else
                           "Pairwise one-sided tests", markdown=markdown))
    diagrams, cd_notes = critical_differences(loaded, times)
    notes += cd_notes
    for t, result in diagrams.items():
        stem = f"critical_difference_{t:.4g}".replace(".", "_")
        verdict = (f"Friedman p = {result.p:.3g}" + ("" if result.p < stats.ALPHA
                                                     else ": no significant difference"))
        figures.critical_difference(result, f"Average rank at {t:.4g} s over {result.blocks} "
                                    f"seeds\n{verdict}; Nemenyi's CD at alpha = {stats.ALPHA}",
                                    out / stem, names)
        figure(stem, f"Critical-difference diagram at {t:.4g} s: optimizers joined by a bar "
                     "are not significantly different.")

    progress = over_time(loaded, grid)
    figures.lines(progress["distinct"], names, "Distinct valid cells evaluated (mean)",
                  report_title(facts, "Distinct architectures"), out / "distinct_cells",
                  band_label="mean, 95% bootstrap CI", baseline=top)
    figure("distinct_cells", "Distinct valid cells (by the official hash, so isomorphic cells "
                             "count once) evaluated so far.")
    if "overhead" in progress:
        figures.lines(progress["overhead"], names, "Optimizer wall time in ask/tell [s] (mean)",
                      report_title(facts, "Optimizer overhead"), out / "optimizer_overhead",
                      logy=True, band_label="mean, 95% bootstrap CI", baseline=top)
        figure("optimizer_overhead", "The optimizer's own wall-clock seconds (ask and tell) "
                                     "so far, against simulated time.")
    else:
        notes.append("optimizer overhead was not recorded for some runs (made by a version "
                     "before it was): no overhead figure")
    split = wall_split(folder, per_run)
    if not split.empty:
        figures.time_split(split, names, report_title(facts, "Where a run's time goes"),
                           out / "time_split")
        figure("time_split", "Wall-clock seconds per run, mean over the runs whose time "
                             "metadata.json records (the runs made by the folder's last "
                             "nasbench run): in the optimizer's ask and tell, and in the "
                             "rest of the run (the harness: simulation, table look-ups, "
                             "writing the run file).")
    race_items, race_notes = speedup.section(
        on_grid(trajectories, time_grid(trajectories, speedup.POINTS), "test_regret"), facts,
        out, show)
    shown += race_items
    notes += race_notes
    groups = sensitivity.grid_groups(folder)
    if groups:
        shown += sensitivity.section(groups, final_table(loaded), summary(loaded), out, show)
    for note in notes:
        log.warning("%s", note)
    page.write(out / "index.html", folder, report_title(facts, "Report"), shown, notes, facts)
    log.info("report written to %s", out)
    return out


def _ordered(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    return frame.sort_values("optimizer", key=lambda c: c.map(names.index), kind="stable")


def _table(out: Path, stem: str, frame: pd.DataFrame, markdown: str, shown: list,
           show: bool, title: str) -> None:
    text = f"{title}\n\n{markdown}"
    atomic_write_text(out / f"{stem}.csv", frame.to_csv(index=False))
    atomic_write_text(out / f"{stem}.md", text)
    shown.append(page.Item(title, markdown=markdown))
    if show:
        print(text)
