"""The ConfigSpace encodings A/B/C and the objective."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark import NASBench
from benchmark.objectives import ConfigError, Objective, get_encoding
from benchmark.objectives.encodings import B_SLOTS, ROW_MAJOR

from .conftest import INCEPTION_HASH, INCEPTION_MEAN_TEST, needs_shared

INCEPTION_EDGES = [0, 1, 2, 4, 10, 14, 15, 19, 20]
INCEPTION_OPS5 = {"op_node_0": "conv1x1-bn-relu", "op_node_1": "conv3x3-bn-relu",
                  "op_node_2": "conv3x3-bn-relu", "op_node_3": "conv3x3-bn-relu",
                  "op_node_4": "maxpool3x3"}


def test_slot_orders_follow_the_original_code():
    assert ROW_MAJOR[0] == (0, 1) and ROW_MAJOR[5] == (0, 6) and ROW_MAJOR[20] == (5, 6)
    assert B_SLOTS[0] == (5, 6) and B_SLOTS[5] == (0, 6) and B_SLOTS[20] == (0, 1)


@needs_shared
def test_inception_cell_in_every_encoding(store_dir):
    nb = NASBench(store_dir["only108"])
    a = {**INCEPTION_OPS5, **{f"edge_{i}": int(i in INCEPTION_EDGES) for i in range(21)}}
    b = {**INCEPTION_OPS5, **{f"edge_{i}": e for i, e in enumerate(INCEPTION_EDGES)}}
    c = {**INCEPTION_OPS5, "num_edges": 9,
         **{f"edge_{i}": (0.9 if i in INCEPTION_EDGES else 0.1) + i / 1000 for i in range(21)}}
    for enc, config in (("A", a), ("B", b), ("C", c)):
        objective = Objective(nb, enc, repeat="mean")
        result = objective.evaluate(config, 108)
        assert not result.invalid
        assert 1 - result.test_error == INCEPTION_MEAN_TEST
        if enc != "B":
            assert result.hash == INCEPTION_HASH
    # B decodes the same indices to a different but isomorphic graph
    spec_a = get_encoding("A").to_spec(a)
    spec_b = get_encoding("B").to_spec(b)
    assert spec_a.hash() == spec_b.hash()
    assert not np.array_equal(spec_a.original_matrix, spec_b.original_matrix)


def test_valid_fractions_on_the_surrogate_table(surrogate):
    expected = {"A": 0.274, "B": 0.781, "C": 0.433}
    for enc, fraction in expected.items():
        objective = Objective(surrogate, enc)
        configs = objective.config_space(seed=7).sample_configuration(20_000)
        rng = np.random.default_rng(0)
        valid = np.mean([not objective.evaluate(dict(c), 108, rng).invalid for c in configs])
        assert abs(valid - fraction) < 0.015, (enc, valid)


def test_round_trips_and_invalid_flags(surrogate):
    for enc in "ABC":
        objective = Objective(surrogate, enc)
        encoding = objective.encoding
        rng = np.random.default_rng(1)
        for config in objective.config_space(seed=3).sample_configuration(400):
            config = dict(config)
            result = objective.evaluate(config, 108, rng)
            if result.invalid:
                assert result.validation_error == 1.0 and result.cost == 0.0
                continue
            back = encoding.from_spec(encoding.to_spec(config))
            assert objective.evaluate(back, 108, rng).hash == result.hash
            if enc == "A":
                assert back == config


@pytest.mark.parametrize("name", ["A", "B", "C"])
def test_fast_path_agrees_with_the_checked_path(surrogate, name):
    """Plain configurations take Encoding.fast_raw; any other form takes check + raw_mask."""
    from optimizers.space import SpaceSampler

    enc = get_encoding(name)
    objective = Objective(surrogate, enc)
    for config in SpaceSampler(enc.config_space()).sample_many(np.random.default_rng(0), 300):
        fast = enc.fast_raw(config)
        assert fast is not None and fast[0] == enc.raw_mask(config)
        slow = {k: (np.int64(v) if isinstance(v, int) else np.float64(v)
                    if isinstance(v, float) else v) for k, v in config.items()}
        assert enc.fast_raw(slow) is None  # numpy numbers: the checked path
        assert objective.row(slow) == objective.row(config)
    if name == "C":  # tied weights: numpy's argsort picks the edges, on the checked path
        assert enc.fast_raw({**config, "edge_1": config["edge_0"]}) is None
        assert enc.fast_raw({**config, "edge_1": float("nan")}) is None
    config["edge_0"] = True  # a bool is not an edge value in A, B or C
    assert enc.fast_raw(config) is None
    with pytest.raises(ConfigError, match="edge_0"):
        objective.row(config)


@pytest.mark.parametrize("name", ["A", "B", "C"])
def test_table_look_up_agrees_with_pruning_and_hashing(surrogate, name):
    """The precomputed per-mask look-up (pruning, graph number, label code) finds the row that
    pruning the cell with ModelSpec and hashing it finds, and invalid exactly when it is."""
    from optimizers.space import SpaceSampler

    objective = Objective(surrogate, name)
    configs = SpaceSampler(objective.config_space()).sample_many(np.random.default_rng(2), 3000)
    kept = set()
    for config in configs:
        spec = objective.encoding.cell(config)
        expected = -1 if spec is None else surrogate.row_of_hash(spec.hash())
        assert objective.row(config) == expected, config
        if spec is not None:
            kept.add(tuple(spec.ops))
    assert len(kept) > 50   # many pruned op sequences were looked up


def test_objective_pickles(surrogate):
    import pickle

    objective = Objective(surrogate, "B", repeat="sample")
    copy = pickle.loads(pickle.dumps(objective))
    configs = objective.config_space(seed=4).sample_configuration(200)
    a, b = np.random.default_rng(0), np.random.default_rng(0)
    assert [objective.evaluate(dict(c), 12, a) for c in configs] == \
        [copy.evaluate(dict(c), 12, b) for c in configs]


def test_policies(surrogate):
    config = dict(Objective(surrogate, "A").config_space(seed=0).get_default_configuration())
    config.update({**INCEPTION_OPS5, **{f"edge_{i}": int(i in INCEPTION_EDGES) for i in range(21)}})
    row = surrogate.row_of_hash(INCEPTION_HASH)
    times = surrogate.metric("final_training_time", 12)[row].astype(np.float64)
    vals = surrogate.metric("final_validation_accuracy", 12)[row].astype(np.float64)
    fixed = Objective(surrogate, "A", repeat=2).evaluate(config, 12)
    assert fixed.cost == times[2] and fixed.validation_error == 1 - vals[2]
    summed = Objective(surrogate, "A", repeat=0, cost="sum").evaluate(config, 12)
    assert summed.cost == times.sum()
    mean = Objective(surrogate, "A", repeat="mean").evaluate(config, 12)
    assert mean.validation_error == 1 - vals.sum() / 3
    sampled = Objective(surrogate, "A")
    draws = [sampled.evaluate(config, 12, np.random.default_rng(s)).repeat for s in range(30)]
    assert set(draws) == {0, 1, 2}
    a = [sampled.evaluate(config, 12, np.random.default_rng(5)).validation_error for _ in range(2)]
    assert a[0] == a[1]
    assert sampled.y_star_test == 1 - surrogate.best_mean_test_accuracy
    assert sampled.test_regret(sampled.y_star_test) == 0


def test_fidelity_space(surrogate):
    fs = Objective(surrogate, "A").fidelity_space()
    hp = fs["budget"]
    assert list(hp.sequence) == [4, 12, 36, 108] and hp.default_value == 108


@needs_shared
def test_only108_store_rejects_other_budgets(store_dir):
    objective = Objective(NASBench(store_dir["only108"]), "A")
    config = dict(objective.config_space(seed=0).sample_configuration())
    with pytest.raises(ValueError, match="budget 12"):
        objective.evaluate(config, 12, np.random.default_rng(0))
    assert list(objective.fidelity_space()["budget"].sequence) == [108]


@pytest.mark.parametrize("enc, change, words", [
    ("A", {"edge_3": 2}, "edge_3 = 2"),
    ("A", {"op_node_1": "conv5x5"}, "op_node_1 = 'conv5x5'"),
    ("A", {"bogus": 1}, "unknown hyperparameter 'bogus'"),
    ("B", {"edge_0": 21}, "edge_0 = 21"),
    ("B", {"edge_0": "3"}, "edge_0 = '3'"),
    ("C", {"num_edges": 10}, "num_edges = 10"),
    ("C", {"edge_4": 1.5}, "edge_4 = 1.5"),
])
def test_bad_configurations_name_the_offender(surrogate, enc, change, words):
    objective = Objective(surrogate, enc)
    config = dict(objective.config_space(seed=0).sample_configuration())
    config.update(change)
    with pytest.raises(ConfigError) as info:
        objective.evaluate(config, 108, np.random.default_rng(0))
    assert words in str(info.value)


def test_missing_hyperparameter_and_bad_budget(surrogate):
    objective = Objective(surrogate, "A")
    config = dict(objective.config_space(seed=0).sample_configuration())
    del config["edge_0"]
    with pytest.raises(ConfigError, match="missing hyperparameter 'edge_0'"):
        objective.evaluate(config, 108, np.random.default_rng(0))
    with pytest.raises(ValueError, match="budget 50"):
        objective.evaluate(dict(objective.config_space(seed=0).sample_configuration()), 50)
    with pytest.raises(ValueError, match="unknown encoding"):
        Objective(surrogate, "D")


def test_mask_arrays_are_cached_per_numbering(surrogate, tmp_path, monkeypatch, caplog):
    """The per-mask look-up is computed once per graph numbering and then read back equal; an
    unreadable cache file is ignored with a warning and replaced."""
    import benchmark.space.enumeration as enumeration
    from benchmark.objectives import lookup

    monkeypatch.setattr(enumeration, "cache_path", lambda: tmp_path / "cells.npz")
    offset, ids = surrogate.array("graph_offset"), surrogate.array("graph_id")
    built = lookup.mask_arrays(offset, ids)
    first = lookup.cached_mask_arrays(offset, ids, "numbering-a")
    (cached,) = tmp_path.glob("raw-index-*.npz")
    again = lookup.cached_mask_arrays(offset, ids, "numbering-a")
    for name in ("graph", "keep", "weights"):
        assert np.array_equal(built[name], first[name])
        assert np.array_equal(built[name], again[name])
    assert (built["graph"] >= 0).sum() > 0 and built["keep"].max() == 127
    cached.write_bytes(b"not an npz")
    with caplog.at_level("WARNING"):
        mended = lookup.cached_mask_arrays(offset, ids, "numbering-a")
    assert "ignoring unreadable look-up cache" in caplog.text
    assert np.array_equal(mended["graph"], built["graph"])
    lookup.cached_mask_arrays(offset, ids, "numbering-b")
    assert len(list(tmp_path.glob("raw-index-*.npz"))) == 2
