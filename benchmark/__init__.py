"""NAS-Bench-101: the search space, the table, and the table as ConfigSpace objectives.

``from benchmark import NASBench, ModelSpec`` gives the original API without TensorFlow.
"""
from .api import NASBench
from .errors import (
    BenchmarkError,
    CellNotInStoreError,
    DataFormatError,
    OutOfDomainError,
    StoreError,
)
from .space import ModelSpec

__all__ = ["BenchmarkError", "CellNotInStoreError", "DataFormatError", "ModelSpec", "NASBench",
           "OutOfDomainError", "StoreError"]
