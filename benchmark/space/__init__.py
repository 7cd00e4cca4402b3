"""The NAS-Bench-101 search space: cells, pruning, the official hash, enumeration, parameters."""
from .constants import (
    BUDGETS,
    CONV1X1,
    CONV3X3,
    INPUT,
    MAX_EDGES,
    MAX_VERTICES,
    MAXPOOL3X3,
    NUM_REPEATS,
    OP_LABELS,
    OPS,
    OUTPUT,
)
from .enumeration import NUM_CELLS, CellTable, enumerate_cells
from .errors import OutOfDomainError
from .hashing import hash_graph
from .helpers import cell_spec, is_isomorphic, representative, sample_cell
from .params import trainable_parameters
from .spec import ModelSpec

__all__ = ["BUDGETS", "CONV1X1", "CONV3X3", "INPUT", "MAX_EDGES", "MAX_VERTICES", "MAXPOOL3X3",
           "NUM_CELLS", "NUM_REPEATS", "OP_LABELS", "OPS", "OUTPUT", "CellTable", "ModelSpec",
           "OutOfDomainError", "cell_spec", "enumerate_cells", "hash_graph", "is_isomorphic",
           "representative", "sample_cell", "trainable_parameters"]
