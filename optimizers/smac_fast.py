"""Exact replacements for SMAC3 2.x's hot paths: the same numbers from the same random draws.

Profiled with the paper's settings (5 trees, random fraction 0.33, one evaluation per
configuration, 10,000 challengers, 10 local searches) on encoding A, an ask of SMAC3 2.4 spends
its time in four places, none of them SMAC's decisions:

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
  :meth:`_FastForest.all_trees_pred` calls each tree's own ``predict`` on the same float32 rows
  into the same (rows x trees) array; the mean and variance are SMAC's own reductions of it.
* **Random challengers**: ``ConfigurationSpace.sample_configuration(10_000)`` draws in chunks of
  5 rows when a space has neither conditions nor forbidden clauses (its over-sampling factor is
  then 0), with ~10 Python calls per hyperparameter and chunk.  :func:`sample_configurations`
  makes the same ``RandomState`` calls in the same order (per chunk, per hyperparameter, the
  distribution's own ``randint``/``uniform`` of 5), so it leaves the generator in the same state
  and returns the same vectors; any other space goes to ConfigSpace's own method.

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
    OrdinalHyperparameter,
    UniformIntegerHyperparameter,
)
from ConfigSpace.hyperparameters import distributions as dists
from sklearn.ensemble._forest import ForestRegressor
from smac.acquisition.maximizer.local_search import LocalSearch
from smac.acquisition.maximizer.random_search import RandomSearch
from smac.model.random_forest import RandomForest
from smac.model.random_forest.random_forest import EPMRandomForest

logger = logging.getLogger(__name__)

#: ConfigSpace's sampling chunk when a space has no conditions and no forbidden clauses.
_CHUNK = 5


class _FastForest(EPMRandomForest):
    """SMAC's ``EPMRandomForest``: the same trees, leaf values and predictions, less overhead."""

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight=None) -> None:  # type: ignore
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
        for tree_idx, e in enumerate(self.estimators_):
            preds[:, tree_idx] = e.predict(X, check_input=False)
        return preds


def _leaf_log_means(tree, X: np.ndarray, y: np.ndarray) -> None:
    """Set each leaf's value to ``log(mean(exp(y)))`` of its training rows, as SMAC's loop
    ``for k in np.unique(leaves): value[k] = np.log(np.exp(y[leaves == k]).mean())`` does."""
    leaves = tree.apply(X)
    order = np.argsort(leaves, kind="stable")   # each leaf's rows in SMAC's (mask) order
    sorted_leaves, sorted_y = leaves[order], y[order]
    starts = np.flatnonzero(np.r_[True, sorted_leaves[1:] != sorted_leaves[:-1]])
    ends = np.r_[starts[1:], len(sorted_leaves)]
    values = tree.tree_.value
    for k, a, b in zip(sorted_leaves[starts].tolist(), starts.tolist(), ends.tolist()):
        values[k, 0, 0] = np.log(np.exp(sorted_y[a:b].copy()).mean())


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
    same state of ``space.random`` after.

    ConfigSpace calls, per chunk of 5 rows and per hyperparameter, the legacy ``RandomState``'s
    ``randint(0, k, 5)`` (each value: 32-bit Mersenne-Twister outputs masked to the next power
    of two, redrawn while above ``k - 1``) or ``uniform(lower, upper, 5)`` (each value: two
    outputs made into a 53-bit double).  This reads the same outputs from a copy of the
    generator, decodes them in the same order, and advances ``space.random`` by as many."""
    draws = _sampler(space)
    if draws is None:
        return space.sample_configuration(size=size)
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
    return [Configuration(space, vector=vec) for vec in matrix[:, :size].T]


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
    """SMAC's ``RandomSearch`` sampling through :func:`sample_configurations`."""

    def _maximize(self, previous_configs: list[Configuration], n_points: int,
                  _sorted: bool = False) -> list[tuple[float, Configuration]]:
        if n_points <= 1:
            return super()._maximize(previous_configs, n_points, _sorted)
        configs = sample_configurations(self._configspace, n_points)
        origin = ("Acquisition Function Maximizer: Random Search (sorted)" if _sorted
                  else "Acquisition Function Maximizer: Random Search")
        for c in configs:
            c.origin = origin
        if _sorted:
            return self._sort_by_acquisition_value(configs)
        return [(0, c) for c in configs]


class FastLocalSearch(LocalSearch):
    """SMAC's ``LocalSearch`` on spaces of categorical hyperparameters only (no conditions, no
    forbidden clauses, choices distinct): its ``_search`` (SMAC3 2.4.1's, BSD-3, copied line for
    line) with two exact substitutions, :func:`_one_exchange_neighbours` for ConfigSpace's
    ``get_one_exchange_neighbourhood`` and the changed choice's index for its value in the
    visited-values sets (one to one for distinct choices).  Other spaces: SMAC's own."""

    def _search(self, start_points: list[Configuration]) -> list[tuple[float, Configuration]]:
        plan = _categorical_plan(start_points[0].config_space) if start_points else None
        if plan is None:
            return super()._search(start_points)
        assert self._acquisition_function is not None

        if isinstance(start_points, Configuration):
            start_points = [start_points]

        hp_names = list(start_points[0].config_space.keys())

        if self._stdev_max is None:
            stdev_max = self._stdev_init * np.power(2, self._downscale_interval)
        else:
            stdev_max = self._stdev_max

        candidates = start_points
        num_candidates = len(candidates)
        acq_val_candidates_ = self._acquisition_function(candidates)

        if num_candidates == 1:
            acq_val_candidates = [acq_val_candidates_[0][0]]
        else:
            acq_val_candidates = [a[0] for a in acq_val_candidates_]

        active = [True] * num_candidates
        n_no_plateau_walk = [0] * num_candidates
        local_search_steps = [0] * num_candidates
        neighbors_looked_at = [0] * num_candidates
        neighbors_generated = [0] * num_candidates
        obtain_n = [self._vectorization_min_obtain] * num_candidates

        improvement_count = [0] * num_candidates
        stdev = [self._stdev_init] * num_candidates

        neighborhood_iterators = []
        for i, inc in enumerate(candidates):
            neighborhood_iterators.append(
                _one_exchange_neighbours(inc, self._rng.randint(low=0, high=100000), plan)
            )
            local_search_steps[i] += 1

        neighbors_w_equal_acq: list[list[Configuration]] = [[] for _ in range(num_candidates)]

        visited_values = []
        for i in range(num_candidates):
            vv: dict[str, set[Any]] = {}
            for hp in start_points[i].config_space.values():
                if (
                    isinstance(hp, (CategoricalHyperparameter, OrdinalHyperparameter))
                    or (isinstance(hp, UniformIntegerHyperparameter) and hp.size <= 100)
                ):
                    vv[hp.name] = set()
            visited_values.append(vv)

        num_iters = 0
        while np.any(active):

            if num_iters is not None and num_iters == self._max_steps:
                break

            num_iters += 1
            improved = [False] * num_candidates
            new_neighborhood = [False] * num_candidates

            actually_obtained = [obtain_n[i] for i in range(num_candidates)]

            neighbors = []
            for i, neighborhood_iterator in enumerate(neighborhood_iterators):
                if active[i]:
                    neighbors_for_i = []
                    for j in range(obtain_n[i]):
                        try:
                            n = next(neighborhood_iterator)

                            n_array = n.get_array()
                            diff = n_array != candidates[i].get_array()
                            changed_hp_idx = np.flatnonzero(diff)
                            if len(changed_hp_idx) != 1:
                                continue
                            changed_hp_name = hp_names[changed_hp_idx[0]]
                            value = n_array[changed_hp_idx[0]]   # its choice's index

                            if changed_hp_name in visited_values[i]:
                                if value in visited_values[i][changed_hp_name]:
                                    continue
                                visited_values[i][changed_hp_name].add(value)

                            neighbors_generated[i] += 1
                            neighbors_for_i.append(n)
                        except ValueError as e:
                            logger.debug(e)
                            new_neighborhood[i] = True
                        except StopIteration:
                            new_neighborhood[i] = True
                            obtain_n[i] = len(neighbors_for_i)
                            break
                    actually_obtained[i] = len(neighbors_for_i)
                    neighbors.extend(neighbors_for_i)

            if len(neighbors) != 0:
                acq_val = self._acquisition_function(neighbors)
                if np.ndim(acq_val.shape) == 0:
                    acq_val = np.asarray([acq_val])

                acq_index = 0
                for i in range(num_candidates):
                    if not active[i]:
                        continue

                    for j in range(actually_obtained[i]):
                        if improved[i]:
                            acq_index += 1
                        else:
                            neighbors_looked_at[i] += 1

                            if acq_val[acq_index] > acq_val_candidates[i]:
                                is_valid = False
                                try:
                                    neighbors[acq_index].check_valid_configuration()
                                    is_valid = True
                                except (ValueError, ForbiddenValueError) as e:
                                    logger.debug("Local search %d: %s", i, e)

                                if is_valid:
                                    candidates[i] = neighbors[acq_index]
                                    acq_val_candidates[i] = acq_val[acq_index]
                                    new_neighborhood[i] = True
                                    improved[i] = True
                                    local_search_steps[i] += 1
                                    neighbors_w_equal_acq[i] = []
                                    obtain_n[i] = 1
                                    for s in visited_values[i].values():
                                        s.clear()
                            elif acq_val[acq_index] == acq_val_candidates[i]:
                                neighbors_w_equal_acq[i].append(neighbors[acq_index])

                            acq_index += 1

            for i in range(num_candidates):
                if not active[i]:
                    continue

                if obtain_n[i] == 0 or improved[i]:
                    obtain_n[i] = 2
                else:
                    obtain_n[i] = obtain_n[i] * 2
                    obtain_n[i] = min(obtain_n[i], self._vectorization_max_obtain)

                if new_neighborhood[i]:

                    if improved[i]:
                        improvement_count[i] += 1
                    else:
                        improvement_count[i] = 0

                    if improvement_count[i] >= self._upscale_thresh and n_no_plateau_walk[i] == 0:
                        stdev[i] = min(stdev[i] * 2, stdev_max)
                        improvement_count[i] = 0

                    if not improved[i] and n_no_plateau_walk[i] < self._n_steps_plateau_walk:
                        if len(neighbors_w_equal_acq[i]) != 0:
                            candidates[i] = neighbors_w_equal_acq[i][0]
                            neighbors_w_equal_acq[i] = []
                            for s in visited_values[i].values():
                                s.clear()
                        n_no_plateau_walk[i] += 1
                        if n_no_plateau_walk[i] % self._downscale_interval == 0:
                            stdev[i] = max(stdev[i] * 0.5, self._stdev_min)

                    if n_no_plateau_walk[i] >= self._n_steps_plateau_walk:
                        active[i] = False
                        continue

                    neighborhood_iterators[i] = _one_exchange_neighbours(
                        candidates[i], self._rng.randint(low=0, high=100000), plan)

        return [(a, i) for a, i in zip(acq_val_candidates, candidates)]


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


def _one_exchange_neighbours(configuration: Configuration, seed: int,
                             plan: list[tuple[Any, int, int]]) -> Iterator[Configuration]:
    """ConfigSpace 1.2's ``get_one_exchange_neighbourhood(configuration, seed)`` where every
    hyperparameter is categorical and unconditioned (see :func:`_categorical_plan`): the same
    draws from ``RandomState(seed)`` (one ``randint`` batch, then per hyperparameter its
    neighbourhood's shuffle and a second shuffle), the same neighbours in the same order."""
    space = configuration.config_space
    arr = configuration.get_array()
    random = np.random.RandomState(seed)
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
            values = hp._neighborhood(arr[hp_idx], n=size - 1, seed=random, std=None)
            random.shuffle(values)
            pool = pools[chosen] = values.tolist()
        new_arr = arr.copy()
        new_arr[hp_idx] = pool.pop()
        left[chosen] -= 1
        if left[chosen] == 0:
            to_exhaust -= 1
        yield Configuration(space, vector=new_arr)


def install(facade: Any) -> None:
    """Wire the exact replacements into a SMAC facade built with a :class:`FastRandomForest`
    model, before its first ask (the random search's generator is still at its seed)."""
    maximizer = facade._acquisition_maximizer
    # the same objects (their generators, settings) with the subclasses' methods
    if type(getattr(maximizer, "_random_search", None)) is RandomSearch:
        maximizer._random_search.__class__ = FastRandomSearch
    if type(maximizer._local_search) is LocalSearch:
        maximizer._local_search.__class__ = FastLocalSearch
