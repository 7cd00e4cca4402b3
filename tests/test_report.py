"""The reporter: exact numbers on a hand-built folder, figures, bad folders."""
from __future__ import annotations

import numpy as np
import pytest

from harness.cli import main
from harness.report import ReportError, curves, final_table, on_grid, report
from harness.results import RunKey, encode_run, load_trajectories, write_run

Y_VALID, Y_TEST = 0.05, 0.06


def make_run(folder, label, seed, rows):
    """rows: (end, validation_error, test_error, invalid)."""
    n = len(rows)
    arrays = {"trial": np.arange(n), "worker": np.zeros(n, np.int32),
              "budget": np.full(n, 108, np.int32), "hash": np.array(["a" * 32] * n, "S32"),
              "start": np.array([r[0] for r in rows], float) - 1,
              "end": np.array([r[0] for r in rows], float),
              "validation_error": np.array([r[1] for r in rows]),
              "test_error": np.array([r[2] for r in rows]),
              "cost": np.ones(n), "invalid": np.array([r[3] for r in rows])}
    facts = {"label": label, "optimizer": label, "params": {}, "seed": seed, "evaluations": n,
             "time_budget": 1000.0, "workers": 1, "trajectory": "pooled",
             "y_star_valid": Y_VALID, "y_star_test": Y_TEST, "surrogate": True, "encoding": "A",
             "table": "surrogate fitted to 9 real cells, not NAS-Bench-101 results"}
    write_run(folder, RunKey(label, seed), encode_run(arrays, facts))


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
    assert set(iqm.columns) == {"optimizer", "time", "center", "lower", "upper", "runs"}


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
