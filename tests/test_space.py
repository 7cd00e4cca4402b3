"""The search space: specs, pruning, the official hash, parameters, enumeration."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from benchmark.space import ModelSpec, OutOfDomainError, trainable_parameters
from benchmark.space.constants import OPS

from .conftest import INCEPTION_HASH, INCEPTION_MATRIX, INCEPTION_OPS, NB101, needs_shared

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"


@pytest.mark.parametrize("matrix, ops, expected", [
    (INCEPTION_MATRIX, INCEPTION_OPS, INCEPTION_HASH),
    ([[0, 1], [0, 0]], ["input", "output"], "043721b9c7fe8c5fad811d47d83132ec"),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", C3, "output"],
     "b49ac8c578b4561d79ac7087988f1c61"),
    ([[0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", C3, C3, "output"],
     "b5fb4f6193360330b6ff6a52cbf0cad7"),
])
def test_known_hashes(matrix, ops, expected):
    assert ModelSpec(matrix, ops).hash() == expected


def test_hash_ignores_matrix_dtype():
    hashes = {ModelSpec(np.array(INCEPTION_MATRIX, dtype=t), INCEPTION_OPS).hash()
              for t in (bool, np.int8, np.int64, np.float32, float)}
    assert hashes == {INCEPTION_HASH}


def test_spec_attributes_and_pruning():
    # vertex 2 has no path to the output: pruned away
    spec = ModelSpec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]],
                     ["input", C3, MP, "output"])
    assert spec.ops == ["input", C3, "output"]
    assert spec.matrix.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert spec.original_ops == ["input", C3, MP, "output"]
    assert spec.num_vertices == 3 and spec.num_edges == 2 and spec.is_valid
    assert spec.hash() == "b49ac8c578b4561d79ac7087988f1c61"


def test_disconnected_and_too_large_specs():
    spec = ModelSpec([[0, 0], [0, 0]], ["input", "output"])
    assert not spec.valid_spec and not spec.is_valid and spec.matrix is None
    n = 8
    chain = np.eye(n, k=1, dtype=int)
    big = ModelSpec(chain, ["input"] + [C3] * (n - 2) + ["output"])
    assert big.valid_spec and big.num_vertices == 8 and not big.is_valid
    dense = np.triu(np.ones((7, 7), int), 1)
    assert not ModelSpec(dense, ["input"] + [C1] * 5 + ["output"]).is_valid  # 21 edges


@pytest.mark.parametrize("matrix, ops, message", [
    ([[0, 1, 0], [0, 0, 1]], ["input", C3, "output"], "square"),
    ([[0, 1], [1, 0]], ["input", "output"], "upper triangular"),
    ([[0, 2], [0, 0]], ["input", "output"], "0 or 1"),
    ([[0, 1], [0, 0]], ["input", "conv5x5", "output"], "length of ops"),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"], "unknown op 'conv5x5'"),
    ([[0, 1], [0, 0]], [C3, "output"], "ops[0]"),
    ([[0, 1], [0, 0]], ["input", C3], "ops[-1]"),
    ([[1]], ["input"], "upper triangular"),
])
def test_bad_specs_raise_one_clear_value_error(matrix, ops, message):
    with pytest.raises(ValueError, match=None) as info:
        ModelSpec(matrix, ops)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unknown_op_is_out_of_domain():
    with pytest.raises(OutOfDomainError):
        ModelSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"])


# ---- properties -------------------------------------------------------------------------------

@st.composite
def specs(draw, min_vertices=2, max_vertices=7):
    n = draw(st.integers(min_vertices, max_vertices))
    bits = draw(st.lists(st.booleans(), min_size=n * (n - 1) // 2, max_size=n * (n - 1) // 2))
    matrix = np.zeros((n, n), np.int8)
    matrix[np.triu_indices(n, 1)] = bits
    ops = ["input"] + [draw(st.sampled_from(OPS)) for _ in range(n - 2)] + ["output"]
    return matrix, ops


def _permute(matrix, ops, perm):
    full = [0, *perm, len(ops) - 1]
    inv = np.argsort(full)
    out = np.zeros_like(matrix)
    for i, j in zip(*np.nonzero(matrix)):
        out[inv[i], inv[j]] = 1
    return out, [ops[k] for k in full]


@settings(max_examples=150, deadline=None)
@given(specs(min_vertices=3), st.randoms(use_true_random=False))
def test_hash_invariant_under_interior_permutations(spec, random):
    matrix, ops = spec
    base = ModelSpec(matrix, ops)
    assume(base.valid_spec)
    # only topological orders keep the matrix upper triangular: permute, then keep if valid
    perm = list(range(1, len(ops) - 1))
    random.shuffle(perm)
    pmatrix, pops = _permute(matrix, ops, perm)
    assume(not np.tril(pmatrix).any())
    assert ModelSpec(pmatrix, pops).hash() == base.hash()


@settings(max_examples=150, deadline=None)
@given(specs())
def test_pruning_is_idempotent(spec):
    first = ModelSpec(*spec)
    assume(first.valid_spec)
    again = ModelSpec(first.matrix, first.ops)
    assert again.matrix.tolist() == first.matrix.tolist() and again.ops == first.ops
    assert again.hash() == first.hash()


@settings(max_examples=100, deadline=None)
@given(specs(max_vertices=6), st.sampled_from(OPS), st.data())
def test_extraneous_vertex_hashes_like_pruned_form(spec, op, data):
    matrix, ops = spec
    base = ModelSpec(matrix, ops)
    assume(base.valid_spec)
    n = len(ops)
    # add a dangling vertex just before the output, fed by some vertices but not feeding output
    grown = np.zeros((n + 1, n + 1), np.int8)
    grown[:n - 1, :n - 1] = matrix[:n - 1, :n - 1]
    grown[:n - 1, n] = matrix[:n - 1, n - 1]
    feeders = data.draw(st.lists(st.integers(0, n - 2), max_size=3))
    grown[feeders, n - 1] = 1
    spec2 = ModelSpec(grown, ops[:-1] + [op, "output"])
    assert spec2.hash() == base.hash()


@settings(max_examples=300, deadline=None)
@given(specs(), st.sampled_from(["list", "int8", "bool", "float"]))
def test_spec_construction_equals_the_original_pruning(spec, form):
    """The one-pass bitmask pruning against the original ModelSpec (as published), for every
    input form; the edge count and the look-up bitmask against their plain definitions."""
    from benchmark.space.enumeration import upper_slots
    from perf.bench_query import OriginalModelSpec

    matrix, ops = spec
    given_form = {"list": matrix.tolist(), "int8": matrix, "bool": matrix.astype(bool),
                  "float": matrix.astype(float)}[form]
    ours, theirs = ModelSpec(given_form, ops), OriginalModelSpec(matrix.copy(), list(ops))
    assert ours.valid_spec == theirs.valid_spec
    assert ours.original_matrix.dtype == np.int8
    assert np.array_equal(ours.original_matrix, matrix)
    if not ours.valid_spec:
        assert ours.matrix is None and ours.ops is None and ours.num_edges == 0
        return
    assert np.array_equal(ours.matrix, theirs.matrix) and ours.ops == theirs.ops
    assert ours.num_edges == int(theirs.matrix.sum()) and ours.rows == theirs.matrix.tolist()
    slots = upper_slots(len(ours.ops))
    assert ours.slot_mask() == sum(1 << k for k, (x, y) in enumerate(slots)
                                   if theirs.matrix[x, y])


# ---- parameters and enumeration ----------------------------------------------------------------

def test_parameter_counts_of_known_cells(cells):
    assert trainable_parameters(np.array(INCEPTION_MATRIX), INCEPTION_OPS) == 2_694_282
    best = cells.index_of("02e5a0247bbdcf2860b7e96f74961594")
    assert best >= 0 and cells.trainable_parameters[best] == 32_426_634


def test_enumeration_counts(cells):
    assert len(cells) == 423_624
    assert np.bincount(cells.num_vertices, minlength=8)[2:].tolist() == [
        1, 6, 84, 2441, 62010, 359082]
    assert (cells.num_edges <= 9).all()
    assert np.all(cells.hashes[:-1] < cells.hashes[1:])  # sorted, unique
    assert cells.hex_hashes()[cells.index_of(INCEPTION_HASH)] == INCEPTION_HASH


def test_enumeration_representatives_hash_to_their_keys(cells):
    from benchmark.space.constants import INPUT, OUTPUT

    names = {-1: INPUT, -2: OUTPUT, 0: OPS[0], 1: OPS[1], 2: OPS[2]}
    rng = np.random.default_rng(0)
    for i in rng.choice(len(cells), 300, replace=False):
        n = cells.num_vertices[i]
        spec = ModelSpec(cells.matrices[i, :n, :n], [names[x] for x in cells.labels[i, :n]])
        assert spec.hash() == cells.hex_hashes()[i]
        assert cells.cell_index(spec.matrix, spec.labels()) == i


@needs_shared
def test_sample_cells_match_enumeration_and_parameters(cells):
    sample = json.loads(gzip.open(NB101 / "sample_30k.json.gz").read())
    assert len(sample) == 30_001
    hashes = cells.hex_hashes()
    for cell in sample:
        i = cells.index_of(cell["hash"])
        n = len(cell["ops"])
        assert hashes[i] == cell["hash"]
        assert cells.matrices[i, :n, :n].tolist() == cell["matrix"]
        assert cells.trainable_parameters[i] == cell["trainable_parameters"]
    for cell in sample[:2000]:
        spec = ModelSpec(cell["matrix"], cell["ops"])
        assert spec.hash() == cell["hash"]
        assert trainable_parameters(spec.matrix, spec.ops) == cell["trainable_parameters"]


def test_enumeration_cache_reloads(cells, tmp_path, monkeypatch):
    from benchmark.space import enumeration

    assert enumeration.cache_path().exists()
    monkeypatch.setattr(enumeration, "_TABLE", None)
    again = enumeration.enumerate_cells(progress=False)
    assert np.array_equal(again.hashes, cells.hashes)
    assert np.array_equal(again.cell_of, cells.cell_of)


def test_isomorphism_representatives_and_uniform_sampling(cells):
    from benchmark.space import cell_spec, is_isomorphic, representative, sample_cell

    m = np.array(INCEPTION_MATRIX)
    perm = [0, 2, 1, 3, 4, 5, 6]
    iso = ModelSpec(m[np.ix_(perm, perm)], [INCEPTION_OPS[i] for i in perm])
    base = ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS)
    assert is_isomorphic(base, iso) and iso.hash() == base.hash()
    other = ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS[:1] + [C1] + INCEPTION_OPS[2:])
    assert not is_isomorphic(base, other)
    rep = representative(iso)
    assert rep.original_matrix.tolist() == INCEPTION_MATRIX and rep.hash() == INCEPTION_HASH
    rng = np.random.default_rng(0)
    rows = [cells.index_of(sample_cell(rng).hash()) for _ in range(200)]
    assert min(rows) >= 0 and len(set(rows)) == 200
    assert cell_spec(rows[0]).hash() == cells.hex_hashes()[rows[0]]
    with pytest.raises(ValueError):
        representative(ModelSpec([[0, 0], [0, 0]], ["input", "output"]))
