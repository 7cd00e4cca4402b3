"""The paper's dataset analysis (NAS-Bench-101 Section 3 and supplement Fig. 7) for any table.

One pure function per statistic over a table's arrays (:mod:`.distributions`, :mod:`.cost`,
:mod:`.operations`, :mod:`.shape`, :mod:`.locality`, :mod:`.budgets`); :mod:`.table` gathers a
store's or the real sample's arrays; :mod:`.paper` holds the paper's numbers.
"""
from .table import Table, from_sample, from_store, subset

__all__ = ["Table", "from_sample", "from_store", "subset"]
