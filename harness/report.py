"""The reporter: paper-style regret plots, statistics and one page, from any results folder.

``curves()``, ``final_table()``, ``average_rank()``, ``significance()``,
``critical_differences()``, ``usage()`` and ``summary()`` return DataFrames (or results) for users
who draw their own figures; ``report()`` writes every figure (PNG and PDF), every table (Markdown
and CSV) and ``index.html``, a page that holds them all with the experiment's settings, the data's
provenance and the software versions, and prints the tables.

Each run's incumbent (chosen by validation error) is carried forward onto a common log-spaced
time grid; a run contributes to a grid point only once it has finished its first evaluation.
Bands are percentile-bootstrap 95 % intervals over runs, drawn from a Generator seeded per
optimizer and curve, so a report's bytes do not depend on which other optimizers it shows.
"""
from __future__ import annotations

import logging
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.errors import UserError
from benchmark.fileutil import atomic_write_text

from . import figures, page, sensitivity, speedup, stats
from .results import Loaded, failed_runs, load

log = logging.getLogger(__name__)
METRICS = {"test_regret": "Test regret", "validation_regret": "Validation regret"}


class ReportError(UserError, ValueError):
    """Nothing to report (one line, exit code 2 from the CLI)."""


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



Source = str | Path | Loaded


def _load(folder: Source) -> Loaded:
    """A results folder read once (or one already read, passed through)."""
    if isinstance(folder, Loaded):
        return folder
    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such results folder")
    loaded = load(folder)
    if loaded.trajectories.empty:
        failed = failed_runs(folder)
        if failed:
            raise ReportError(f"{folder}: nothing to report, all {len(failed)} run(s) failed "
                              f"(tracebacks: {failed[0]}, ...)")
        raise ReportError(f"{folder}: no readable run results (runs/*/seed-*.npz)")
    return loaded


def _rng(*names: object) -> np.random.Generator:
    """The bootstrap's Generator for one curve or table cell, from its names alone."""
    return np.random.default_rng([REPORT_SEED, *(zlib.crc32(str(n).encode()) for n in names)])


REPORT_SEED = 0


def curves(folder: Source, metric: str = "test_regret", aggregate: str = "mean",
           grid: np.ndarray | None = None) -> pd.DataFrame:
    """Aggregated curves: optimizer, time, center, lower, upper (the percentile-bootstrap 95 %
    interval of the aggregate over runs), runs (with a value at that time)."""
    trajectories = _load(folder).trajectories
    grid = time_grid(trajectories) if grid is None else np.asarray(grid, float)
    return _banded(on_grid(trajectories, grid, metric), grid, aggregate, metric)


def _banded(table: pd.DataFrame, grid: np.ndarray, aggregate: str, what: str) -> pd.DataFrame:
    parts = []
    for opt, block in table.groupby(level="optimizer", sort=False):
        data = block.to_numpy()
        center, lower, upper = stats.bootstrap_band(data, aggregate, _rng(opt, what, aggregate))
        parts.append(pd.DataFrame({"optimizer": opt, "time": grid, "center": center,
                                   "lower": lower, "upper": upper,
                                   "runs": (~np.isnan(data)).sum(axis=0)}))
    return pd.concat(parts, ignore_index=True)


def final_table(folder: Source, times: list[float] | None = None,
                metric: str = "test_regret") -> pd.DataFrame:
    """Regret at chosen times (default: the end) per optimizer: mean, s.e., the mean's 95 %
    bootstrap interval (ci_low, ci_high), median, IQM, runs."""
    trajectories = _load(folder).trajectories
    if not times:
        times = [float(trajectories["time"].max())]
    table = on_grid(trajectories, np.asarray(times, float), metric)
    rows = []
    for opt, block in table.groupby(level="optimizer", sort=False):
        for t in times:
            v = block[t].to_numpy()
            v = v[~np.isnan(v)]
            se = v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else np.nan
            mean, low, high = (stats.mean_interval(v, _rng(opt, metric, t)) if v.size
                               else (np.nan,) * 3)
            rows.append({"optimizer": opt, "time": t, "mean": mean, "se": se, "ci_low": low,
                         "ci_high": high, "median": np.median(v) if v.size else np.nan,
                         "iqm": float(stats.iqm(v)) if v.size else np.nan, "runs": int(v.size)})
    return pd.DataFrame(rows)


def average_rank(folder: Source, grid: np.ndarray | None = None,
                 metric: str = "test_regret") -> pd.DataFrame:
    """Mean rank (1 = best) of each optimizer over time, ranking within each seed."""
    trajectories = _load(folder).trajectories
    grid = time_grid(trajectories) if grid is None else grid
    table = on_grid(trajectories, grid, metric)
    ranks = table.groupby(level="seed").rank(method="average")
    return ranks.groupby(level="optimizer").mean().T.rename_axis("time")


def _by_seed(table: pd.DataFrame, t: float) -> dict[str, dict[int, float]]:
    """Per optimizer: seed -> value at time ``t`` (runs without a value yet left out)."""
    out: dict[str, dict[int, float]] = {}
    for (opt, seed), value in table[t].items():
        if not np.isnan(value):
            out.setdefault(opt, {})[int(seed)] = float(value)
    return out


def significance(folder: Source, times: list[float], metric: str = "test_regret"
                 ) -> tuple[pd.DataFrame, list[str]]:
    """Every ordered pair (a, b) at each time: one-sided test that a's regret is lower (see
    :func:`stats.pair_test`), Holm-adjusted over all pairs at that time; and one line for each
    pair that could not be tested, or was compared unpaired because the seeds differ."""
    trajectories = _load(folder).trajectories
    table = on_grid(trajectories, np.asarray(times, float), metric)
    rows, notes = [], []
    for t in times:
        values = _by_seed(table, t)
        names = list(values)
        tests, unpaired = [], []
        untestable: dict[tuple[str, str], list[str]] = {}   # (reason, got) -> pairs
        for i, a in enumerate(names):
            for b in names[:i] + names[i + 1:]:
                try:
                    tests.append(stats.pair_test(a, b, values[a], values[b]))
                except stats.Untestable as exc:
                    if a < b:  # the reason is the same both ways: say it once
                        untestable.setdefault((exc.what, exc.got), []).append(f"{a}/{b}")
                    continue
                if tests[-1].test == "mann-whitney" and a < b:
                    unpaired.append(f"{a}/{b}")
        for (what, got), pairs in untestable.items():
            notes.append(f"at {t:.4g} s: {what}, got {got} for {_pairs(pairs)}: not tested")
        if unpaired:
            notes.append(f"at {t:.4g} s: seeds differ for {_pairs(unpaired)}: compared "
                         "unpaired (Mann-Whitney U) instead of paired by seed (Wilcoxon)")
        adjusted = stats.holm([x.p for x in tests])
        for x, p_holm in zip(tests, adjusted):
            rows.append({"time": t, "a": x.a, "b": x.b, "test": x.test, "n_a": x.n_a,
                         "n_b": x.n_b, "statistic": x.statistic, "p": x.p, "p_holm": p_holm,
                         "p_a_lower": x.p_lower, "significant": p_holm < stats.ALPHA})
    return pd.DataFrame(rows, columns=SIGNIFICANCE_COLUMNS), notes


def _pairs(pairs: list[str]) -> str:
    return ", ".join(pairs) if len(pairs) <= 3 else f"{len(pairs)} pairs ({pairs[0]}, ...)"


SIGNIFICANCE_COLUMNS = ["time", "a", "b", "test", "n_a", "n_b", "statistic", "p", "p_holm",
                        "p_a_lower", "significant"]


def critical_differences(folder: Source, times: list[float], metric: str = "test_regret"
                         ) -> tuple[dict[float, stats.Friedman], list[str]]:
    """Friedman's test with Nemenyi's critical difference at each time, over the seeds that
    every optimizer ran; one line per time where it cannot be done."""
    trajectories = _load(folder).trajectories
    table = on_grid(trajectories, np.asarray(times, float), metric)
    out, notes = {}, []
    for t in times:
        wide = table[t].unstack("optimizer")
        complete = wide.dropna()
        try:
            out[t] = stats.friedman(list(wide.columns), complete.to_numpy())
        except stats.Untestable as exc:
            shared = "" if len(complete) else f" ({_seed_ranges(wide)})"
            notes.append(f"at {t:.4g} s: {exc}{shared}")
    return out, notes


def _seed_ranges(wide: pd.DataFrame) -> str:
    parts = []
    for opt in wide.columns:
        seeds = sorted(int(s) for s in wide[opt].dropna().index)
        parts.append(f"{opt} ran seeds {seeds[0]}-{seeds[-1]}" if seeds else f"{opt} none")
    return "; ".join(parts)


def usage(folder: Source) -> pd.DataFrame:
    """Per run: evaluations, valid ones, distinct cells among them (by the official hash, which
    is the same for isomorphic cells), the share of valid evaluations that repeat a cell (for
    multi-fidelity optimizers this includes a cell's promotion to a higher budget), the
    optimizer's own wall seconds in ask and tell (NaN where not recorded), and the anytime
    log-regret (:func:`stats.anytime_log_regret`) over the span every run covers."""
    loaded = _load(folder)
    events, trajectories = loaded.events, loaded.trajectories
    start, end = _anytime_span(loaded)
    runs_of = dict(tuple(trajectories.groupby(["optimizer", "seed"], sort=False)))
    rows = []
    for (opt, seed), run in events.groupby(["optimizer", "seed"], sort=False):
        valid = run[~run["invalid"].astype(bool)]
        distinct = valid["hash"].nunique()
        traj = runs_of[(opt, seed)]
        rows.append({"optimizer": opt, "seed": seed, "evaluations": len(run),
                     "valid": len(valid), "distinct_cells": distinct,
                     "repeat_share": 1 - distinct / len(valid) if len(valid) else np.nan,
                     "optimizer_seconds": float(run["overhead"].iloc[-1]) if len(run)
                     else np.nan,
                     "anytime_log_regret": stats.anytime_log_regret(
                         traj["time"].to_numpy(), traj["test_regret"].to_numpy(), start, end)
                     if start < end else np.nan})
    return pd.DataFrame(rows)


def _anytime_span(loaded: Loaded) -> tuple[float, float]:
    """From the first time at which every run has an incumbent to the time budget."""
    traj = loaded.trajectories
    first = traj[traj["test_regret"].notna()].groupby(["optimizer", "seed"])["time"].min()
    runs = traj.groupby(["optimizer", "seed"]).ngroups
    start = float(first.max()) if len(first) == runs else np.inf
    end = max(float(f.get("time_budget", 0.0)) for f in loaded.facts)
    return max(start, np.nextafter(0, 1)), max(end, float(traj["time"].max()))


def summary(folder: Source) -> pd.DataFrame:
    """Per optimizer: runs, the anytime log-regret's mean with its 95 % bootstrap interval, and
    the means over runs of :func:`usage`'s counts and overhead."""
    return _summarise(usage(folder))


def _summarise(per_run: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for opt, block in per_run.groupby("optimizer", sort=False):
        auc = block["anytime_log_regret"].dropna().to_numpy()
        mean, low, high = (stats.mean_interval(auc, _rng(opt, "anytime")) if auc.size
                           else (np.nan,) * 3)
        rows.append({"optimizer": opt, "runs": len(block), "anytime_log_regret": mean,
                     "anytime_ci_low": low, "anytime_ci_high": high,
                     **{c: block[c].mean() for c in ("evaluations", "valid", "distinct_cells",
                                                       "repeat_share")},
                     # NaN unless every run's overhead is known: a mean over some runs misleads
                     "optimizer_seconds": block["optimizer_seconds"].mean(skipna=False)})
    return pd.DataFrame(rows)


def over_time(folder: Source, grid: np.ndarray) -> dict[str, pd.DataFrame]:
    """Distinct valid cells so far and the optimizer's seconds so far, per optimizer over the
    grid (mean over runs with its bootstrap band); overhead only where recorded for every run."""
    events = _load(folder).events.rename(columns={"end": "time"})
    valid = ~events["invalid"].astype(bool)
    events["distinct"] = (valid & ~events.duplicated(["optimizer", "seed", "hash"])).groupby(
        [events["optimizer"], events["seed"]]).cumsum()
    out = {"distinct": _banded(on_grid(events, grid, "distinct"), grid, "mean", "distinct")}
    if events["overhead"].notna().all():
        out["overhead"] = _banded(on_grid(events, grid, "overhead"), grid, "mean", "overhead")
    return out


def report_times(times: list[float] | None, loaded: Loaded) -> tuple[list[float], list[str]]:
    """The report times that lie within the runs' time budget (default: the end); one line for
    each left out."""
    budget = max(float(f.get("time_budget", 0.0)) for f in loaded.facts)
    end = max(budget, float(loaded.trajectories["time"].max()))
    if not times:
        return [end], []
    kept = [t for t in times if t <= end]
    notes = [f"report time {t:.4g} s is beyond every run's time budget ({end:.4g} s): left out"
             for t in times if t > end]
    if not kept:
        notes.append(f"no report time within the budget: the tables use its end, {end:.4g} s")
        kept = [end]
    return kept, notes


def exhausted_runs(loaded: Loaded) -> list[str]:
    """One line per optimizer some of whose runs ran out of proposals before their budget."""
    ended: dict[str, list[str]] = {}
    for f in sorted(loaded.facts, key=lambda f: (f["label"], f["seed"])):
        if "exhausted_at" in f:
            ended.setdefault(f["label"], []).append(
                f"seed {f['seed']} at {f['exhausted_at']:.4g} s")
    return [f"{label}: had no new configuration to propose ({', '.join(runs)}); those runs end "
            "there and their incumbents hold to the budget" for label, runs in ended.items()]


def report(folder: str | Path, times: list[float] | None = None, aggregate: str = "mean",
           out: str | Path | None = None, show: bool = True) -> Path:
    """Write every figure, table and ``index.html`` into ``folder/report`` (or ``out``); print
    the tables; returns that folder.  What cannot be computed (too few seeds for a test, a
    report time past the budget) is one warning line each, and the rest is still written."""
    folder = Path(folder)
    loaded = _load(folder)
    trajectories, facts = loaded.trajectories, loaded.facts
    out = Path(out) if out else folder / "report"
    out.mkdir(parents=True, exist_ok=True)
    names = sorted(trajectories["optimizer"].unique(), key=lambda n: (
        figures.KNOWN_ORDER.index(n) if n in figures.KNOWN_ORDER else 99, n))
    grid = time_grid(trajectories)
    runs = trajectories.groupby("optimizer")["seed"].nunique().to_dict()
    times, notes = report_times(times, loaded)
    notes += exhausted_runs(loaded)
    shown: list[page.Item] = []

    def figure(stem: str, caption: str) -> None:
        shown.append(page.Item(caption, figure=out / f"{stem}.png"))

    by_aggregate = {how: curves(loaded, "test_regret", how, grid) for how in stats.AGGREGATES}
    for metric, label in METRICS.items():
        data = (by_aggregate[aggregate] if metric == "test_regret"
                else curves(loaded, metric, aggregate, grid))
        figures.regret(data, names, runs, aggregate, label, _title(facts, label), out / metric)
        atomic_write_text(out / f"{metric}_curves.csv", data.to_csv(index=False))
        figure(metric, f"{label} of the incumbent (chosen by validation error) over simulated "
                       f"wall-clock time: {figures.BAND[aggregate]} over runs.")
        if metric == "test_regret":
            final = _ordered(final_table(loaded, times), names)
            _table(out, "final_regret", final, _final_markdown(final), shown, show,
                   _title(facts, "Final test regret"))
            per_run = usage(loaded)
            per_optimizer = _ordered(_summarise(per_run), names)
            _table(out, "summary", per_optimizer, _summary_markdown(per_optimizer), shown, show,
                   "Per optimizer: anytime performance, distinct architectures, overhead")
            atomic_write_text(out / "runs.csv", per_run.to_csv(index=False))

    figures.aggregates(by_aggregate, names, runs, _title(facts, "Test regret by aggregate"),
                       out / "test_regret_aggregates")
    figure("test_regret_aggregates", "Test regret as mean, median and interquartile mean, each "
                                     "with its 95 % bootstrap interval.")
    at_end = on_grid(trajectories, np.array([grid[-1]]), "test_regret")
    figures.ecdf({n: at_end.loc[n].to_numpy().ravel() for n in names},
                 _title(facts, "Empirical CDF of final test regret"), out / "test_regret_ecdf")
    figure("test_regret_ecdf", "Distribution of the final test regret over runs.")
    ranks = average_rank(loaded, grid).reset_index().melt(
        id_vars="time", var_name="optimizer", value_name="center")
    figures.lines(ranks, names, "Average rank (test regret, 1 = best)",
                  _title(facts, "Average rank"), out / "average_rank")
    figure("average_rank", "Average rank over time, ranking the optimizers within each seed.")

    tests, test_notes = significance(loaded, times)
    notes += test_notes
    atomic_write_text(out / "significance.csv", tests.to_csv(index=False))
    markdown = _significance_markdown(tests, names)
    atomic_write_text(out / "significance.md", markdown)
    shown.append(page.Item("Pairwise one-sided tests", markdown=markdown))
    diagrams, cd_notes = critical_differences(loaded, times)
    notes += cd_notes
    for t, result in diagrams.items():
        stem = f"critical_difference_{t:.4g}".replace(".", "_")
        verdict = (f"Friedman p = {result.p:.3g}" + ("" if result.p < stats.ALPHA
                                                     else ": no significant difference"))
        figures.critical_difference(result, f"Average rank at {t:.4g} s over {result.blocks} "
                                    f"seeds\n{verdict}; Nemenyi's CD at alpha = {stats.ALPHA}",
                                    out / stem)
        figure(stem, f"Critical-difference diagram at {t:.4g} s: optimizers joined by a bar "
                     "are not significantly different.")

    progress = over_time(loaded, grid)
    figures.lines(progress["distinct"], names, "Distinct valid cells evaluated (mean)",
                  _title(facts, "Distinct architectures"), out / "distinct_cells",
                  band_label=": mean, 95% bootstrap CI")
    figure("distinct_cells", "Distinct valid cells (by the official hash, so isomorphic cells "
                             "count once) evaluated so far.")
    if "overhead" in progress:
        figures.lines(progress["overhead"], names, "Optimizer wall time in ask/tell [s] (mean)",
                      _title(facts, "Optimizer overhead"), out / "optimizer_overhead", logy=True,
                      band_label=": mean, 95% bootstrap CI")
        figure("optimizer_overhead", "The optimizer's own wall-clock seconds (ask and tell) "
                                     "so far, against simulated time.")
    else:
        notes.append("optimizer overhead was not recorded for some runs (made by a version "
                     "before it was): no overhead figure")
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
    page.write(out / "index.html", folder, _title(facts, "Report"), shown, notes, facts)
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


def _final_markdown(final: pd.DataFrame) -> str:
    lines = ["| optimizer | time [s] | mean ± s.e. | mean 95% CI | median | IQM | runs |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in final.itertuples():
        se = "" if np.isnan(row.se) else f" ± {row.se:.5f}"
        lines.append(f"| {row.optimizer} | {row.time:.4g} | {row.mean:.5f}{se} | "
                     f"[{row.ci_low:.5f}, {row.ci_high:.5f}] | {row.median:.5f} | "
                     f"{row.iqm:.5f} | {row.runs} |")
    return "\n".join(lines) + "\n"


def _summary_markdown(frame: pd.DataFrame) -> str:
    lines = ["| optimizer | runs | anytime log10 regret [95% CI] | evaluations | valid | "
             "distinct cells | repeats | optimizer time [s] |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in frame.itertuples():
        overhead = "n/a" if np.isnan(r.optimizer_seconds) else f"{r.optimizer_seconds:.3g}"
        lines.append(f"| {r.optimizer} | {r.runs} | {r.anytime_log_regret:.3f} "
                     f"[{r.anytime_ci_low:.3f}, {r.anytime_ci_high:.3f}] | "
                     f"{r.evaluations:.1f} | {r.valid:.1f} | {r.distinct_cells:.1f} | "
                     f"{100 * r.repeat_share:.1f} % | {overhead} |")
    lines += ["", "Anytime: the mean of log10(test regret) over log time, from when every run "
              f"has an incumbent to the budget (regret floored at {stats.REGRET_FLOOR:g}; lower "
              "is better). Counts and times are means over runs; repeats: the share of valid "
              "evaluations whose cell was evaluated before in the run."]
    return "\n".join(lines) + "\n"


def _significance_markdown(tests: pd.DataFrame, names: list[str]) -> str:
    """Per time, a matrix: Holm-adjusted p that the row's regret is lower than the column's,
    with P(row lower) in brackets; bold where significant."""
    lines = [f"One-sided tests that the row's test regret is lower than the column's "
             f"(Wilcoxon signed-rank when paired by seed, else Mann-Whitney U), Holm-adjusted "
             f"over all pairs at each time; in brackets the probability that the row's run has "
             f"the lower regret. Bold: p < {stats.ALPHA}.", ""]
    if tests.empty:
        return "\n".join(lines + ["No pair could be tested (see the notes)."]) + "\n"
    for t, block in tests.groupby("time", sort=True):
        cell = {(r.a, r.b): r for r in block.itertuples()}
        present = [n for n in names if any(n in k for k in cell)]
        lines += [f"At {t:.4g} s:", "", "| row < column | " + " | ".join(present) + " |",
                  "|---|" + "---:|" * len(present)]
        for a in present:
            row = []
            for b in present:
                r = cell.get((a, b))
                text = "" if r is None else f"{r.p_holm:.3g} ({r.p_a_lower:.2f})"
                row.append(f"**{text}**" if r is not None and r.significant else text)
            lines.append(f"| {a} | " + " | ".join(row) + " |")
        lines.append("")
    return "\n".join(lines)


def _title(facts: list[dict], what: str) -> str:
    runs = pd.Series([f["label"] for f in facts]).value_counts()
    surrogate = next((f.get("table") for f in facts if f.get("surrogate")), None)
    bench = (surrogate if surrogate else
             "NAS-Bench-101 trained live (regret = error, wall-clock time)"
             if any(f.get("live") for f in facts) else "NAS-Bench-101")
    encodings = sorted({f.get("encoding", "?") for f in facts})
    counts = f"{runs.min()}" if runs.min() == runs.max() else f"{runs.min()}-{runs.max()}"
    plural = "" if runs.max() == 1 else "s"
    return f"{what}: {bench}, encoding {'/'.join(encodings)}, {counts} run{plural} per optimizer"


