"""The drop-in APIs: the original nasbench colab's loops unchanged, nas_benchmarks' and
HPOBench's NASCifar10 classes, on the real fixtures and against the originals' behaviour."""
from __future__ import annotations

import copy
import json
import random

import numpy as np
import pytest

import benchmark.compat.nasbench_api as api
from benchmark.compat.hpobench import NASCifar10ABenchmark, NASCifar10BBenchmark
from benchmark.compat.nas_benchmarks import (
    Y_STAR_TEST,
    Y_STAR_VALID,
    NASCifar10A,
    NASCifar10B,
    NASCifar10C,
)
from benchmark.objectives import get_encoding

from .conftest import INCEPTION_HASH, INCEPTION_MATRIX, INCEPTION_OPS, NB101, needs_shared

INCEPTION_LIKE = [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
                  [0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
                  [0, 0, 0, 0, 0, 0, 0]]


@pytest.fixture(scope="module")
def expected():
    return json.loads((NB101 / "fixture_expected.json").read_text())


@pytest.fixture
def official(tmp_path):
    """A data_dir as nas_benchmarks and HPOBench expect it: the official file names."""
    if not NB101.is_dir():
        pytest.skip(f"shared NAS-Bench-101 records not found at {NB101}")
    for name in ("full", "only108"):
        (tmp_path / f"nasbench_{name}.tfrecord").symlink_to(NB101 / f"fixture_{name}.tfrecord")
    return tmp_path


# ---- nasbench.api ---------------------------------------------------------------------------

def test_the_original_colab_runs_unchanged(surrogate):
    """The search loops of google-research/nasbench's NASBench.ipynb, verbatim but for the
    time budget, against ``import benchmark.compat.nasbench_api as api``."""
    nasbench = api.NASBench.surrogate(rng=0)
    INPUT, OUTPUT = "input", "output"
    CONV3X3, CONV1X1, MAXPOOL3X3 = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
    NUM_VERTICES, OP_SPOTS = 7, 5
    ALLOWED_OPS = [CONV3X3, CONV1X1, MAXPOOL3X3]
    ALLOWED_EDGES = [0, 1]

    def random_spec():
        while True:
            matrix = np.random.choice(ALLOWED_EDGES, size=(NUM_VERTICES, NUM_VERTICES))
            matrix = np.triu(matrix, 1)
            ops = np.random.choice(ALLOWED_OPS, size=(NUM_VERTICES)).tolist()
            ops[0] = INPUT
            ops[-1] = OUTPUT
            spec = api.ModelSpec(matrix=matrix, ops=ops)
            if nasbench.is_valid(spec):
                return spec

    def mutate_spec(old_spec, mutation_rate=1.0):
        while True:
            new_matrix = copy.deepcopy(old_spec.original_matrix)
            new_ops = copy.deepcopy(old_spec.original_ops)
            edge_mutation_prob = mutation_rate / NUM_VERTICES
            for src in range(0, NUM_VERTICES - 1):
                for dst in range(src + 1, NUM_VERTICES):
                    if random.random() < edge_mutation_prob:
                        new_matrix[src, dst] = 1 - new_matrix[src, dst]
            op_mutation_prob = mutation_rate / OP_SPOTS
            for ind in range(1, NUM_VERTICES - 1):
                if random.random() < op_mutation_prob:
                    available = [o for o in nasbench.config['available_ops'] if o != new_ops[ind]]
                    new_ops[ind] = random.choice(available)
            new_spec = api.ModelSpec(new_matrix, new_ops)
            if nasbench.is_valid(new_spec):
                return new_spec

    def random_combination(iterable, sample_size):
        pool = tuple(iterable)
        n = len(pool)
        indices = sorted(random.sample(range(n), sample_size))
        return tuple(pool[i] for i in indices)

    def run_random_search(max_time_budget=5e6):
        nasbench.reset_budget_counters()
        times, best_valids, best_tests = [0.0], [0.0], [0.0]
        while True:
            spec = random_spec()
            data = nasbench.query(spec)
            if data['validation_accuracy'] > best_valids[-1]:
                best_valids.append(data['validation_accuracy'])
                best_tests.append(data['test_accuracy'])
            else:
                best_valids.append(best_valids[-1])
                best_tests.append(best_tests[-1])
            time_spent, _ = nasbench.get_budget_counters()
            times.append(time_spent)
            if time_spent > max_time_budget:
                break
        return times, best_valids, best_tests

    def run_evolution_search(max_time_budget=5e6, population_size=50, tournament_size=10,
                             mutation_rate=1.0):
        nasbench.reset_budget_counters()
        times, best_valids, best_tests = [0.0], [0.0], [0.0]
        population = []
        for _ in range(population_size):
            spec = random_spec()
            data = nasbench.query(spec)
            time_spent, _ = nasbench.get_budget_counters()
            times.append(time_spent)
            population.append((data['validation_accuracy'], spec))
            if data['validation_accuracy'] > best_valids[-1]:
                best_valids.append(data['validation_accuracy'])
                best_tests.append(data['test_accuracy'])
            else:
                best_valids.append(best_valids[-1])
                best_tests.append(best_tests[-1])
            if time_spent > max_time_budget:
                break
        while True:
            sample = random_combination(population, tournament_size)
            best_spec = sorted(sample, key=lambda i: i[0])[-1][1]
            new_spec = mutate_spec(best_spec, mutation_rate)
            data = nasbench.query(new_spec)
            time_spent, _ = nasbench.get_budget_counters()
            times.append(time_spent)
            population.append((data['validation_accuracy'], new_spec))
            population.pop(0)
            if data['validation_accuracy'] > best_valids[-1]:
                best_valids.append(data['validation_accuracy'])
                best_tests.append(data['test_accuracy'])
            else:
                best_valids.append(best_valids[-1])
                best_tests.append(best_tests[-1])
            if time_spent > max_time_budget:
                break
        return times, best_valids, best_tests

    state, np_state = random.getstate(), np.random.get_state()
    try:
        random.seed(0)
        np.random.seed(0)
        for run in (run_random_search, run_evolution_search):
            times, valid, test = run(max_time_budget=5e5)
            assert times[-1] > 5e5 and np.all(np.diff(times) > 0)
            assert np.all(np.diff(valid) >= 0) and 0.9 < valid[-1] < 0.96
            assert 0.85 < test[-1] < 0.96 and len(times) == len(valid) == len(test) > 60
    finally:
        random.setstate(state)
        np.random.set_state(np_state)


def test_model_spec_and_checks_behave_as_the_original(surrogate):
    nasbench = api.NASBench.surrogate(rng=0)
    spec = api.ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS)
    assert spec.hash_spec(nasbench.config["available_ops"]) == INCEPTION_HASH
    assert spec.data_format == "channels_last" and spec.valid_spec
    assert set(nasbench.query(spec)) == {"module_adjacency", "module_operations",
                                         "trainable_parameters", "training_time",
                                         "train_accuracy", "validation_accuracy",
                                         "test_accuracy"}
    # an unknown op: no error at construction, is_valid False, query OutOfDomainError
    odd = api.ModelSpec(INCEPTION_MATRIX, ["input", "conv5x5", *INCEPTION_OPS[2:]])
    assert nasbench.is_valid(odd) is False
    with pytest.raises(api.OutOfDomainError, match="unsupported op conv5x5"):
        nasbench.query(odd)
    cut = [[0, 0, 1], [0, 0, 1], [0, 0, 0]]
    assert api.ModelSpec(cut, ["input", "conv3x3-bn-relu", "output"]).ops == ["input", "output"]
    disconnected = api.ModelSpec([[0, 1, 0], [0, 0, 0], [0, 0, 0]],
                                 ["input", "conv3x3-bn-relu", "output"])
    assert not disconnected.valid_spec and not nasbench.is_valid(disconnected)
    with pytest.raises(api.OutOfDomainError, match="invalid spec, provided graph is "
                                                   "disconnected"):
        nasbench.query(disconnected)
    with pytest.raises(api.OutOfDomainError, match="invalid number of epochs"):
        nasbench.query(spec, epochs=5)
    with pytest.raises(ValueError, match="matrix must be square"):
        api.ModelSpec([[0, 1]], ["input", "output"])
    with pytest.raises(ValueError, match="length of ops must match matrix dimensions"):
        api.ModelSpec([[0, 1], [0, 0]], ["input"])
    with pytest.raises(ValueError, match="upper triangular"):
        api.ModelSpec([[0, 1], [1, 0]], ["input", "output"])
    # the spec copies what it is given
    ops = list(INCEPTION_OPS)
    kept = api.ModelSpec(INCEPTION_MATRIX, ops)
    ops[1] = "maxpool3x3"
    assert kept.original_ops == INCEPTION_OPS
    # eight vertices: too many after pruning
    big = np.triu(np.ones((8, 8), int), 1)
    assert not nasbench.is_valid(api.ModelSpec(big, ["input", *["conv1x1-bn-relu"] * 6,
                                                       "output"]))


@needs_shared
def test_nasbench_api_on_the_real_records(official, expected):
    nasbench = api.NASBench(str(official / "nasbench_full.tfrecord"), seed=3)
    runs = expected[INCEPTION_HASH]["runs"]
    spec = api.ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS)
    data = nasbench.query(spec, epochs=36)
    assert data["validation_accuracy"] in {r["final_validation_accuracy"] for r in runs["36"]}
    assert nasbench.get_budget_counters()[1] == 36
    fixed, computed = nasbench.get_metrics_from_spec(spec)
    assert fixed["trainable_parameters"] == expected[INCEPTION_HASH]["trainable_parameters"]
    assert computed[108] == runs["108"]
    assert list(nasbench.hash_iterator()) == [INCEPTION_HASH]
    with pytest.raises(ValueError, match="config\\['cifar10'\\]"):
        nasbench.evaluate(spec, official / "model")


# ---- nas_benchmarks -------------------------------------------------------------------------

@needs_shared
def test_nas_benchmarks_objective_and_results_on_the_real_records(official, expected):
    b = NASCifar10A(data_dir=official, multi_fidelity=False, seed=0)
    assert len(b.dataset) == 31 and (b.y_star_valid, b.y_star_test) == (Y_STAR_VALID,
                                                                        Y_STAR_TEST)
    encoding = get_encoding("A")
    hashes = sorted(expected)[:4]
    configs = [encoding.from_spec(api.ModelSpec(expected[h]["matrix"], expected[h]["ops"]))
               for h in hashes]
    invalid = {**configs[0], **{f"edge_{i}": 1 for i in range(21)}}   # 21 edges > 9
    want_valid, want_test, want_cost = [], [], []
    for h, config in zip(hashes, configs):
        y, cost = b.objective_function(config, budget=108)
        runs = expected[h]["runs"]["108"]
        pairs = {(1 - r["final_validation_accuracy"], r["final_training_time"]) for r in runs}
        assert (y, cost) in pairs   # one run, value and cost of the same run
        want_valid.append(y)
        want_cost.append(cost)
        want_test.append(1 - np.mean([r["final_test_accuracy"] for r in runs]))
        if h == hashes[1]:
            assert b.objective_function(invalid) == (1, 0)
            want_valid.append(1)
            want_test.append(1)
            want_cost.append(0)
    assert b.y_valid == want_valid and b.y_test == want_test and b.costs == want_cost
    with pytest.raises(ValueError, match="single-fidelity"):
        b.objective_function(configs[0], budget=12)
    # the trajectory: incumbent by validation error, regrets to the paper's optimum
    for ignore in (False, True):
        res = b.get_results(ignore_invalid_configs=ignore)
        rows = [(v, t, c) for v, t, c in zip(want_valid, want_test, want_cost)
                if not (ignore and c == 0)]
        inc, regret_v, regret_t = (np.inf, np.inf), [], []
        for v, t, _ in rows:
            inc = (v, t) if v < inc[0] else inc
            regret_v.append(inc[0] - Y_STAR_VALID)
            regret_t.append(inc[1] - Y_STAR_TEST)
        assert res["regret_validation"] == regret_v and res["regret_test"] == regret_t
        assert res["runtime"] == pytest.approx(np.cumsum([c for _, _, c in rows]).tolist())
    b.reset_tracker()
    assert b.X == [] and b.get_results() == {"regret_validation": [], "regret_test": [],
                                             "runtime": []}
    # multi-fidelity reads nasbench_full.tfrecord, with every budget
    full = NASCifar10A(data_dir=official, seed=0)
    config = encoding.from_spec(api.ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS))
    y, cost = full.objective_function(config, budget=4)
    assert y in {1 - r["final_validation_accuracy"] for r in expected[INCEPTION_HASH]["runs"]["4"]}
    test_error, _ = full.objective_function_test(config)
    assert test_error == pytest.approx(1 - np.mean(
        [r["final_test_accuracy"] for r in expected[INCEPTION_HASH]["runs"]["108"]]))


def test_nas_benchmarks_encodings_and_spaces(surrogate):
    for cls, name in ((NASCifar10A, "A"), (NASCifar10B, "B"), (NASCifar10C, "C")):
        cs = cls.get_configuration_space()
        assert list(cs.keys()) == list(get_encoding(name).config_space().keys())
        b = cls("surrogate", seed=1)
        assert b.y_star_valid == 1 - b.dataset.best_mean_validation_accuracy
        cs.seed(2)
        for config in cs.sample_configuration(30):
            y, cost = b.objective_function(config, budget=12)
            assert (y, cost) == (1, 0) or (0 < y < 1 and cost > 0)
        assert len(b.X) == 30 and len(b.get_results(ignore_invalid_configs=True)["runtime"]) \
            == sum(c > 0 for c in b.costs)
    a, again = NASCifar10A("surrogate", seed=4), NASCifar10A("surrogate", seed=4)
    config = get_encoding("A").from_spec(api.ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS))
    assert [a.objective_function(config) for _ in range(5)] == \
        [again.objective_function(config) for _ in range(5)]   # the seed fixes the runs


# ---- HPOBench -------------------------------------------------------------------------------

@needs_shared
def test_hpobench_objective_on_the_real_records(official, expected):
    b = NASCifar10ABenchmark(data_path=official, rng=1)
    config = get_encoding("A").from_spec(api.ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS))
    runs = expected[INCEPTION_HASH]["runs"]["12"]
    result = b.objective_function(config, fidelity={"budget": 12})
    assert result["function_value"] == pytest.approx(
        1 - np.mean([r["final_validation_accuracy"] for r in runs]))
    assert result["cost"] == pytest.approx(sum(r["final_training_time"] for r in runs))
    info = result["info"]
    assert info["fidelity"] == {"budget": 12}
    assert info["test_accuracies"] == [r["final_test_accuracy"] for r in runs]
    assert info["data"]["trainable_parameters"] == expected[INCEPTION_HASH]["trainable_parameters"]
    one = b.objective_function(config, fidelity={"budget": 12}, run_index=2)
    assert one["info"]["valid_accuracies"] == [runs[2]["final_validation_accuracy"]]
    drawn = b.objective_function(config, run_index=None)["info"]["valid_accuracies"]
    assert len(drawn) == 1
    test = b.objective_function_test(config)
    assert test["function_value"] == pytest.approx(1 - np.mean(
        [r["final_test_accuracy"] for r in expected[INCEPTION_HASH]["runs"]["108"]]))
    assert test["info"]["fidelity"] == {"budget": 108}
    invalid = b.objective_function({**config, **{f"edge_{i}": 1 for i in range(21)}})
    assert (invalid["function_value"], invalid["cost"]) == (1.0, 0.0)
    assert b.benchmark.dataset.get_budget_counters() == (0.0, 0)   # modified_query: no counting


def test_hpobench_spaces_meta_and_bad_input(surrogate):
    b = NASCifar10BBenchmark(data_path="surrogate", rng=0)
    cs = b.get_configuration_space(seed=3)
    assert cs.sample_configuration() == NASCifar10BBenchmark.get_configuration_space(
        seed=3).sample_configuration()
    fidelity = b.get_fidelity_space(seed=1)
    assert fidelity["budget"].sequence == (4, 12, 36, 108)
    assert fidelity["budget"].default_value == 108
    assert "klein2019tabular" in b.get_meta_information()["references"][0]
    config = cs.sample_configuration()
    with pytest.raises(ValueError, match="fidelity .* must be"):
        b.objective_function(config, fidelity={"budget": 13})
    with pytest.raises(ValueError, match="does not fit the configuration space"):
        b.objective_function({**config, "op_node_0": "conv5x5"})
    with pytest.raises(ValueError, match="run_index must be in \\[0, 2\\]"):
        b.objective_function(config, run_index=3)
    with pytest.raises(ValueError, match="data_path"):
        NASCifar10BBenchmark()
    a = NASCifar10BBenchmark("surrogate", rng=7).objective_function(config, run_index=None)
    again = NASCifar10BBenchmark("surrogate", rng=7).objective_function(config, run_index=None)
    assert a == again


@pytest.mark.skipif(not (NB101.parent / "cifar10" / "cifar10-jpeg.tar.gz").is_file(),
                    reason="shared CIFAR-10 images not found")
def test_evaluate_trains_with_the_trainer(surrogate, tmp_path):
    pytest.importorskip("keras", reason="the trainer extra (Keras 3) is not installed")
    from trainer.config import TrainConfig

    nasbench = api.NASBench.surrogate(rng=0)
    nasbench.config["cifar10"] = NB101.parent / "cifar10" / "cifar10-jpeg.tar.gz"
    spec = api.ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS)
    data = nasbench.evaluate(spec, tmp_path / "model", epochs=1,
                             config=TrainConfig.tiny(train_images=500, eval_images=200))
    assert set(data) == set(nasbench.query(spec))
    assert data["module_operations"] == INCEPTION_OPS and 0 <= data["test_accuracy"] <= 1
    metadata = json.loads((tmp_path / "model" / "metadata.json").read_text())
    assert metadata["trainable_params"] == data["trainable_parameters"]
    assert len(metadata["evaluation_results"]) == 3   # start, half, end
