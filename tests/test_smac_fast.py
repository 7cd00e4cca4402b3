"""SMAC's fast engine against SMAC3's own code path: the same random draws, trees, neighbours
and, through the harness, byte-identical run files."""
from __future__ import annotations

import ConfigSpace as CS
import numpy as np
import pytest

from benchmark.objectives import Objective
from harness.results import read_run, run_files

from .conftest import long_check
from .helpers import files, run_per_engine

pytest.importorskip("smac")


@pytest.fixture(scope="module")
def spaces(surrogate):
    return {e: Objective(surrogate, e).config_space(seed=0) for e in "ABC"}


def odd_space() -> CS.ConfigurationSpace:
    """One choice, five choices, normalized and log integers, a float and an ordinal."""
    space = CS.ConfigurationSpace(seed=5)
    space.add([CS.CategoricalHyperparameter("a", ["x"]),
               CS.CategoricalHyperparameter("b", list("abcde")),
               CS.UniformIntegerHyperparameter("c", 0, 6),
               CS.UniformFloatHyperparameter("d", -3.0, 7.5),
               CS.OrdinalHyperparameter("e", [1, 2, 3])])
    return space


def test_random_challengers_are_configspaces(spaces):
    from optimizers.smac_fast import _sampler, sample_configurations

    conditional = odd_space()
    conditional.add(CS.EqualsCondition(conditional["d"], conditional["b"], "a"))
    for space in [*spaces.values(), odd_space(), conditional]:
        for size in (2, 7, 2000):
            space.seed(11)
            want, state = space.sample_configuration(size=size), space.random.get_state()
            space.seed(11)
            got = sample_configurations(space, size)
            assert np.array_equal([c.get_array() for c in got], [c.get_array() for c in want],
                                  equal_nan=True)
            after = space.random.get_state()
            assert after[2] == state[2] and np.array_equal(after[1], state[1])
    assert all(_sampler(s) is not None for s in [*spaces.values(), odd_space()])
    assert _sampler(conditional) is None   # ConfigSpace's own method


def test_neighbourhoods_are_configspaces(spaces):
    from ConfigSpace.util import get_one_exchange_neighbourhood

    from optimizers.smac_fast import _categorical_plan, _neighbour_sequence

    assert _categorical_plan(spaces["C"]) is None   # floats: SMAC's own local search
    for encoding in "AB":
        space, plan = spaces[encoding], _categorical_plan(spaces[encoding])
        for seed, config in enumerate(space.sample_configuration(25)):
            want = [n.get_array().tolist()
                    for n in get_one_exchange_neighbourhood(config, seed=seed * 977)]
            used = np.random.RandomState(seed)   # a generator already drawn from, reseeded
            used.normal(size=3)
            for random in (None, used):
                got = []
                for index, value in _neighbour_sequence(config.get_array(), seed * 977, plan,
                                                        random):
                    vector = config.get_array().copy()
                    vector[index] = value
                    got.append(vector.tolist())
                assert got == want and len(got) > len(space)


def test_forest_trees_and_predictions_are_smacs(spaces):
    from smac.model.random_forest import RandomForest

    from optimizers.smac_fast import FastRandomForest

    space = spaces["A"]
    rng = np.random.default_rng(0)
    X = np.array([c.get_array() for c in space.sample_configuration(1500)])
    X[1000:] = X[:500]   # repeated configurations, as a noisy objective's history has
    y = np.log(rng.uniform(0.05, 0.3, len(X)))
    settings = {"configspace": space, "n_trees": 5, "log_y": True, "ratio_features": 1.0,
                "min_samples_split": 2, "min_samples_leaf": 1, "seed": 7, "n_jobs": 1}
    theirs, ours = RandomForest(**settings).train(X, y), FastRandomForest(**settings).train(X, y)
    for a, b in zip(theirs._rf.estimators_, ours._rf.estimators_):
        for field in ("children_left", "children_right", "feature", "threshold", "value"):
            assert np.array_equal(getattr(a.tree_, field), getattr(b.tree_, field)), field
    queries = np.array([c.get_array() for c in space.sample_configuration(2000)])
    for want, got in zip(theirs.predict_marginalized(queries), ours.predict_marginalized(queries)):
        assert np.array_equal(want, got)
    assert len(np.unique(ours.predict_marginalized(queries)[0])) > 100   # a fitted forest


def test_membership_lists_answer_as_a_scan(spaces):
    from smac.runhistory import RunHistory

    from optimizers.smac_membership import ConfigList, RunHistoryConfigs

    space, other = spaces["A"], spaces["B"]
    members = space.sample_configuration(60)
    twin = CS.Configuration(space, vector=members[3].get_array().copy())   # equal, not same
    zero = members[5].get_array().copy()
    zero[zero == 0] = -0.0
    as_ints = CS.Configuration(space, vector=members[7].get_array().astype(np.int64))
    queries = [*members, *space.sample_configuration(40), twin, as_ints,
               CS.Configuration(space, vector=zero), *other.sample_configuration(5), "a", None]
    plain = members[:40]
    listed = ConfigList(members[:20])
    for c in members[20:40]:
        listed.append(c)
    history = RunHistory()
    for i, c in enumerate(members):
        history.add(c, cost=0.1, seed=i)
    ids = [history.get_config_id(c) for c in members[:40]]
    by_id = RunHistoryConfigs(history, ids, space)
    assert list(listed) == plain and list(by_id) == plain
    for q in queries:
        assert (q in listed) == (q in plain) == (q in by_id), q
    assert twin in listed and as_ints in listed and members[50] not in listed
    assert members[50] not in by_id
    listed.remove(members[0])   # a change the index does not follow: answered by the scan
    by_id.pop(0)
    assert members[0] not in listed and members[0] not in by_id and members[1] in listed
    for emptied in (ConfigList(members[:3]), RunHistoryConfigs(history, ids[:3], space)):
        emptied *= 0   # so does any change in place
        assert members[1] not in emptied


def test_objective_bounds_are_smacs():
    from smac.runhistory import RunHistory
    from smac.runhistory.enumerations import StatusType

    from optimizers.smac_fast import FastRunHistory

    space = odd_space()
    configs = space.sample_configuration(30)
    rng = np.random.default_rng(3)
    theirs, ours = RunHistory(), RunHistory()
    ours.__class__ = FastRunHistory
    steps = [(c, float(rng.uniform()), StatusType.SUCCESS) for c in configs[:10]]
    steps += [(configs[2], 0.9, StatusType.SUCCESS),        # a success overwritten
              (configs[11], 5.0, StatusType.CRASHED), (configs[12], 0.0, StatusType.RUNNING),
              (configs[12], -1.0, StatusType.SUCCESS), (configs[13], float("nan"),
                                                         StatusType.SUCCESS),
              (configs[14], 2.0, StatusType.SUCCESS)]
    for config, cost, status in steps:
        for history in (theirs, ours):
            history.add(config, cost=cost, status=status, seed=0)
        assert repr(ours.objective_bounds) == repr(theirs.objective_bounds)


def test_expected_improvement_is_smacs(spaces):
    from smac import HyperparameterOptimizationFacade as HPO
    from smac import Scenario

    from optimizers.smac_fast import FastEI

    space = spaces["A"]
    rng = np.random.default_rng(5)
    X = np.array([c.get_array() for c in space.sample_configuration(300)])
    y = np.log(rng.uniform(0.05, 0.3, len(X)))
    scenario = Scenario(space, deterministic=False, seed=3)
    model = HPO.get_model(scenario).train(X, y)
    queries = np.vstack([X[:50], [c.get_array() for c in space.sample_configuration(3000)]])
    values = []
    for fast in (False, True):
        acquisition = HPO.get_acquisition_function(scenario)
        if fast:
            acquisition.__class__ = FastEI
        acquisition.update(model=model, eta=float(y.min()), num_data=len(X))
        values.append(acquisition._compute(queries))
    assert values[0].tobytes() == values[1].tobytes() and values[0].shape == (3050, 1)
    assert len(np.unique(values[0])) > 1000


def test_encoded_history_is_smacs(spaces):
    from smac import Scenario
    from smac.runhistory import RunHistory
    from smac.runhistory.encoder import RunHistoryLogScaledEncoder
    from smac.runhistory.enumerations import StatusType

    from optimizers.smac_fast import FastRunHistoryEncoder

    space = spaces["A"]
    rng = np.random.default_rng(2)
    history = RunHistory()
    statuses = [StatusType.SUCCESS] * 6 + [StatusType.CRASHED, StatusType.TIMEOUT,
                                           StatusType.RUNNING]
    for i, config in enumerate(space.sample_configuration(300)):
        history.add(config, cost=float(rng.uniform(0.05, 1.0)), seed=i % 3,
                    status=statuses[int(rng.integers(len(statuses)))])
    encoders = [RunHistoryLogScaledEncoder(Scenario(space, deterministic=False))
                for _ in range(2)]
    encoders[1].__class__ = FastRunHistoryEncoder
    outputs = []
    for encoder in encoders:
        encoder.runhistory = history
        out = [*encoder.transform(budget_subset=[None]), *encoder.transform(),
               encoder.get_configurations(budget_subset=[None]),
               encoder._percentile, encoder._min_y, encoder._max_y]
        outputs.append([np.asarray(a).tobytes() for a in out] + [np.shape(a) for a in out])
    assert outputs[0] == outputs[1]
    assert len(encoders[1].transform()[0]) > 150


def test_best_random_challengers_are_smacs(spaces):
    from smac import HyperparameterOptimizationFacade as HPO
    from smac import Scenario

    from optimizers.smac_fast import FastRandomSearch

    space = spaces["A"]
    rng = np.random.default_rng(1)
    X = np.array([c.get_array() for c in space.sample_configuration(200)])
    y = np.log(rng.uniform(0.05, 0.3, len(X)))
    searches = []
    for _ in range(2):
        scenario = Scenario(space, deterministic=False, n_trials=10, seed=4)
        acquisition = HPO.get_acquisition_function(scenario)
        model = HPO.get_model(scenario).train(X, y)
        acquisition.update(model=model, eta=float(y.min()), num_data=len(X))
        maximizer = HPO.get_acquisition_maximizer(scenario)
        maximizer.acquisition_function = acquisition
        searches.append(maximizer._random_search)
    theirs, ours = searches
    ours.__class__ = FastRandomSearch
    for i in range(3):   # the space's generator is shared: both start from the same state
        space.seed(20 + i)
        want = theirs._maximize([], 3000, _sorted=True)[:10]
        space.seed(20 + i)
        got = ours.best(3000, 10)
        assert [(a, c.get_array().tolist(), c.origin) for a, c in got] == \
            [(a, c.get_array().tolist(), c.origin) for a, c in want]
    assert len({a for a, _ in got}) > 1


def run_both(tmp_path, encoding: str, time: float, params: dict) -> tuple[dict, dict]:
    """One SMAC run per engine through the CLI: {run file: bytes} of each, and their facts."""
    folders = run_per_engine(tmp_path, "smac", ("smac3", "fast"), encoding, time, 1, params)
    out = {engine: files(folder) for engine, folder in folders.items()}
    return out, read_run(run_files(folders["fast"])[0])[1]


def test_run_files_are_byte_identical_to_smac3s_path(tmp_path):
    """~220 evaluations on encoding A: ~27 retrainings, each with the random
    challengers, the local search and the incumbent's prediction (fewer challengers and local
    searches than the defaults, for the suite's time; perf/bench_smac.py runs the defaults)."""
    out, facts = run_both(tmp_path, "A", 1.5e5, {"challengers": 300,
                                                "local_search_iterations": 4})
    assert out["fast"] == out["smac3"] and len(out["fast"]) == 1
    assert facts["evaluations"] >= 150 and "engine" not in facts["params"]


@long_check
def test_run_files_are_byte_identical_with_the_defaults(tmp_path):
    for encoding in "AB":
        (tmp_path / encoding).mkdir()
        out, facts = run_both(tmp_path / encoding, encoding, 4e5, {})
        assert out["fast"] == out["smac3"] and facts["evaluations"] >= 300
