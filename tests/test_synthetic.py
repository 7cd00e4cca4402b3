"""The embedded synthetic table resembles the real one and is labelled synthetic."""
from __future__ import annotations

import numpy as np

from benchmark import ModelSpec

from .conftest import INCEPTION_MATRIX, INCEPTION_OPS


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
