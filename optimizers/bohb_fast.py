"""hpbandster's BOHB configuration generator with its per-sample overhead removed: the same draws,
densities and configurations.

Profiled with the paper's settings (4 samples, no random fraction) on encoding A, a BOHB run
spends ~80 % of its time in ``get_config`` outside its decisions: per sampled configuration it
asks ConfigSpace's deprecated ``get_hyperparameter``/``get_hyperparameter_by_idx`` once per
hyperparameter (each call a deprecation warning, filtered), builds the configuration four times
over (``Configuration(vector=...)``, then ``deactivate_inactive_hyperparameters`` twice, each
two validated constructions from values), and evaluates both densities once more for a debug
line that is formatted whether or not it is logged.

:class:`FastBOHBGenerator` is hpbandster 0.7.4's ``BOHB.get_config`` (BSD-3) step for step on
spaces of categorical hyperparameters with distinct choices and neither conditions nor forbidden
clauses (encodings A and B); any other space gets hpbandster's own.  On such a space:

* every hyperparameter is categorical: hpbandster's truncated-normal branch for numbers and
  its per-index test of the type are not needed;
* ``deactivate_inactive_hyperparameters(values)`` has nothing to deactivate and returns the
  configuration of the same values, whose vector is the one the values came from (a choice's
  vector is its index, distinct choices: one to one), so the configuration made from the vector
  is kept and its ``dict`` is the same values, in the same order, of the same types (each
  looked up in a table of ``to_value`` per choice index, as ``Configuration.__getitem__``
  computes it);
* the debug line's densities are computed only when it is logged (they draw nothing).

The random draws (hpbandster's from numpy's global generator, here from the generator's
own ``RandomState`` seeded as :class:`optimizers.hyperband.BOHB` seeds the global one for
hpbandster's path) and the configuration space's own are made in the same order; where
hpbandster's final conversion fails (its fallback to a random configuration when no sample had
a finite score leaves a dict, whose ``get_dictionary`` raises), the same warning and the same
second random configuration follow.  Its warnings are its own texts.
``tests/test_bohb_fast.py`` compares the generators' proposals and the run files byte for byte.
"""
from __future__ import annotations

import logging
import traceback
from typing import Any

import numpy as np
from ConfigSpace import CategoricalHyperparameter, Configuration
from hpbandster.optimizers.config_generators.bohb import BOHB as KDEGenerator


def plain_categorical(space: Any) -> bool:
    """Whether ``space`` is one :class:`FastBOHBGenerator` handles: categorical hyperparameters
    with distinct choices only, no conditions, no forbidden clauses."""
    if space.forbidden_clauses or space.conditions:
        return False
    return all(type(hp) is CategoricalHyperparameter and len(set(hp.choices)) == len(hp.choices)
               for hp in space.values())


class FastBOHBGenerator(KDEGenerator):
    """hpbandster's BOHB generator; :meth:`get_config` is its own, less overhead, on the spaces
    :func:`plain_categorical` accepts, drawing what hpbandster draws from numpy's global
    generator from :attr:`random` instead (the caller seeds it as it would seed the global one:
    the same draws, and the caller's global state need not be saved and put back, ~0.2 ms)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        space = self.configspace
        self.plain = plain_categorical(space)
        self.random = np.random.RandomState()
        # each hyperparameter's value per choice index, as Configuration.__getitem__ gives it
        self._values = [(name, space.index_of[name],
                         [space[name].to_value(np.float64(i)) for i in range(space[name].size)])
                        for name in space] if self.plain else []

    def _dict(self, config: Configuration) -> dict:
        """``dict(config)``: every value active (no condition), each looked up by its index."""
        vector = config.get_array().tolist()
        return {name: values[int(vector[idx])] for name, idx, values in self._values}

    def get_config(self, budget: Any) -> tuple[dict, dict]:
        space = self.configspace
        if not self.plain:
            return super().get_config(budget)
        random = self.random
        self.logger.debug('start sampling a new configuration.')
        sample: Any = None
        info_dict: dict = {}
        if len(self.kde_models.keys()) == 0 or random.rand() < self.random_fraction:
            sample = space.sample_configuration()
            info_dict['model_based_pick'] = False
        best = np.inf
        best_vector = None
        if sample is None:
            try:
                budget = max(self.kde_models.keys())
                l = self.kde_models[budget]['good'].pdf  # noqa: E741 - hpbandster's name
                g = self.kde_models[budget]['bad'].pdf

                def minimize_me(x):
                    return max(1e-32, g(x)) / max(l(x), 1e-32)

                kde_good = self.kde_models[budget]['good']
                kde_bad = self.kde_models[budget]['bad']
                for _ in range(self.num_samples):
                    idx = random.randint(0, len(kde_good.data))
                    datum = kde_good.data[idx]
                    vector: list = []
                    for m, bw, t in zip(datum, kde_good.bw, self.vartypes):
                        bw = max(bw, self.min_bandwidth)
                        if random.rand() < (1 - bw):   # categorical (t > 0): every one here
                            vector.append(int(m))
                        else:
                            vector.append(random.randint(t))
                    val = minimize_me(vector)
                    if not np.isfinite(val):
                        self.logger.warning("sampled vector: %s has EI value %s", vector, val)
                        self.logger.warning("data in the KDEs:\n%s\n%s", kde_good.data,
                                            kde_bad.data)
                        self.logger.warning("bandwidth of the KDEs:\n%s\n%s", kde_good.bw,
                                            kde_bad.bw)
                        self.logger.warning("l(x) = %s", l(vector))
                        self.logger.warning("g(x) = %s", g(vector))
                        if np.isfinite(l(vector)):
                            best_vector = vector
                            break
                    if val < best:
                        best = val
                        best_vector = vector
                if best_vector is None:
                    self.logger.debug("Sampling based optimization with %i samples failed -> "
                                      "using random configuration", self.num_samples)
                    sample = self._dict(space.sample_configuration())
                    info_dict['model_based_pick'] = False
                else:
                    if self.logger.isEnabledFor(logging.DEBUG):
                        self.logger.debug("best_vector: %s, %s, %s, %s", best_vector, best,
                                          l(best_vector), g(best_vector))
                    for i in range(len(best_vector)):   # every hyperparameter is categorical
                        best_vector[i] = int(np.rint(best_vector[i]))
                    # Configuration(vector).get_dictionary(), then deactivate_inactive_
                    # hyperparameters: the configuration of the same vector (module docstring)
                    sample = Configuration(space, vector=np.asarray(best_vector,
                                                                    dtype=np.float64))
                    info_dict['model_based_pick'] = True
            except Exception:  # noqa: BLE001 - hpbandster's fallback (a bare except there)
                self.logger.warning("Sampling based optimization with %i samples failed\n %s "
                                    "\nUsing random configuration", self.num_samples,
                                    traceback.format_exc())
                sample = space.sample_configuration()
                info_dict['model_based_pick'] = False
        if isinstance(sample, Configuration):
            values = self._dict(sample)   # deactivate_inactive_hyperparameters(...).get_...()
        else:   # hpbandster: a dict has no get_dictionary
            self.logger.warning("Error (%s) converting configuration: %s -> using random "
                                "configuration!",
                                AttributeError("'dict' object has no attribute 'get_dictionary'"),
                                sample)
            values = self._dict(space.sample_configuration())
        self.logger.debug('done sampling a new configuration.')
        return values, info_dict
