"""The embedded synthetic table resembles the real one and is labelled synthetic."""
from __future__ import annotations

import numpy as np

from benchmark import ModelSpec

from .conftest import INCEPTION_MATRIX, INCEPTION_OPS, NB101, needs_shared


def test_synthetic_table_shape_and_label(synthetic):
    assert len(synthetic) == 423_624 and synthetic.budgets == [4, 12, 36, 108]
    assert synthetic.is_synthetic and "synthetic" in repr(synthetic)
    assert synthetic.manifest["synthetic"] is True


def test_synthetic_statistics_resemble_the_real_table(synthetic):
    medians = [np.median(synthetic.metric("final_validation_accuracy", e)[:, 0])
               for e in (4, 12, 36, 108)]
    assert np.allclose(medians, [0.23, 0.55, 0.87, 0.916], atol=0.03)
    v108 = synthetic.metric("final_validation_accuracy", 108)[:, 0]
    assert abs(np.percentile(v108, 10) - 0.88) < 0.01
    assert 0.94 < v108.max() < 0.965
    t = synthetic.metric("final_training_time", 108)[:, 0]
    assert 1400 < np.median(t) < 1700 and t.min() > 200 and t.max() < 9000
    params = synthetic.array("trainable_parameters")
    assert np.corrcoef(np.log(params), np.log(t))[0, 1] > 0.8
    assert abs(synthetic.best_mean_test_accuracy - 0.943) < 0.005


def test_synthetic_queries_like_the_real_api(synthetic):
    spec = ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS)
    data = synthetic.query(spec, 108, repeat=0)
    assert data["trainable_parameters"] == 2_694_282
    assert 0.1 < data["validation_accuracy"] < 1


def test_synthetic_is_deterministic():
    from benchmark.data.synthetic import generate

    a = generate(0)[1]["final_validation_accuracy"][:1000]
    b = generate(0)[1]["final_validation_accuracy"][:1000]
    assert np.array_equal(a, b)


@needs_shared
def test_low_budgets_rank_cells_like_the_real_table(synthetic):
    """Spearman of one run at 4/12/36 epochs with one at 108, on the cells of the real sample:
    multi-fidelity optimizers see the same signal in low budgets as on the real table."""
    import gzip
    import json

    from scipy.stats import spearmanr

    with gzip.open(NB101 / "sample_30k.json.gz", "rt") as fh:
        sample = json.load(fh)
    rows = synthetic.rows_of_hashes([s["hash"] for s in sample])
    real = {b: np.array([s["validation_accuracy_one_run"][str(b)] for s in sample])
            for b in (4, 12, 36, 108)}
    for b in (4, 12, 36):
        ours = spearmanr(synthetic.metric("final_validation_accuracy", b)[rows, 0],
                         synthetic.metric("final_validation_accuracy", 108)[rows, 0])[0]
        theirs = spearmanr(real[b], real[108])[0]
        assert abs(ours - theirs) < 0.05, (b, ours, theirs)
