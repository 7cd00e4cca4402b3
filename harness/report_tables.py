"""The report's numbers: curves, tables and tests computed from a results folder, as DataFrames.

Each run's incumbent (chosen by validation error) is carried forward onto a common log-spaced
time grid; a run contributes to a grid point only once it has an incumbent.  An aggregate
curve is ``complete`` from the time every run of its optimizer has one: from there it is an
aggregate of a fixed set of runs, so it moves only when an incumbent changes (a validation
regret curve never rises); before, it aggregates fewer runs, and the figures draw it dotted
with their count.  Bands are percentile-bootstrap 95 % intervals over runs, drawn from a
Generator seeded per optimizer and curve, so a report's bytes do not depend on which other
optimizers it shows.  Failed runs (``runs/LABEL/seed-S.failed.txt``) are counted in the
tables and notes; an optimizer all of whose runs failed is still listed.
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.errors import UserError

from . import stats
from .results import Loaded, failed_runs, load, planned_count, writer


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


def load_source(folder: Source) -> Loaded:
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
    trajectories = load_source(folder).trajectories
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
    loaded = load_source(folder)
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
    trajectories = load_source(folder).trajectories
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
    trajectories = load_source(folder).trajectories
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
    trajectories = load_source(folder).trajectories
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
    loaded = load_source(folder)
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
    """Per optimizer: runs, failed runs, the anytime log-regret's mean with its 95 % bootstrap
    interval, and the means over runs of :func:`usage`'s counts and overhead."""
    loaded = load_source(folder)
    return summarise(usage(loaded), loaded)


def summarise(per_run: pd.DataFrame, loaded: Loaded) -> pd.DataFrame:
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
    events = load_source(folder).events.rename(columns={"end": "time"})
    valid = ~events["invalid"].astype(bool)
    events["distinct"] = (valid & ~events.duplicated(["optimizer", "seed", "hash"])).groupby(
        [events["optimizer"], events["seed"]]).cumsum()
    out = {"distinct": _banded(on_grid(events, grid, "distinct"), grid, "mean", "distinct")}
    if events["overhead"].notna().all():
        out["overhead"] = _banded(on_grid(events, grid, "overhead"), grid, "mean", "overhead")
    return out


def report_times(times: list[float] | None, loaded: Loaded) -> tuple[list[float], list[str]]:
    """The report times that lie within the runs' time budget (default: the end), each once, in
    the order given; one line for each left out."""
    budget = max(float(f.get("time_budget", 0.0)) for f in loaded.facts)
    end = max(budget, float(loaded.trajectories["time"].max()))
    if not times:
        return [end], []
    times = list(dict.fromkeys(float(t) for t in times))   # a time given twice counts once
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


