"""hyperopt's ``tpe.suggest`` for flat spaces, re-derived from running state: the same proposals.

``tpe.suggest`` rebuilds its whole inference graph at every call and walks the trial history in
Python (the documents, the split into good and bad trials, one hyperparameter at a time), so a
call's cost grows with the history and a run's with the square of its length.
:class:`RunningTPE` keeps the history as numpy columns (one per hyperparameter, one of losses)
and does per call exactly the numerical work of hyperopt 0.3's ``tpe.suggest``, in the same
order, on arrays of the same values, shapes and dtypes, so every float and every draw from the
call's Generator is the same:

* fewer than ``n_startup_jobs`` trials: ``rand.suggest``, one draw per hyperparameter;
* the split: the best ``min(ceil(gamma * sqrt(n)), 25)`` trials are "below" (a tie across that
  boundary is broken by ``np.argsort`` of the losses, as hyperopt's ``ap_split_trials``), pending
  trials count with an infinite loss;
* per hyperparameter, in hyperopt's evaluation order (labels in descending string order):
  ``hp.choice`` -> ``ap_randint_sampler`` (linear-forgetting counts plus the prior weight,
  ``n_EI_candidates`` multinomial draws), ``hp.uniform``/``hp.quniform`` ->
  ``adaptive_parzen_normal`` and the truncated ``GMM1`` sampler; each candidate is scored by
  its log-likelihood under the good minus the bad model and the first best is proposed.

The Parzen estimators follow hyperopt's ``adaptive_parzen_normal`` operation for operation
(:func:`adaptive_parzen_normal`, tested against it); the sampler and the log-densities
(:func:`gmm1_sample`, :func:`gmm1_lpdf`, :func:`gmm1_lpdf_quantized`) do hyperopt's arithmetic
and draws with fewer temporaries and Python calls (hyperopt's quantized density loops over the
mixture's components in Python; here they are all computed at once and summed in its order).
Only ``hp.choice``, ``hp.uniform`` and ``hp.quniform`` with a finite range are supported: what
:func:`optimizers.tpe.hyperopt_spec` makes of a flat ConfigSpace.

Per call, a float's work grows with the history (its "above" model has a component per trial):
the above trials' sort order is kept by insertion (:class:`_SortedValues`; argsort decides
wherever values tie), a quantized parameter's normal CDFs are evaluated once per distinct
component, and the above model's log-density is first computed without its negligible terms
(:func:`gmm1_lpdf_bounded`, with a proven bound on the difference): the candidate it picks is
proposed only where it leads every other value by more than twice that bound
(:func:`certain_best`), else hyperopt's exact scores decide: the proposal is hyperopt's.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

#: hyperopt's cap on the number of "below" trials (``ap_split_trials``' gamma_cap, DEFAULT_LF)
GAMMA_CAP = 25
#: hyperopt's linear-forgetting horizon (``DEFAULT_LF``)
LINEAR_FORGETTING = 25
EPS = 1e-12   # hyperopt.tpe.EPS
#: terms of a log-sum-exp this far below their row's largest are left out of the bounded sum
NEGLIGIBLE = 40.0
#: from this many components on, the bad trials' model is scored to a bound first
BOUNDED_FROM = 200


class HyperoptParam(NamedTuple):
    """One hyperparameter as hyperopt sees it: ``kind`` is ``choice`` (``args`` = the
    options), ``uniform`` (low, high) or ``quniform`` (low, high, q)."""

    label: str
    kind: str
    args: tuple


class RunningTPE:
    """``tpe.suggest`` with its defaults' knobs, over a history kept as columns.

    Args:
        params: the space, one :class:`HyperoptParam` per hyperparameter.
        prior_weight, n_startup_jobs, n_EI_candidates, gamma: ``tpe.suggest``'s arguments.
    """

    def __init__(self, params: list[HyperoptParam], *, prior_weight: float = 1.0,
                 n_startup_jobs: int = 20, n_EI_candidates: int = 24, gamma: float = 0.25):
        for p in params:
            if p.kind not in ("choice", "uniform", "quniform"):
                raise ValueError(f"tpe: hyperparameter {p.label}: {p.kind} is not supported")
        # rec_eval pops hyperopt's label-sorted dict last first: draws in descending label order
        self.params = sorted(params, key=lambda p: p.label, reverse=True)
        self.prior_weight = float(prior_weight)   # build_posterior_wrapper's float(...)
        self.n_startup_jobs = n_startup_jobs
        self.n_EI_candidates = n_EI_candidates
        self.gamma = gamma
        self.n = 0
        self._losses = np.empty(64)
        # the choices' values, one row per choice: each counted by one bincount over the
        # whole history, the trials outside the counted set weighing 0 (adding 0.0 changes no
        # sum, so every count is hyperopt's, summed in the same trial order)
        self._choices = [p for p in self.params if p.kind == "choice"]
        self._codes = np.empty((len(self._choices), 64), np.int64)
        self._columns = {p.label: np.empty(64) for p in self.params if p.kind != "choice"}
        # the uniform floats' trials in value order, kept as they come: the above set's sort
        # order without an argsort per call (quniform values tie, so those are argsorted)
        self._sorted = {p.label: _SortedValues() for p in self.params if p.kind == "uniform"}

    # -- the history ---------------------------------------------------------------------

    def add(self, values: dict[str, Any]) -> int:
        """Record a proposed trial (pending: infinite loss); returns its index (hyperopt's tid)."""
        if self.n == len(self._losses):
            self._losses = np.resize(self._losses, 2 * self.n)
            codes = np.empty((len(self._choices), 2 * self.n), np.int64)
            codes[:, :self.n] = self._codes
            self._codes = codes
            for label, column in self._columns.items():
                self._columns[label] = np.resize(column, 2 * self.n)
        tid = self.n
        self._losses[tid] = math.inf
        self._codes[:, tid] = [values[p.label] for p in self._choices]
        for label, column in self._columns.items():
            column[tid] = values[label]
        for label, index in self._sorted.items():
            index.add(tid, values[label])
        self.n += 1
        return tid

    def set_loss(self, tid: int, loss: float) -> None:
        self._losses[tid] = float(loss)

    # -- suggest -------------------------------------------------------------------------

    def suggest(self, seed: int) -> dict[str, Any]:
        """The next proposal, ``{label: value}`` (a choice's index, else the float), for
        ``tpe.suggest(..., seed)`` over the trials recorded so far."""
        rng = np.random.default_rng(seed)
        if self.n < self.n_startup_jobs:
            return {p.label: _prior_draw(p, rng) for p in self.params}
        below = self._below()
        above = ~below
        size = self.n_EI_candidates
        p_below, p_above = self._categorical_ps(below), self._categorical_ps(above)
        out = {}
        for p in self.params:
            if p.kind == "choice":
                pb, pa = p_below.pop(), p_above.pop()
                samples = np.dot(rng.multinomial(n=1, pvals=pb, size=size), np.arange(len(pb)))
                score = np.log(pb[samples]) - np.log(pa[samples])   # randint_via_categorical_lpdf
            else:
                samples, score = self._gmm(p, below, above, rng, size)
            out[p.label] = samples[np.argmax(score)]   # broadcast_best
        return out

    def _below(self) -> np.ndarray:
        """ap_split_trials: the mask of the best ``min(ceil(gamma sqrt(n)), 25)`` trials."""
        losses = self._losses[:self.n]
        k = min(int(np.ceil(self.gamma * np.sqrt(self.n))), GAMMA_CAP)
        if k <= 0:
            return np.zeros(self.n, bool)
        if k >= self.n:
            return np.ones(self.n, bool)
        part = np.partition(losses, (k - 1, k))
        if part[k - 1] < part[k]:   # no tie across the boundary: the set is unique
            return losses <= part[k - 1]
        below = np.zeros(self.n, bool)   # a tie (or NaN): argsort's choice, as hyperopt
        below[np.argsort(losses)[:k]] = True
        return below

    def _categorical_ps(self, rows: np.ndarray) -> list[np.ndarray]:
        """ap_randint_sampler's probabilities of every choice over the trials ``rows``
        (linear-forgetting counts plus the prior weight, normalized), last choice first."""
        weights = np.zeros(self.n)
        weights[rows] = linear_forgetting_weights(int(np.count_nonzero(rows)))
        out = []
        for i in range(len(self._choices) - 1, -1, -1):
            pseudocounts = np.bincount(self._codes[i, :self.n], weights,
                                       len(self._choices[i].args)) + self.prior_weight
            out.append(pseudocounts / pseudocounts.sum())
        return out

    def _gmm(self, p: HyperoptParam, below: np.ndarray, above: np.ndarray,
             rng: np.random.Generator, size: int):
        """ap_uniform_sampler / ap_quniform_sampler: GMM1's candidates, GMM1_lpdf's scores."""
        column = self._columns[p.label][:self.n]
        b, a = column[below], column[above]
        low, high = p.args[0], p.args[1]
        q = p.args[2] if p.kind == "quniform" else None
        prior_mu = 0.5 * (high + low)
        prior_sigma = 1.0 * (high - low)
        index = self._sorted.get(p.label)
        a_order = None if index is None else index.order(above)
        wb, mb, sb = adaptive_parzen_normal(b, self.prior_weight, prior_mu, prior_sigma)
        wa, ma, sa = adaptive_parzen_normal(a, self.prior_weight, prior_mu, prior_sigma, a_order)
        samples = gmm1_sample(wb, mb, sb, low, high, q, rng, size)
        if q is not None:
            return samples, (gmm1_lpdf_quantized(samples, wb, mb, sb, low, high, q)
                             - gmm1_lpdf_quantized(samples, wa, ma, sa, low, high, q))
        lb = gmm1_lpdf(samples, wb, mb, sb, low, high)
        if len(wa) > BOUNDED_FROM:   # the scores to a bound, exact where it cannot decide
            la, bound = gmm1_lpdf_bounded(samples, wa, ma, sa, low, high)
            score = lb - la
            if certain_best(samples, score, bound + 1e-12 * (1.0 + float(np.max(np.abs(lb))))):
                return samples, score
        return samples, lb - gmm1_lpdf(samples, wa, ma, sa, low, high)


class _SortedValues:
    """One float hyperparameter's trials sorted by value, kept by insertion as trials come."""

    def __init__(self) -> None:
        self.values = np.empty(0)
        self.tids = np.empty(0, np.int64)
        self.unordered = False   # a NaN seen: no total order, argsort decides

    def add(self, tid: int, value: float) -> None:
        self.unordered |= bool(np.isnan(value))
        pos = np.searchsorted(self.values, value, side="right")
        self.values = np.insert(self.values, pos, value)
        self.tids = np.insert(self.tids, pos, tid)

    def order(self, rows: np.ndarray) -> np.ndarray | None:
        """``np.argsort(values[rows])`` (positions among the selected trials) where the
        selected values are all distinct, so that any sort gives that order; None (argsort
        it) where two tie, as argsort's order among equals is its own."""
        keep = rows[self.tids]
        values = self.values[keep]
        if self.unordered or np.any(values[1:] == values[:-1]):
            return None
        rank = np.cumsum(rows) - 1   # a trial's position among the selected ones
        return rank[self.tids[keep]]


def adaptive_parzen_normal(mus: np.ndarray, prior_weight: float, prior_mu: float,
                           prior_sigma: float, order: np.ndarray | None = None):
    """hyperopt.tpe.adaptive_parzen_normal (linear forgetting 25): the same arrays, built with
    the same operations; ``order``, when given, is ``np.argsort(mus)`` known already.

    Returns:
        the mixture's weights, means and standard deviations, the prior inserted in order."""
    n = len(mus)
    if n == 0:
        srtd_mus = np.asarray([prior_mu])
        sigma = np.asarray([prior_sigma])
        prior_pos = 0
    elif n == 1:
        if prior_mu < mus[0]:
            prior_pos = 0
            srtd_mus = np.asarray([prior_mu, mus[0]])
            sigma = np.asarray([prior_sigma, prior_sigma * 0.5])
        else:
            prior_pos = 1
            srtd_mus = np.asarray([mus[0], prior_mu])
            sigma = np.asarray([prior_sigma * 0.5, prior_sigma])
    else:
        if order is None:
            order = np.argsort(mus)
        sorted_obs = mus[order]
        prior_pos = int(np.searchsorted(sorted_obs, prior_mu))
        srtd_mus = np.empty(n + 1)
        srtd_mus[:prior_pos] = sorted_obs[:prior_pos]
        srtd_mus[prior_pos] = prior_mu
        srtd_mus[prior_pos + 1:] = sorted_obs[prior_pos:]
        sigma = np.empty(n + 1)
        np.maximum(srtd_mus[1:-1] - srtd_mus[0:-2], srtd_mus[2:] - srtd_mus[1:-1],
                   out=sigma[1:-1])
        sigma[0] = srtd_mus[1] - srtd_mus[0]
        sigma[-1] = srtd_mus[-1] - srtd_mus[-2]
    if LINEAR_FORGETTING < n:
        assert order is not None   # set above for n > 1
        unsrtd_weights = linear_forgetting_weights(n)
        srtd_weights = np.empty(n + 1)
        srtd_weights[:prior_pos] = unsrtd_weights[order[:prior_pos]]
        srtd_weights[prior_pos] = prior_weight
        srtd_weights[prior_pos + 1:] = unsrtd_weights[order[prior_pos:]]
    else:
        srtd_weights = np.ones(len(srtd_mus))
        srtd_weights[prior_pos] = prior_weight
    minsigma = prior_sigma / min(100.0, (1.0 + len(srtd_mus)))   # hyperopt's magic formula
    sigma = np.clip(sigma, minsigma, prior_sigma)
    sigma[prior_pos] = prior_sigma
    srtd_weights /= srtd_weights.sum()
    return srtd_weights, srtd_mus, sigma


def gmm1_sample(weights: np.ndarray, mus: np.ndarray, sigmas: np.ndarray, low, high, q,
                rng: np.random.Generator, size: int) -> np.ndarray:
    """hyperopt.tpe.GMM1 with both bounds: the same draws (a component by a one-trial
    multinomial, then a normal draw, kept if in [low, high)), fewer Python calls around them."""
    low, high = float(low), float(high)
    if low >= high:
        raise ValueError("low >= high", (low, high))
    multinomial, normal = rng.multinomial, rng.normal
    samples: list[float] = []
    while len(samples) < size:
        active = multinomial(1, weights).argmax()
        draw = normal(loc=mus[active], scale=sigmas[active])
        if low <= draw < high:
            samples.append(draw)
    out = np.reshape(np.asarray(samples), size)
    return out if q is None else np.round(out / q) * q


def gmm1_lpdf(samples: np.ndarray, weights: np.ndarray, mus: np.ndarray, sigmas: np.ndarray,
              low, high, q=None) -> np.ndarray:
    """hyperopt.tpe.GMM1_lpdf without ``q``, both bounds given: the same operations on the
    same (candidates x components) arrays, in place where hyperopt allocates a new array (the
    exponentials go to a fresh array, as hyperopt's, and are summed along the same rows)."""
    if samples.size == 0:
        return np.asarray([])
    x = _log_terms(samples, weights, mus, sigmas, low, high)
    m = x.max(axis=1)                                    # logsum_rows
    np.subtract(x, m[:, None], out=x)
    rval = np.log(np.exp(x).sum(axis=1)) + m
    rval.shape = samples.shape
    return rval


def gmm1_lpdf_bounded(samples: np.ndarray, weights: np.ndarray, mus: np.ndarray,
                      sigmas: np.ndarray, low, high) -> tuple[np.ndarray, float]:
    """:func:`gmm1_lpdf` to within a proven bound, skipping the exponentials that cannot
    matter: the terms more than :data:`NEGLIGIBLE` below their row's largest (which is
    exp(0) = 1, so a row's sum is at least 1) add less than ``n e^-NEGLIGIBLE`` to it.

    Returns:
        the log-densities and a bound on their distance from :func:`gmm1_lpdf`'s: the
        skipped terms plus any order of summing ``n`` positive terms (relative error
        below ``n`` units in the last place) on either side, with a wide margin."""
    x = _log_terms(samples, weights, mus, sigmas, low, high)
    m = x.max(axis=1)
    np.subtract(x, m[:, None], out=x)
    e = np.exp(x, out=np.zeros_like(x), where=x > -NEGLIGIBLE)
    rval = np.log(e.sum(axis=1)) + m
    n = x.shape[1]
    bound = 4.0 * n * (math.exp(-NEGLIGIBLE) + np.finfo(float).eps) \
        + 1e-12 * (1.0 + float(np.max(np.abs(rval))))
    return rval, bound


def _log_terms(samples, weights, mus, sigmas, low, high) -> np.ndarray:
    """GMM1_lpdf's ``-0.5 * mahal + log(coef)``: one row per candidate, one column per
    component, hyperopt's operations in its order (in place where it allocates)."""
    flat = samples.flatten()
    p_accept = np.sum(weights * (_normal_cdf(high, mus, sigmas) - _normal_cdf(low, mus, sigmas)))
    x = np.subtract(flat[:, None], mus)
    np.divide(x, np.maximum(sigmas, EPS), out=x)
    np.square(x, out=x)                                  # mahal
    np.multiply(x, -0.5, out=x)
    Z = np.sqrt(2 * np.pi * sigmas**2)
    coef = weights / Z / p_accept
    np.add(x, np.log(coef), out=x)
    return x


def certain_best(samples: np.ndarray, score: np.ndarray, bound: float) -> bool:
    """Whether ``samples[np.argmax(score)]`` is the sample hyperopt's exact scores pick,
    each score being within ``bound`` of hyperopt's: the best leads every candidate with a
    different value by more than twice the bound (candidates with equal values have equal
    scores in both, and argmax takes the first of them)."""
    if not np.all(np.isfinite(score)):
        return False
    best = int(np.argmax(score))
    rivals = score[samples != samples[best]]
    return rivals.size == 0 or score[best] - rivals.max() > 2.0 * bound


def _prior_draw(p: HyperoptParam, rng: np.random.Generator):
    """rand.suggest's draw of one hyperparameter (pyll's randint / uniform / quniform)."""
    if p.kind == "choice":
        return rng.integers(len(p.args), None, 1)[0]
    draw = rng.uniform(p.args[0], p.args[1], size=1)
    if p.kind == "uniform":
        return draw[0]
    q = p.args[2]
    return (np.round(draw / q) * q)[0]


def linear_forgetting_weights(n: int, lf: int = LINEAR_FORGETTING) -> np.ndarray:
    """hyperopt.tpe.linear_forgetting_weights (the oldest of more than ``lf`` weigh less)."""
    if n == 0:
        return np.asarray([])
    if n < lf:
        return np.ones(n)
    return np.concatenate([np.linspace(1 / n, 1.0, num=n - lf), np.ones(lf)], axis=0)


def _normal_cdf(x, mu, sigma):
    """hyperopt.tpe.normal_cdf."""
    from scipy.special import erf

    top = x - mu
    bottom = np.maximum(np.sqrt(2) * sigma, EPS)
    z = top / bottom
    return 0.5 * (1 + erf(z))


def gmm1_lpdf_quantized(samples: np.ndarray, weights: np.ndarray, mus: np.ndarray,
                        sigmas: np.ndarray, low, high, q) -> np.ndarray:
    """hyperopt.tpe.GMM1_lpdf with ``q`` and both bounds, all components at once.

    hyperopt adds the components' probability masses one by one into a zero vector; here
    each mass is computed with the same operations (elementwise, so the same floats) and
    ``np.add.accumulate`` down the component axis adds them in the same order.  A quantized
    hyperparameter's components repeat (its observations take few values), so each normal
    CDF is evaluated once per distinct (mean, deviation) and gathered: the same floats."""
    samples = np.asarray(samples)
    if samples.size == 0:
        return np.asarray([])
    flat = samples.flatten()
    distinct, inverse = _runs(mus, sigmas)
    mu, sigma = mus[distinct][:, None], sigmas[distinct][:, None]
    p_accept = np.sum(weights * (_normal_cdf(high, mu[:, 0], sigma[:, 0])[inverse]
                                 - _normal_cdf(low, mu[:, 0], sigma[:, 0])[inverse]))
    ubound = np.minimum(flat + q / 2, high)
    lbound = np.maximum(flat - q / 2, low)
    w = weights[:, None]
    masses = np.empty((len(weights) + 1, len(flat)))
    masses[0] = 0.0
    inc = masses[1:]
    np.multiply(w, _normal_cdf(ubound, mu, sigma)[inverse], out=inc)
    inc -= w * _normal_cdf(lbound, mu, sigma)[inverse]
    prob = np.add.accumulate(masses, axis=0)[-1]
    rval = np.log(prob) - np.log(p_accept)
    rval.shape = samples.shape
    return rval


def _runs(mus: np.ndarray, sigmas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first component of each run of equal (mean, deviation) pairs, and each
    component's run: ``mus[first][run] == mus`` and likewise for ``sigmas``."""
    change = np.empty(len(mus), bool)
    change[:1] = True
    np.not_equal(mus[1:], mus[:-1], out=change[1:])
    change[1:] |= sigmas[1:] != sigmas[:-1]
    return np.flatnonzero(change), np.cumsum(change) - 1
