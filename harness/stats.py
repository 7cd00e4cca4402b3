"""The statistics of a report, as pure functions of arrays: bootstrap bands, pairwise tests with
Holm's correction, Friedman's test with Nemenyi's critical difference, and the anytime area
under the log-regret curve.

Every test is one-sided at level :data:`ALPHA` and says when it cannot be run: a
:class:`Untestable` carries a one-line reason (which test needs how many seeds).  Random draws
(the bootstrap) come from the Generator the caller passes.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

ALPHA = 0.05
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
#: Regret below this counts as this on the log scale of the anytime measure (1e-5 is 0.001 % of
#: accuracy, below the spread of NAS-Bench-101's three training repeats).
REGRET_FLOOR = 1e-5
# A test is run only where p < ALPHA is possible at all (:func:`fewest_seeds`): the exact
# one-sided Wilcoxon p on n pairs is at least 2^-n (5 pairs), Mann-Whitney U's at least
# 1 / C(n_a + n_b, n_a) (4 runs each); two-sided, twice that (6 pairs, 4 runs each).
#: Friedman's chi-square approximation is poor on fewer blocks (seeds shared by all optimizers).
MIN_BLOCKS = 5


class Untestable(ValueError):
    """A test that the data cannot support; the message is one line saying why.  ``what``
    (the test and its minimum) and ``got`` let a caller say it once for many pairs."""

    def __init__(self, message: str, what: str = "", got: str = "") -> None:
        super().__init__(message)
        self.what, self.got = what, got


def iqm(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50 % (``trim_mean(0.25)``, as rliable)."""
    return stats.trim_mean(values, 0.25, axis=axis)


AGGREGATES: dict[str, Callable[..., Any]] = {"mean": np.mean, "median": np.median, "iqm": iqm}


def bootstrap_band(values: np.ndarray, how: str, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aggregate and percentile-bootstrap 95 % interval per column of ``values`` (runs x times),
    over the runs with a value (NaN: none yet).  One run: the band is the value itself."""
    statistic = AGGREGATES[how]
    values = np.asarray(values, float)
    n_times = values.shape[1]
    center, lower, upper = (np.full(n_times, np.nan) for _ in range(3))
    present = ~np.isnan(values)
    full = present.all(axis=0)
    if values.shape[0] >= 2 and full.any():
        block = values[:, full]
        center[full] = statistic(block, axis=0)
        lower[full], upper[full] = _interval(block, statistic, rng)
    for j in np.flatnonzero(~full | (values.shape[0] < 2)):
        column = values[present[:, j], j]
        if column.size == 0:
            continue
        center[j] = statistic(column, axis=0)
        if column.size == 1:
            lower[j] = upper[j] = center[j]
        else:
            lower[j], upper[j] = (b[0] for b in _interval(column[:, None], statistic, rng))
    return center, lower, upper


def _interval(block: np.ndarray, statistic, rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray]:
    res = stats.bootstrap((block,), statistic, n_resamples=BOOTSTRAP_RESAMPLES, axis=0,
                          vectorized=True, confidence_level=CONFIDENCE, method="percentile",
                          batch=200, rng=rng)
    return res.confidence_interval.low, res.confidence_interval.high


def mean_interval(values: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float]:
    """Mean of ``values`` (NaN dropped) with its percentile-bootstrap 95 % interval."""
    center, lower, upper = bootstrap_band(np.asarray(values, float)[:, None], "mean", rng)
    return float(center[0]), float(lower[0]), float(upper[0])


@dataclass(frozen=True)
class PairTest:
    """H1: ``a``'s regret is lower than ``b``'s.  ``p_lower``: the probability that a run of
    ``a`` has lower regret than one of ``b`` (paired: than ``b``'s run on the same seed), ties
    counted half; 0.5 means no difference."""

    a: str
    b: str
    test: str
    n_a: int
    n_b: int
    statistic: float
    p: float
    p_lower: float


def pair_test(a: str, b: str, values_a: dict[int, float], values_b: dict[int, float],
              alternative: str = "less") -> PairTest:
    """Wilcoxon signed-rank on the seeds' differences when both optimizers ran the same seeds,
    else Mann-Whitney U; one-sided (``less``: a's regret is lower) or ``two-sided``; raises
    :class:`Untestable` with too few runs for p < ALPHA."""
    sided = "" if alternative == "less" else f", {alternative}"
    if values_a.keys() == values_b.keys():
        seeds = sorted(values_a)
        least = fewest_seeds(1, alternative, paired=True)
        if len(seeds) < least:
            what = (f"the Wilcoxon signed-rank test (paired by seed{sided}) needs at least "
                    f"{least} seeds")
            raise Untestable(f"{what}, got {len(seeds)} for {a}/{b}", what, str(len(seeds)))
        diff = np.array([values_a[s] - values_b[s] for s in seeds])
        p_lower = float(np.mean((diff < 0) + 0.5 * (diff == 0)))
        if not diff.any():  # identical on every seed: no evidence either way
            return PairTest(a, b, "wilcoxon", len(seeds), len(seeds), 0.0, 1.0, p_lower)
        res = stats.wilcoxon(diff, alternative=alternative)
        return PairTest(a, b, "wilcoxon", len(seeds), len(seeds), float(res.statistic),
                        float(res.pvalue), p_lower)
    x, y = np.array(list(values_a.values())), np.array(list(values_b.values()))
    least = fewest_seeds(1, alternative, paired=False)
    if min(x.size, y.size) < least:
        what = (f"the Mann-Whitney U test (unpaired: the seeds differ{sided}) needs at least "
                f"{least} runs of each optimizer")
        got = f"{x.size} and {y.size}"
        raise Untestable(f"{what}, got {got} for {a}/{b}", what, got)
    res = stats.mannwhitneyu(x, y, alternative=alternative)
    p_lower = float(np.mean((x[:, None] < y) + 0.5 * (x[:, None] == y)))
    return PairTest(a, b, "mann-whitney", x.size, y.size, float(res.statistic),
                    float(res.pvalue), p_lower)


def smallest_p(paired: bool, n_a: int, n_b: int, alternative: str = "less") -> float:
    """The smallest p-value the exact test can give at all on these sample sizes: 2^-n for
    Wilcoxon on n pairs, 1 / C(n_a + n_b, n_a) for Mann-Whitney U; twice that two-sided."""
    p = 0.5 ** n_a if paired else 1 / math.comb(n_a + n_b, n_a)
    return min(1.0, p * (1 if alternative == "less" else 2))


def fewest_seeds(tests: int, alternative: str = "less", paired: bool = True,
                 alpha: float = ALPHA) -> int:
    """The fewest seeds (runs of each optimizer) for which a family of ``tests`` tests,
    Holm-adjusted, can have any p below ``alpha``: Holm multiplies the smallest p by the
    number of tests, so the exact test's smallest p must lie below ``alpha / tests``."""
    n = 1
    while smallest_p(paired, n, n, alternative) * tests >= alpha:
        n += 1
    return n


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control, any dependence)."""
    order = np.argsort(pvalues, kind="stable")
    m = len(pvalues)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted.tolist()


@dataclass(frozen=True)
class Friedman:
    """Average ranks (1 = lowest regret) over ``blocks`` seeds, Friedman's p-value, Nemenyi's
    critical difference, and the groups of optimizers whose ranks differ by less than it."""

    names: list[str]
    ranks: np.ndarray
    blocks: int
    statistic: float
    p: float
    cd: float
    groups: list[tuple[int, int]]   # (first, last) index into rank order, maximal cliques


def friedman(names: list[str], matrix: np.ndarray) -> Friedman:
    """``matrix``: seeds x optimizers (every optimizer on every seed).  Raises Untestable."""
    n, k = matrix.shape
    if k < 3:
        raise Untestable(f"the Friedman test (critical-difference diagram) needs at least 3 "
                         f"optimizers, got {k}")
    if n < MIN_BLOCKS:
        raise Untestable(f"the Friedman test (critical-difference diagram) needs at least "
                         f"{MIN_BLOCKS} seeds run by every optimizer, got {n}")
    ranks = stats.rankdata(matrix, axis=1).mean(axis=0)
    with warnings.catch_warnings():  # all-tied blocks: scipy warns, the statistic is 0 or NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.friedmanchisquare(*matrix.T)
    statistic = float(res.statistic) if np.isfinite(res.statistic) else 0.0
    p = float(res.pvalue) if np.isfinite(res.pvalue) else 1.0
    q = stats.studentized_range.ppf(1 - ALPHA, k, np.inf) / math.sqrt(2)
    cd = float(q * math.sqrt(k * (k + 1) / (6 * n)))
    order = np.argsort(ranks, kind="stable")
    sorted_ranks = ranks[order]
    if p >= ALPHA:  # no difference at all: one group (no post-hoc test after a failed omnibus)
        groups = [(0, k - 1)]
    else:
        groups, last = [], -1
        for i in range(k):
            j = int(np.searchsorted(sorted_ranks, sorted_ranks[i] + cd, side="left")) - 1
            if j > i and j > last:
                groups.append((i, j))
                last = j
    return Friedman([names[i] for i in order], sorted_ranks, n, statistic, p, cd, groups)


def anytime_log_regret(times: np.ndarray, regret: np.ndarray, start: float, end: float
                       ) -> float:
    """Area under log10(regret) over log10(time) from ``start`` to ``end``, divided by the
    width: the mean log10 regret over log time (lower is better; -2 is 1 % regret throughout).
    ``times``/``regret``: a run's incumbent (a step function), valid from ``start`` on."""
    logs = np.log10(np.maximum(regret, REGRET_FLOOR))
    inside = times[(times > start) & (times < end)]
    knots = np.concatenate([[start], inside, [end]])
    at = np.searchsorted(times, knots[:-1], side="right") - 1
    widths = np.diff(np.log10(knots))
    return float(np.sum(logs[at] * widths) / (math.log10(end) - math.log10(start)))
