"""The reporter: exact numbers on hand-built folders (regret, statistics, distinct cells,
overhead), figures, the page in a real browser, bad folders."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from scipy import stats as sps

from harness import stats
from harness.cli import main
from harness.report import (
    ReportError,
    critical_differences,
    curves,
    final_table,
    on_grid,
    report,
    significance,
    summary,
    usage,
    wall_split,
)
from harness.results import RunKey, encode_run, load_trajectories, write_run

from .helpers import CHROMIUM, render_in_chromium

Y_VALID, Y_TEST = 0.05, 0.06


def make_run(folder, label, seed, rows, hashes=None, overhead=None):
    """rows: (end, validation_error, test_error, invalid)."""
    n = len(rows)
    hashes = hashes or ["a" * 32] * n
    arrays = {"trial": np.arange(n), "worker": np.zeros(n, np.int32),
              "budget": np.full(n, 108, np.int32), "hash": np.array(hashes, "S32"),
              "start": np.array([r[0] for r in rows], float) - 1,
              "end": np.array([r[0] for r in rows], float),
              "validation_error": np.array([r[1] for r in rows]),
              "test_error": np.array([r[2] for r in rows]),
              "cost": np.ones(n), "invalid": np.array([r[3] for r in rows])}
    facts = {"label": label, "optimizer": label, "params": {}, "seed": seed, "evaluations": n,
             "time_budget": 1000.0, "workers": 1, "trajectory": "pooled",
             "y_star_valid": Y_VALID, "y_star_test": Y_TEST, "surrogate": True, "encoding": "A",
             "table": "surrogate fitted to 9 real cells, not NAS-Bench-101 results"}
    write_run(folder, RunKey(label, seed), encode_run(arrays, facts), overhead)


@pytest.fixture
def folder(tmp_path):
    make_run(tmp_path, "alpha", 0, [(10, 0.30, 0.31, False), (20, 1.0, 1.0, True),
                                    (30, 0.20, 0.22, False), (100, 0.25, 0.10, False)])
    make_run(tmp_path, "alpha", 1, [(5, 0.40, 0.41, False), (50, 0.10, 0.12, False)])
    make_run(tmp_path, "beta", 0, [(15, 0.15, 0.16, False)])
    return tmp_path


def test_trajectories_carry_the_incumbent(folder):
    traj = load_trajectories(folder)
    a0 = traj[(traj.optimizer == "alpha") & (traj.seed == 0)]
    assert a0["incumbent_test_error"].tolist() == [0.31, 0.31, 0.22, 0.22]
    assert np.allclose(a0["test_regret"], np.array([0.31, 0.31, 0.22, 0.22]) - Y_TEST)
    assert np.allclose(a0["validation_regret"], np.array([0.3, 0.3, 0.2, 0.2]) - Y_VALID)


def test_table_equals_a_direct_computation(folder):
    table = final_table(folder, times=[12, 40, 60])
    alpha = table[table.optimizer == "alpha"].set_index("time")
    # alpha at t=12: seed0 inc test 0.31, seed1 0.41; t=40: 0.22, 0.41; t=60: 0.22, 0.12
    for t, values in ((12, [0.31, 0.41]), (40, [0.22, 0.41]), (60, [0.22, 0.12])):
        v = np.array(values) - Y_TEST
        assert alpha.loc[t, "mean"] == pytest.approx(v.mean(), abs=1e-15)
        assert alpha.loc[t, "se"] == pytest.approx(v.std(ddof=1) / np.sqrt(2), abs=1e-15)
        assert alpha.loc[t, "median"] == pytest.approx(np.median(v), abs=1e-15)
        assert alpha.loc[t, "runs"] == 2
    beta = table[table.optimizer == "beta"].set_index("time")
    assert beta.loc[12, "runs"] == 0 and np.isnan(beta.loc[12, "mean"])  # no result yet
    assert beta.loc[40, "mean"] == pytest.approx(0.16 - Y_TEST) and beta.loc[40, "runs"] == 1


def test_grid_and_aggregates(folder):
    grid = np.array([5.0, 10.0, 29.9, 30.0, 1000.0])
    table = on_grid(load_trajectories(folder), grid, "test_regret")
    assert np.allclose(table.loc[("alpha", 0)].to_numpy(),
                       np.array([np.nan, 0.31, 0.31, 0.22, 0.22]) - Y_TEST, equal_nan=True)
    med = curves(folder, aggregate="median", grid=grid)
    row = med[(med.optimizer == "alpha") & (med.time == 1000.0)].iloc[0]
    assert row.center == pytest.approx(np.median([0.22 - Y_TEST, 0.12 - Y_TEST]))
    iqm = curves(folder, aggregate="iqm", grid=grid)
    assert set(iqm.columns) == {"optimizer", "time", "center", "lower", "upper", "runs",
                                "complete"}
    last = iqm[(iqm.optimizer == "alpha") & (iqm.time == 1000.0)].iloc[0]
    values = np.array([0.22, 0.12]) - Y_TEST
    assert last.center == pytest.approx(sps.trim_mean(values, 0.25)) and last.runs == 2
    assert last.lower <= last.center <= last.upper
    assert min(values) <= last.lower and last.upper <= max(values)   # resampled means


def test_report_writes_figures_and_tables(folder, capsys):
    from PIL import Image

    out = report(folder, times=[40, 100])
    printed = capsys.readouterr().out
    assert "| alpha |" in printed
    assert "surrogate fitted to 9 real cells, not NAS-Bench-101 results" in printed
    for stem in ("test_regret", "validation_regret", "test_regret_ecdf", "average_rank"):
        png, pdf = out / f"{stem}.png", out / f"{stem}.pdf"
        assert pdf.stat().st_size > 1000 and pdf.read_bytes().startswith(b"%PDF")
        with Image.open(png) as image:
            w, h = image.size
            assert 900 < w < 1300 and 600 < h < 900
            assert np.unique(np.asarray(image.convert("L"))).size > 20  # not blank
    assert (out / "final_regret.md").read_text().count("| alpha |") == 2
    assert "alpha" in (out / "final_regret.csv").read_text()


def test_corrupt_files_are_skipped_with_a_warning(folder, caplog):
    bad = folder / "runs" / "alpha" / "seed-7.npz"
    bad.write_bytes(b"not a zip")
    traj = load_trajectories(folder)
    assert set(traj.seed[traj.optimizer == "alpha"]) == {0, 1}
    assert "seed-7.npz" in caplog.text


def test_empty_or_missing_folder_is_one_line_exit_2(tmp_path, capsys):
    with pytest.raises(ReportError):
        report(tmp_path)
    assert main(["report", str(tmp_path)]) == 2
    assert main(["report", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "no readable run results" in err


def test_report_cli(folder, capsys):
    assert main(["report", str(folder), "--aggregate", "median", "--times", "40,100"]) == 0
    assert main(["report", str(folder), "--times", "soon"]) == 2
    assert "figures and tables in" in capsys.readouterr().out


# -- statistics -------------------------------------------------------------------------------

def final_regrets(folder, values: dict[str, dict[int, float]]):
    """A folder where each run has one evaluation at t=10 with test regret ``values[opt][seed]``."""
    for label, per_seed in values.items():
        for seed, v in per_seed.items():
            make_run(folder, label, seed, [(10, v + Y_VALID, v + Y_TEST, False)],
                     overhead=np.array([0.001 * (seed + 1)]))
    return folder


A = [0.010, 0.012, 0.008, 0.011, 0.009, 0.013]
B = [0.020, 0.018, 0.011, 0.025, 0.019, 0.017]
C = [0.015, 0.030, 0.007, 0.022, 0.016, 0.021]


def test_pairwise_tests_equal_scipy_with_holm(tmp_path):
    folder = final_regrets(tmp_path, {"a": dict(enumerate(A)), "b": dict(enumerate(B)),
                                      "c": dict(enumerate(C))})
    table, notes = significance(folder, [100.0])
    assert len(table) == 6 and set(table["test"]) == {"wilcoxon"}
    # 6 seeds: the smallest one-sided p is 1/64, times 6 tests is above 0.05, and the page says so
    assert notes == ["at 100 s: no test can reach p < 0.05 with 6 seed(s): Holm's correction "
                     "over 6 one-sided tests needs a p below 0.00833, which the exact tests "
                     "cannot give on so few runs; 7 seeds run by every optimizer would be "
                     "needed"]
    row = table[(table.a == "a") & (table.b == "b")].iloc[0]
    diff = np.array(A) - np.array(B)
    assert row.p == pytest.approx(sps.wilcoxon(diff, alternative="less").pvalue, abs=1e-12)
    assert row.p_a_lower == 1.0 and row.n_a == row.n_b == 6
    # Holm: the i-th smallest of m p-values times (m - i), made monotone, capped at 1
    p = table["p"].to_numpy()
    order = np.argsort(p)
    expected = np.minimum(1, np.maximum.accumulate((6 - np.arange(6)) * p[order]))
    assert np.allclose(table["p_holm"].to_numpy()[order], expected)
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_unpaired_seeds_use_mann_whitney_and_say_so(tmp_path):
    folder = final_regrets(tmp_path, {"a": dict(enumerate(A)),
                                      "b": {s + 10: v for s, v in enumerate(B)}})
    table, notes = significance(folder, [100.0])
    row = table[(table.a == "a") & (table.b == "b")].iloc[0]
    assert row.test == "mann-whitney"
    assert row.p == pytest.approx(sps.mannwhitneyu(A, B, alternative="less").pvalue, abs=1e-12)
    x, y = np.array(A), np.array(B)
    assert row.p_a_lower == pytest.approx(np.mean((x[:, None] < y) + 0.5 * (x[:, None] == y)))
    assert notes == ["at 100 s: seeds differ for a/b: compared unpaired (Mann-Whitney U) "
                     "instead of paired by seed (Wilcoxon)"]
    # Friedman needs seeds that every optimizer ran: none here
    diagrams, notes = critical_differences(folder, [100.0])
    assert diagrams == {} and len(notes) == 1
    assert "needs at least 3 optimizers" in notes[0]


def test_too_few_seeds_name_the_test_and_how_many(tmp_path):
    folder = final_regrets(tmp_path, {n: dict(enumerate(v[:4])) for n, v in
                                      (("a", A), ("b", B), ("c", C))})
    table, notes = significance(folder, [100.0])
    assert table.empty and notes == [
        "at 100 s: the Wilcoxon signed-rank test (paired by seed) needs at least 5 seeds, got 4 "
        "for a/b, a/c, b/c: not tested",
        "at 100 s: no test can reach p < 0.05 with 4 seed(s): Holm's correction over 6 "
        "one-sided tests needs a p below 0.00833, which the exact tests cannot give on so few "
        "runs; 7 seeds run by every optimizer would be needed"]
    with pytest.raises(stats.Untestable, match="got 4 for a/b"):
        stats.pair_test("a", "b", dict(enumerate(A[:4])), dict(enumerate(B[:4])))
    _, notes = critical_differences(folder, [100.0])
    assert notes == ["at 100 s: the Friedman test (critical-difference diagram) needs at least "
                     "5 seeds run by every optimizer, got 4"]


def test_friedman_and_nemenyi_equal_the_textbook():
    rng = np.random.default_rng(1)
    matrix = np.column_stack([rng.normal(m, 1, 12) for m in (0, 0.2, 3, 3.1)])
    result = stats.friedman(["w", "x", "y", "z"], matrix)
    assert result.p == pytest.approx(sps.friedmanchisquare(*matrix.T).pvalue)
    ranks = sps.rankdata(matrix, axis=1).mean(axis=0)
    assert set(result.names[:2]) == {"w", "x"} and np.allclose(result.ranks, np.sort(ranks))
    # Demšar (2006), Table 5(a): q_0.05 = 2.569 for k = 4
    assert result.cd == pytest.approx(2.569 * np.sqrt(4 * 5 / (6 * 12)), abs=1e-3)
    assert result.p < 0.05 and result.groups == [(0, 1), (2, 3)]
    tied = stats.friedman(["a", "b", "c"], np.ones((6, 3)))
    assert tied.p == 1.0 and tied.groups == [(0, 2)]


def test_bootstrap_bands_are_scipys_percentile_intervals():
    values = np.array([[0.1, 0.2], [0.3, np.nan], [0.2, 0.5], [0.4, 0.1]])
    center, lower, upper = stats.bootstrap_band(values, "iqm", np.random.default_rng(5))
    ref = sps.bootstrap((values[:, :1],), stats.iqm, n_resamples=stats.BOOTSTRAP_RESAMPLES,
                        axis=0, vectorized=True, method="percentile", batch=200,
                        rng=np.random.default_rng(5))
    assert center[0] == pytest.approx(sps.trim_mean(values[:, 0], 0.25))
    assert (lower[0], upper[0]) == pytest.approx((ref.confidence_interval.low[0],
                                                  ref.confidence_interval.high[0]))
    assert center[1] == pytest.approx(sps.trim_mean([0.2, 0.5, 0.1], 0.25))  # NaN left out
    assert lower[1] <= center[1] <= upper[1]
    one = stats.bootstrap_band(np.array([[0.3]]), "mean", np.random.default_rng(0))
    assert [x[0] for x in one] == [0.3, 0.3, 0.3]


def test_anytime_log_regret_integrates_the_step_function():
    # regret 1e-1 on [10, 100), 1e-3 on [100, 1000]: the mean over log time is -2
    times, regret = np.array([5.0, 100.0]), np.array([0.1, 0.001])
    assert stats.anytime_log_regret(times, regret, 10.0, 1000.0) == pytest.approx(-2.0)
    # below the floor counts as the floor
    assert stats.anytime_log_regret(np.array([1.0]), np.array([-0.01]), 10, 100) == \
        pytest.approx(np.log10(stats.REGRET_FLOOR))


def test_distinct_cells_repeats_and_overhead_per_run(tmp_path):
    rows = [(10, 0.3, 0.3, False), (20, 1.0, 1.0, True), (30, 0.2, 0.2, False),
            (40, 0.25, 0.25, False), (50, 0.1, 0.1, False)]
    hashes = ["a" * 32, "", "b" * 32, "a" * 32, "c" * 32]
    make_run(tmp_path, "alpha", 0, rows, hashes, overhead=np.array([0.1, 0.2, 0.3, 0.4, 0.5]))
    make_run(tmp_path, "alpha", 1, rows[:1], hashes[:1], overhead=np.array([0.7]))
    per_run = usage(tmp_path).set_index("seed")
    assert per_run.loc[0, ["evaluations", "valid", "distinct_cells"]].tolist() == [5, 4, 3]
    assert per_run.loc[0, "repeat_share"] == pytest.approx(0.25)
    assert per_run.loc[0, "optimizer_seconds"] == pytest.approx(0.5)
    # anytime span: from 10 (both runs have an incumbent) to the budget, 1000 s
    expected = (np.log10(0.3 - Y_TEST) * np.log10(3) + np.log10(0.2 - Y_TEST) * np.log10(5 / 3)
                + np.log10(0.1 - Y_TEST) * np.log10(20)) / 2
    assert per_run.loc[0, "anytime_log_regret"] == pytest.approx(expected)
    table = summary(tmp_path).iloc[0]
    assert table.runs == 2 and table.optimizer_seconds == pytest.approx(0.6)
    assert table.distinct_cells == pytest.approx(2.0)


def _html_files(out):
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix != ".pdf"}


def test_report_is_complete_and_reproducible(tmp_path, capsys):
    values = {"a": dict(enumerate(A)), "b": dict(enumerate(B)), "c": dict(enumerate(C))}
    folder = final_regrets(tmp_path / "f", values)
    out = report(folder, times=[100.0])
    for stem in ("test_regret", "test_regret_aggregates", "critical_difference_100",
                 "distinct_cells", "optimizer_overhead"):
        assert (out / f"{stem}.png").stat().st_size > 1000
        assert (out / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
    assert "| a |" in (out / "significance.md").read_text()
    page = (out / "index.html").read_text()
    assert page.index('alt="test_regret"') < page.index("<img", page.index("Final test"))
    assert "surrogate table: NOT NAS-Bench-101 results" in page
    first = _html_files(out)
    shutil.rmtree(out)
    report(folder, times=[100.0])
    assert _html_files(out) == first   # same results, same bytes


def test_bad_report_input_is_one_line_each_and_the_rest_is_written(tmp_path, caplog):
    folder = final_regrets(tmp_path, {"a": dict(enumerate(A[:3])),
                                      "b": {s + 10: v for s, v in enumerate(B[:3])}})
    (folder / "runs" / "a" / "seed-0.overhead.npy").unlink()
    assert main(["report", str(folder), "--times", "100,5000"]) == 0
    assert [r.message for r in caplog.records if r.levelname == "WARNING"] == [
        "report time 5000 s is beyond every run's time budget (1000 s): left out",
        "at 100 s: the Mann-Whitney U test (unpaired: the seeds differ) needs at least 4 runs "
        "of each optimizer, got 3 and 3 for a/b: not tested",
        "at 100 s: no test can reach p < 0.05 with 3 seed(s): Holm's correction over 2 "
        "one-sided tests needs a p below 0.025, which the exact tests cannot give on so few "
        "runs; 6 seeds run by every optimizer would be needed",
        "at 100 s: the Friedman test (critical-difference diagram) needs at least 3 "
        "optimizers, got 2 (a ran seeds 0-2; b ran seeds 10-12)",
        "optimizer overhead was not recorded for some runs (made by a version before it "
        "was): no overhead figure"]
    out = folder / "report"
    assert (out / "test_regret.png").exists() and (out / "summary.md").exists()
    assert "is beyond every run" in (out / "index.html").read_text()
    assert "| a | 3 |" in (out / "summary.md").read_text()
    assert (out / "summary.md").read_text().count("| n/a |") == 1   # a's overhead: not all known


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt install chromium); "
                    "the page is checked in a real browser only where one is")
def test_the_page_renders_in_a_headless_browser(tmp_path):
    values = {"a": dict(enumerate(A)), "b": dict(enumerate(B)), "c": dict(enumerate(C))}
    out = report(final_regrets(tmp_path / "f", values), times=[100.0], show=False)
    shown, dom = render_in_chromium(out / "index.html", tmp_path)
    assert [alt for alt, _, _ in shown][:2] == ["test_regret", "validation_regret"]
    assert len(shown) >= 8 and all(ok and width > 300 for _, ok, width in shown)
    assert "<table>" in dom and "Experiment settings" in dom


def test_highest_budget_trajectory_by_hand():
    """HPOBench's incumbent: the best validation error among evaluations at the highest budget
    seen so far; the paper's pools every budget."""
    from harness.results import trajectory

    arrays = {"validation_error": np.array([0.30, 0.50, 0.10, 0.40, 0.45]),
              "test_error": np.array([0.31, 0.51, 0.11, 0.41, 0.46]),
              "budget": np.array([4, 108, 4, 108, 36]), "invalid": np.zeros(5, bool),
              "end": np.arange(1.0, 6.0)}
    highest = trajectory(arrays, 0.0, 0.0, "highest_budget")
    assert highest["incumbent_validation_error"].tolist() == [0.30, 0.50, 0.50, 0.40, 0.40]
    assert highest["incumbent_test_error"].tolist() == [0.31, 0.51, 0.51, 0.41, 0.41]
    pooled = trajectory(arrays, 0.0, 0.0, "pooled")
    assert pooled["incumbent_validation_error"].tolist() == [0.30, 0.30, 0.10, 0.10, 0.10]


# -- what a researcher sees first: curves, visibility, tests against a baseline, failures ------

def test_aggregate_curves_are_solid_only_over_every_run(tmp_path):
    """A run that gets its incumbent late, and badly, would lift the mean of the others: the
    curve is 'complete' (solid) only from the time every run has one, and from there the
    aggregate of that fixed set never rises (validation regret; test regret here too, as the
    incumbents' test errors fall with their validation errors)."""
    make_run(tmp_path, "x", 0, [(10, 0.30, 0.31, False), (200, 0.10, 0.11, False)])
    make_run(tmp_path, "x", 1, [(20, 0.20, 0.21, False), (300, 0.09, 0.10, False)])
    make_run(tmp_path, "x", 2, [(20, 1.0, 1.0, True), (100, 0.60, 0.61, False),
                                (400, 0.08, 0.09, False)])
    grid = np.geomspace(10, 1000, 60)
    for metric in ("validation_regret", "test_regret"):
        for how in stats.AGGREGATES:
            c = curves(tmp_path, metric, how, grid)
            assert (c["complete"] == (c["time"] >= 100)).all()
            assert (c["runs"] == np.select([c.time >= 100, c.time >= 20, c.time >= 10],
                                           [3, 2, 1], 0)).all()
            solid = c[c["complete"]]["center"].to_numpy()
            assert np.all(np.diff(solid) <= 0), (metric, how)
    mean = curves(tmp_path, "test_regret", "mean", grid)
    partial = mean[~mean["complete"]]["center"].to_numpy()
    assert mean[mean.complete]["center"].iloc[0] > partial[-1]   # what the rule keeps apart


def _axes_pixels(png):
    """The pixels inside the axes frame of a one-axes figure (its black spines)."""
    from PIL import Image

    with Image.open(png) as image:
        rgb = np.asarray(image.convert("RGB")).astype(int)
    dark = rgb.max(axis=2) < 60
    rows = np.flatnonzero(dark.mean(axis=1) > 0.5)
    cols = np.flatnonzero(dark.mean(axis=0) > 0.4)
    assert rows.size >= 2 and cols.size >= 2, "no axes frame found"
    return rgb[rows.min() + 3:rows.max() - 2, cols.min() + 3:cols.max() - 2]


def _near(pixels, colour, tolerance=40):
    target = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels - target).sum(axis=2) < tolerance).sum())


def test_every_optimizer_is_visible_where_lines_coincide(tmp_path):
    """Random search and regularized evolution share their first configurations: identical
    runs.  Each must still show in the PNG's plot area (the baseline on top, thinner; the other
    wider below it, with markers at other points)."""
    from harness import figures

    rows = [(10 * 2 ** i, 0.3 / (i + 1), 0.31 / (i + 1), False) for i in range(8)]
    for label in ("random_search", "regularized_evolution", "tpe"):
        for seed in range(3):
            make_run(tmp_path, label, seed, rows)
    out = report(tmp_path, show=False)
    styles = figures.style(["random_search", "regularized_evolution", "tpe"], "random_search")
    for stem in ("test_regret", "validation_regret", "test_regret_ecdf", "distinct_cells"):
        pixels = _axes_pixels(out / f"{stem}.png")
        for name, s in styles.items():
            assert _near(pixels, s.colour) > 30, (stem, name)
    # the check can fail: one line drawn exactly over another hides it
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    for name in ("regularized_evolution", "random_search"):
        ax.plot([1, 2, 3], [3, 2, 1], color=styles[name].colour, lw=2)
    fig.savefig(tmp_path / "hidden.png")
    plt.close(fig)
    hidden = _axes_pixels(tmp_path / "hidden.png")
    assert _near(hidden, styles["regularized_evolution"].colour) == 0


def test_styles_are_fixed_and_distinct_for_twelve():
    from harness import figures

    custom = [f"mine_{i}" for i in range(12)]
    styles = figures.style(custom)
    assert len({s.colour for s in styles.values()}) == 12
    assert len({s.marker for s in styles.values()}) == 12
    mixed = figures.style(["tpe", "mine_0", "random_search", *custom[1:9]])
    assert len({s.colour for s in mixed.values()}) == 11
    assert mixed["tpe"].colour == figures.style(["tpe"])["tpe"].colour == figures.PALETTE[5]
    assert mixed["random_search"].colour == figures.PALETTE[0]


def test_each_optimizer_against_the_baseline_by_default(tmp_path):
    rs = [0.020, 0.018, 0.021, 0.025, 0.019, 0.017, 0.022, 0.023]
    good = [v - 0.005 - 0.001 * i for i, v in enumerate(rs)]
    same = [v + (0.001 if i % 2 else -0.001) for i, v in enumerate(rs)]
    folder = final_regrets(tmp_path, {"random_search": dict(enumerate(rs)),
                                      "good": dict(enumerate(good)),
                                      "same": dict(enumerate(same))})
    table, notes = significance(folder, [100.0])
    assert notes == [] and len(table) == 2 and set(table["b"]) == {"random_search"}
    assert set(table["alternative"]) == {"two-sided"}
    row = table.set_index("a").loc["good"]
    p = sps.wilcoxon(np.array(good) - rs, alternative="two-sided").pvalue
    p_same = sps.wilcoxon(np.array(same) - rs, alternative="two-sided").pvalue
    assert row.p == pytest.approx(p) and row.p_holm == pytest.approx(stats.holm([p, p_same])[0])
    assert row.significant and row.p_a_lower == 1.0
    assert not table.set_index("a").loc["same"].significant
    every, _ = significance(folder, [100.0], all_pairs=True)
    assert len(every) == 6 and set(every["alternative"]) == {"less"}
    other, _ = significance(folder, [100.0], baseline="same")
    assert set(other["b"]) == {"same"}
    with pytest.raises(ReportError, match="baseline 'nope' is not among the optimizers"):
        significance(folder, [100.0], baseline="nope")
    out = report(folder, times=[100.0], show=False)
    md = (out / "significance.md").read_text()
    assert "Each optimizer against random_search" in md
    assert "| good | wilcoxon | 8 | **" in md and "lower regret" in md
    assert "| same | wilcoxon | 8 |" in md and "no significant difference" in md
    assert "Each optimizer against random_search" in (out / "index.html").read_text()


def test_the_page_says_when_no_test_can_reach_alpha(tmp_path):
    """5 seeds, 6 optimizers against random search: Holm needs p < 0.05/6, a two-sided exact
    Wilcoxon on 5 seeds gives at least 1/16; the page says so and that 8 seeds would do."""
    names = ["random_search", "a", "b", "c", "d", "e", "f"]
    rng = np.random.default_rng(3)
    folder = final_regrets(tmp_path, {n: dict(enumerate(rng.uniform(0.01, 0.02, 5) - 0.002 * i))
                                      for i, n in enumerate(names)})
    out = report(folder, times=[100.0], show=False)
    page = (out / "index.html").read_text()
    assert ("no test can reach p &lt; 0.05 with 5 seed(s): Holm&#x27;s correction over 6 "
            "two-sided tests") in page
    assert "8 seeds run by every optimizer would be needed" in page
    assert "None: every test and figure could be computed" not in page
    assert stats.fewest_seeds(6, "two-sided") == 8
    assert stats.smallest_p(True, 7, 7, "two-sided") * 6 >= 0.05
    assert stats.smallest_p(True, 8, 8, "two-sided") * 6 < 0.05


def test_a_failed_optimizer_never_disappears(tmp_path):
    from harness.report import failure_notes
    from harness.report_text import run_counts
    from harness.results import load

    final_regrets(tmp_path, {"a": dict(enumerate(A[:3]))})
    for label, seeds in (("a", (3, 4)), ("broken", (0, 1))):
        for seed in seeds:
            RunKey(label, seed).failed_path(tmp_path).parent.mkdir(parents=True, exist_ok=True)
            RunKey(label, seed).failed_path(tmp_path).write_text(
                f"Traceback (most recent call last):\n  File \"x.py\", line 1\n"
                f"ValueError: boom {seed}\n\n")
    loaded = load(tmp_path)
    assert loaded.failures == {"a": {3: "ValueError: boom 3", 4: "ValueError: boom 4"},
                               "broken": {0: "ValueError: boom 0", 1: "ValueError: boom 1"}}
    assert run_counts(loaded, ["a", "broken"]) == {"a": "3 runs; 2 of 5 failed",
                                                "broken": "all 2 runs failed"}
    assert failure_notes(loaded) == [
        "a: 2 of 5 runs failed (first, seed 3: ValueError: boom 3; tracebacks in "
        "runs/a/seed-*.failed.txt): its figures and tables use the 3 runs that finished",
        "broken: 2 of 2 runs failed (first, seed 0: ValueError: boom 0; tracebacks in "
        "runs/broken/seed-*.failed.txt): it has no results"]
    out = report(tmp_path, times=[100.0], show=False)
    final = (out / "final_regret.md").read_text()
    assert "| broken | 100 | | | | | 0 | 2: ValueError: boom 0 |" in final
    assert "| 3 | 2: ValueError: boom 3 |" in final
    assert "| broken | 0 | 2 |" in (out / "summary.md").read_text()
    assert "broken: 2 of 2 runs failed" in (out / "index.html").read_text()
    table = final_table(tmp_path, [100.0]).set_index("optimizer")
    assert table.loc["broken", "failed"] == 2 and table.loc["broken", "runs"] == 0


def test_legends_cover_no_axis_label_and_the_ecdf_starts_at_zero(tmp_path, monkeypatch):
    from harness import figures

    saved, save = {}, figures._save

    def keep(fig, stem):
        save(fig, stem)
        if not fig.legends:   # the critical-difference diagram has none
            return
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        legend = fig.legends[0].get_window_extent(renderer)
        labels = [t.get_window_extent(renderer) for ax in fig.axes
                  for t in (ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels())
                  if t.get_text()]
        axes = [ax.get_window_extent(renderer) for ax in fig.axes]
        saved[stem.name] = (legend, labels, axes)
        lines = [(line.get_xdata(), line.get_ydata()) for ax in fig.axes for line in ax.lines]
        saved[stem.name + "_lines"] = lines

    monkeypatch.setattr(figures, "_save", keep)
    values = {"a": dict(enumerate(A)), "b": dict(enumerate(B)), "c": dict(enumerate(C))}
    report(final_regrets(tmp_path, values), times=[100.0], show=False)
    for stem in ("test_regret_aggregates", "test_regret", "test_regret_ecdf", "average_rank"):
        legend, labels, axes = saved[stem]
        assert labels and not any(legend.overlaps(box) for box in labels + axes), stem
    ecdf_lines = saved["test_regret_ecdf_lines"]
    assert len(ecdf_lines) == 3 and all(np.asarray(y)[0] == 0 and np.asarray(y)[-1] == 1
                                        for _, y in ecdf_lines)


def test_report_help_says_what_the_aggregates_draw(capsys):
    assert main(["report", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split()).replace("- ", "-")
    assert "95% percentile-bootstrap band" in text and "s.e." not in text
    assert "--baseline" in text and "--all-pairs" in text


def test_where_a_runs_time_goes(tmp_path):
    """metadata.json's wall per run, less the run's optimizer seconds, is the harness's share;
    runs it does not record (an earlier invocation's) are left out of the means."""
    values = {"a": dict(enumerate(A[:3])), "b": dict(enumerate(B[:3]))}
    folder = final_regrets(tmp_path / "f", values)
    per_run = usage(folder)
    assert wall_split(folder, per_run).empty   # no metadata.json: no figure
    walls = {"a/0": 2.0, "a/1": 3.0, "b/0": 0.5}
    (folder / "metadata.json").write_text(json.dumps({"wall_seconds_per_run": walls}))
    split = wall_split(folder, per_run).set_index("optimizer")
    spent = per_run.set_index(["optimizer", "seed"])["optimizer_seconds"]
    assert split.loc["a", "runs"] == 2 and split.loc["b", "runs"] == 1
    assert split.loc["a", "optimizer_seconds"] == pytest.approx((spent["a", 0] + spent["a", 1]) / 2)
    assert split.loc["a", "harness_seconds"] == pytest.approx(
        (2.0 - spent["a", 0] + 3.0 - spent["a", 1]) / 2)
    out = report(folder, times=[100.0], show=False)
    assert (out / "time_split.png").stat().st_size > 1000
    assert 'alt="time_split"' in (out / "index.html").read_text()
