"""A results folder's experiment read back (harness.config.read_saved): one reading for the
results loader, the runner's resume and both report commands."""
from __future__ import annotations

import yaml

from harness.config import BudgetConfig, Experiment, read_saved, save_experiment


def test_a_saved_experiment_reads_back_as_written(tmp_path):
    experiment = Experiment(
        budget=BudgetConfig(time=1e3, trajectory="highest_budget"), seeds=2,
        optimizers=[{"name": "random_search"}, {"name": "hyperband", "label": "hb"}],
        report={"times": [10.0, 100.0], "aggregate": "median", "pairs": "all"})
    save_experiment(experiment, tmp_path, [0, 1, 5])
    saved = read_saved(tmp_path)
    assert saved.experiment == experiment.model_copy(update={"seeds": [0, 1, 5]})
    assert saved.seeds == [0, 1, 5]
    assert saved.labels == ["random_search", "hb"]
    assert saved.trajectory == "highest_budget"
    assert saved.report.options() == {"times": [10.0, 100.0], "aggregate": "median",
                                      "baseline": None, "all_pairs": True}


def test_an_experiment_no_longer_valid_is_read_setting_by_setting(tmp_path):
    """A folder written by an older version (a key since removed): each setting that is still
    usable counts, each other one is left at its default."""
    (tmp_path / "experiment.yaml").write_text(yaml.safe_dump({
        "name": "old", "removed_key": 1, "budget": {"time": 1e3, "trajectory": "pooled"},
        "seeds": 3, "optimizers": [{"name": "random_search"}, {"name": "tpe", "label": "t"}],
        "report": {"times": [-1.0], "aggregate": "iqm", "baseline": "t", "colour": "red"}}))
    saved = read_saved(tmp_path)
    assert saved.experiment is None
    assert saved.seeds == [0, 1, 2]
    assert saved.labels == ["random_search", "t"]
    assert saved.trajectory == "pooled"
    assert saved.report.options() == {"times": None, "aggregate": "iqm", "baseline": "t",
                                      "all_pairs": False}


def test_a_folder_without_a_readable_experiment_has_none(tmp_path):
    assert read_saved(tmp_path) is None
    (tmp_path / "experiment.yaml").write_text("- a list, not an experiment\n")
    assert read_saved(tmp_path) is None
    (tmp_path / "experiment.yaml").write_text("seeds: [unclosed\n")
    assert read_saved(tmp_path) is None


def test_a_folder_whose_plugin_cannot_be_imported_here_is_still_read(tmp_path, capsys):
    """Found in review: the runs' expected facts need each optimizer's class; a plug-in not
    importable on this machine made the loader (and so ``nasbench report``) fail as a bug
    instead of reading the folder without them."""
    from harness.cli import main
    from harness.results import load

    experiment = Experiment(budget=BudgetConfig(time=1e4), seeds=1, optimizers=[
        {"name": "random_search"}, {"name": "nosuch_module_here:Optimizer"}])
    save_experiment(experiment, tmp_path / "out", [0])
    assert load(tmp_path / "out").trajectories.empty   # read, nothing in it yet
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump({"budget": {"time": 1e4}, "seeds": 1, "optimizers": [
        {"name": "random_search"}], "execution": {"backend": "local"}}))
    assert main(["run", str(exp), "--output", str(tmp_path / "rs"), "--no-report"]) == 0
    (tmp_path / "rs" / "runs").rename(tmp_path / "out" / "runs")
    assert main(["report", str(tmp_path / "out")]) == 0, capsys.readouterr().err
