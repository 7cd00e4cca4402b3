"""SMAC3's configuration selector with the incumbent's predicted cost found in one model call.

After every retraining, SMAC3 2.x's ``ConfigSelector._get_x_best`` predicts the cost of each
evaluated configuration with its own ``predict_marginalized`` call, one row at a time: with a
thousand observations that is a thousand forest predictions per retraining, about half of an
ask (profiled, paper settings: 5 trees, random fraction 0.33, one evaluation per
configuration).  :class:`BatchedConfigSelector` makes the same predictions in one call: a
tree's prediction for a row does not depend on the other rows, and the forest's mean and
variance per row are reductions along that row alone (the same summation for one row as for
many), so every value, the stable sort and the incumbent picked are SMAC's own.

Its list of processed configurations (every configuration of the run history, and each one
yielded since) is tested for membership at every configuration it yields: a scan of the whole
history, quadratic over a run; it is a :class:`~optimizers.smac_membership.ConfigList` here.

SMAC's fast engine (``optimizers/smac.py``, ``engine: fast``) passes
``config_selector=BatchedConfigSelector(scenario)`` (HPO.get_config_selector's defaults:
``retrain_after=8``, ``max_new_config_tries=16``) to its ``HyperparameterOptimizationFacade``;
``engine: smac3`` keeps SMAC's own selector.  The other replacements are in
:mod:`optimizers.smac_fast`.
"""
from __future__ import annotations

import numpy as np
from smac.main.config_selector import ConfigSelector

from .smac_membership import ConfigList


class BatchedConfigSelector(ConfigSelector):
    """SMAC3's ``ConfigSelector`` whose ``_get_x_best`` predicts all rows in one call and
    whose processed configurations are a :class:`ConfigList`."""

    @property
    def _processed_configs(self) -> ConfigList:
        return self.__dict__["_processed_configs"]

    @_processed_configs.setter
    def _processed_configs(self, configs: list) -> None:
        self.__dict__["_processed_configs"] = ConfigList(configs)

    def _get_x_best(self, X: np.ndarray) -> tuple[np.ndarray, float]:
        if not self._predict_x_best:   # SMAC's own (unused) branch
            return super()._get_x_best(X)
        assert self._model is not None   # SMAC sets it before it selects
        means = self._model.predict_marginalized(X)[0][:, 0]
        best = sorted(range(len(X)), key=means.__getitem__)[0]   # SMAC's stable sort
        return X[best], means[best]
