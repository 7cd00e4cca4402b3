"""Exact replacements for SMAC3 2.x's hot paths: the same numbers from the same random draws.

Profiled with the paper's settings (5 trees, random fraction 0.33, one evaluation per
configuration, 10,000 challengers, 10 local searches) on encoding A, an ask of SMAC3 2.4 spends
its time in these places, none of them SMAC's decisions (the local search's neighbours are
:class:`FastLocalSearch`; the incumbent's prediction is :mod:`optimizers.smac_selector`'s;
membership in the processed and rejected configurations is :mod:`optimizers.smac_membership`'s;
configuration equality and text are ``optimizers.smac._fast_configuration_equality``):

* **Growing a tree** (``sklearn``'s best-first builder, chosen by SMAC's ``max_leaf_nodes=2**20``)
  starts by allocating room for 2**21 nodes: ~0.2 s per tree whatever the data, 1 s per
  retraining.  A tree of ``n`` training rows has at most ``n`` leaves (every leaf holds at least
  ``min_samples_leaf`` >= 1 of them), so the builder's leaf budget never binds and
  ``max_leaf_nodes = min(2**20, max(2, n))`` grows the same nodes in the same order from the same
  random splits (the budget is only counted down, checked against zero, and sizes the first
  allocation).  :class:`FastRandomForest` trains with that cap.
* **The leaves' log-mean values** (``EPMRandomForest.fit`` with ``log_y``): a Python loop over the
  leaves, each masking all ``n`` rows: quadratic in the history.  :func:`_leaf_log_means` visits
  each leaf's rows once (a stable sort by leaf keeps them in SMAC's order) and takes
  ``np.log(np.exp(rows).mean())`` of the same values in the same order: the same floats.
* **Forest predictions**: each call goes through joblib's ``Parallel`` and sklearn's input
  validation (about a millisecond per call, thousands of calls per acquisition maximization).
  :meth:`_FastForest.all_trees_pred` takes each tree's prediction as its ``predict`` does
  (``tree_.predict(X)[:, 0]``, the validation done once for the forest) on the same float32
  rows into the same (rows x trees) array; the mean and variance are SMAC's own reductions.
* **Run-history bookkeeping**: the objective bounds, recomputed over the whole history at every
  trial added, kept up to date instead (:class:`FastRunHistory`); the model's training data,
  selected and stacked in one pass each (:class:`FastRunHistoryEncoder`).
* **Expected improvement**: ``scipy.stats.norm.cdf``'s argument handling, where ``ndtr`` gives
  the same values (:class:`FastEI`).
* **Random challengers**: ``ConfigurationSpace.sample_configuration(10_000)`` draws in chunks of
  5 rows when a space has neither conditions nor forbidden clauses (its over-sampling factor is
  then 0), with ~10 Python calls per hyperparameter and chunk.  :func:`sample_configurations`
  makes the same ``RandomState`` calls in the same order (per chunk, per hyperparameter, the
  distribution's own ``randint``/``uniform`` of 5), so it leaves the generator in the same state
  and returns the same vectors; any other space goes to ConfigSpace's own method.  Of the
  10,000, SMAC3 2.4 keeps only the 10 best as the local search's start points:
  :class:`FastLocalAndSortedRandomSearch` sorts their vectors and makes those 10 configurations.

Every replacement is a subclass wired in by :func:`install`, scoped to one SMAC facade (nothing
process-wide); ``tests/test_smac_fast.py`` checks run files byte for byte against SMAC3's own path.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
from ConfigSpace import Configuration, ConfigurationSpace
from ConfigSpace.exceptions import ForbiddenValueError
from ConfigSpace.hyperparameters import (
    CategoricalHyperparameter,
)
from ConfigSpace.hyperparameters import distributions as dists
from scipy.special import ndtr
from sklearn.ensemble._forest import ForestRegressor
from smac.acquisition.function import EI
from smac.acquisition.function.abstract_acquisition_function import (
    AbstractAcquisitionFunction,
)
from smac.acquisition.maximizer.local_and_random_search import LocalAndSortedRandomSearch
from smac.acquisition.maximizer.local_search import LocalSearch
from smac.acquisition.maximizer.random_search import RandomSearch
from smac.intensifier.intensifier import Intensifier
from smac.model.random_forest import RandomForest
from smac.model.random_forest.random_forest import EPMRandomForest
from smac.runhistory import RunHistory, TrialKey, TrialValue
from smac.runhistory.encoder import RunHistoryLogScaledEncoder
from smac.runhistory.enumerations import StatusType

from .smac_membership import FastIntensifier

logger = logging.getLogger(__name__)
#: the logger of SMAC's module whose ``_maximize`` :class:`FastLocalAndSortedRandomSearch` keeps
_smac_maximizer_logger = logging.getLogger(LocalAndSortedRandomSearch.__module__)
_smac_ei_logger = logging.getLogger(EI.__module__)

#: ConfigSpace's sampling chunk when a space has no conditions and no forbidden clauses.
_CHUNK = 5


class _FastForest(EPMRandomForest):
    """SMAC's ``EPMRandomForest``: the same trees, leaf values and predictions, less overhead."""

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight=None) -> None:  # type: ignore[override]  # sklearn's fit returns self; SMAC's None
        assert sample_weight is None, "Sample weights are not supported"
        ForestRegressor.fit(self, X=X, y=y)
        self.trainX, self.trainY = X, y
        if self.log_y:
            for tree, samples_idx in zip(self.estimators_, self.estimators_samples_):
                _leaf_log_means(tree, X[samples_idx], y[samples_idx])

    def all_trees_pred(self, X: np.ndarray) -> np.ndarray:
        if (self.n_outputs_ != 1 or not isinstance(X, np.ndarray) or X.ndim != 2
                or X.shape[1] != self.n_features_in_ or not np.isfinite(X).all()):
            return super().all_trees_pred(X)   # whatever sklearn's validation would do
        X = np.asarray(X, dtype=np.float32)    # sklearn's conversion (validate_data, float32)
        preds = np.zeros((X.shape[0], self.n_estimators), dtype=np.float64)
        for tree_idx, e in enumerate(self.estimators_):   # predict's own arithmetic, unchecked
            preds[:, tree_idx] = e.tree_.predict(X)[:, 0]
        return preds


def _leaf_log_means(tree, X: np.ndarray, y: np.ndarray) -> None:
    """Set each leaf's value to ``log(mean(exp(y)))`` of its training rows, as SMAC's loop
    ``for k in np.unique(leaves): value[k] = np.log(np.exp(y[leaves == k]).mean())`` does.

    Most leaves hold one or two rows; their means are numpy's own arithmetic (``mean`` of one
    value: the value divided by 1; of two: their sum divided by 2), taken for all of them at
    once (``exp`` and ``log`` are elementwise: the same value whatever the array around it)."""
    leaves = tree.apply(X)
    order = np.argsort(leaves, kind="stable")   # each leaf's rows in SMAC's (mask) order
    sorted_leaves, sorted_y = leaves[order], y[order]
    starts = np.flatnonzero(np.r_[True, sorted_leaves[1:] != sorted_leaves[:-1]])
    sizes = np.diff(np.r_[starts, len(sorted_leaves)])
    keys = sorted_leaves[starts]
    exp_y = np.exp(sorted_y)
    values = tree.tree_.value
    one, two = sizes == 1, sizes == 2
    values[keys[one], 0, 0] = np.log(exp_y[starts[one]] / 1)
    pairs = starts[two]
    values[keys[two], 0, 0] = np.log((exp_y[pairs] + exp_y[pairs + 1]) / 2)
    for k, a, n in zip(keys[sizes > 2].tolist(), starts[sizes > 2].tolist(),
                       sizes[sizes > 2].tolist()):
        values[k, 0, 0] = np.log(np.exp(sorted_y[a:a + n].copy()).mean())


class FastRandomForest(RandomForest):
    """SMAC's ``RandomForest`` training :class:`_FastForest` with the leaf budget capped at the
    number of training rows (see the module docstring: the same trees)."""

    def _train(self, X: np.ndarray, y: np.ndarray) -> RandomForest:
        X = self._impute_inactive(X)
        y = y.flatten()
        opts = dict(self._rf_opts)
        if opts["max_leaf_nodes"] is not None:
            opts["max_leaf_nodes"] = min(opts["max_leaf_nodes"], max(2, len(X)))
        self._rf = _FastForest(**opts)
        self._rf.fit(X, y)
        return self


def _sampler(space: ConfigurationSpace):
    """The per-hyperparameter draw ``f(random_state, n)`` ConfigSpace makes, or None where
    :func:`sample_configurations` does not apply (conditions, forbidden clauses, other
    distributions)."""
    if len(space) == 0 or space.forbidden_clauses or space.conditional_hyperparameters:
        return None
    draws = []
    for hp in space.values():
        dist = hp._vector_dist
        if type(dist) is dists.UniformIntegerDistribution:
            draws.append((dist.size, None))
        elif type(dist) is dists.UniformIntegerNormalizedDistribution:
            draws.append((dist.size, float(dist.size - 1)))
        elif type(dist) is dists.UnitUniformContinuousDistribution:
            draws.append((None, (dist.lower_vectorized, dist.upper_vectorized)))
        else:
            return None
    return draws


def sample_configurations(space: ConfigurationSpace, size: int) -> list[Configuration]:
    """``space.sample_configuration(size=size)`` (``size`` >= 2): the same configurations and the
    same state of ``space.random`` after (see :func:`sample_vectors`)."""
    vectors = sample_vectors(space, size)
    if vectors is None:
        return space.sample_configuration(size=size)
    return [Configuration(space, vector=vec) for vec in vectors]


def sample_vectors(space: ConfigurationSpace, size: int) -> np.ndarray | None:
    """The vectors of ``space.sample_configuration(size=size)`` (``size`` >= 2), one per row, with
    ``space.random`` advanced as that call advances it; None (nothing drawn) where the space is
    not one :func:`_sampler` knows.

    ConfigSpace calls, per chunk of 5 rows and per hyperparameter, the legacy ``RandomState``'s
    ``randint(0, k, 5)`` (each value: 32-bit Mersenne-Twister outputs masked to the next power
    of two, redrawn while above ``k - 1``) or ``uniform(lower, upper, 5)`` (each value: two
    outputs made into a 53-bit double).  This reads the same outputs from a copy of the
    generator, decodes them in the same order, and advances ``space.random`` by as many."""
    draws = _sampler(space)
    if draws is None:
        return None
    chunks = -(-size // _CHUNK)
    kinds = np.repeat(np.tile(np.arange(len(draws)), chunks), _CHUNK)   # draw order
    masks, bounds, uses = (np.array(v) for v in zip(*(_decoding(n) for n, _ in draws)))
    use = uses[kinds]                                  # outputs per value when none is redrawn
    start = np.concatenate(([0], np.cumsum(use)[:-1]))
    state = space.random.get_state(legacy=False)
    candidates = np.flatnonzero(masks[kinds] > bounds[kinds])   # k not a power of two
    raw, bitgen = _raw_outputs(state, int(use.sum()) + len(candidates) + 64)
    while True:   # the margin covers one redraw per candidate: almost always enough
        try:
            redraws = _redraws(raw.tolist(), candidates, start[candidates],
                               masks[kinds[candidates]], bounds[kinds[candidates]], len(kinds))
            break
        except IndexError:
            raw = np.concatenate((raw, bitgen.random_raw(len(raw))))
    pos = start + np.concatenate(([0], np.cumsum(redraws)[:-1])) + redraws   # the value's output
    consumed = int(pos[-1] + use[-1])
    values = np.empty(len(kinds), dtype=np.float64)
    for i, (n, extra_arg) in enumerate(draws):
        sel = np.flatnonzero(kinds == i)
        if n is None:
            a = (raw[pos[sel]] >> 5).astype(np.float64)
            b = (raw[pos[sel] + 1] >> 6).astype(np.float64)
            lower, upper = extra_arg
            values[sel] = lower + (upper - lower) * ((a * 67108864.0 + b) / 9007199254740992.0)
        else:
            ints = (raw[pos[sel]] & np.uint64(masks[i])).astype(np.int64)
            values[sel] = ints if extra_arg is None else np.true_divide(ints, extra_arg,
                                                                        dtype=np.float64)
    _advance(space.random, state, consumed)
    matrix = values.reshape(chunks, len(draws), _CHUNK).transpose(1, 0, 2).reshape(
        len(draws), chunks * _CHUNK)
    return np.ascontiguousarray(matrix[:, :size].T)


def _redraws(raw: list[int], candidates: np.ndarray, starts: np.ndarray, masks: np.ndarray,
             bounds: np.ndarray, n: int) -> np.ndarray:
    """Outputs redrawn at each of ``n`` values (only ``candidates`` can redraw; each redraw
    shifts every later value by one output): ``randint``'s masked rejection, in order."""
    redraws = np.zeros(n, dtype=np.int64)
    extra = 0
    for v, first, mask, bound in zip(candidates.tolist(), starts.tolist(), masks.tolist(),
                                      bounds.tolist()):
        q = first + extra
        while raw[q] & mask > bound:
            q += 1
        if q != first + extra:
            redraws[v] = q - first - extra
            extra = q - first
    return redraws


def _decoding(n: int | None) -> tuple[int, int, int]:
    """(mask, largest value, outputs used) of one value: a randint(0, n) or a uniform (None)."""
    if n is None:
        return 0, 0, 2
    if n == 1:
        return 0, 0, 0
    bound = n - 1
    mask = (1 << bound.bit_length()) - 1
    return mask, bound, 1


def _raw_outputs(state: dict, count: int):
    """``count`` 32-bit outputs of a copy of a RandomState's Mersenne Twister, and the copy."""
    bitgen = np.random.MT19937()
    bitgen.state = {"bit_generator": "MT19937", "state": state["state"]}
    return bitgen.random_raw(count), bitgen


def _advance(rs: np.random.RandomState, state: dict, count: int) -> None:
    """Set ``rs`` to ``state`` advanced by ``count`` outputs (its Gaussian cache untouched)."""
    bitgen = np.random.MT19937()
    bitgen.state = {"bit_generator": "MT19937", "state": state["state"]}
    bitgen.random_raw(count)
    rs.set_state({**state, "state": bitgen.state["state"]})


class FastRandomSearch(RandomSearch):
    """SMAC's ``RandomSearch`` sampling through :func:`sample_vectors`."""

    _ORIGIN = "Acquisition Function Maximizer: Random Search"
    _SORTED_ORIGIN = "Acquisition Function Maximizer: Random Search (sorted)"

    def _maximize(self, previous_configs: list[Configuration], n_points: int,
                  _sorted: bool = False) -> list[tuple[float, Configuration]]:
        if n_points <= 1:
            return super()._maximize(previous_configs, n_points, _sorted)
        configs = sample_configurations(self._configspace, n_points)
        for c in configs:
            c.origin = self._SORTED_ORIGIN if _sorted else self._ORIGIN
        if _sorted:
            return self._sort_by_acquisition_value(configs)
        return [(0, c) for c in configs]

    def _sort_by_acquisition_value(self, configs: list[Configuration]
                                   ) -> list[tuple[float, Configuration]]:
        """SMAC's: the same values, random tie-breaks and order, the pairs made in one pass."""
        acq_values = self._acquisition_function(configs)
        indices = self._ranking(acq_values)
        return list(zip(acq_values[indices, 0], [configs[i] for i in indices]))

    def _ranking(self, acq_values: np.ndarray) -> np.ndarray:
        """SMAC's order of the candidates: by acquisition value, best first, ties broken by one
        draw each from the search's generator."""
        random = self._rng.rand(len(acq_values))
        return np.lexsort((random.flatten(), acq_values.flatten()))[::-1]

    def best(self, n_points: int, k: int) -> list[tuple[float, Configuration]] | None:
        """The first ``k`` pairs of ``_maximize(..., n_points, _sorted=True)``, with the same
        draws from both generators, making only their ``k`` configurations; None (nothing
        drawn) where that shortcut does not apply."""
        acquisition = self._acquisition_function
        if n_points <= 1 or type(acquisition).__call__ is not AbstractAcquisitionFunction.__call__:
            return None
        vectors = sample_vectors(self._configspace, n_points)
        if vectors is None:
            return None
        acq_values = _acquisition_values(acquisition, vectors)
        indices = self._ranking(acq_values)[:k]
        return [(acq_values[i, 0], Configuration(self._configspace, vector=vectors[i],
                                                 origin=self._SORTED_ORIGIN))
                for i in indices.tolist()]


class FastLocalAndSortedRandomSearch(LocalAndSortedRandomSearch):
    """SMAC's ``LocalAndSortedRandomSearch`` whose random search makes configurations of its
    best candidates only.

    SMAC3 2.4's ``_maximize`` sorts its random challengers by acquisition value, starts the
    local search from the first ``local_search_iterations`` of them and returns the local
    search's results alone: the other 9,990 configurations of the default 10,000 are made,
    sorted and dropped.  :meth:`FastRandomSearch.best` gives the same first ones from the same
    draws; the rest of ``_maximize`` is SMAC's, step for step (its debug line included)."""

    def _maximize(self, previous_configs: list[Configuration], n_points: int
                  ) -> list[tuple[float, Configuration]]:
        searcher = self._random_search
        best = None
        if self._uniform_configspace is None or self._prior_sampling_fraction is None:
            if isinstance(searcher, FastRandomSearch):
                best = searcher.best(n_points, self._local_search_iterations)
        if best is None:
            return super()._maximize(previous_configs, n_points)
        found = self._local_search._maximize(previous_configs=previous_configs,
                                             n_points=self._local_search_iterations,
                                             additional_start_points=best)
        found.sort(reverse=True, key=lambda x: x[0])
        if _smac_maximizer_logger.isEnabledFor(logging.DEBUG):
            first_five = [f"{_[0]} ({_[1].origin})" for _ in found[:5]]
            _smac_maximizer_logger.debug("First 5 acquisition function values of selected "
                                         f"configurations: \n{', '.join(first_five)}")
        return found


class FastLocalSearch(LocalSearch):
    """SMAC's ``LocalSearch`` on spaces of categorical hyperparameters only (no conditions, no
    forbidden clauses, distinct choices); other spaces get SMAC's own.

    :meth:`_search` is SMAC3 2.4.1's ``LocalSearch._search`` (BSD-3) step for step, on vectors:
    each start point's one-exchange neighbourhood is :func:`_neighbour_sequence` (the neighbours
    ConfigSpace's generator yields, in its order, from the same seed: read as lazily as SMAC reads
    ConfigSpace's), a neighbour is its (index, value)
    change, the visited-values sets hold choice indices (one to one with distinct choices), and
    the acquisition function scores the same rows in the same batches.  Configurations are made
    for the neighbours that become candidates only.  SMAC's bookkeeping that feeds its debug log
    or the neighbourhood's ``stdev`` (unused by categorical hyperparameters) is left out."""

    def _search(self, start_points: list[Configuration]) -> list[tuple[float, Configuration]]:
        acquisition = self._acquisition_function
        plan = _categorical_plan(start_points[0].config_space) if start_points else None
        if plan is None or type(acquisition).__call__ is not AbstractAcquisitionFunction.__call__:
            return super()._search(start_points)
        space = start_points[0].config_space
        candidates: list[Any] = list(start_points)   # a Configuration or, once moved, a vector
        vectors = [c.get_array() for c in candidates]
        num_candidates = len(candidates)
        acq_val_candidates_ = acquisition(candidates)
        if num_candidates == 1:
            acq_val_candidates = [acq_val_candidates_[0][0]]
        else:
            acq_val_candidates = [a[0] for a in acq_val_candidates_]

        best = [float(a) for a in acq_val_candidates]   # the same values, compared as floats
        active = [True] * num_candidates
        n_no_plateau_walk = [0] * num_candidates
        obtain_n = [self._vectorization_min_obtain] * num_candidates
        states = self._sequence_states(num_candidates)
        sequences = [_neighbour_sequence(v, self._rng.randint(low=0, high=100000), plan,
                                         states[i]) for i, v in enumerate(vectors)]
        equal_acq: list[list[np.ndarray]] = [[] for _ in range(num_candidates)]
        visited: list[dict[int, set]] = [{i: set() for i in range(len(space))}
                                         for _ in range(num_candidates)]

        num_iters = 0
        while any(active):
            if num_iters == self._max_steps:
                break
            num_iters += 1
            improved = [False] * num_candidates
            new_neighborhood = [False] * num_candidates
            actually_obtained = list(obtain_n)
            changes: list[tuple[int, int, float]] = []   # (candidate, index, value) per neighbour
            for i in range(num_candidates):
                if not active[i]:
                    continue
                sequence, base, got = sequences[i], vectors[i], 0
                for _ in range(obtain_n[i]):
                    neighbour = next(sequence, None)
                    if neighbour is None:   # StopIteration
                        new_neighborhood[i] = True
                        obtain_n[i] = got
                        break
                    index, value = neighbour
                    if value == base[index]:   # SMAC: not exactly one value changed
                        continue
                    if value in visited[i][index]:
                        continue
                    visited[i][index].add(value)
                    changes.append((i, index, value))
                    got += 1
                actually_obtained[i] = got

            if changes:
                rows = np.array([vectors[i] for i, _, _ in changes], dtype=np.float64)
                rows[np.arange(len(changes)), [c[1] for c in changes]] = [c[2] for c in changes]
                acq_val = _acquisition_values(acquisition, rows)
                values = acq_val[:, 0].tolist()
                acq_index = 0
                for i in range(num_candidates):
                    if not active[i]:
                        continue
                    for _ in range(actually_obtained[i]):
                        if improved[i]:
                            acq_index += 1
                            continue
                        if values[acq_index] > best[i]:
                            is_valid = False
                            try:
                                Configuration(space, vector=rows[acq_index]
                                              ).check_valid_configuration()
                                is_valid = True
                            except (ValueError, ForbiddenValueError) as e:
                                logger.debug("Local search %d: %s", i, e)
                            if is_valid:
                                candidates[i] = vectors[i] = rows[acq_index]
                                acq_val_candidates[i] = acq_val[acq_index]
                                best[i] = values[acq_index]
                                new_neighborhood[i] = True
                                improved[i] = True
                                equal_acq[i] = []
                                obtain_n[i] = 1
                                for seen in visited[i].values():
                                    seen.clear()
                        elif values[acq_index] == best[i]:
                            equal_acq[i].append(rows[acq_index])
                        acq_index += 1

            for i in range(num_candidates):
                if not active[i]:
                    continue
                if obtain_n[i] == 0 or improved[i]:
                    obtain_n[i] = 2
                else:
                    obtain_n[i] = min(obtain_n[i] * 2, self._vectorization_max_obtain)
                if new_neighborhood[i]:
                    if not improved[i] and n_no_plateau_walk[i] < self._n_steps_plateau_walk:
                        if equal_acq[i]:
                            candidates[i] = vectors[i] = equal_acq[i][0]
                            equal_acq[i] = []
                            for seen in visited[i].values():
                                seen.clear()
                        n_no_plateau_walk[i] += 1
                    if n_no_plateau_walk[i] >= self._n_steps_plateau_walk:
                        active[i] = False
                        continue
                    sequences[i] = _neighbour_sequence(   # the old one is never read again
                        vectors[i], self._rng.randint(low=0, high=100000), plan, states[i])

        return [(a, c if isinstance(c, Configuration) else Configuration(space, vector=c))
                for a, c in zip(acq_val_candidates, candidates)]


    def _sequence_states(self, n: int) -> list[np.random.RandomState]:
        """``n`` RandomStates for the start points' neighbour sequences, made once (making one
        costs ~0.2 ms, seeding one ~2 us); each sequence seeds its own before its first draw."""
        states = self.__dict__.setdefault("_nasbench_states", [])
        states.extend(np.random.RandomState() for _ in range(n - len(states)))
        return states


def _acquisition_values(acquisition: AbstractAcquisitionFunction, X: np.ndarray) -> np.ndarray:
    """``AbstractAcquisitionFunction.__call__`` on the rows its configurations would give."""
    acq = acquisition._compute(X)
    if np.any(np.isnan(acq)):
        idx = np.where(np.isnan(acq))[0]
        acq[idx, :] = -np.finfo(float).max
    return acq


def _categorical_plan(space: ConfigurationSpace) -> list[tuple[Any, int, int]] | None:
    """(hyperparameter, index, size) of each hyperparameter ``get_one_exchange_neighbourhood``
    varies, in its order, or None unless :class:`FastLocalSearch` applies to ``space``."""
    if space.forbidden_clauses or space.conditional_hyperparameters:
        return None
    plan = []
    for node in space._dag.nodes.values():
        hp = node.hp
        if not isinstance(hp, CategoricalHyperparameter) or not all(
                isinstance(c, (str, int)) and not isinstance(c, bool) for c in hp.choices) \
                or len(set(hp.choices)) != len(hp.choices):
            return None
        if hp.size > 1:
            plan.append((hp, node.idx, hp.size))
    return plan


def _neighbour_sequence(arr: np.ndarray, seed: int, plan: list[tuple[Any, int, int]],
                        random: np.random.RandomState | None = None
                        ) -> Iterator[tuple[int, float]]:
    """The neighbours ConfigSpace 1.2's ``get_one_exchange_neighbourhood`` yields around the
    vector ``arr`` from ``seed``, as (index, new value), in its order, on a space where every
    hyperparameter is categorical and unconditioned (see :func:`_categorical_plan`): the same
    draws from ``RandomState(seed)``: one ``randint`` batch, then per hyperparameter as first
    chosen its neighbourhood (ConfigSpace's own, with its shuffle) and the generator's shuffle.
    A two-choice hyperparameter's one neighbour is the other choice (shuffling one value draws
    nothing), so ConfigSpace is not asked for it."""
    if random is None:
        random = np.random.RandomState(seed)
    else:   # the same state as RandomState(seed): legacy seeding, no Gaussian kept
        random.seed(seed)
    n_hps = len(plan)
    n_randints = sum(size - 1 for _, _, size in plan)   # no forbidden clause: multiplier 1
    integers = random.randint(n_hps, size=n_randints).tolist()
    next_int = 0
    left = [size - 1 for _, _, size in plan]
    pools: list[list[float] | None] = [None] * n_hps
    to_exhaust = n_hps
    while to_exhaust > 0:
        if next_int >= n_randints:
            n_randints = n_hps * n_hps * 2
            integers = random.randint(n_hps, size=n_randints).tolist()
            next_int = 0
        chosen = integers[next_int]
        next_int += 1
        if left[chosen] == 0:
            continue
        hp, hp_idx, size = plan[chosen]
        pool = pools[chosen]
        if not pool:
            if pool is not None:   # generated before, never regenerated: exhausted
                to_exhaust -= 1
                left[chosen] = 0
                continue
            if size == 2:
                pool = pools[chosen] = [1.0 - float(int(arr[hp_idx]))]
            else:
                values = hp._neighborhood(arr[hp_idx], n=size - 1, seed=random, std=None)
                random.shuffle(values)
                pool = pools[chosen] = values.tolist()
        left[chosen] -= 1
        if left[chosen] == 0:
            to_exhaust -= 1
        yield hp_idx, pool.pop()


class FastRunHistory(RunHistory):
    """SMAC's ``RunHistory`` whose objective bounds (the minimum and maximum successful cost,
    recomputed over the whole history at every trial added: quadratic over a run) are kept up
    to date as trials are added.

    SMAC's loop tests each cost for being iterable and wraps it in a list; for one objective
    and float costs, the minimum and maximum of the same values are taken in one pass
    (``np.min``/``np.max``: the same ``float64``s).  After such a pass, a trial added under a
    new key, or over one that had not succeeded, changes the set of successful costs by at
    most its own: its cost is merged (``np.minimum``/``np.maximum``, the same values as the
    pass over the grown set while no cost is NaN).  Anything else (a success overwritten, a
    NaN, a cost that is not a float, several objectives, a history reset) is recomputed, by
    the pass or by SMAC's own method."""

    _adding: Any = None         # the TrialValue being added, when it can be merged
    _bounds_of: Any = None      # the ``_data`` dict the bounds were last computed from

    def _add(self, k: Any, v: Any, status: StatusType) -> None:
        old = self._data.get(k)
        mergeable = old is None or old.status != StatusType.SUCCESS
        self._adding = v if mergeable and self._bounds_of is self._data else None
        try:
            super()._add(k, v, status)
        finally:
            self._adding = None

    def _update_objective_bounds(self) -> None:
        new = self._adding
        if new is not None:
            if new.status != StatusType.SUCCESS:   # the successful costs are unchanged
                return None
            cost = new.cost
            if type(cost) is float and cost == cost:   # not NaN
                lower, upper = self._objective_bounds[0]
                self._objective_bounds = [(np.minimum(lower, cost), np.maximum(upper, cost))]
                return None
        self._bounds_of = None
        if self._n_objectives != 1:
            return super()._update_objective_bounds()
        success = StatusType.SUCCESS
        costs = [v.cost for v in self._data.values() if v.status == success]
        if not all(type(c) is float for c in costs):
            return super()._update_objective_bounds()
        if not costs:
            self._objective_bounds = [(np.inf, -np.inf)]
        else:
            all_costs = np.array(costs, dtype=float).reshape(-1, 1)
            self._objective_bounds = list(zip(np.min(all_costs, axis=0),
                                              np.max(all_costs, axis=0)))
            if np.isnan(all_costs).any():
                return None
        self._bounds_of = self._data
        return None


class FastEI(EI):
    """SMAC's expected improvement whose log-space branch takes the normal CDF as
    ``scipy.special.ndtr``: ``scipy.stats.norm.cdf`` is ``ndtr`` of the same values (its
    location 0 and scale 1 change nothing; infinities and NaN come out the same) behind about
    0.1 ms of argument handling per call, thousands of calls per maximization.  The rest is
    SMAC3 2.4.1's ``EI._compute`` (BSD-3) line for line; the other branch is SMAC's own."""

    def _compute(self, X: np.ndarray) -> np.ndarray:
        if not self._log:
            return super()._compute(X)
        assert self._model is not None
        assert self._xi is not None
        eta, xi = self._eta, self._xi
        if eta is None:
            return super()._compute(X)   # SMAC's error
        if len(X.shape) == 1:
            X = X[:, np.newaxis]
        m, var_ = self._model.predict_marginalized(X)
        std = np.sqrt(var_)

        def calculate_log_ei() -> np.ndarray:
            f_min = eta - xi
            v = (f_min - m) / std
            return (np.exp(f_min) * ndtr(v)) - (np.exp(0.5 * var_ + m) * ndtr(v - std))

        if np.any(std == 0.0):
            _smac_ei_logger.warning("Predicted std is 0.0 for at least one sample.")
            std_copy = np.copy(std)
            std[std_copy == 0.0] = 1.0
            log_ei = calculate_log_ei()
            log_ei[std_copy == 0.0] = 0.0
        else:
            log_ei = calculate_log_ei()
        if (log_ei < 0).any():
            raise ValueError("Expected Improvement is smaller than 0 for at least one sample.")
        return log_ei.reshape((-1, 1))


class FastRunHistoryEncoder(RunHistoryLogScaledEncoder):
    """SMAC's log-scaled run-history encoder with the same trials, rows and statistics, in
    fewer passes: the trial selections read the run history's dict once (SMAC's read it
    through ``Mapping.items`` and look each trial up again), and the matrix of a single
    objective without instance features is the configurations' vectors and the costs stacked
    in the same order (SMAC fills a NaN matrix row by row with the same values)."""

    def _get_considered_trials(self, budget_subset: list | None = None
                               ) -> dict[TrialKey, TrialValue]:
        if budget_subset is not None:
            if len(budget_subset) != 1:
                raise ValueError("Can not yet handle getting runs from multiple budgets.")
            if self._lower_budget_states or budget_subset[0] is not None:
                return super()._get_considered_trials(budget_subset)
        considered = self._considered_states
        return {k: v for k, v in self.runhistory._data.items()
                if v.status in considered
                and (budget_subset is None or k.budget in budget_subset)}

    def _get_timeout_trials(self, budget_subset: list | None = None
                            ) -> dict[TrialKey, TrialValue]:
        timeout = StatusType.TIMEOUT
        return {k: v for k, v in self.runhistory._data.items()
                if v.status == timeout and (budget_subset is None or k.budget in budget_subset)}

    def _build_matrix(self, trials: Any, store_statistics: bool = False
                      ) -> tuple[np.ndarray, np.ndarray]:
        if self._n_objectives != 1 or self._n_features != 0 or not trials:
            return super()._build_matrix(trials, store_statistics)
        configs = self.runhistory._ids_config
        X = np.array([configs[k.config_id].get_array() for k in trials], dtype=np.float64)
        if X.shape != (len(trials), self._n_params):
            return super()._build_matrix(trials, store_statistics)
        y = np.ones([len(trials), 1])
        y[:, 0] = [run.cost for run in trials.values()]
        if store_statistics:
            self._percentile = np.percentile(y, self._scale_percentage, axis=0)
            self._min_y = np.min(y, axis=0)
            self._max_y = np.max(y, axis=0)
        return X, self.transform_response_values(values=y)


def install(facade: Any) -> None:
    """Wire the exact replacements into a SMAC facade built with a :class:`FastRandomForest`
    model, before its first ask (the random search's generator is still at its seed)."""
    maximizer = facade._acquisition_maximizer
    # the same objects (their generators, settings) with the subclasses' methods
    if type(maximizer) is LocalAndSortedRandomSearch:
        maximizer.__class__ = FastLocalAndSortedRandomSearch
    if type(getattr(maximizer, "_random_search", None)) is RandomSearch:
        maximizer._random_search.__class__ = FastRandomSearch
    if type(maximizer._local_search) is LocalSearch:
        maximizer._local_search.__class__ = FastLocalSearch
    if type(facade._intensifier) is Intensifier:
        facade._intensifier.__class__ = FastIntensifier
    if type(facade._acquisition_function) is EI:
        facade._acquisition_function.__class__ = FastEI
    if type(facade._runhistory_encoder) is RunHistoryLogScaledEncoder:
        facade._runhistory_encoder.__class__ = FastRunHistoryEncoder
    if type(facade._runhistory) is RunHistory:
        facade._runhistory.__class__ = FastRunHistory
