"""The report's words: its tables as Markdown, the figures' titles and legend counts."""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import figures, stats
from .results import Loaded

CURVE_RULE = ("Each run's incumbent is carried forward; a line is solid from the time every "
              "run of its optimizer has an incumbent, so it aggregates a fixed set of runs and "
              "moves only when an incumbent changes (validation regret never rises; test "
              "regret rises only where a new incumbent, better on validation, is worse on "
              "test); before that it is dotted, over the runs that have one, their count in "
              "the legend. Failed runs are counted in the legend.")


def run_counts(loaded: Loaded, names: list[str]) -> dict[str, str]:
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


def final_markdown(final: pd.DataFrame, loaded: Loaded) -> str:
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


def summary_markdown(frame: pd.DataFrame) -> str:
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


def pairs_markdown(tests: pd.DataFrame, names: list[str]) -> str:
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


def baseline_markdown(tests: pd.DataFrame, names: list[str], baseline: str, family: int
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


def report_title(facts: list[dict], what: str) -> str:
    runs = pd.Series([f["label"] for f in facts]).value_counts()
    surrogate = next((f.get("table") for f in facts if f.get("surrogate")), None)
    bench = (surrogate if surrogate else
             "NAS-Bench-101 trained live (regret = error, wall-clock time)"
             if any(f.get("live") for f in facts) else "NAS-Bench-101")
    encodings = sorted({f.get("encoding", "?") for f in facts})
    counts = f"{runs.min()}" if runs.min() == runs.max() else f"{runs.min()}-{runs.max()}"
    plural = "" if runs.max() == 1 else "s"
    return f"{what}: {bench}, encoding {'/'.join(encodings)}, {counts} run{plural} per optimizer"
