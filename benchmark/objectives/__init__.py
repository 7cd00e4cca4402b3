"""NAS-Bench-101 as ConfigSpace objectives (encodings A/B/C of the paper's comparison)."""
from .encodings import (
    ENCODINGS,
    ConfigError,
    Encoding,
    NASCifar10A,
    NASCifar10B,
    NASCifar10C,
    get_encoding,
)
from .objective import EvalResult, Objective

__all__ = ["ENCODINGS", "ConfigError", "Encoding", "EvalResult", "NASCifar10A", "NASCifar10B",
           "NASCifar10C", "Objective", "get_encoding"]
