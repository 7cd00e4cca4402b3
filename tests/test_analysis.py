"""The dataset analysis: each statistic exact on hand-made tables, the locality statistics equal
to brute force (ModelSpec and the official hash) on sub-spaces of encoding A, the command on a
store and on samples, and its refusals."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from benchmark.analysis import budgets, cost, distributions, locality, operations, shape, subset
from benchmark.space.constants import BUDGETS, OPS, slot_bit
from benchmark.space.spec import ModelSpec
from harness.cli.app import main

from .conftest import INCEPTION_MATRIX, NB101, needs_shared
from .helpers import CHROMIUM, render_in_chromium

C3, C1, MP = 0, 1, 2


def row_of(cells, matrix, ops) -> int:
    return cells.index_of(ModelSpec(np.array(matrix), ["input", *ops, "output"]).hash())


def table_of(cells, specs, validation, time, test=None, label="hand-made"):
    """A table of the given (matrix, interior ops) cells with one value per cell at 108."""
    rows = np.array([row_of(cells, m, o) for m, o in specs])
    order = np.argsort(rows)

    def runs(values):
        out = np.full((len(specs), len(BUDGETS), 1), np.nan)
        out[:, -1, 0] = np.asarray(values, float)[order]
        return out

    metrics = {"validation": runs(validation), "time": runs(time)}
    if test is not None:
        metrics["test"] = runs(test)
    return subset(cells, rows[order], metrics, label=label)


# ---- distributions, cost, shape, budgets: hand-computed answers ------------------------------

def test_distributions_by_hand():
    x, y = distributions.ecdf(np.array([0.3, np.nan, 0.1, 0.2, 0.2]))
    assert x.tolist() == [0.1, 0.2, 0.2, 0.3] and y.tolist() == [0.25, 0.5, 0.75, 1.0]
    assert distributions.share_above(np.array([0.95, 0.9, 0.85, np.nan]), 0.9) == 1 / 3
    runs = np.array([[0.90, 0.92, 0.94], [0.5, 0.5, 0.5]])
    assert distributions.repeat_std(runs) == pytest.approx([np.sqrt(8e-4 / 3), 0.0])
    assert distributions.standard_error(runs)[0] == pytest.approx(0.02 / np.sqrt(3))
    assert distributions.pearson(np.array([1, 2, 3, np.nan]), np.array([2, 4, 6, 0])) \
        == pytest.approx(1.0)
    mean = np.array([0.90, 0.94, 0.935, 0.929, np.nan])
    assert distributions.near_best(mean, 0.003).tolist() == [1, 2]   # 0.94 - 0.006 = 0.934
    assert distributions.best(mean) == (1, 0.94)


def test_pareto_front_by_hand():
    time = np.array([10, 20, 5, 30, 20, np.nan])
    acc = np.array([0.90, 0.95, 0.80, 0.94, 0.93, 0.99])
    # 5 s (0.80) -> 10 s (0.90) -> 20 s (0.95); 30 s and the other 20 s cell are beaten
    assert cost.pareto_front(time, acc).tolist() == [2, 0, 1]


def test_depth_and_width_by_hand():
    def padded(matrix):
        out = np.zeros((7, 7), np.int8)
        out[:len(matrix), :len(matrix)] = matrix
        return out

    chain = np.eye(7, k=1, dtype=np.int8)
    fan = np.zeros((7, 7), np.int8)
    fan[0, 1:6] = 1
    fan[1:6, 6] = 1
    diamond = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    skip = [[0, 1, 1], [0, 0, 1], [0, 0, 0]]          # input -> a -> output plus input -> output
    mats = np.stack([chain, fan, padded(INCEPTION_MATRIX), padded(diamond), padded(skip),
                     padded([[0, 1], [0, 0]])])
    nv = np.array([7, 7, 7, 4, 3, 2])
    assert shape.depth(mats, nv).tolist() == [6, 2, 3, 2, 2, 1]
    # a chain: 1 (a free split input/output sides would count 3 edges); inception: 4
    assert shape.width(mats, nv).tolist() == [1, 5, 4, 2, 2, 1]
    keys, counts, means = shape.group_means(np.array([1, 2, 1, 2, 3]),
                                            np.array([0.5, 0.7, 0.7, np.nan, 0.1]))
    assert keys.tolist() == [1, 2, 3] and counts.tolist() == [2, 1, 1]
    assert means == pytest.approx([0.6, 0.7, 0.1])


def test_budget_correlations_by_hand():
    values = np.array([[1, 4, 10], [2, 3, 20], [3, 2, 30], [4, 1, 40]], float)
    rows = budgets.budget_correlations(values, [12, 36, 108], fractions=(1.0, 0.5))
    got = {(r["top"], r["budget_a"], r["budget_b"]): (r["cells"], r["spearman"]) for r in rows}
    assert got[(1.0, 12, 108)] == (4, pytest.approx(1.0))
    assert got[(1.0, 36, 108)] == (4, pytest.approx(-1.0))
    assert got[(0.5, 36, 108)][0] == 2 and np.isnan(got[(0.5, 36, 108)][1])  # < 3 cells
    assert budgets.top_rows(np.array([0.1, np.nan, 0.9, 0.5]), 0.5).tolist() == [2, 3]


# ---- operation replacement: isomorphism-correct pairs, counted once --------------------------

def test_operation_replacement_by_hand(cells):
    line = [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    par = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    specs = [(line, [OPS[C3]]), (line, [OPS[C1]]), (line, [OPS[MP]]),
             (par, [OPS[C3], OPS[C3]]), (par, [OPS[C3], OPS[C1]]), (par, [OPS[C1], OPS[C1]])]
    validation = [0.90, 0.88, 0.85, 0.92, 0.91, 0.87]
    time = [100.0, 80.0, 90.0, 200.0, 150.0, 120.0]
    t = table_of(cells, specs, validation, time)
    value = {t.hashes[i]: (t.mean("validation")[i], t.mean("time")[i]) for i in range(len(t))}
    assert len(value) == 6
    pairs = operations.replacement_pairs(t.matrices, t.labels, t.num_vertices, t.graph_offset,
                                         t.graph_id, t.cell_of)
    # parallel {c3,c3} -> {c3,c1} arises at either vertex: one pair, not two
    assert len(pairs[(C3, C1)]) == 3 and len(pairs[(C1, C3)]) == 3
    assert len(pairs[(C3, MP)]) == 1 and (MP, C1) in pairs
    effects = {(e.a, e.b): e for e in operations.replacement_effects(
        pairs, t.mean("validation"), t.mean("time"))}
    e = effects[(C3, C1)]
    assert e.pairs == 3
    assert e.accuracy_change == pytest.approx(((0.88 - 0.90) + (0.91 - 0.92) + (0.87 - 0.91)) / 3)
    assert e.time_change == pytest.approx((80 / 100 + 150 / 200 + 120 / 150) / 3 - 1)
    assert effects[(MP, C3)].accuracy_change == pytest.approx(0.05)
    assert effects[(C1, MP)].time_change == pytest.approx(90 / 80 - 1)


# ---- locality: equal to brute force on sub-spaces of encoding A ------------------------------

@pytest.fixture(scope="module")
def random_table(cells):
    """Every cell, one random accuracy in [0.8, 0.95] (3 repeats alike) and time."""
    rng = np.random.default_rng(7)
    acc = rng.uniform(0.8, 0.95, len(cells))
    # the best cell and one within 2 standard errors of it lie in the 5-vertex sub-space
    five = np.flatnonzero(cells.num_vertices == 5)
    acc[five[100]], acc[five[2000]] = 0.97, 0.9996 - 0.03
    shape_ = (len(cells), len(BUDGETS), 3)
    runs = np.broadcast_to(acc[:, None, None], shape_).copy()
    runs[:, :, 1] += 0.001   # repeats differ: the best's standard error is 0.001/sqrt(3)
    times = np.broadcast_to(rng.uniform(1e3, 5e3, len(cells))[:, None, None], shape_)
    return subset(cells, np.arange(len(cells)), {"validation": runs, "test": runs,
                                                 "time": times})


def brute_rows(table, n):
    """Row of every point of the n-vertex encoding A, by ModelSpec and the official hash."""
    m, k = n * (n - 1) // 2, n - 2
    rows = np.full((3 ** k, 1 << m), -1)
    for lab in range(3 ** k):
        ops = ["input", *(OPS[o] for o in locality.labelling_ops(lab, k)), "output"]
        for mask in range(1 << m):
            matrix = np.zeros((n, n), int)
            for y in range(n):
                for x in range(y):
                    matrix[x, y] = mask >> slot_bit(x, y) & 1
            spec = ModelSpec(matrix, ops)
            if spec.is_valid:
                rows[lab, mask] = table.row(spec.hash())
    return rows


def brute_distance(rows, targets, n):
    """Edit distance of every point to the closest target point, from the definition."""
    m, k = n * (n - 1) // 2, n - 2
    masks = np.arange(1 << m)
    labs = np.array([locality.labelling_ops(i, k) for i in range(3 ** k)])
    best = np.full(rows.shape, locality.UNREACHED)
    for t_lab, t_mask in np.argwhere(np.isin(rows, targets)):
        edge = np.array([bin(v).count("1") for v in (masks ^ t_mask).tolist()])
        op = (labs != labs[t_lab]).sum(axis=1)
        best = np.minimum(best, op[:, None] + edge[None, :])
    return best


@pytest.fixture(scope="module")
def sub5(random_table):
    space = locality.encoded_space(random_table.graph_offset, random_table.graph_id,
                                   random_table.cell_of, 5)
    return space, brute_rows(random_table, 5)


@pytest.mark.parametrize("n", [3, 4])
def test_points_map_to_cells_as_the_hash_does_small(random_table, n):
    space = locality.encoded_space(random_table.graph_offset, random_table.graph_id,
                                   random_table.cell_of, n)
    fast = np.stack([space.rows(lab, np.arange(space.num_masks))
                     for lab in range(space.num_labellings)])
    assert np.array_equal(fast, brute_rows(random_table, n))


def test_locality_equals_brute_force_on_five_vertices(random_table, sub5):
    space, rows = sub5
    fast = np.stack([space.rows(lab, np.arange(space.num_masks))
                     for lab in range(space.num_labellings)])
    assert np.array_equal(fast, rows) and space.size == 1024 * 27
    # points of every cell
    counts = locality.points_per_row(space, len(random_table))
    assert np.array_equal(counts, np.bincount(rows[rows >= 0], minlength=len(random_table)))
    # the top cells of the sub-space and the distance of every point to them
    fitness = random_table.mean("test")
    seen = np.unique(rows[rows >= 0])
    top = seen[np.argsort(-fitness[seen])[:3]]
    dist = locality.distance_to(space, top)
    expected = brute_distance(rows, top, 5)
    assert np.array_equal(dist, expected)
    hist = locality.distance_histogram(dist)
    assert np.array_equal(hist[:20], np.bincount(expected.ravel(), minlength=20)[:20])
    valid = locality.distance_histogram(dist, space.valid_masks())
    assert valid.sum() == (space.graph >= 0).sum() * space.num_labellings
    # fitness-distance correlation around the best point of the sub-space
    best = seen[np.argmax(fitness[seen])]
    dist = locality.distance_to(space, [best])
    sums = locality.fitness_by_distance(space, dist, fitness)
    d_all = brute_distance(rows, [best], 5)[rows >= 0]
    f_all = fitness[rows[rows >= 0]]
    assert sums["count"].sum() == f_all.size
    assert locality.fdc(sums) == pytest.approx(np.corrcoef(d_all, f_all)[0, 1], abs=1e-9)
    for d in np.unique(d_all):
        assert sums["sum"][d] / sums["count"][d] == pytest.approx(f_all[d_all == d].mean())


def naive_walk(table, n, steps, rng):
    """The random walk from its definition: ModelSpec validity, the official hash."""
    m, k = n * (n - 1) // 2, n - 2

    def row(mask, ops):
        matrix = np.zeros((n, n), int)
        for y in range(n):
            for x in range(y):
                matrix[x, y] = mask >> slot_bit(x, y) & 1
        spec = ModelSpec(matrix, ["input", *(OPS[o] for o in ops), "output"])
        return table.row(spec.hash()) if spec.is_valid else -1

    while True:
        mask, ops = int(rng.integers(1 << m)), list(locality.labelling_ops(
            int(rng.integers(3 ** k)), k))
        current = row(mask, ops)
        if current >= 0:
            break
    out = [current]
    for _ in range(steps):
        while True:
            j = int(rng.integers(m + 2 * k))
            new_mask, new_ops = mask, list(ops)
            if j < m:
                new_mask = mask ^ (1 << j)
            else:
                v, alt = divmod(j - m, 2)
                new_ops[v] = [o for o in range(3) if o != ops[v]][alt]
            r = row(new_mask, new_ops)
            if r >= 0:
                break
        mask, ops = new_mask, new_ops
        out.append(r)
    return np.array(out)


def test_random_walk_equals_the_naive_walk(random_table, sub5):
    space, _ = sub5
    fast = locality.random_walk(space, 400, np.random.default_rng(3))
    slow = naive_walk(random_table, 5, 400, np.random.default_rng(3))
    assert np.array_equal(fast, slow)
    values = random_table.mean("test")[fast]
    shifts = np.array([1, 2, 5])
    rwa = locality.autocorrelation(values, shifts)
    for s, r in zip(shifts, rwa):
        assert r == pytest.approx(np.corrcoef(values[:-s], values[s:])[0, 1])
    assert locality.noise_distance(np.array([1, 4, 9]), np.array([0.9, 0.5, 0.01]), 10_000) \
        == 3.0


def test_neighbours_and_points_of_a_cell(random_table, sub5):
    space, rows = sub5
    t = random_table
    r = row_of_cells(t, [[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1],
                         [0, 0, 0, 0, 0]], [C3, C1, MP])
    mask, ops = locality.point_of(space, t.matrices[r], t.labels[r, :5])
    assert rows[locality.labelling_index(ops), mask] == r
    lab = locality.labelling_index(ops)
    expected = set()
    for b in range(space.bits):
        expected.add(rows[lab, mask ^ (1 << b)])
    for v in range(3):
        for o in locality.OTHER_OPS[ops[v]]:
            new = list(ops)
            new[v] = o
            expected.add(rows[locality.labelling_index(new), mask])
    assert locality.neighbours(space, mask, ops).tolist() == sorted(expected - {-1, r})
    # a 3-vertex cell in the 5-vertex space: its output moves to the last vertex
    small = row_of_cells(t, [[0, 1, 0], [0, 0, 1], [0, 0, 0]], [C1])
    mask, ops = locality.point_of(space, t.matrices[small], t.labels[small, :3])
    assert rows[locality.labelling_index(ops), mask] == small


def row_of_cells(table, matrix, ops):
    return table.row(ModelSpec(np.array(matrix), ["input", *(OPS[o] for o in ops),
                                                  "output"]).hash())


def test_compute_on_a_sub_space_agrees_with_brute_force(random_table, sub5):
    from harness.analyze import compute, side_by_side

    _, rows = sub5
    result = compute(random_table, walk_steps=200, space_vertices=5)
    fitness = random_table.mean("test")
    best = int(np.argmax(fitness))            # the global best: a point of the sub-space?
    counts = np.bincount(rows[rows >= 0], minlength=len(random_table))
    assert result.numbers["best_points"] == counts[best]
    se = 0.001 * np.std([0, 1, 0], ddof=1) / np.sqrt(3)
    top = np.flatnonzero(fitness >= fitness[best] - 2 * se)
    assert result.numbers["near_best"] == top.size - 1
    assert result.numbers["top_points"] == counts[top].sum()
    assert top.size == 2 and counts[best] > 0
    dist = brute_distance(rows, top, 5)
    assert result.numbers["within_6"] == pytest.approx((dist <= 6).mean())
    assert result.numbers["fdc_width"] >= 1 and result.frames["rwa"].shape[0] == 99
    assert any("5-vertex" in n for n in result.notes)
    frame = side_by_side(result)
    assert len(frame) == 18 and not frame["this table"].str.startswith("n/a").any()


# ---- the command ------------------------------------------------------------------------------

def sample_file(path, cells, rows, valued=True):
    data = []
    for r in rows:
        n = int(cells.num_vertices[r])
        data.append({"hash": cells.hashes[r].decode(),
                     "matrix": cells.matrices[r, :n, :n].tolist(),
                     "ops": ["x"] * n, "trainable_parameters": 1,
                     "validation_accuracy_one_run": ({str(b): 0.5 + 1e-6 * r + b / 1000
                                                      for b in BUDGETS} if valued else None),
                     "training_time_108": (100.0 + r % 7) if valued else None})
    with gzip.open(path, "wt") as fh:
        json.dump(data, fh)
    return path


@pytest.fixture(scope="module")
def sample_analysis(tmp_path_factory, cells):
    """A made-up sample of every 97th cell, analysed by the command: (sample, output)."""
    tmp = tmp_path_factory.mktemp("sample")
    path = sample_file(tmp / "s.json.gz", cells, range(0, len(cells), 97))
    out = tmp / "out"
    assert main(["analyze", str(path), "--out", str(out)]) == 0
    return path, out


def test_command_on_a_sample_writes_what_it_can(sample_analysis):
    path, out = sample_analysis
    for name in ("index.html", "side_by_side.md", "side_by_side.csv", "depth_width.png",
                 "depth_width.pdf", "operation_replacement.csv", "budget_correlations.md",
                 "analysis.json"):
        assert (out / name).is_file(), name
    text = (out / "side_by_side.md").read_text()
    assert "n/a: needs every cell of the space (423,624) and the table holds 4,368" in text
    assert "n/a: the table holds no test accuracy" in text
    html = (out / "index.html").read_text()
    assert "data:image/png;base64," in html and "Notes: what could not be computed" in html
    # the same table gives the same bytes; a second run replaces its own earlier analysis
    again = out.parent / "again"
    assert main(["analyze", str(path), "--out", str(again)]) == 0
    assert sorted(p.name for p in again.iterdir()) == sorted(p.name for p in out.iterdir())
    for p in out.iterdir():
        assert p.read_bytes() == (again / p.name).read_bytes(), p.name
    assert main(["analyze", str(path), "--out", str(out), "--walk-steps", "100"]) == 0


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt install chromium); "
                    "the page is checked in a real browser only where one is")
def test_the_analysis_page_renders_in_a_headless_browser(sample_analysis, tmp_path):
    shown, dom = render_in_chromium(sample_analysis[1] / "index.html", tmp_path)
    assert [alt for alt, _, _ in shown] == ["accuracy_ecdf", "cost", "depth_width",
                                            "budget_correlations"]
    assert all(ok and width > 300 for _, ok, width in shown)
    assert "The paper's numbers beside this table's" in dom and "<table>" in dom


@needs_shared
def test_command_on_a_store(tmp_path, store_dir):
    out = tmp_path / "a"
    assert main(["analyze", str(store_dir["only108"]), "--out", str(out)]) == 0
    numbers = json.loads((out / "analysis.json").read_text())["numbers"]
    assert numbers["best_hash"] and 0.9 < numbers["best_test"] < 0.95
    assert numbers["inception_test"] == pytest.approx(0.9308560291926066)
    assert (out / "noise_ecdf.png").is_file()
    notes = json.loads((out / "analysis.json").read_text())["notes"]
    assert any("fewer than two budgets" in n for n in notes)


@pytest.mark.parametrize("case", ["not a table", "no values", "unknown", "occupied"])
def test_bad_input_is_one_line_and_changes_nothing(tmp_path, cells, capsys, case):
    out = tmp_path / "out"
    table = str(tmp_path / "t.json.gz")
    if case == "not a table":
        (tmp_path / "t.json.gz").write_bytes(b"hello")
    elif case == "no values":
        sample_file(tmp_path / "t.json.gz", cells, range(5), valued=False)
    elif case == "unknown":
        table = "nosuch-table"
    else:
        sample_file(tmp_path / "t.json.gz", cells, range(0, len(cells), 997))
        out.mkdir()
        (out / "mine.txt").write_text("keep me")
    assert main(["analyze", table, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nasbench: error:")
    expected = {"not a table": "t.json.gz", "no values": "none of its 5 rows",
                "unknown": "nosuch-table: no such table", "occupied": "did not write"}[case]
    assert expected in err[0]
    if case == "occupied":
        assert [p.name for p in out.iterdir()] == ["mine.txt"]
        assert (out / "mine.txt").read_text() == "keep me"
    else:
        assert not out.exists()


@needs_shared
def test_real_sample_operation_effects_near_the_paper(cells):
    from benchmark.analysis import from_sample

    t = from_sample(NB101 / "sample_30k.json.gz", cells)
    assert len(t) == 25_001
    pairs = operations.replacement_pairs(t.matrices, t.labels, t.num_vertices, t.graph_offset,
                                         t.graph_id, t.cell_of)
    effects = {(e.a, e.b): e for e in operations.replacement_effects(
        pairs, t.mean("validation"), t.mean("time"))}
    e = effects[(C3, C1)]
    assert e.pairs > 1000
    assert e.accuracy_change == pytest.approx(-0.0116, abs=0.003)   # paper: -1.16 %
    assert e.time_change == pytest.approx(-0.1411, abs=0.02)        # paper: -14.11 %
    e = effects[(C3, MP)]
    assert e.time_change == pytest.approx(-0.0984, abs=0.02)        # paper: -9.84 %
