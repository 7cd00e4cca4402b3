"""The reporter: paper-style regret plots, statistics and one page, from any results folder.

``curves()``, ``final_table()``, ``average_rank()``, ``significance()``,
``critical_differences()``, ``usage()`` and ``summary()`` return DataFrames (or results) for users
who draw their own figures; ``report()`` writes every figure (PNG and PDF), every table (Markdown
and CSV) and ``index.html``, a page that holds them all with the experiment's settings, the data's
provenance and the software versions, and prints the tables.

Each run's incumbent (chosen by validation error) is carried forward onto a common log-spaced
time grid; a run contributes to a grid point only once it has an incumbent.  An aggregate
curve is ``complete`` from the time every run of its optimizer has one: from there it is an
aggregate of a fixed set of runs, so it moves only when an incumbent changes (a validation
regret curve never rises); before, it aggregates fewer runs, and the figures draw it dotted
with their count.  Bands are percentile-bootstrap 95 % intervals over runs, drawn from a
Generator seeded per optimizer and curve, so a report's bytes do not depend on which other
optimizers it shows.  Failed runs (``runs/LABEL/seed-S.failed.txt``) are counted in the
legends, tables and notes; an optimizer all of whose runs failed is still listed.
"""
from __future__ import annotations

import json
import logging
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.errors import UserError
from benchmark.fileutil import atomic_write_text

from . import figures, page, sensitivity, speedup, stats
from .results import Loaded, failed_runs, load, planned_count, writer

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
    interval of the aggregate over runs), runs (with a value at that time), complete (every
    run of the optimizer has one: the aggregate of a fixed set of runs)."""
    trajectories = _load(folder).trajectories
    grid = time_grid(trajectories) if grid is None else np.asarray(grid, float)
    return _banded(on_grid(trajectories, grid, metric), grid, aggregate, metric)


def _banded(table: pd.DataFrame, grid: np.ndarray, aggregate: str, what: str) -> pd.DataFrame:
    """Per optimizer and grid time: the aggregate, its band, the runs with a value and whether
    that is every run of the optimizer (``complete``)."""
    parts = []
    for opt, block in table.groupby(level="optimizer", sort=False):
        data = block.to_numpy()
        center, lower, upper = stats.bootstrap_band(data, aggregate, _rng(opt, what, aggregate))
        runs = (~np.isnan(data)).sum(axis=0)
        parts.append(pd.DataFrame({"optimizer": opt, "time": grid, "center": center,
                                   "lower": lower, "upper": upper, "runs": runs,
                                   "complete": runs == data.shape[0]}))
    return pd.concat(parts, ignore_index=True)


def final_table(folder: Source, times: list[float] | None = None,
                metric: str = "test_regret") -> pd.DataFrame:
    """Regret at chosen times (default: the end) per optimizer: mean, s.e., the mean's 95 %
    bootstrap interval (ci_low, ci_high), median, IQM, runs (with a value then), failed (runs
    that raised; an optimizer whose every run failed has a row of NaN)."""
    loaded = _load(folder)
    trajectories = loaded.trajectories
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
                         "iqm": float(stats.iqm(v)) if v.size else np.nan,
                         "failed": len(loaded.failures.get(opt, {})), "runs": int(v.size)})
    for opt, failed in loaded.failures.items():
        if opt not in set(table.index.get_level_values("optimizer")):
            rows += [{"optimizer": opt, "time": t, **dict.fromkeys(
                ("mean", "se", "ci_low", "ci_high", "median", "iqm"), np.nan),
                "failed": len(failed), "runs": 0} for t in times]
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


DEFAULT_BASELINE = "random_search"


def comparisons(names: list[str], baseline: str | None = None, all_pairs: bool = False
                ) -> tuple[list[tuple[str, str]], str, str | None]:
    """The family of tests: (pairs, alternative, baseline).  By default each optimizer against
    the baseline (``random_search`` when present), two-sided; with ``all_pairs`` (or no
    baseline among ``names``) every ordered pair, one-sided.  Raises :class:`ReportError` for
    a baseline that is not among ``names``."""
    if baseline is not None and baseline not in names:
        raise ReportError(f"baseline {baseline!r} is not among the optimizers "
                          f"({', '.join(names)})")
    chosen = baseline or (DEFAULT_BASELINE if DEFAULT_BASELINE in names else None)
    if all_pairs or chosen is None:
        return [(a, b) for a in names for b in names if a != b], "less", None
    return [(a, chosen) for a in names if a != chosen], "two-sided", chosen


def significance(folder: Source, times: list[float], metric: str = "test_regret",
                 baseline: str | None = None, all_pairs: bool = False
                 ) -> tuple[pd.DataFrame, list[str]]:
    """Tests at each time (see :func:`comparisons`): each optimizer against the baseline,
    two-sided, or every ordered pair (a, b), one-sided that a's regret is lower (see
    :func:`stats.pair_test`); Holm-adjusted over the family at that time.  Also one line for
    each comparison that could not be tested or was compared unpaired because the seeds
    differ, and one where no test could reach ``stats.ALPHA`` with the seeds at hand (with
    how many seeds it would take)."""
    trajectories = _load(folder).trajectories
    table = on_grid(trajectories, np.asarray(times, float), metric)
    names = list(dict.fromkeys(table.index.get_level_values("optimizer")))
    family, alternative, chosen = comparisons(names, baseline, all_pairs)
    rows, notes = [], []
    for t in times:
        values = _by_seed(table, t)
        tests, unpaired = [], []
        untestable: dict[tuple[str, str], list[str]] = {}   # (reason, got) -> pairs
        for a, b in family:
            if a not in values or b not in values:
                untestable.setdefault(("no run has a result yet", "none"), []).append(f"{a}/{b}")
                continue
            try:
                tests.append(stats.pair_test(a, b, values[a], values[b], alternative))
            except stats.Untestable as exc:
                if chosen or a < b:  # all pairs: the reason is the same both ways, say it once
                    untestable.setdefault((exc.what, exc.got), []).append(f"{a}/{b}")
                continue
            if tests[-1].test == "mann-whitney" and (chosen or a < b):
                unpaired.append(f"{a}/{b}")
        for (what, got), pairs in untestable.items():
            notes.append(f"at {t:.4g} s: {what}, got {got} for {_pairs(pairs)}: not tested")
        if unpaired:
            notes.append(f"at {t:.4g} s: seeds differ for {_pairs(unpaired)}: compared "
                         "unpaired (Mann-Whitney U) instead of paired by seed (Wilcoxon)")
        adjusted = stats.holm([x.p for x in tests])
        for x, p_holm in zip(tests, adjusted):
            rows.append({"time": t, "a": x.a, "b": x.b, "test": x.test,
                         "alternative": alternative, "n_a": x.n_a, "n_b": x.n_b,
                         "statistic": x.statistic, "p": x.p, "p_holm": p_holm,
                         "p_a_lower": x.p_lower, "significant": p_holm < stats.ALPHA})
        if not any(p < stats.ALPHA for p in adjusted):
            notes += _out_of_reach(t, tests, len(family), alternative, values)
    return pd.DataFrame(rows, columns=SIGNIFICANCE_COLUMNS), notes


def _out_of_reach(t: float, tests: list[stats.PairTest], family: int, alternative: str,
                  values: dict[str, dict[int, float]]) -> list[str]:
    """One line if no test of the family could reach ALPHA after Holm's correction with the
    runs at hand, whatever the results: the exact tests' smallest p is too large."""
    reachable = [stats.smallest_p(x.test == "wilcoxon", x.n_a, x.n_b, alternative) * family
                 < stats.ALPHA for x in tests]
    if any(reachable) or not family:
        return []
    seeds = max((len(v) for v in values.values()), default=0)
    need = stats.fewest_seeds(family, alternative)
    sided = "one-sided" if alternative == "less" else "two-sided"
    return [f"at {t:.4g} s: no test can reach p < {stats.ALPHA} with {seeds} seed(s): Holm's "
            f"correction over {family} {sided} tests needs a p below "
            f"{stats.ALPHA / family:.3g}, which the exact tests cannot give on so few runs; "
            f"{need} seeds run by every optimizer would be needed"]


def _pairs(pairs: list[str]) -> str:
    return ", ".join(pairs) if len(pairs) <= 3 else f"{len(pairs)} pairs ({pairs[0]}, ...)"


SIGNIFICANCE_COLUMNS = ["time", "a", "b", "test", "alternative", "n_a", "n_b", "statistic",
                        "p", "p_holm", "p_a_lower", "significant"]


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


def wall_split(folder: Path, per_run: pd.DataFrame) -> pd.DataFrame:
    """Per optimizer: mean wall seconds per run in its ask/tell and in the rest of the run
    (the harness), over the runs with a known overhead whose wall ``metadata.json`` records
    (``wall_seconds_per_run``: the runs of the folder's last ``nasbench run``); empty if none.
    """
    try:
        walls = json.loads((folder / "metadata.json").read_text())["wall_seconds_per_run"]
    except (OSError, ValueError, KeyError, TypeError):
        return pd.DataFrame()
    if not isinstance(walls, dict):
        return pd.DataFrame()
    keys = per_run["optimizer"].astype(str) + "/" + per_run["seed"].astype(str)
    runs = per_run.assign(wall=keys.map(lambda k: walls.get(k, np.nan)).astype(float))
    runs = runs[runs["wall"].notna() & runs["optimizer_seconds"].notna()]
    runs = runs.assign(harness_seconds=(runs["wall"] - runs["optimizer_seconds"]).clip(lower=0))
    if runs.empty:
        return pd.DataFrame()
    return runs.groupby("optimizer", sort=False).agg(
        optimizer_seconds=("optimizer_seconds", "mean"),
        harness_seconds=("harness_seconds", "mean"),
        runs=("seed", "size")).reset_index()


def _anytime_span(loaded: Loaded) -> tuple[float, float]:
    """From the first time at which every run has an incumbent to the time budget."""
    traj = loaded.trajectories
    first = traj[traj["test_regret"].notna()].groupby(["optimizer", "seed"])["time"].min()
    runs = traj.groupby(["optimizer", "seed"]).ngroups
    start = float(first.max()) if len(first) == runs else np.inf
    end = max(float(f.get("time_budget", 0.0)) for f in loaded.facts)
    return max(start, np.nextafter(0, 1)), max(end, float(traj["time"].max()))


def summary(folder: Source) -> pd.DataFrame:
    """Per optimizer: runs, failed runs, the anytime log-regret's mean with its 95 % bootstrap
    interval, and the means over runs of :func:`usage`'s counts and overhead."""
    loaded = _load(folder)
    return _summarise(usage(loaded), loaded)


def _summarise(per_run: pd.DataFrame, loaded: Loaded) -> pd.DataFrame:
    rows = []
    for opt, block in per_run.groupby("optimizer", sort=False):
        auc = block["anytime_log_regret"].dropna().to_numpy()
        mean, low, high = (stats.mean_interval(auc, _rng(opt, "anytime")) if auc.size
                           else (np.nan,) * 3)
        rows.append({"optimizer": opt, "runs": len(block),
                     "failed": len(loaded.failures.get(opt, {})), "anytime_log_regret": mean,
                     "anytime_ci_low": low, "anytime_ci_high": high,
                     **{c: block[c].mean() for c in ("evaluations", "valid", "distinct_cells",
                                                       "repeat_share")},
                     # NaN unless every run's overhead is known: a mean over some runs misleads
                     "optimizer_seconds": block["optimizer_seconds"].mean(skipna=False)})
    rows += [{"optimizer": opt, "runs": 0, "failed": len(failed)}
             for opt, failed in loaded.failures.items() if opt not in set(per_run["optimizer"])]
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


CURVE_RULE = ("Each run's incumbent is carried forward; a line is solid from the time every "
              "run of its optimizer has an incumbent, so it aggregates a fixed set of runs and "
              "moves only when an incumbent changes (validation regret never rises; test "
              "regret rises only where a new incumbent, better on validation, is worse on "
              "test); before that it is dotted, over the runs that have one, their count in "
              "the legend. Failed runs are counted in the legend.")


def in_progress(folder: Path, loaded: Loaded) -> list[str]:
    """A note when a 'nasbench run' is still writing the folder: the report shows the runs
    complete so far."""
    holder = writer(folder)
    if holder is None:
        return []
    planned = planned_count(folder)
    of = f" of {planned}" if planned else ""
    return [f"a 'nasbench run' ({holder}) is still writing this folder: {len(loaded.facts)}"
            f"{of} runs are complete, and the report shows those"]


def report(folder: str | Path, times: list[float] | None = None, aggregate: str = "mean",
           out: str | Path | None = None, show: bool = True, baseline: str | None = None,
           all_pairs: bool = False) -> Path:
    """Write every figure, table and ``index.html`` into ``folder/report`` (or ``out``); print
    the tables; returns that folder.  ``baseline``/``all_pairs``: which tests (see
    :func:`comparisons`).  What cannot be computed (too few seeds for a test, a report time
    past the budget) is one warning line each, and the rest is still written."""
    folder = Path(folder)
    loaded = _load(folder)
    trajectories, facts = loaded.trajectories, loaded.facts
    out = Path(out) if out else folder / "report"
    names = sorted({*trajectories["optimizer"].unique(), *loaded.failures}, key=lambda n: (
        figures.KNOWN_ORDER.index(n) if n in figures.KNOWN_ORDER else 99, n))
    present = [n for n in names if n in set(trajectories["optimizer"])]
    lost = baseline in loaded.failures and baseline not in present
    baseline = None if lost else baseline
    family, _, chosen = comparisons(present, baseline, all_pairs)
    top = comparisons(present, baseline)[2]   # the baseline, drawn on top in every figure
    out.mkdir(parents=True, exist_ok=True)
    grid = time_grid(trajectories)
    counts = _counts(loaded, names)
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
        figures.regret(data, names, counts, aggregate, label, _title(facts, label), out / metric,
                       top)
        atomic_write_text(out / f"{metric}_curves.csv", data.to_csv(index=False))
        figure(metric, f"{label} of the incumbent (chosen by validation error) over simulated "
                       f"wall-clock time: {figures.BAND[aggregate]} over runs. {CURVE_RULE}")
        if metric == "test_regret":
            final = _ordered(final_table(loaded, times), names)
            _table(out, "final_regret", final, _final_markdown(final, loaded), shown, show,
                   _title(facts, "Final test regret"))
            per_run = usage(loaded)
            per_optimizer = _ordered(_summarise(per_run, loaded), names)
            _table(out, "summary", per_optimizer, _summary_markdown(per_optimizer), shown, show,
                   "Per optimizer: anytime performance, distinct architectures, overhead")
            atomic_write_text(out / "runs.csv", per_run.to_csv(index=False))

    figures.aggregates(by_aggregate, names, counts, _title(facts, "Test regret by aggregate"),
                       out / "test_regret_aggregates", top)
    figure("test_regret_aggregates", "Test regret as mean, median and interquartile mean, each "
                                     f"with its 95 % bootstrap interval. {CURVE_RULE}")
    at_end = on_grid(trajectories, np.array([grid[-1]]), "test_regret")
    done = set(at_end.index.get_level_values("optimizer"))
    figures.ecdf({n: at_end.loc[n].to_numpy().ravel() if n in done else np.array([])
                  for n in names}, counts,
                 _title(facts, "Empirical CDF of final test regret"), out / "test_regret_ecdf",
                 top)
    figure("test_regret_ecdf", "Distribution of the final test regret over runs: the fraction "
                               "of runs with at most that regret (0 left of the best run).")
    ranks = average_rank(loaded, grid).reset_index().melt(
        id_vars="time", var_name="optimizer", value_name="center")
    figures.lines(ranks, names, "Average rank (test regret, 1 = best)",
                  _title(facts, "Average rank"), out / "average_rank", baseline=top)
    figure("average_rank", "Average rank over time, ranking the optimizers within each seed.")

    tests, test_notes = significance(loaded, times, baseline=baseline, all_pairs=all_pairs)
    notes += test_notes
    atomic_write_text(out / "significance.csv", tests.to_csv(index=False))
    markdown = (_baseline_markdown(tests, names, chosen, len(family)) if chosen else
                _significance_markdown(tests, names))
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
                  _title(facts, "Distinct architectures"), out / "distinct_cells",
                  band_label="mean, 95% bootstrap CI", baseline=top)
    figure("distinct_cells", "Distinct valid cells (by the official hash, so isomorphic cells "
                             "count once) evaluated so far.")
    if "overhead" in progress:
        figures.lines(progress["overhead"], names, "Optimizer wall time in ask/tell [s] (mean)",
                      _title(facts, "Optimizer overhead"), out / "optimizer_overhead", logy=True,
                      band_label="mean, 95% bootstrap CI", baseline=top)
        figure("optimizer_overhead", "The optimizer's own wall-clock seconds (ask and tell) "
                                     "so far, against simulated time.")
    else:
        notes.append("optimizer overhead was not recorded for some runs (made by a version "
                     "before it was): no overhead figure")
    split = wall_split(folder, per_run)
    if not split.empty:
        figures.time_split(split, names, _title(facts, "Where a run's time goes"),
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
    page.write(out / "index.html", folder, _title(facts, "Report"), shown, notes, facts)
    log.info("report written to %s", out)
    return out


def _counts(loaded: Loaded, names: list[str]) -> dict[str, str]:
    """Per optimizer, its runs for the legends: '5 runs', '3 runs; 2 of 5 failed', 'all 5
    runs failed'."""
    runs = loaded.trajectories.groupby("optimizer")["seed"].nunique().to_dict()
    out = {}
    for name in names:
        ok, failed = runs.get(name, 0), len(loaded.failures.get(name, {}))
        out[name] = (figures.runs_label(ok) if not failed else
                     f"all {figures.runs_label(failed)} failed" if not ok else
                     f"{figures.runs_label(ok)}; {failed} of {ok + failed} failed")
    return out


def failure_notes(loaded: Loaded) -> list[str]:
    """One line per optimizer with failed runs: how many, the first one's error."""
    out, traj = [], loaded.trajectories
    for label, failed in loaded.failures.items():
        ok = traj.loc[traj["optimizer"] == label, "seed"].nunique()
        seed, error = next(iter(failed.items()))
        rest = (f"its figures and tables use the {figures.runs_label(ok)} that finished"
                if ok else "it has no results")
        out.append(f"{label}: {len(failed)} of {ok + len(failed)} runs failed (first, seed "
                   f"{seed}: {error}; tracebacks in runs/{label}/seed-*.failed.txt): {rest}")
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


def _final_markdown(final: pd.DataFrame, loaded: Loaded) -> str:
    lines = ["| optimizer | time [s] | mean ± s.e. | mean 95% CI | median | IQM | runs | "
             "failed runs |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in final.itertuples():
        if not row.runs:
            lines.append(f"| {row.optimizer} | {row.time:.4g} | | | | | 0 | "
                         f"{_failed(row.optimizer, loaded)} |")
            continue
        se = "" if np.isnan(row.se) else f" ± {row.se:.5f}"
        lines.append(f"| {row.optimizer} | {row.time:.4g} | {row.mean:.5f}{se} | "
                     f"[{row.ci_low:.5f}, {row.ci_high:.5f}] | {row.median:.5f} | "
                     f"{row.iqm:.5f} | {row.runs} | {_failed(row.optimizer, loaded)} |")
    return "\n".join(lines) + "\n"


def _failed(name: str, loaded: Loaded) -> str:
    """'0', or 'k: ERROR LINE' (the first failed run's error) for the tables."""
    failed = loaded.failures.get(name, {})
    if not failed:
        return "0"
    error = next(iter(failed.values())).replace("|", "/")
    return f"{len(failed)}: {error[:80]}{'...' if len(error) > 80 else ''}"


def _summary_markdown(frame: pd.DataFrame) -> str:
    lines = ["| optimizer | runs | failed | anytime log10 regret [95% CI] | evaluations | valid "
             "| distinct cells | repeats | optimizer time [s] |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in frame.itertuples():
        if not r.runs:
            lines.append(f"| {r.optimizer} | 0 | {r.failed} |" + " |" * 6)
            continue
        overhead = "n/a" if np.isnan(r.optimizer_seconds) else f"{r.optimizer_seconds:.3g}"
        lines.append(f"| {r.optimizer} | {r.runs} | {r.failed} | {r.anytime_log_regret:.3f} "
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
             f"over all ordered pairs at each time; in brackets the probability that the row's "
             f"run has the lower regret. Bold: p < {stats.ALPHA}.", ""]
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


def _baseline_markdown(tests: pd.DataFrame, names: list[str], baseline: str, family: int
                       ) -> str:
    """Per time, one row per optimizer: its two-sided test against the baseline."""
    lines = [f"Each optimizer against {baseline}: two-sided Wilcoxon signed-rank test when "
             f"paired by seed (else Mann-Whitney U), Holm-adjusted over the {family} "
             f"comparisons at each time; P(lower): the probability that the optimizer's run has "
             f"the lower test regret (0.5: no difference). Bold: p < {stats.ALPHA}. Every "
             "ordered pair: `nasbench report --all-pairs` (or `report: {pairs: all}`).", ""]
    if tests.empty:
        return "\n".join(lines + ["No comparison could be tested (see the notes)."]) + "\n"
    for t, block in tests.groupby("time", sort=True):
        lines += [f"At {t:.4g} s:", "", f"| optimizer | test | runs | p (Holm) | P(lower) | "
                  f"verdict against {baseline} |", "|---|---|---:|---:|---:|---|"]
        row_of = {r.a: r for r in block.itertuples()}
        for name in (n for n in names if n in row_of):
            r = row_of[name]
            verdict = ("no significant difference" if not r.significant else
                       "lower regret" if r.p_a_lower > 0.5 else "higher regret")
            p = f"**{r.p_holm:.3g}**" if r.significant else f"{r.p_holm:.3g}"
            runs = f"{r.n_a}" if r.n_a == r.n_b else f"{r.n_a}/{r.n_b}"
            lines.append(f"| {name} | {r.test} | {runs} | {p} | {r.p_a_lower:.2f} | "
                         f"{verdict} |")
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


